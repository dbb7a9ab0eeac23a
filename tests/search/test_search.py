"""A short real search on the built-in data: the whole folder layout, learning, divergence, seeds."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import pytest
import torch
import yaml

from hpsearch import run_search
from hpsearch.errors import RunDirError
from hpsearch.search.run import SearchInterrupted, SearchObserver
from hpsearch.space.config import parse_config
from tests.helpers import TINY, FailingTrials

METRIC_KEYS = {"epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "seconds", "eval_seconds"}


def read_metrics(trial_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (trial_dir / "metrics.jsonl").read_text().splitlines()]


def without_seconds(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if not k.endswith("seconds")} for r in rows]


def test_run_writes_the_whole_layout_and_learns(tmp_path):
    cfg = parse_config(TINY)
    result = run_search(cfg, tmp_path / "run")
    root = tmp_path / "run"
    assert result.status == "completed" and len(result.trials) == 3
    assert yaml.safe_load((root / "config.yaml").read_text())["space"]["lr"]["distribution"] == "log_uniform"
    info = json.loads((root / "run.json").read_text())
    assert info["status"] == "completed" and info["seed"] == 0 and info["device"] == "cpu"
    assert set(info["versions"]) >= {"python", "torch", "hpsearch"}
    assert info["trials"] == {"completed": 3} and info["best"]["trial"] in (0, 1, 2)
    for i in range(3):
        trial_dir = root / "trials" / f"{i:04d}"
        params = json.loads((trial_dir / "params.json").read_text())
        assert list(params["params"]) == ["lr", "hidden_units"] and params["trial"] == i
        epochs = read_metrics(trial_dir)
        assert [e["epoch"] for e in epochs] == [1, 2] and all(set(e) == METRIC_KEYS for e in epochs)
        outcome = json.loads((trial_dir / "result.json").read_text())
        assert outcome["status"] == "completed" and outcome["num_parameters"] > 0
        assert outcome["gap"] == pytest.approx(outcome["train_acc"] - outcome["val_acc"])
    rows = list(csv.DictReader((root / "trials.csv").open()))
    assert list(rows[0]) == ["trial", "status", "lr", "hidden_units", "val_acc", "train_acc", "gap", "best_epoch", "seconds"]
    assert len(rows) == 3
    best = max(float(r["val_acc"]) for r in rows)
    assert best > 0.45, "five balanced-ish classes: chance is about 0.2-0.3"
    assert not list(root.rglob("*.tmp")), "atomic writes leave no temporary files"


def test_same_config_and_seed_give_the_same_metrics_on_cpu(tmp_path):
    cfg = parse_config(TINY).with_overrides(trials=2)
    run_search(cfg, tmp_path / "a")
    run_search(cfg, tmp_path / "b")
    for i in range(2):
        a = read_metrics(tmp_path / "a" / "trials" / f"{i:04d}")
        b = read_metrics(tmp_path / "b" / "trials" / f"{i:04d}")
        assert without_seconds(a) == without_seconds(b)


def test_absurd_learning_rate_diverges_and_the_search_goes_on(tmp_path):
    raw = copy.deepcopy(TINY)
    raw.update(trials=2, epochs=3, fixed={"optimizer": "sgd", "momentum": 0.9}, space={
        "lr": {"distribution": "choice", "values": [1.0e6]}})
    result = run_search(parse_config(raw), tmp_path / "run")
    assert [r.status for _, r in result.trials] == ["diverged", "diverged"]
    assert result.status == "no_trial_completed" and result.best is None
    outcome = json.loads((tmp_path / "run" / "trials" / "0000" / "result.json").read_text())
    assert outcome["status"] == "diverged" and "loss became" in outcome["error"]
    assert json.loads((tmp_path / "run" / "run.json").read_text())["trials"] == {"diverged": 2}


def test_a_trial_that_raises_is_recorded_failed(tmp_path):
    executor = FailingTrials(None, RuntimeError("CUDA out of memory (simulated)"))
    result = run_search(parse_config(TINY), tmp_path / "run", executor=executor)
    assert executor.calls == [0, 1, 2] and result.best is None
    outcome = json.loads((tmp_path / "run" / "trials" / "0001" / "result.json").read_text())
    assert outcome == {**outcome, "status": "failed", "error": "RuntimeError: CUDA out of memory (simulated)"}


def test_run_dir_holding_a_run_is_refused_and_an_empty_one_accepted(tmp_path):
    cfg = parse_config(TINY).with_overrides(trials=1, epochs=1)
    (tmp_path / "empty").mkdir()
    run_search(cfg, tmp_path / "empty")
    with pytest.raises(RunDirError, match="already holds a run"):
        run_search(cfg, tmp_path / "empty")


def test_default_run_dir_is_name_and_timestamp_under_runs(tmp_path):
    cfg = parse_config(TINY).with_overrides(trials=1, epochs=1)
    result = run_search(cfg, runs_root=tmp_path / "runs")
    assert result.run_dir.parent == tmp_path / "runs"
    assert result.run_dir.name.startswith("tiny-")


def test_interrupt_closes_the_folder_as_interrupted(tmp_path):
    class StopAfterFirst(SearchObserver):
        def epoch_finished(self, trial, metrics):
            if trial.id == 1:
                raise KeyboardInterrupt

    with pytest.raises(SearchInterrupted):
        run_search(parse_config(TINY), tmp_path / "run", StopAfterFirst())
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "interrupted"
    assert json.loads((tmp_path / "run" / "trials" / "0000" / "result.json").read_text())["status"] == "completed"
    interrupted = json.loads((tmp_path / "run" / "trials" / "0001" / "result.json").read_text())
    assert interrupted["status"] == "interrupted"
    lines = (tmp_path / "run" / "trials" / "0001" / "metrics.jsonl").read_text().splitlines()
    assert interrupted["epochs_trained"] == len(lines) == 1  # the epochs it trained before Ctrl-C, as metrics.jsonl has them


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; none here")
def test_runs_on_cuda(tmp_path):
    cfg = parse_config(TINY).with_overrides(device="cuda", trials=2)
    result = run_search(cfg, tmp_path / "run")
    assert json.loads((tmp_path / "run" / "run.json").read_text())["device"].startswith("cuda")
    assert result.best is not None and result.best[1].val_acc > 0.45


def test_run_files_get_the_usual_permissions_not_mkstemps_private_ones(tmp_path):
    import os
    import stat

    from hpsearch.atomic import FILE_MODE, atomic_file

    with atomic_file(tmp_path / "x.json") as handle:
        handle.write("{}")
    assert stat.S_IMODE(os.stat(tmp_path / "x.json").st_mode) == FILE_MODE
