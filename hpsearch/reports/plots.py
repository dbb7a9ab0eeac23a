"""PNG plots of a run, written into its folder (``hpsearch plot``). Needs matplotlib, an optional
extra (``pip install 'hpsearch[plot]'``); without it a typed error says how to install it.

Files written:
    metric_vs_params.png   validation accuracy against each searched parameter (log axis for
                           log-scale ones; 1 - x on a log axis for momentum-like ones)
    learning_curves.png    train (dashed) and validation (solid) accuracy per epoch, top trials
    train_vs_val.png       train against validation accuracy per trial: below the diagonal is
                           variance, left of the target line is avoidable bias
    batchnorm.png          validation accuracy with batch norm off and on (only when both were sampled)
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpsearch.errors import MissingExtraError
from hpsearch.formatting import format_value
from hpsearch.runs.readers import RunRecord, TrialRecord
from hpsearch.runs.records import BEST_STATUSES, TrialStatus, best_of
from hpsearch.space.distributions import Choice, Distribution, OneMinusLogUniform

TOP_CURVES = 5
INSTALL_HINT = 'pip install -e ".[plot]" (from a checkout; or: pip install matplotlib)'


@dataclass
class PlotResult:
    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why a plot was not drawn


def _pyplot() -> Any:
    if importlib.util.find_spec("matplotlib") is None:
        raise MissingExtraError(f"hpsearch plot needs matplotlib, which is not installed: {INSTALL_HINT}")
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, none opened
    import matplotlib.pyplot as plt

    return plt


def _ticker() -> Any:
    import matplotlib.ticker

    return matplotlib.ticker


def _scored(run: RunRecord) -> list[TrialRecord]:
    return [t for t in run.trials if t.result is not None and t.result.val_acc is not None]


def _acc(trial: TrialRecord) -> float:
    """Validation accuracy in percent, of a trial in ``_scored``."""
    value = trial.result.val_acc if trial.result else None
    return 100 * (value or 0.0)


def _train_acc(trial: TrialRecord) -> float:
    """Train accuracy in percent, of a trial that has one."""
    value = trial.result.train_acc if trial.result else None
    return 100 * (value or 0.0)


def _param_panel(ax: Any, name: str, dist: Distribution | None, trials: list[TrialRecord], best: int) -> None:
    """One parameter's panel: each trial a point; diverged trials as crosses, the best as a star."""
    used = [t for t in trials if name in t.params]
    values = [t.params[name] for t in used]
    categorical = isinstance(dist, Choice) or any(isinstance(v, bool | str) for v in values)
    if categorical:
        levels = list(dist.values) if isinstance(dist, Choice) else sorted(set(values), key=str)
        xs: list[float] = [levels.index(v) + 0.08 * ((t.id % 5) - 2) for v, t in zip(values, used, strict=True)]
        ax.set_xticks(range(len(levels)), [format_value(name, v) for v in levels])
        ax.set_xlim(-0.5, len(levels) - 0.5)
    elif isinstance(dist, OneMinusLogUniform):
        xs = [1 - v for v in values]
        ax.set_xscale("log")
        ax.invert_xaxis()  # larger momentum to the right, as on the parameter's own scale
        ticks = log_ticks(1 - dist.high, 1 - dist.low)  # labelled with the parameter itself: 0.9, 0.99, 0.999
        ax.set_xticks(ticks, [f"{1 - t:.6g}" for t in ticks])
        ax.xaxis.set_minor_formatter(_ticker().NullFormatter())  # no minor labels to overprint the major ones
        name = f"{name} (log scale of 1 - {name})"
    else:
        xs = [float(v) for v in values]
        integer = all(isinstance(v, int) for v in values)
        if dist is not None and dist.log_scale:
            ax.set_xscale("log")
            name = f"{name} (log)"
            if integer and values:  # ticks at powers of two, written 64, 128, 256
                ticks = [2**k for k in range(12) if min(values) / 2 <= 2**k <= max(values) * 2]
                ax.set_xticks(ticks, [str(t) for t in ticks])
            elif values:
                ticks = log_ticks(min(min(xs), getattr(dist, "low", min(xs))), max(max(xs), getattr(dist, "high", max(xs))))
                ax.set_xticks(ticks, [format_value(name.split(" ")[0], t) for t in ticks])
            ax.xaxis.set_minor_formatter(_ticker().NullFormatter())
        elif integer:
            ax.xaxis.set_major_locator(_ticker().MaxNLocator(integer=True))
    styles = {"trial": {"marker": "o", "color": "tab:blue"}, "diverged": {"marker": "x", "color": "tab:red"},
              "best": {"marker": "*", "s": 140, "color": "tab:orange"}}
    for kind, style in styles.items():
        picked = [(x, _acc(t)) for x, t in zip(xs, used, strict=True)
                  if kind == ("best" if t.id == best else "diverged" if t.status is TrialStatus.DIVERGED else "trial")]
        if picked:
            ax.scatter([x for x, _ in picked], [y for _, y in picked], zorder=3, **style)
    ax.set_xlabel(name)
    ax.grid(alpha=0.3)


def log_ticks(low: float, high: float) -> list[float]:
    """At most 5 ticks for a log axis from ``low`` to ``high``: the powers of ten inside, or 1, 2
    and 5 times them when fewer than 2 fall inside (a range narrower than a decade), or the ends.

    >>> log_ticks(1e-4, 1.0)
    [0.0001, 0.001, 0.01, 0.1, 1.0]
    >>> log_ticks(0.05, 0.1)
    [0.05, 0.1]
    >>> log_ticks(0.065, 0.1)
    [0.065, 0.0806, 0.1]
    """
    start, stop = math.floor(math.log10(low)), math.ceil(math.log10(high))
    inside = [10.0**k for k in range(start, stop + 1) if low * 0.999 <= 10.0**k <= high * 1.001]
    if len(inside) < 2:
        inside = [m * 10.0**k for k in range(start, stop + 1) for m in (1, 2, 5) if low * 0.999 <= m * 10.0**k <= high * 1.001]
    if len(inside) < 2:  # narrower still: the two ends and their geometric middle
        inside = [low, math.sqrt(low * high), high]
    step = -(-len(inside) // 5)
    return [float(f"{t:.3g}") for t in inside[::step]]


def plot_params(run: RunRecord, plt: Any, path: Path) -> None:
    space = run.search_config().space
    names = run.param_names
    trials = _scored(run)
    ranked = [t for t in trials if t.status in BEST_STATUSES] or trials  # the search's best never diverged
    top = best_of(ranked, _acc, lambda t: t.id)  # never None: every trial in ``_scored`` has a val_acc
    best = top.id if top is not None else -1
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False, sharey=True)
    for ax, name in zip(axes.flat, names, strict=False):
        _param_panel(ax, name, space.get(name), trials, best)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("val acc (%)")
    fig.suptitle(f"{run.root.name}: validation accuracy per trial (star: best, x: diverged)")
    _save(fig, plt, path)


def plot_curves(run: RunRecord, plt: Any, path: Path) -> None:
    top = sorted(_scored(run), key=lambda t: (-_acc(t), t.id))[:TOP_CURVES]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, trial in enumerate(top):
        epochs = trial.metrics()
        color = f"C{i}"
        xs = [e.epoch for e in epochs]
        ax.plot(xs, [100 * e.val_acc for e in epochs], color=color, label=f"{trial.id:04d} val {_acc(trial):.1f}%")
        ax.plot(xs, [100 * e.train_acc for e in epochs], color=color, linestyle="--", alpha=0.7)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(_ticker().MaxNLocator(integer=True))
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"{run.root.name}: top {len(top)} trials (solid: validation, dashed: train)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    _save(fig, plt, path)


def plot_train_val(run: RunRecord, plt: Any, path: Path) -> None:
    trials = [t for t in _scored(run) if t.result is not None and t.result.train_acc is not None]
    target = 100 * (1 - run.search_config().target_error)
    fig, ax = plt.subplots(figsize=(6, 6))
    xs, ys = [_train_acc(t) for t in trials], [_acc(t) for t in trials]
    ax.scatter(xs, ys, color="tab:blue", zorder=3)
    low = min([*xs, *ys]) - 2
    high = max(target, *xs, *ys) + 1
    ax.plot([low, high], [low, high], color="grey", linestyle=":", label="val = train (no variance)")
    ax.axvline(target, color="tab:green", linestyle="--", label=f"target {target:.1f}% (no avoidable bias)")
    ax.set(xlim=(low, high), ylim=(low, high), xlabel="train accuracy (%)", ylabel="validation accuracy (%)")
    ax.set_title("bias: distance left of the target; variance: distance below the diagonal\n"
                 "labelled: the best trials, where a label fits without covering another", fontsize="small")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper left")
    order = sorted(range(len(trials)), key=lambda i: (-ys[i], trials[i].id))  # best first: they get the room
    _label_points(fig, ax, [(f"{trials[i].id:04d}", xs[i], ys[i]) for i in order])
    _save(fig, plt, path)


def _label_points(fig: Any, ax: Any, labels: list[tuple[str, float, float]]) -> None:
    """Label points in the order given, each at the first of a few offsets where it overlaps no
    label already placed and no other point; a label with no free place is left out (the points
    of a dense cluster would otherwise be buried under merged numbers)."""
    renderer = fig.canvas.get_renderer()
    points = [ax.transData.transform((x, y)) for _, x, y in labels]
    placed: list[Any] = []
    for text, x, y in labels:
        for dx, dy, ha in ((4, 4, "left"), (4, -11, "left"), (-4, 4, "right"), (-4, -11, "right")):
            note = ax.annotate(text, (x, y), fontsize="x-small", xytext=(dx, dy), textcoords="offset points", ha=ha)
            box = note.get_window_extent(renderer).expanded(1.1, 1.2)
            if not any(box.overlaps(other) for other in placed) and not any(
                    box.contains(px, py) for px, py in points) and ax.bbox.contains(*box.p0) and ax.bbox.contains(*box.p1):
                placed.append(box)
                break
            note.remove()


def plot_batchnorm(run: RunRecord, plt: Any, path: Path) -> None:
    groups = {flag: [_acc(t) for t in _scored(run) if t.params.get("batchnorm") is flag] for flag in (False, True)}
    fig, ax = plt.subplots(figsize=(5, 4.5))
    labels = []
    for x, flag in enumerate((False, True)):
        accs = groups[flag]
        ax.scatter([x + 0.06 * ((i % 5) - 2) for i in range(len(accs))], accs, alpha=0.7, zorder=3)
        mean = sum(accs) / len(accs)
        ax.hlines(mean, x - 0.25, x + 0.25, color="black", zorder=2, label="mean" if x == 0 else None)
        labels.append(f"batch norm {'on' if flag else 'off'}\nmean {mean:.1f}% (n={len(accs)})")  # under the axis, not over the points
    ax.legend(fontsize="small", loc="lower right")
    ax.set_xticks([0, 1], labels)
    ax.set_xlim(-0.6, 1.6)
    ax.set_ylabel("val acc (%)")
    ax.set_title(f"{run.root.name}: batch norm off vs on")
    ax.grid(alpha=0.3, axis="y")
    _save(fig, plt, path)


def _save(fig: Any, plt: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_run(run: RunRecord, out_dir: Path | None = None) -> PlotResult:
    """Draw every plot that the run's trials allow into ``out_dir`` (default: the run folder)."""
    plt = _pyplot()
    out_dir = out_dir or run.root
    result = PlotResult()
    if not _scored(run):
        result.skipped.append("all plots: no trial has a validation accuracy yet")
        return result
    plots = [("metric_vs_params.png", plot_params, bool(run.param_names), "no searched parameter"),
             ("learning_curves.png", plot_curves, True, ""),
             ("train_vs_val.png", plot_train_val, True, ""),
             ("batchnorm.png", plot_batchnorm, _both_batchnorm(run), "batchnorm was not sampled both off and on")]
    for name, draw, possible, why in plots:
        if not possible:
            result.skipped.append(f"{name}: {why}")
            continue
        draw(run, plt, out_dir / name)
        result.written.append(out_dir / name)
    return result


def _both_batchnorm(run: RunRecord) -> bool:
    seen = {t.params.get("batchnorm") for t in _scored(run)}
    return {True, False} <= seen
