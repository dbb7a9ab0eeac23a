"""A fused ASHA search (``fuse: 6``) killed with SIGKILL after a rung checkpoint exists resumes from
its checkpoints (continuing, not retraining) to the folder an unbroken fused run writes.

ASHA decides in the order trials reach a rung, and fused trials arrive together: here every trial
is in one width bucket (33-48 units pad to 48), so all six train as one group, reach each rung in
trial order, and a kill leaves a prefix of them checkpointed at the later rung; the resumed group
(checkpointed trials continued alongside trials from scratch, each from its own epoch) reaches
every rung in the same order, so it decides as the unbroken run did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import yaml

from hpsearch.search.run import resume_search, run_search
from hpsearch.space.config import parse_config
from hpsearch.training.fused import bucket_width
from tests.helpers import (
    ASHA_CONFIG,
    EpochCounter,
    assert_same_run,
    checkpoint_epoch,
    kill_after_a_checkpoint,
    results_of,
)

FUSED_ASHA: dict[str, Any] = {
    **ASHA_CONFIG, "name": "fused-asha", "fuse": 6,
    "space": {**ASHA_CONFIG["space"], "hidden_units": {"distribution": "int_log_uniform", "low": 33, "high": 48},
              "momentum": {"distribution": "uniform", "low": 0.0, "high": 0.9}},
}


def test_sigkill_of_a_fused_search_then_resume_gives_the_unbroken_fused_run(tmp_path: Path) -> None:
    assert bucket_width(33) == bucket_width(48)  # one group of six, as the docstring says
    reference = tmp_path / "unbroken"
    run_search(parse_config(FUSED_ASHA), reference)
    ref = results_of(reference)
    assert {r["status"] for r in ref.values()} == {"completed", "stopped"}  # the scheduler did stop some

    config = tmp_path / "fused.yaml"
    config.write_text(yaml.safe_dump(FUSED_ASHA, sort_keys=False))
    run_dir = tmp_path / "run"
    kill_after_a_checkpoint(["run", str(config), "--run-dir", str(run_dir)], run_dir)
    for _ in range(3):  # a couple of kill/resume cycles, until a kill lands while a checkpoint waits
        if list(run_dir.glob("trials/*/checkpoint.pt")):
            break
        kill_after_a_checkpoint(["resume", str(run_dir)], run_dir)
    checkpoints = list(run_dir.glob("trials/*/checkpoint.pt"))
    assert checkpoints, "no kill landed between a rung and the end of a trial"
    done = {t for t, r in results_of(run_dir).items() if r["status"] in ("completed", "stopped")}
    resumed_from = {int(p.parent.name): checkpoint_epoch(p) for p in checkpoints}
    expected = sum(r["epochs_trained"] - resumed_from.get(t, 0) for t, r in ref.items() if t not in done)

    counter = EpochCounter()
    result = resume_search(run_dir, counter)  # fuse 6 from the run's config.yaml
    assert result.status == "completed"
    assert counter.epochs == expected  # checkpointed trials were continued, not retrained from scratch
    assert_same_run(run_dir, reference)  # params, every epoch's metrics, results and decisions, trials.csv
    mine, ref_model = (torch.load(d / "best_model.pt", weights_only=True) for d in (run_dir, reference))
    assert mine["trial"] == ref_model["trial"]
    assert all(torch.equal(mine["state_dict"][k], v) for k, v in ref_model["state_dict"].items())
