"""An ASHA search killed with SIGKILL between a rung and the end of a trial resumes from its rung
checkpoints (continuing, not retraining) to the same folder an unbroken run writes."""

from __future__ import annotations

from pathlib import Path

import torch
import yaml

from hpsearch.search.run import resume_search
from tests.helpers import (
    ASHA_CONFIG,
    EpochCounter,
    assert_same_run,
    checkpoint_epoch,
    kill_after_a_checkpoint,
    results_of,
)


def test_sigkill_then_resume_continues_from_rung_checkpoints_to_the_unbroken_result(asha_reference: Path, tmp_path: Path) -> None:
    config = tmp_path / "asha.yaml"
    config.write_text(yaml.safe_dump(ASHA_CONFIG, sort_keys=False))
    run_dir = tmp_path / "run"
    kill_after_a_checkpoint(["run", str(config), "--run-dir", str(run_dir)], run_dir)
    for _ in range(3):  # a couple of kill/resume cycles, until a kill lands while a checkpoint waits
        if list(run_dir.glob("trials/*/checkpoint.pt")):
            break
        kill_after_a_checkpoint(["resume", str(run_dir)], run_dir)
    checkpoints = list(run_dir.glob("trials/*/checkpoint.pt"))
    assert checkpoints, "no kill landed between a rung and the end of a trial"
    done = {t: r for t, r in results_of(run_dir).items() if r["status"] in ("completed", "stopped")}
    ref = results_of(asha_reference)
    resumed_from = {int(p.parent.name): checkpoint_epoch(p) for p in checkpoints}
    expected = sum(r["epochs_trained"] - resumed_from.get(t, 0) for t, r in ref.items() if t not in done)

    counter = EpochCounter()
    result = resume_search(run_dir, counter)
    assert result.status == "completed"
    assert counter.epochs == expected  # checkpointed trials were continued, not retrained from scratch
    assert_same_run(run_dir, asha_reference)  # params, every epoch's metrics, results and decisions, trials.csv
    mine, ref_model = (torch.load(d / "best_model.pt", weights_only=True) for d in (run_dir, asha_reference))
    assert mine["trial"] == ref_model["trial"]
    assert all(torch.equal(mine["state_dict"][k], v) for k, v in ref_model["state_dict"].items())
