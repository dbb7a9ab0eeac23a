"""What a search tells whoever watches it (the CLI's progress bars and lines); the default hears nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hpsearch.runs.records import EpochMetrics, TrialResult
from hpsearch.space.config import SearchConfig
from hpsearch.space.sampler import Trial


class SearchObserver:
    """Hooks for progress display; the default does nothing. The CLI's draws bars and lines."""

    def search_started(self, config: SearchConfig, run_dir: Path, device: Any) -> None: ...
    def trials_planned(self, done: int, pending: list[int]) -> None: ...
    def trial_started(self, trial: Trial) -> None: ...
    def epoch_finished(self, trial: Trial, metrics: EpochMetrics) -> None: ...
    def trial_finished(self, trial: Trial, result: TrialResult) -> None: ...
    def warning(self, message: str) -> None: ...
