"""What a CI pipeline needs around a search: a smoke-sized config, a time limit, pass/fail
thresholds on the best trial, and a machine-readable summary. Pure functions: the CLI prints and exits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hpsearch.space.config import SearchConfig, config_to_dict, parse_config

SMOKE_TRIALS = 2
SMOKE_EPOCHS = 1
SMOKE_SUBSET = 512  # training examples kept (stratified); validation stays whole
THRESHOLD_METRICS = ("val_acc", "train_acc")  # figures of the best trial where higher is better
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0}


def smoke_config(config: SearchConfig) -> SearchConfig:
    """The same search shrunk to prove the pipeline works: 2 trials of 1 epoch (with a scheduler:
    its first rung plus one, so a decision and a checkpoint happen) on a stratified
    subset of at most 512 training examples. Device, model, data loading and logging stay real;
    the name gains ``-smoke`` so its runs folder is not mistaken for a real search."""
    raw = config_to_dict(config)
    subset = SMOKE_SUBSET if config.data.subset is None else min(config.data.subset, SMOKE_SUBSET)
    epochs = SMOKE_EPOCHS
    if config.scheduler.name != "none":  # reach the first rung and go past it: decisions and checkpoints run too
        epochs = min(config.epochs, config.scheduler.min_epochs + 1)
    raw.update(name=f"{config.name}-smoke", trials=min(config.trials, SMOKE_TRIALS), epochs=epochs)
    raw["data"]["subset"] = subset
    return parse_config(raw, source=config.source)


def parse_duration(text: str) -> float:
    """Seconds in ``text``: ``"90"`` or ``"90s"`` -> 90, ``"10m"`` -> 600, ``"1h30m"`` -> 5400.

    Raises ValueError saying what is allowed.
    """
    value = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d*)?", value):
        seconds = float(value)
    elif value and re.fullmatch(f"(?:{_DURATION_PART.pattern})+", value):
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(value))
    else:
        raise ValueError(f"{text!r} is not a duration; use e.g. 90s, 10m, 1h or 1h30m (a bare number is seconds)")
    if seconds <= 0:
        raise ValueError(f"{text!r}: the duration must be > 0")
    return seconds


@dataclass(frozen=True)
class Threshold:
    """``val_acc=0.9``: the best trial's ``metric`` must be at least ``minimum`` (inclusive)."""

    metric: str
    minimum: float

    def __str__(self) -> str:
        return f"{self.metric} >= {self.minimum:g}"


def parse_threshold(text: str) -> Threshold:
    """``"val_acc=0.9"`` -> Threshold("val_acc", 0.9). Accuracies are fractions in [0, 1]."""
    metric, sep, raw = text.partition("=")
    metric = metric.strip()
    if not sep or metric not in THRESHOLD_METRICS:
        raise ValueError(f"{text!r}: expected METRIC=VALUE with METRIC one of {', '.join(THRESHOLD_METRICS)}, e.g. val_acc=0.9")
    try:
        minimum = float(raw)
    except ValueError:
        raise ValueError(f"{text!r}: {raw!r} is not a number") from None
    if not 0 <= minimum <= 1:
        hint = f" (did you mean {minimum / 100:g}?)" if 1 < minimum <= 100 else ""
        raise ValueError(f"{text!r}: accuracies are fractions in [0, 1]{hint}")
    return Threshold(metric, minimum)


@dataclass(frozen=True)
class ThresholdCheck:
    threshold: Threshold
    value: float | None  # the best trial's figure; None when no trial completed

    @property
    def passed(self) -> bool:
        return self.value is not None and self.value >= self.threshold.minimum

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.threshold.metric, "min": self.threshold.minimum, "value": self.value, "passed": self.passed}


def check_thresholds(thresholds: list[Threshold], best_result: Any | None) -> list[ThresholdCheck]:
    """Compare each threshold with the best trial's result (a TrialResult, or None)."""
    return [ThresholdCheck(t, None if best_result is None else getattr(best_result, t.metric)) for t in thresholds]


def error_summary(message: str, exit_code: int) -> dict[str, Any]:
    """The ``--json`` document when the search could not start (bad config, data or run folder):
    the same keys as ``summary``, so a CI step reading the file always finds one."""
    return {"status": "error", "error": message, "run_dir": None, "seconds": 0.0, "trials": {}, "best": None,
            "thresholds": [], "passed": False, "stop_reason": None, "exit_code": exit_code}


def summary(result: Any, checks: list[ThresholdCheck], exit_code: int) -> dict[str, Any]:
    """The ``--json`` document for a runrecord.SearchResult: status, trials by status, best trial,
    thresholds, wall time (this invocation's seconds) and the exit code the command returns."""
    counts = result.counts()
    finished = sum(counts.values())
    best = result.best
    return {
        "status": result.status,
        "run_dir": str(result.run_dir),
        "seconds": round(result.seconds, 3),
        "trials": {"planned": result.planned, **counts, "not_run": max(result.planned - finished, 0)},
        "best": None if best is None else {
            "trial": best[0].id, "params": best[0].params,
            "metrics": best[1].figures(),
        },
        "thresholds": [c.to_dict() for c in checks],
        "passed": best is not None and all(c.passed for c in checks),
        "stop_reason": result.stop_reason,
        "exit_code": exit_code,
    }
