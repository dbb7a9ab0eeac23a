"""What resume refuses, and what it no longer refuses: it never trains on other data than the run
began with, never deletes what it does not understand, and finishes a run killed at any instant."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner

from hpsearch.cli.main import main
from hpsearch.runs.readers import RunRecord
from hpsearch.runs.records import TrialStatus, best_of
from hpsearch.search.observer import SearchObserver
from hpsearch.search.run import resume_search, run_search
from hpsearch.space.config import load_config, parse_config
from tests.helpers import TINY, assert_same_run


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _unstarted_run(tmp_path: Path, config: dict) -> Path:
    """A run whose time limit passed before any trial started (status stopped, all trials pending)."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    run_dir = tmp_path / "run"
    assert run_search(load_config(path), run_dir, max_seconds=1e-9).status == "stopped"
    return run_dir


def test_resume_refuses_data_that_changed_since_the_run_began(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    data = tmp_path / "blobs.npz"
    np.savez(data, x=rng.normal(size=(200, 4)).astype("float32"), y=rng.integers(0, 3, 200))
    run_dir = _unstarted_run(tmp_path, {**TINY, "data": {"dataset": "file", "path": str(data)}})
    np.savez(data, x=rng.normal(size=(200, 4)).astype("float32"), y=rng.integers(0, 3, 200))  # new examples
    before = _snapshot(run_dir)
    result = CliRunner().invoke(main, ["resume", str(run_dir)])
    assert result.exit_code == 2
    assert "the data changed since the run began" in result.output and str(data) in result.output
    assert _snapshot(run_dir) == before


@pytest.mark.parametrize(("content", "says"), [('{"status": "paused", "val_acc": 0.5}', "status this hpsearch does not know ('paused')"),
                                               ("not json at all", "not a trial result")])
def test_resume_refuses_a_result_it_does_not_understand_and_deletes_nothing(tmp_path: Path, content: str, says: str) -> None:
    run_dir = _unstarted_run(tmp_path, TINY)
    (run_dir / "trials" / "0001").mkdir(parents=True)
    (run_dir / "trials" / "0001" / "result.json").write_text(content)
    before = _snapshot(run_dir)
    result = CliRunner().invoke(main, ["resume", str(run_dir)])
    assert result.exit_code == 2 and says in result.output and "0001" in result.output
    assert _snapshot(run_dir) == before


def test_resume_refuses_a_folder_written_by_a_newer_hpsearch(tmp_path: Path) -> None:
    run_dir = _unstarted_run(tmp_path, TINY)
    info = json.loads((run_dir / "run.json").read_text())
    info["versions"]["hpsearch"] = "99.0.0"
    (run_dir / "run.json").write_text(json.dumps(info))
    before = _snapshot(run_dir)
    result = CliRunner().invoke(main, ["resume", str(run_dir)])
    assert result.exit_code == 2 and "written by hpsearch 99.0.0, newer than this" in result.output
    assert _snapshot(run_dir) == before


def test_a_run_killed_between_config_yaml_and_run_json_resumes_to_an_unbroken_run(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    run_search(parse_config(TINY), reference)
    run_dir = tmp_path / "killed"
    run_dir.mkdir()
    shutil.copy(reference / "config.yaml", run_dir / "config.yaml")  # all a kill at that instant leaves
    result = CliRunner().invoke(main, ["resume", str(run_dir), "-q"])
    assert result.exit_code == 0, result.output
    assert_same_run(run_dir, reference)


def test_best_model_pt_holds_the_best_trial_whenever_a_result_lands(tmp_path: Path) -> None:
    """A kill the instant a trial's result.json lands leaves best_model.pt in step with the results on disk."""
    run_dir = tmp_path / "run"
    seen: list[int] = []

    class Check(SearchObserver):
        def trial_finished(self, trial, result):  # right after result.json is written
            trials = [t for t in RunRecord(run_dir).trials if t.result is not None and t.status.may_be_best]
            best = best_of(trials, lambda t: t.result.val_acc, lambda t: t.id)
            if best is not None:
                saved = torch.load(run_dir / "best_model.pt", weights_only=True)
                assert saved["trial"] == best.id
                seen.append(best.id)

    run_search(parse_config({**TINY, "trials": 5}), run_dir, Check())
    assert len(seen) == 5 and RunRecord(run_dir).trial(seen[-1]).status is TrialStatus.COMPLETED
    assert resume_search(run_dir).status == "completed"
