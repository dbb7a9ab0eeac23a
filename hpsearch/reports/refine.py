"""Coarse to fine: a new search space around the best trials of a finished run.

The course's recipe: sample the whole space at random, see where the best trials cluster, then
sample that region more densely. ``refine_run`` takes the top K trials by validation accuracy and,
parameter by parameter, on the parameter's own scale (log for ``log_uniform``, ``int_log_uniform``
and ``one_minus_log_uniform``; linear otherwise):

- a range becomes the span of the top trials' values plus a tenth of the old range on each side
  (``MARGIN``), kept inside the old range; integers stay integers;
- where the best trial's value lies in the outer tenth of the old range (``ranges.EDGE_SHARE``),
  that end moves out past the old edge by a quarter of the old range's width (``EXTEND``; on a
  log scale a factor: 4 decades x 1/4 = x10), as far as the hyperparameter allows: the optimum may
  lie outside;
- a ``choice`` keeps the values the top trials used, and the ones never tried; a value only
  worse trials used goes;
- ``fixed`` stays fixed, the space keeps the file's order (the declared importance order), and a
  conditional parameter no refined optimizer uses leaves the space.

The result is an ordinary config (``hpsearch run`` runs it as it is) that records ``refined_from``
(the run folder) and ``refined_trials`` (the top trials).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hpsearch.errors import RunDirError
from hpsearch.formatting import format_value, plural
from hpsearch.reports.ranges import HIGH, LOW, edge, scale
from hpsearch.runs.readers import RunRecord, TrialRecord
from hpsearch.runs.records import BEST_STATUSES
from hpsearch.runs.runlock import active_writer
from hpsearch.space.config import SearchConfig, config_to_dict, parse_config
from hpsearch.space.distributions import Choice, Distribution, DistributionError, OneMinusLogUniform
from hpsearch.space.hyperparams import HYPERPARAMETERS, OPTIMIZERS

TOP_SHARE = 0.25  # by default the top quarter of the completed trials ...
MIN_TOP = 3  # ... and at least 3 of them
MIN_COMPLETED = 2 * MIN_TOP  # the default top must be a selection: at most half the completed trials
MARGIN = 0.1  # the top trials' span plus this share of the old range on each side
EXTEND = 0.25  # past an edge the best crowds, by this share of the old range's width
SIGNIFICANT = 3  # digits kept in a new real bound


@dataclass(frozen=True)
class Change:
    """One searched parameter: its old and new distribution (None: left the space) and why."""

    name: str
    old: Distribution
    new: Distribution | None
    reason: str

    def describe(self) -> str:
        new = "(dropped)" if self.new is None else describe_range(self.name, self.new)
        return f"{self.name}: {describe_range(self.name, self.old)} -> {new}: {self.reason}"


@dataclass(frozen=True)
class Refinement:
    """What ``hpsearch refine`` produces: the new config, each parameter's change, and the trials used."""

    run: RunRecord
    config: SearchConfig
    changes: list[Change]
    top: list[TrialRecord]
    scored: int  # completed (or stopped) trials with a validation accuracy
    rule: str  # how K was chosen, e.g. "the top quarter of 16, at least 3"

    def summary(self) -> str:
        ids = ", ".join(f"{t.id:04d}" for t in self.top)
        return (f"refining {self.run.root}: the top {len(self.top)} of {plural(self.scored, 'completed trial')} by "
                f"validation accuracy ({self.rule}): trials {ids}")

    def to_yaml(self) -> str:
        """The config file: a comment saying where it comes from and why each range moved, then the keys."""
        head = [f"# {self.summary()}", "# written by: hpsearch refine; run it as it is: hpsearch run THIS_FILE",
                *(f"#   {change.describe()}" for change in self.changes)]
        body = []
        for key, value in config_to_dict(self.config).items():
            if key == "space":  # one line per parameter, in the declared order, as the README writes them
                body.append("space:" if value else "space: {}")
                body += [f"  {name}: {_flow(spec)}" for name, spec in value.items()]
            elif isinstance(value, dict | list):
                body.append(f"{key}: {_flow(value)}")
            else:
                body.append(yaml.safe_dump({key: value}, default_flow_style=False).rstrip())
        return "\n".join([*head, *body]) + "\n"


def _flow(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10_000).strip()


def describe_range(name: str, dist: Distribution) -> str:
    """``1.0e-04 .. 1.0e+00`` for a range, ``[32, 64]`` for a choice."""
    if isinstance(dist, Choice):
        return "[" + ", ".join(format_value(name, v) for v in dist.values) + "]"
    return f"{format_value(name, dist.low)} .. {format_value(name, dist.high)}"  # type: ignore[attr-defined]


def scored_trials(run: RunRecord) -> list[TrialRecord]:
    """Completed and stopped trials with a validation accuracy, best first (earliest on ties)."""
    done = [t for t in run.trials if t.status in BEST_STATUSES and t.result is not None and t.result.val_acc is not None]
    return sorted(done, key=lambda t: (-t.result.val_acc, t.id))  # type: ignore[union-attr,operator]


def pick_top(run: RunRecord, top: int | None) -> tuple[list[TrialRecord], list[TrialRecord], str]:
    """(scored trials, the top K of them, how K was chosen). Raises RunDirError when there are too few."""
    writer = active_writer(run.root)
    if writer is not None:
        raise RunDirError(f"{run.root} is still being written by {writer}; refine it once the search has finished")
    scored = scored_trials(run)
    if top is not None:
        if top < 1:
            raise RunDirError(f"--top must be at least 1, got {top}")
        if top > len(scored):
            raise RunDirError(f"--top {top} is larger than the {plural(len(scored), 'completed trial')} of {run.root}; "
                              f"give --top {len(scored)} or less")
        return scored, scored[:top], f"--top {top}"
    if len(scored) < MIN_COMPLETED:
        raise RunDirError(f"{run.root} has {plural(len(scored), 'completed trial')}; refine needs at least "
                          f"{MIN_COMPLETED} (so its top {MIN_TOP} are at most half of them), or an explicit --top K")
    k = max(MIN_TOP, math.ceil(TOP_SHARE * len(scored)))
    return scored, scored[:k], f"the top quarter of {len(scored)}, at least {MIN_TOP}"


def refined_name(name: str) -> str:
    """``quickstart`` -> ``quickstart-refined`` -> ``quickstart-refined2`` -> ``quickstart-refined3``."""
    match = re.fullmatch(r"(.*)-refined(\d*)", name)
    if match is None:
        return f"{name}-refined"
    return f"{match.group(1)}-refined{int(match.group(2) or 1) + 1}"


def refine_run(run: RunRecord, top: int | None = None, trials: int | None = None) -> Refinement:
    """The refined config of ``run`` around its ``top`` best trials (default: see ``pick_top``),
    with ``trials`` trials (default: the run's). Its seed is the run's + 1, so the fine stage draws
    new points rather than the coarse stage's draws shrunk into the new ranges."""
    config = run.search_config()
    scored, best, rule = pick_top(run, top)
    changes = [refine_parameter(name, dist, [t.params for t in best], [t.params for t in scored])
               for name, dist in config.space.items()]
    changes = drop_unused_conditionals(changes, config.fixed)
    space = {c.name: c.new for c in changes if c.new is not None}
    new = dataclasses.replace(config, name=refined_name(config.name), seed=config.seed + 1, space=space,
                              trials=trials if trials is not None else config.trials,
                              refined_from=str(run.root.resolve()), refined_trials=[t.id for t in best], source=None)
    new = parse_config(config_to_dict(new))  # the file it writes must read back as it is; this checks it
    return Refinement(run, new, changes, best, len(scored), rule)


def refine_parameter(name: str, dist: Distribution, top: Sequence[dict[str, Any]], scored: Sequence[dict[str, Any]]) -> Change:
    """One parameter's new distribution from the top trials' values (``top[0]`` is the best trial)."""
    values = [p[name] for p in top if name in p]
    if not values:  # a conditional parameter no top trial used (their optimizer has no such setting)
        return Change(name, dist, dist, "unchanged: no top trial used it")
    if isinstance(dist, Choice):
        return refine_choice(name, dist, values, [p[name] for p in scored if name in p])
    return refine_range(name, dist, values, values[0])


def _key(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)  # True and 1 are different values here


def refine_choice(name: str, dist: Choice, top: Sequence[Any], scored: Sequence[Any]) -> Change:
    used, tried = {_key(v) for v in top}, {_key(v) for v in scored}
    keep = tuple(v for v in dist.values if _key(v) in used or _key(v) not in tried)
    gone = [v for v in dist.values if v not in keep]
    untried = [v for v in keep if _key(v) not in tried]
    show = lambda vs: ", ".join(format_value(name, v) for v in vs)  # noqa: E731
    reasons = [f"kept {show([v for v in keep if _key(v) in used])} (used by the top trials)"]
    if untried:
        reasons.append(f"kept {show(untried)} (never tried)")
    if gone:
        reasons.append(f"dropped {show(gone)} (used only by worse trials)")
    return Change(name, dist, Choice(keep) if gone else dist, "; ".join(reasons))


def refine_range(name: str, dist: Distribution, values: Sequence[float], best: float) -> Change:
    to, back = scale(dist)
    low, high = dist.low, dist.high  # type: ignore[attr-defined]
    width = to(high) - to(low)
    lo = max(to(low), min(map(to, values)) - MARGIN * width)
    hi = min(to(high), max(map(to, values)) + MARGIN * width)
    new_low, new_high = _bound(dist, back(lo), down=True), _bound(dist, back(hi), down=False)
    new_low, new_high = max(new_low, low), min(new_high, high)
    span = f"{format_value(name, min(values))} .. {format_value(name, max(values))}"
    reasons = [f"the top trials span {span}" if len(values) > 1 else f"the top trial used {format_value(name, values[0])}"]
    where = edge(dist, best)
    if where is not None:
        target = to(low) - EXTEND * width if where == LOW else to(high) + EXTEND * width
        moved, note = _extend(name, dist, _bound(dist, back(target), down=where == LOW), where)
        new_low, new_high = (moved, new_high) if where == LOW and moved is not None else (new_low, new_high)
        new_low, new_high = (new_low, moved) if where == HIGH and moved is not None else (new_low, new_high)
        reasons.append(note)
    if dist.integer and new_low >= new_high:  # one value: an integer range needs two, so keep a neighbour
        new_low, new_high = (new_low, new_low + 1) if new_low + 1 <= high else (new_low - 1, new_low)
        reasons.append(f"kept {format_value(name, new_high if new_high != values[0] else new_low)} too "
                       f"({dist.name} needs low < high)")
    new = type(dist)(new_low, new_high)  # type: ignore[call-arg]
    if new == dist:
        return Change(name, dist, dist, "unchanged: " + "; ".join(reasons) + ("" if where else ", most of the old range"))
    if where is None and len(reasons) == 1:
        reasons.append("narrowed to that plus a tenth of the old range each side")
    return Change(name, dist, new, "; ".join(reasons))


def _extend(name: str, dist: Distribution, value: float, where: str) -> tuple[float | None, str]:
    """The new bound past the ``where`` edge, or None (and why) when the hyperparameter forbids it."""
    side = "lower" if where == LOW else "upper"
    old = dist.low if where == LOW else dist.high  # type: ignore[attr-defined]
    candidates = [value] + ([0.0] if not dist.log_scale and not dist.integer and value < 0 < old else [])
    for candidate in candidates:
        error = _check(name, candidate)
        try:
            type(dist)(*((candidate, dist.high) if where == LOW else (dist.low, candidate)))  # type: ignore[attr-defined,call-arg]
        except DistributionError as exc:
            error = error or str(exc)
        if error is None:
            factor = _factor(dist, old, candidate)
            return candidate, (f"the best lies in the {side} tenth of the old range, so the range extends past "
                               f"{format_value(name, old)} to {format_value(name, candidate)} (a quarter of the old "
                               f"range's width on its scale{factor})")
    return None, (f"the best lies in the {side} tenth of the old range, but {name} cannot go past "
                  f"{format_value(name, old)} ({_check(name, value) or 'out of range'})")


def _check(name: str, value: Any) -> str | None:
    """Why ``value`` is not allowed for ``name``; a custom model's own parameters take any value."""
    return HYPERPARAMETERS[name].check(value) if name in HYPERPARAMETERS else None


def _factor(dist: Distribution, old: float, new: float) -> str:
    if isinstance(dist, OneMinusLogUniform):
        return f": 1 - value x{(1 - new) / (1 - old):.3g}"
    return f": x{new / old:.3g}" if dist.log_scale and not dist.integer else ""


def _bound(dist: Distribution, value: float, down: bool) -> Any:
    """A bound as the config writes it: a whole number for integer ranges (rounded to nearest, or
    outward past an old edge), else ``SIGNIFICANT`` digits rounded outward (``down`` for a low)."""
    if dist.integer:
        return math.floor(value) if down and value < dist.low else math.ceil(value) if not down and value > dist.high else round(value)  # type: ignore[attr-defined]
    if isinstance(dist, OneMinusLogUniform):  # round 1 - x, where its digits are
        return 1 - _round_significant(1 - value, up=down)
    return _round_significant(value, up=not down)


def _round_significant(value: float, up: bool) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    step = 10 ** (math.floor(math.log10(abs(value))) - SIGNIFICANT + 1)
    scaled = value / step
    rounded = math.ceil(scaled - 1e-9) if up else math.floor(scaled + 1e-9)
    return float(f"{rounded * step:.{SIGNIFICANT + 2}g}")


def drop_unused_conditionals(changes: list[Change], fixed: dict[str, Any]) -> list[Change]:
    """A parameter for optimizers the refined space no longer holds leaves it (else the config is invalid)."""
    by_name = {c.name: c for c in changes}
    optimizer = by_name.get("optimizer")
    if optimizer is not None and isinstance(optimizer.new, Choice):
        possible = set(optimizer.new.values)
    else:
        possible = {fixed.get("optimizer", HYPERPARAMETERS["optimizer"].default)} if optimizer is None else set(OPTIMIZERS)
    out = []
    for change in changes:
        only = HYPERPARAMETERS[change.name].optimizers if change.name in HYPERPARAMETERS else None  # a model's own: none
        if only is not None and change.new is not None and not possible & set(only):
            change = Change(change.name, change.old, None, f"dropped: it applies only to {', '.join(only)}, "
                            f"which no top trial used")
        out.append(change)
    return out


def default_out(refinement: Refinement) -> Path:
    """``<run>/<name>-refined.yaml``: beside the run's config.yaml."""
    return refinement.run.root / f"{refinement.config.name}.yaml"
