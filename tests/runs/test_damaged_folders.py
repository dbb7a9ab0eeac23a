"""Damaged run folders (issue 18, points 14, 15, 16 and 18): a damaged trial is reported in one line
and skipped while the rest of the report prints; a damaged run.json or config.yaml, or a trial folder
replaced by a file, exits 2 with one line; resume changes nothing it does not understand."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from hpsearch.cli.main import main
from hpsearch.runs.readers import RunRecord
from hpsearch.runs.store import text_sha256
from hpsearch.search.observer import SearchObserver
from hpsearch.search.run import run_search
from hpsearch.space.config import parse_config
from tests.helpers import TINY, FakeTrial, make_run

CURVES = [[(0.6, 0.55), (0.7, 0.62)], [(0.8, 0.7), (0.85, 0.74)], [(0.5, 0.45), (0.55, 0.5)], [(0.7, 0.6), (0.75, 0.66)]]
PARAMS = [{"lr": 0.001 * (i + 1), "batch_size": 32, "hidden_units": 64} for i in range(4)]


def _run(tmp_path: Path) -> Path:
    """Four trials, the run interrupted (so resume would continue it) with its config's sha256."""
    run_dir = make_run(tmp_path / "run", [FakeTrial(p, c) for p, c in zip(PARAMS, CURVES, strict=True)])
    info = json.loads((run_dir / "run.json").read_text())
    sha = text_sha256((run_dir / "config.yaml").read_text())
    (run_dir / "run.json").write_text(json.dumps({**info, "status": "interrupted", "config_sha256": sha}))
    return run_dir


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every file's bytes, but the lock's own guard file (empty; flock needs a file to lock)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != ".run.lock.guard"}


DAMAGE = {
    "metrics garbage": ("metrics.jsonl", b"\x00\x01garbage\n", "metrics.jsonl line 1 is not JSON"),
    "metrics torn": ("metrics.jsonl", None, "metrics.jsonl line 2 is not JSON"),
    "metrics wrong shape": ("metrics.jsonl", b'{"epoch": "one", "val_acc": 0.5}\n', "epoch is 'one', not int"),
    "result a list": ("result.json", b"[1, 2]", "result.json holds a JSON list, not a record"),
    "result wrong field": ("result.json", b'{"status": "completed", "val_acc": "high"}', "val_acc is 'high'"),
    "params wrong shape": ("params.json", b'{"trial": 1, "params": [1, 2]}', "params is [1, 2], not dict"),
    "result not utf-8": ("result.json", b"\xff\xfe\x00", "result.json is not UTF-8 text"),
}


def _damage(run_dir: Path, name: str) -> None:
    filename, content, _ = DAMAGE[name]
    path = run_dir / "trials" / "0001" / filename
    path.write_bytes(content if content is not None else path.read_bytes()[:-20])  # torn: the last line cut


@pytest.mark.parametrize("name", list(DAMAGE))
@pytest.mark.parametrize("command", ["compare", "importance"])
def test_a_damaged_trial_is_skipped_in_one_line_and_the_rest_prints(tmp_path: Path, name: str, command: str) -> None:
    run_dir = _run(tmp_path)
    _damage(run_dir, name)
    result = CliRunner().invoke(main, [command, str(run_dir)])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "skipped trial 0001" in warnings[0] and DAMAGE[name][2] in warnings[0]
    if command == "compare":
        table = "\n".join(line for line in result.output.splitlines() if not line.startswith("warning:"))
        assert all(f" 000{i} " in table for i in (0, 2, 3)) and " 0001 " not in table


def test_plot_and_show_skip_or_name_a_damaged_trial(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    run_dir = _run(tmp_path)
    _damage(run_dir, "metrics torn")
    plotted = CliRunner().invoke(main, ["plot", str(run_dir), "--out", str(tmp_path / "png")])
    assert plotted.exit_code == 0 and "skipped trial 0001" in plotted.output and "wrote" in plotted.output
    shown = CliRunner().invoke(main, ["show", str(run_dir), "1"])
    assert shown.exit_code == 2 and "trial 1 cannot be read" in shown.output and "metrics.jsonl line 2" in shown.output
    assert CliRunner().invoke(main, ["show", str(run_dir), "2"]).exit_code == 0


RUN_FILE_DAMAGE = {
    "run.json not utf-8": ("run.json", b"\xff\xfe{", "run.json is damaged (not UTF-8 text)"),
    "run.json truncated": ("run.json", b'{"name": "fake", "sta', "run.json is damaged (not JSON"),
    "run.json empty": ("run.json", b"", "run.json is damaged (empty)"),
    "run.json a list": ("run.json", b"[1, 2, 3]", "run.json is damaged (it holds a JSON list"),
    "run.json data a list": ("run.json", b'{"name": "fake", "status": "completed", "data": [1]}', "its 'data' is a list"),
    "config.yaml not utf-8": ("config.yaml", b"name: \xff\xfe", "config.yaml is damaged (not UTF-8 text)"),
    "config.yaml truncated": ("config.yaml", b"name: fake\nspace:\n  lr: {distribution: log_", "config.yaml is damaged (not YAML"),
    "config.yaml a list": ("config.yaml", b"- 1\n- 2\n", "config.yaml is damaged (not a config mapping"),
    "a trial folder is a file": ("trials/0002", b"", "is a file, not a trial folder"),
}


@pytest.mark.parametrize("name", list(RUN_FILE_DAMAGE))
@pytest.mark.parametrize("command", ["compare", "resume"])
def test_a_damaged_run_file_exits_2_with_one_line_and_changes_nothing(tmp_path: Path, name: str, command: str) -> None:
    run_dir = _run(tmp_path)
    filename, content, says = RUN_FILE_DAMAGE[name]
    target = run_dir / filename
    if target.is_dir():
        shutil.rmtree(target)
    target.write_bytes(content)
    before = _snapshot(run_dir)
    result = CliRunner().invoke(main, [command, str(run_dir)])
    if command == "compare" and name == "a trial folder is a file":  # a damaged trial: skipped, the rest prints
        assert result.exit_code == 0 and "skipped trial 0002" in result.output and says in result.output
    else:
        assert result.exit_code == 2, result.output
        assert says in result.output and len(result.output.strip().splitlines()) == 1
    assert _snapshot(run_dir) == before


def test_resume_refuses_a_damaged_trial_instead_of_retraining_it(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    _damage(run_dir, "metrics torn")
    before = _snapshot(run_dir)
    result = CliRunner().invoke(main, ["resume", str(run_dir)])
    assert result.exit_code == 2 and "metrics.jsonl line 2 is not JSON" in result.output
    assert "move trial 1's folder away" in result.output
    assert _snapshot(run_dir) == before


def test_a_missing_params_json_is_not_blamed_on_the_version(tmp_path: Path) -> None:
    config = {**TINY, "trials": 2, "epochs": 1}
    run_dir = tmp_path / "run"
    run_search(parse_config(config), run_dir, max_seconds=None)
    info = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**info, "status": "interrupted"}))
    shutil.rmtree(run_dir / "trials" / "0001")
    (run_dir / "trials" / "0000" / "params.json").unlink()
    result = CliRunner().invoke(main, ["resume", str(run_dir)])
    assert result.exit_code == 2 and "params.json is missing" in result.output and "version" not in result.output


def test_show_during_a_live_search_shows_a_trial_as_it_stands(tmp_path: Path) -> None:
    seen: dict[str, tuple[int, str]] = {}
    run_dir = tmp_path / "run"

    class Peek(SearchObserver):
        def epoch_finished(self, trial: object, metrics: object) -> None:
            if getattr(trial, "id", None) == 1 and "trial 1" not in seen:
                for key, args in (("trial 1", ["show", str(run_dir), "1"]), ("trial 2", ["show", str(run_dir), "2"])):
                    result = CliRunner().invoke(main, args)
                    seen[key] = (result.exit_code, result.output)

    run_search(parse_config({**TINY, "epochs": 2}), run_dir, Peek())
    code, out = seen["trial 1"]
    assert code == 0 and "trial 0001" in out and ": running" in out and "    1 " in out
    code, out = seen["trial 2"]
    assert code == 2 and "trial 2 of" in out and "has not started yet" in out and "of its 3 trials" in out
    assert len(RunRecord(run_dir).trials) == 3
