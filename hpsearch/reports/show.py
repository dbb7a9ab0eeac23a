"""One trial in detail (``hpsearch show``): its parameters, its model, its learning curve epoch by
epoch, and its bias/variance diagnosis. Standard library only: no torch at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpsearch.errors import RunDirError
from hpsearch.formatting import duration, format_value, pct, signed_pct
from hpsearch.reports.compare import target_of, trial_diagnosis
from hpsearch.reports.diagnosis import advice
from hpsearch.reports.ranges import edges
from hpsearch.reports.tables import render_table
from hpsearch.runs.readers import RunRecord, TrialRecord, open_trial
from hpsearch.runs.records import EpochMetrics


def resolve_trial(path: Path, trial_id: str | None) -> tuple[RunRecord, TrialRecord]:
    """``show TRIAL_DIR`` or ``show RUN_DIR TRIAL_ID`` (the id as ``3`` or ``0003``)."""
    if trial_id is None:
        if (path / "run.json").exists():
            raise RunDirError(f"{path} is a run folder; give a trial id too (hpsearch show {path} 0) "
                              f"or a trial folder ({path / 'trials' / '0000'})")
        return open_trial(path)
    if not trial_id.isdigit():
        raise RunDirError(f"trial id must be a number such as 3 or 0003, got {trial_id!r}")
    run = RunRecord(path)
    return run, run.trial(int(trial_id))


def model_summary(h: Mapping[str, Any], input_dim: int, num_classes: int) -> tuple[str, int]:
    """The MLP ``model.build_mlp`` builds for ``h``, in words, and its parameter count, computed
    without torch: each hidden Linear has no bias under batch norm (BatchNorm1d's shift replaces it)."""
    width, layers, bn = h["hidden_units"], h["layers"], h["batchnorm"]
    count, fan_in = 0, input_dim
    for _ in range(layers):
        count += fan_in * width + (2 * width if bn else width)
        fan_in = width
    count += fan_in * num_classes + num_classes
    block = ["Linear", *(["BatchNorm1d"] if bn else []), h["activation"], *([f"Dropout({h['dropout']:.3g})"] if h["dropout"] else [])]
    shape = " -> ".join(str(n) for n in [input_dim, *([width] * layers), num_classes])
    text = f"{shape}: {layers} hidden blocks of {' + '.join(block)}, then Linear; batch norm {'on' if bn else 'off'}"
    return text, count


def curve_table(epochs: list[EpochMetrics], best_epoch: int | None) -> str:
    """The learning curve, one row per epoch; the best epoch (highest val acc) is starred."""
    def loss(v: float | None) -> str:
        return "-" if v is None else f"{v:.4f}"

    rows = []
    for e in epochs:
        gap = None if e.train_acc is None or e.val_acc is None else e.train_acc - e.val_acc
        mark = "*" if e.epoch == best_epoch else ""
        rows.append([f"{e.epoch}{mark}", format_value("lr", e.lr), loss(e.train_loss), loss(e.val_loss),
                     pct(e.train_acc), pct(e.val_acc), signed_pct(gap), f"{e.seconds:.2f}"])
    return render_table(["epoch", "lr", "train loss", "val loss", "train acc", "val acc", "gap", "seconds"], rows)


def show_trial(run: RunRecord, trial: TrialRecord, target_error: float | None = None) -> str:
    """The text ``hpsearch show`` prints for one trial (diagnosed against the config's target
    error unless ``target_error`` is given)."""
    result = trial.result
    head = f"trial {trial.id:04d} of {run.root.name} ({trial.path}): {trial.status}"
    if result is not None:
        head += f" in {duration(result.seconds)}"
    lines = [head + (f", seed {trial.seed}" if trial.seed is not None else "")]
    if result is not None and result.error:
        lines.append(f"error: {result.error}")
    for d in result.decisions if result else []:  # the scheduler's rung decisions: why it went on or stopped
        verdict = "continued" if d["promoted"] else "stopped"
        lines.append(f"rung {d['rung']}: best val {pct(d['value'])}, cutoff {pct(d['cutoff'])}, "
                     f"rank {d['rank']} of {d['competitors']}: {verdict}")
    lines.append("searched:")
    lines += [f"  {name:<14} {format_value(name, trial.params[name])}" for name in run.param_names if name in trial.params]
    h = trial.hyperparameters
    rest = {k: v for k, v in h.items() if k not in trial.params}
    if rest:
        lines.append("fixed and defaults: " + ", ".join(f"{k} {format_value(k, v)}" for k, v in rest.items()))
    data = run.data
    if {"hidden_units", "layers", "batchnorm", "activation", "dropout"} <= h.keys() and data.input_dim:
        text, count = model_summary(h, data.input_dim, data.num_classes or 0)
        parameters = result.num_parameters if result and result.num_parameters is not None else count
        lines.append(f"model: {text}; {parameters:,} parameters")
    elif run.info.get("model"):  # a custom model: its reference, and the size run_segment counted
        counted = f"; {result.num_parameters:,} parameters" if result and result.num_parameters is not None else ""
        lines.append(f"model: {run.info['model']['reference']}{counted}")
    best_epoch = result.best_epoch if result else None
    epochs_trained = result.epochs_trained if result else None
    if result is not None and best_epoch is not None:
        lines.append(f"best epoch {best_epoch} of {'?' if epochs_trained is None else epochs_trained}: train acc "
                     f"{pct(result.train_acc)}, val acc {pct(result.val_acc)}, gap {signed_pct(result.gap)}")
    diagnosis = trial_diagnosis(run, trial, target_of(run, target_error))
    if diagnosis is not None:
        lines.append(f"diagnosis: {diagnosis.describe()}")
        at = edges(run.search_config().space, trial.params)
        lines.append("try next: " + "; or ".join(advice(diagnosis, h, best_epoch, epochs_trained, at)))
    epochs = trial.metrics()
    lines += ["", curve_table(epochs, best_epoch) if epochs else "no epoch finished yet"]
    return "\n".join(lines)
