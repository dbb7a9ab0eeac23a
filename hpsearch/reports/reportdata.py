"""What the HTML report shows about one run, gathered once from its folder as plain data.

The report's page (``html.py``) and its charts (``charts.py``) read only this: one ``TrialView`` per
trial folder (figures as fractions, the parameters, why the trial ended) and the run's summary. A run
still being written reads as it stands: a trial folder without result.json is ``running`` with the
epochs it has so far, and one without any epoch has no figures (never an error).
Standard library only, no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from hpsearch.formatting import format_value, pct
from hpsearch.reports.compare import TrialRow, run_summary, trial_rows
from hpsearch.reports.importance import ImportanceReport, run_importance
from hpsearch.runs.readers import RunRecord
from hpsearch.runs.records import BEST_STATUSES, best_of
from hpsearch.space.distributions import Choice, Distribution, OneMinusLogUniform

TOP_CURVES = 5  # learning curves drawn: the best few, so the chart stays readable


@dataclass
class TrialView:
    """One trial, as every part of the report sees it."""

    row: TrialRow  # compare.py's row: params, status, best-epoch figures, diagnosis
    epochs: list[dict[str, Any]]  # metrics.jsonl, one dict per epoch
    why: str  # why it ended (or that it runs), in words
    decisions: list[dict[str, Any]] = field(default_factory=list)  # the scheduler's rung decisions

    @property
    def id(self) -> int:
        return self.row.trial

    @property
    def label(self) -> str:
        return f"{self.row.trial:04d}"

    @property
    def scored(self) -> bool:
        return self.row.val_acc is not None


@dataclass
class RunView:
    """One run folder, ready to render."""

    run: RunRecord
    space: dict[str, Distribution]  # searched parameters in declared order
    trials: list[TrialView]
    summary: list[str]  # compare.run_summary's lines: counts, diagnoses, best trial, try next
    importance: ImportanceReport
    best: TrialView | None

    @property
    def name(self) -> str:
        return self.run.root.name

    @property
    def status(self) -> str:
        return str(self.run.info.get("status", "running"))

    @property
    def scheduler(self) -> str:
        return str((self.run.config.get("scheduler") or {}).get("name", "none"))

    def top(self, k: int = TOP_CURVES) -> list[TrialView]:
        """The ``k`` best trials that have a validation accuracy, best first."""
        return sorted((t for t in self.trials if t.scored), key=lambda t: (-(t.row.val_acc or 0.0), t.id))[:k]


def why_ended(row: TrialRow, result: dict[str, Any], epochs: int) -> str:
    """``ran all 5 epochs``; ``stopped at rung 1: val 62.0% < cutoff 70.0% (rank 3 of 3)``; the error."""
    status = str(row.status)
    if status == "running":
        return f"running: {epochs} epoch{'s' if epochs != 1 else ''} so far"
    if status == "stopped":
        stop = next((d for d in result.get("decisions") or [] if not d.get("promoted")), None)
        if stop is None:
            return f"stopped by the scheduler after {epochs} epochs"
        return (f"stopped at rung {stop['rung']}: {pct(stop['value'])} < cutoff {pct(stop['cutoff'])}, "
                f"rank {stop['rank']}/{stop['competitors']}")
    if status == "completed":
        return f"ran all {result.get('epochs_trained', epochs)} epochs"
    if status == "interrupted":
        return f"interrupted after {epochs} epochs (hpsearch resume runs it again)"
    return str(result.get("error") or status)


def run_view(run: RunRecord) -> RunView:
    """Everything the report shows about ``run``, read once."""
    config = run.search_config()
    views = []
    for row in trial_rows(run):
        trial = run.trial(row.trial)
        result = trial.result.to_dict() if trial.result else {}
        epochs = [e.to_dict() for e in trial.metrics()]
        views.append(TrialView(row, epochs, why_ended(row, result, len(epochs)), list(result.get("decisions") or [])))
    done = [t for t in views if t.row.status in BEST_STATUSES]
    best = best_of(done, lambda t: t.row.val_acc, lambda t: t.id)
    rows = [t.row for t in views]
    return RunView(run, dict(config.space), views, run_summary(run, rows), run_importance(run), best)


def axis_position(dist: Distribution | None, values: list[Any], value: Any) -> float | None:
    """Where ``value`` sits on its parameter's axis in the parallel-coordinates chart, in [0, 1]:
    log10 for log-scale distributions, log10(1 - x) for momentum-like ones, the index for choices."""
    if value is None:
        return None
    if isinstance(dist, Choice) or any(isinstance(v, bool | str) for v in values):
        levels = list(dist.values) if isinstance(dist, Choice) else sorted(set(values), key=str)
        return levels.index(value) / max(1, len(levels) - 1) if value in levels else None
    lo, hi = _bounds(dist, values)
    x = _scaled(dist, value)
    return 0.5 if hi == lo else (x - lo) / (hi - lo)


def _scaled(dist: Distribution | None, value: float) -> float:
    if isinstance(dist, OneMinusLogUniform):
        return -math.log10(max(1 - value, 1e-300))  # larger momentum higher up, as on its own scale
    if dist is not None and dist.log_scale and value > 0:
        return math.log10(value)
    return float(value)


def _bounds(dist: Distribution | None, values: list[Any]) -> tuple[float, float]:
    """The axis ends: the distribution's bounds when it has them, else the values seen."""
    low, high = getattr(dist, "low", None), getattr(dist, "high", None)
    if low is None or high is None:
        present = [v for v in values if v is not None]
        low, high = (min(present), max(present)) if present else (0.0, 1.0)
    a, b = _scaled(dist, low), _scaled(dist, high)
    return min(a, b), max(a, b)


def axis_ends(name: str, dist: Distribution | None, values: list[Any]) -> tuple[str, str]:
    """The labels at the bottom and top of a parameter's parallel axis."""
    if isinstance(dist, Choice) or any(isinstance(v, bool | str) for v in values):
        levels = list(dist.values) if isinstance(dist, Choice) else sorted(set(values), key=str)
        return (format_value(name, levels[0]), format_value(name, levels[-1])) if levels else ("-", "-")
    low, high = getattr(dist, "low", None), getattr(dist, "high", None)
    if low is None or high is None:
        present = [v for v in values if v is not None]
        low, high = (min(present), max(present)) if present else (None, None)
    return format_value(name, low), format_value(name, high)
