"""``fuse: N`` in whole searches: the same files whatever the groups, fused ASHA with rung
checkpoints and resume, a loadable best model, workers, and bad values named."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hpsearch.cli.main import main
from hpsearch.search.executors.grouping import take_group
from hpsearch.search.run import resume_search, run_search
from hpsearch.space.config import parse_config
from hpsearch.space.sampler import sample_trials
from hpsearch.training.bestmodel import load_best_model
from hpsearch.training.fused.compat import describe_fusion
from hpsearch.training.segments import Segment
from tests.helpers import ASHA_CONFIG

CONFIG: dict[str, Any] = {
    "name": "fused", "seed": 2, "trials": 8, "epochs": 2, "device": "cpu",
    "data": {"dataset": "synthetic", "samples": 500},
    "fixed": {"optimizer": "adam", "batch_size": 32, "layers": 2},
    "space": {"lr": {"distribution": "log_uniform", "low": 1.0e-3, "high": 0.1},
              "hidden_units": {"distribution": "int_log_uniform", "low": 16, "high": 64},
              "dropout": {"distribution": "uniform", "low": 0.0, "high": 0.5}},
}


def _files(run_dir: Path) -> dict[str, Any]:
    """Every trial file, timings left out."""
    out: dict[str, Any] = {}
    for path in sorted((run_dir / "trials").rglob("*.json*")):
        text = path.read_text()
        lines = [json.loads(line) for line in text.splitlines()] if path.suffix == ".jsonl" else [json.loads(text)]
        out[str(path.relative_to(run_dir))] = [{k: v for k, v in d.items() if not k.endswith("seconds")} for d in lines]
    return out


def test_the_same_files_whatever_the_groups(tmp_path: Path) -> None:
    """fuse 8 (groups by width bucket) and fuse 2 (other groups): identical trial files, bit for bit."""
    big = run_search(parse_config({**CONFIG, "fuse": 8}), tmp_path / "a")
    assert big.status == "completed" and len(big.trials) == 8
    run_search(parse_config({**CONFIG, "fuse": 2}), tmp_path / "b")
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    model, record = load_best_model(tmp_path / "a")  # a plain nn.Sequential state dict, as unfused
    assert type(model).__name__ == "Sequential" and record["trial"] == big.best[0].id


def test_fused_asha_stops_trials_checkpoints_and_resumes(tmp_path: Path) -> None:
    config = parse_config({**ASHA_CONFIG, "fuse": 6})
    first = run_search(config, tmp_path / "run", max_seconds=0.0)  # no trial starts: the folder a resume finishes
    assert first.status == "stopped"
    result = resume_search(tmp_path / "run", fuse=3)
    statuses = {r.status for _, r in result.trials}
    assert "stopped" in statuses and "completed" in statuses
    assert not list((tmp_path / "run" / "trials").rglob("checkpoint.pt"))
    # rung decisions follow arrival order, and groups change it: the same fuse decides alike
    reference = run_search(parse_config({**ASHA_CONFIG, "fuse": 3}), tmp_path / "reference")
    assert _files(tmp_path / "reference") == _files(tmp_path / "run")
    assert {t.id: r.status for t, r in reference.trials} == {t.id: r.status for t, r in result.trials}
    assert load_best_model(tmp_path / "run") is not None


def test_a_fused_trial_continued_from_a_rung_checkpoint(tmp_path: Path) -> None:
    """Interrupted after its rung (simulated by the checkpoint a fused group wrote), resume goes on
    from it (in a group of one) with the metrics of the unbroken fused run, bit for bit. (Going on
    unfused from a fused checkpoint: tests/training/test_fused.py.)"""
    from hpsearch.search.checkpoints import CHECKPOINT

    config = parse_config({**ASHA_CONFIG, "fuse": 6})
    run_search(config, tmp_path / "unbroken")
    checkpoints: list[Path] = []
    import shutil

    from hpsearch.search import bookkeeper

    real = bookkeeper.write_checkpoint

    def keeping(folder: Path, state: Any, decisions: Any) -> None:
        real(folder, state, decisions)
        shutil.copy(folder / CHECKPOINT, tmp_path / f"{folder.name}.pt")
        checkpoints.append(folder)

    bookkeeper.write_checkpoint = keeping  # type: ignore[assignment]
    try:
        run_search(config, tmp_path / "run")
    finally:
        bookkeeper.write_checkpoint = real  # type: ignore[assignment]
    assert checkpoints
    folder = checkpoints[-1]
    shutil.copy(tmp_path / f"{folder.name}.pt", folder / CHECKPOINT)  # the trial as it was at its rung
    (folder / "result.json").unlink()
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    (tmp_path / "run" / "run.json").write_text(json.dumps({**info, "status": "interrupted"}))
    resume_search(tmp_path / "run")
    assert _files(tmp_path / "run")[f"trials/{folder.name}/metrics.jsonl"] == _files(tmp_path / "unbroken")[f"trials/{folder.name}/metrics.jsonl"]


def test_workers_train_groups_with_the_same_results(tmp_path: Path) -> None:
    run_search(parse_config({**CONFIG, "trials": 4, "fuse": 2, "workers": 2}), tmp_path / "w")
    run_search(parse_config({**CONFIG, "trials": 4, "fuse": 4}), tmp_path / "one")
    assert _files(tmp_path / "w") == _files(tmp_path / "one")


def test_take_group_keeps_queue_order_and_only_compatible_trials() -> None:
    config = parse_config({**CONFIG, "trials": 10})
    queue = deque(Segment(t, 2) for t in sample_trials(config))
    widths = {s.trial.id: s.trial.hyperparameters["hidden_units"] for s in queue}
    group = take_group(queue, 3)
    assert group[0].trial.id == 0 and len(group) <= 3
    assert [s.trial.id for s in group] == sorted(s.trial.id for s in group)
    assert [s.trial.id for s in queue] == sorted(s.trial.id for s in queue)
    from hpsearch.training.fused import bucket_width

    assert len({bucket_width(widths[s.trial.id]) for s in group}) == 1
    assert take_group(deque(), 3) == []


@pytest.mark.parametrize(("args", "config_fuse"), [(["--fuse", "0"], None), ([], 0), ([], "two"), ([], 1.5)])
def test_bad_fuse_exits_2_naming_it(tmp_path: Path, args: list[str], config_fuse: Any) -> None:
    raw = {**CONFIG, "trials": 1, "epochs": 1}
    if config_fuse is not None:
        raw["fuse"] = config_fuse
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps(raw))
    result = CliRunner().invoke(main, ["run", str(path), "--run-dir", str(tmp_path / "r"), *args])
    assert result.exit_code == 2 and "fuse" in result.output


def test_the_run_line_says_what_fuses(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps({**CONFIG, "trials": 3, "epochs": 1, "fuse": 4}))
    out = CliRunner().invoke(main, ["run", str(path), "--run-dir", str(tmp_path / "r")]).output
    assert "fuse 4 (" in out.splitlines()[0]
    searched = {**CONFIG, "trials": 2, "epochs": 1, "fuse": 4, "fixed": {"optimizer": "adam"},
                "space": {"batch_size": {"distribution": "choice", "values": [16, 32]}}, "seed": 2}
    trials = sample_trials(parse_config(searched))
    assert trials[0].hyperparameters["batch_size"] != trials[1].hyperparameters["batch_size"]
    path.write_text(json.dumps(searched))
    result = CliRunner().invoke(main, ["run", str(path), "--run-dir", str(tmp_path / "s")])
    assert result.exit_code == 0 and "no two trials can fuse here" in result.output.splitlines()[0]


@pytest.mark.parametrize(("keys", "line"), [
    ([1, 1, 2, 3, 4, 5], "fuse 8 (2 of 6 trials fuse, 1 kind; the other 4 train alone)"),
    ([1, 1, 2, 2], "fuse 8 (all 4 trials fuse, 2 kinds)"),
])
def test_the_fuse_line_counts_the_trials_that_fuse_not_every_kind(keys: list[int], line: str) -> None:
    assert describe_fusion(8, keys) == line  # keys stand for fusion keys: equal keys fuse
