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

from hpsearch.search.run import run_search
from hpsearch.space.config import parse_config
from hpsearch.training.fused import bucket_width
from tests.helpers import (
    ASHA_CONFIG,
    kill_then_resume_exactly,
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

    kill_then_resume_exactly(FUSED_ASHA, tmp_path, reference)
