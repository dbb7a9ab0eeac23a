"""An ASHA search killed with SIGKILL between a rung and the end of a trial resumes from its rung
checkpoints (continuing, not retraining) to the same folder an unbroken run writes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import torch
import yaml

from hpsearch.search.run import SearchObserver, resume_search
from tests.helpers import ASHA_CONFIG, ROOT, assert_same_run, results_of


def _epochs_written(run_dir: Path) -> int:
    return sum(len(p.read_text().splitlines()) for p in run_dir.glob("trials/*/metrics.jsonl"))


def _kill_after_a_checkpoint(args: list[str], run_dir: Path) -> None:
    """Start ``hpsearch ARGS`` and SIGKILL it as soon as a rung checkpoint exists (or it ends)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "hpsearch", *args, "-q"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = _epochs_written(run_dir) if run_dir.exists() else 0
    deadline = time.monotonic() + 120
    while proc.poll() is None and not (_epochs_written(run_dir) > start and list(run_dir.glob("trials/*/checkpoint.pt"))):
        assert time.monotonic() < deadline, "the search made no progress"
        time.sleep(0.002)
    proc.kill()
    proc.wait(timeout=30)


class _EpochCounter(SearchObserver):
    def __init__(self) -> None:
        self.epochs = 0

    def epoch_finished(self, trial: object, metrics: object) -> None:
        self.epochs += 1


def test_sigkill_then_resume_continues_from_rung_checkpoints_to_the_unbroken_result(asha_reference: Path, tmp_path: Path) -> None:
    config = tmp_path / "asha.yaml"
    config.write_text(yaml.safe_dump(ASHA_CONFIG, sort_keys=False))
    run_dir = tmp_path / "run"
    _kill_after_a_checkpoint(["run", str(config), "--run-dir", str(run_dir)], run_dir)
    for _ in range(3):  # a couple of kill/resume cycles, until a kill lands while a checkpoint waits
        if list(run_dir.glob("trials/*/checkpoint.pt")):
            break
        _kill_after_a_checkpoint(["resume", str(run_dir)], run_dir)
    checkpoints = list(run_dir.glob("trials/*/checkpoint.pt"))
    assert checkpoints, "no kill landed between a rung and the end of a trial"
    done = {t: r for t, r in results_of(run_dir).items() if r["status"] in ("completed", "stopped")}
    ref = results_of(asha_reference)
    resumed_from = {int(p.parent.name): _checkpoint_epoch(p) for p in checkpoints}
    expected = sum(r["epochs_trained"] - resumed_from.get(t, 0) for t, r in ref.items() if t not in done)

    counter = _EpochCounter()
    result = resume_search(run_dir, counter)
    assert result.status == "completed"
    assert counter.epochs == expected  # checkpointed trials were continued, not retrained from scratch
    assert_same_run(run_dir, asha_reference)  # params, every epoch's metrics, results and decisions, trials.csv
    mine, ref_model = (torch.load(d / "best_model.pt", weights_only=True) for d in (run_dir, asha_reference))
    assert mine["trial"] == ref_model["trial"]
    assert all(torch.equal(mine["state_dict"][k], v) for k, v in ref_model["state_dict"].items())


def _checkpoint_epoch(path: Path) -> int:
    from hpsearch.search.checkpoints import read_checkpoint

    found = read_checkpoint(path.parent)
    assert found is not None
    return found[0].epoch
