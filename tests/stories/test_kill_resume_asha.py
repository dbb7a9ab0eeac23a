"""An ASHA search killed with SIGKILL between a rung and the end of a trial resumes from its rung
checkpoints (continuing, not retraining) to the same folder an unbroken run writes."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import (
    ASHA_CONFIG,
    kill_then_resume_exactly,
)


def test_sigkill_then_resume_continues_from_rung_checkpoints_to_the_unbroken_result(asha_reference: Path, tmp_path: Path) -> None:
    kill_then_resume_exactly(ASHA_CONFIG, tmp_path, asha_reference)
