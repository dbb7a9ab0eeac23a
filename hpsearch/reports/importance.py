"""How much each searched hyperparameter explains of the metric's spread across trials.

Method (named in every report): **binned marginal variance share**, an omega-squared one-way
ANOVA per parameter. Trials are grouped by the parameter's value: each value its own group for a
choice, a boolean or an integer with few values; otherwise 2 to 5 equal-count bins (quantiles) of
the sampled values. Quantile bins are the same on a log or a linear axis, so a log-scale parameter
(lr from 1e-4 to 1) is binned by its order of magnitude as sampled, never lumped into its top
decade as equal-width linear bins would do; and every bin holds enough trials for a mean. The share is

    omega^2 = (SS_between - (k - 1) * MS_within) / (SS_total + MS_within)

clipped at 0: the fraction of the metric's variance that the group means explain, corrected for
the share k groups would explain by chance. Under random search the parameters are independent,
so each marginal share is fair; what no single parameter explains (interactions, seed noise) is
reported as the remainder. A permutation test (seeded) says whether each share stands out from
noise. This is the main effect of a functional ANOVA, estimated from bins instead of a fitted
surrogate model: simple, dependency-free, and honest with few trials.

>>> import random
>>> rng = random.Random(0)
>>> params = [{"lr": 10 ** rng.uniform(-4, 0), "units": rng.choice([32, 64])} for _ in range(40)]
>>> metric = [0.9 + 0.01 * len(str(int(1 / p["lr"]))) for p in params]  # depends on lr's decade alone
>>> estimate_importance(params, metric, ["lr", "units"]).ranked[0].name
'lr'
"""

from __future__ import annotations

import json
import random
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from hpsearch.reports.tables import render_table
from hpsearch.runs.readers import RunRecord

METHOD = "binned marginal variance share (omega-squared one-way ANOVA per parameter, permutation p-value)"
MIN_TRIALS = 10  # below this, no estimate is attempted
STABLE_TRIALS = 30  # below this, the order is reported as tentative
SIGNIFICANT = 0.05
INACTIVE = "(inactive)"  # a conditional parameter the trial did not use (momentum under adam)


@dataclass(frozen=True)
class ParamImportance:
    name: str
    declared_rank: int  # 1 = listed first in the config's space
    share: float  # omega-squared in [0, 1]
    groups: int  # how many bins or values the trials fell into
    p_value: float  # permutation test: chance of a share this large if the parameter did nothing



@dataclass(frozen=True)
class ImportanceReport:
    trials: int
    params: list[ParamImportance]  # in declared order
    method: str = METHOD

    @property
    def enough(self) -> bool:
        return self.trials >= MIN_TRIALS

    @property
    def ranked(self) -> list[ParamImportance]:
        return sorted(self.params, key=lambda p: (-p.share, p.p_value, p.declared_rank))

    @property
    def threshold(self) -> float:
        """The p-value below which a share counts as real: 0.05 split over the parameters tested
        (Bonferroni), so testing six parameters does not find one by luck a quarter of the time."""
        return SIGNIFICANT / max(1, len(self.params))

    def significant(self, param: ParamImportance) -> bool:
        return param.p_value < self.threshold

    @property
    def unexplained(self) -> float:
        return max(0.0, 1.0 - sum(p.share for p in self.params))


def group_labels(values: Sequence[Any], max_bins: int) -> list[Hashable]:
    """A group label per trial: the value itself when there are at most ``max_bins`` distinct
    ones (or they are not numbers), else the index of its equal-count bin in sorted order."""
    present = [v for v in values if v is not None]
    distinct = set(present)
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in present)
    if not numeric or len(distinct) <= max_bins:
        return [INACTIVE if v is None else v for v in values]
    order = sorted(range(len(values)), key=lambda i: (values[i] is None, values[i] if values[i] is not None else 0))
    labels: list[Hashable] = [INACTIVE] * len(values)
    n = len(present)
    for position, index in enumerate(order[:n]):
        labels[index] = min(position * max_bins // n, max_bins - 1)
    return labels


def _between_ss(labels: Sequence[Hashable], y: Sequence[float], mean: float) -> float:
    sums: dict[Hashable, float] = {}
    counts: dict[Hashable, int] = {}
    for label, value in zip(labels, y, strict=True):
        sums[label] = sums.get(label, 0.0) + value
        counts[label] = counts.get(label, 0) + 1
    return sum(s * s / counts[g] for g, s in sums.items()) - len(y) * mean * mean


def omega_squared(labels: Sequence[Hashable], y: Sequence[float]) -> float:
    """Share of the variance of ``y`` explained by the groups, chance-corrected, clipped at 0."""
    n, k = len(y), len(set(labels))
    mean = sum(y) / n
    total = sum((v - mean) ** 2 for v in y)
    if k < 2 or n <= k or total <= 0:
        return 0.0
    between = _between_ss(labels, y, mean)
    within_ms = (total - between) / (n - k)
    return max(0.0, (between - (k - 1) * within_ms) / (total + within_ms))


def estimate_importance(params: Sequence[Mapping[str, Any]], metric: Sequence[float], names: Sequence[str],
                        seed: int = 0, permutations: int = 999) -> ImportanceReport:
    """Importance of each of ``names`` (in declared order) for ``metric``; ``params[i]`` are trial i's."""
    if len(params) != len(metric):
        raise ValueError(f"need one metric value per trial, got {len(params)} trials and {len(metric)} values")
    y = [float(v) for v in metric]
    n = len(y)
    if n < MIN_TRIALS:
        return ImportanceReport(n, [ParamImportance(name, i + 1, 0.0, 0, 1.0) for i, name in enumerate(names)])
    max_bins = max(2, min(5, n // 6))
    rng = random.Random(seed)
    shuffles = [rng.sample(y, n) for _ in range(permutations)]
    mean = sum(y) / n
    out = []
    for rank, name in enumerate(names, start=1):
        labels = group_labels([p.get(name) for p in params], max_bins)
        observed = _between_ss(labels, y, mean)
        as_large = sum(_between_ss(labels, s, mean) >= observed - 1e-12 for s in shuffles)
        out.append(ParamImportance(name, rank, omega_squared(labels, y), len(set(labels)), (as_large + 1) / (permutations + 1)))
    return ImportanceReport(n, out)


def format_share(share: float) -> str:
    return f"{100 * share:.1f}%"


def verdict(report: ImportanceReport, metric: str) -> list[str]:
    """What the numbers mean, in a sentence or two: enough trials? declared order confirmed?"""
    if not report.enough:
        return [f"too few trials to tell: {report.trials} with a {metric}, need at least {MIN_TRIALS} "
                f"(about {STABLE_TRIALS} for a stable order); run more trials"]
    lines = []
    if report.trials < STABLE_TRIALS:
        lines.append(f"only {report.trials} trials: the order is tentative (about {STABLE_TRIALS} make it stable)")
    standouts = [p for p in report.ranked if report.significant(p) and p.share > 0]
    if not standouts:
        return [*lines, f"no parameter stands out from seed noise yet (none has p < {report.threshold:.3f}); "
                        "run more trials or widen the ranges"]
    top = standouts[0]
    if top.declared_rank == 1:
        lines.append(f"{top.name} matters most, as declared ({format_share(top.share)} of the spread)")
    else:
        first = next(p for p in report.params if p.declared_rank == 1)
        advice = "; consider moving it first in the space" if report.trials >= STABLE_TRIALS else ""
        lines.append(f"{top.name} matters most here ({format_share(top.share)} of the spread), not {first.name} "
                     f"as declared ({format_share(first.share)}){advice}")
    quiet = [p.name for p in report.ranked if not report.significant(p)]
    if quiet:
        tip = "; fixing them would spend the trials on the rest" if report.trials >= STABLE_TRIALS else " yet"
        lines.append(f"not distinguishable from noise (p >= {report.threshold:.3f}): {', '.join(quiet)}{tip}")
    return lines


def run_importance(run: RunRecord, seed: int = 0) -> ImportanceReport:
    """Importance over a run's trials that recorded a validation accuracy (completed, stopped and
    diverged ones: a learning rate that diverges is part of what lr explains); failed trials and
    trials still running carry no figure and are left out."""
    scored = [(t.params, t.result.val_acc) for t in run.trials if t.result is not None and t.result.val_acc is not None]
    return estimate_importance([params for params, _ in scored], [val_acc for _, val_acc in scored],
                               run.param_names, seed=seed)


def render_importance(report: ImportanceReport, run_name: str, fmt: str = "table", metric: str = "val_acc") -> str:
    """The text ``hpsearch importance`` prints (``fmt`` table or json)."""
    if fmt == "json":
        return json.dumps({"run": run_name, "metric": metric, "trials": report.trials, "method": report.method,
                           "enough_trials": report.enough, "unexplained": report.unexplained if report.enough else None,
                           "threshold": report.threshold,
                           "params": [{**asdict(p), "significant": report.significant(p)} for p in report.ranked], "verdict": verdict(report, metric)}, indent=2)
    head = f"importance for {metric} in {run_name}, over {report.trials} trials\nmethod: {report.method}"
    if not report.enough:
        return "\n".join([head, *verdict(report, metric)])
    rows = [[str(rank), p.name, format_share(p.share), f"{p.p_value:.3f}", str(p.groups), str(p.declared_rank)]
            for rank, p in enumerate(report.ranked, start=1)]
    table = render_table(["rank", "parameter", "share", "p", "groups", "declared"], rows)
    notes = [f"not explained by any one parameter (interactions, seed noise): {format_share(report.unexplained)}",
             f"p: chance of a share this large if the parameter did nothing (999 seeded permutations); "
             f"counted as real below {report.threshold:.3f} (0.05 over {len(report.params)} parameters)"]
    return "\n".join([head, "", table, "", *notes, *verdict(report, metric)])
