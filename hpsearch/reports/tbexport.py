"""``hpsearch export RUN_DIR --tensorboard DIR``: a run as TensorBoard event files.

Layout, so that ``tensorboard --logdir DIR`` shows every trial beside the others:

    DIR/events.out.tfevents.*        the HParams experiment: the searched parameters (declared order,
                                     with their ranges) and the metrics the HParams table shows
    DIR/<NNNN>/events.out.tfevents.* trial NNNN (one TensorBoard run): its per-epoch scalars (step =
                                     epoch), its hyperparameters (an HParams session) and best figures

Written with the tensorboard package's own writer and summary builders (``EventFileWriter``, the
scalar plugin's ``scalar_pb``, the HParams plugin's ``hparams_pb`` / ``hparams_config_pb``); no
TensorFlow and no torch. tensorboard is an optional extra: without it a MissingExtraError gives the
pip line. A trial still running is exported as it stands (its epochs so far, no end status).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hpsearch.errors import MissingExtraError, RunDirError
from hpsearch.runs.readers import RunRecord, TrialRecord
from hpsearch.runs.records import TrialStatus
from hpsearch.space.distributions import Choice, Distribution

INSTALL_HINT = 'pip install -e ".[tensorboard]" from a checkout (or: pip install tensorboard)'

# Per-epoch scalars: tag -> the metrics.jsonl field it plots.
EPOCH_SCALARS = {"accuracy/train": "train_acc", "accuracy/val": "val_acc",
                 "loss/train": "train_loss", "loss/val": "val_loss", "lr": "lr"}
# The HParams table's metrics: tag -> (result.json field, description). Written once per trial, at
# its best epoch; TensorBoard shows each trial's last value of the tag.
BEST_METRICS = {
    "best/val_acc": ("val_acc", "validation accuracy at the best epoch (the highest)"),
    "best/train_acc": ("train_acc", "train accuracy at the best epoch"),
    "best/gap": ("gap", "train_acc - val_acc at the best epoch: the variance"),
    "best/epoch": ("best_epoch", "the epoch with the highest validation accuracy (from 1)"),
    "trial/seconds": ("seconds", "the trial's wall time"),
}


@dataclass
class ExportResult:
    out_dir: Path
    trials: int  # trials written, one TensorBoard run each
    unfinished: int  # of them, trials without a result yet (at work, or cut short by a kill): as they stand


def export_tensorboard(run: RunRecord, out_dir: Path) -> ExportResult:
    """Write ``run``'s trials as TensorBoard event files under ``out_dir`` (new or empty).

    Raises MissingExtraError without the tensorboard package, RunDirError when ``out_dir`` holds
    files already (TensorBoard would mix the old events with the new)."""
    tb = _tensorboard()
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise RunDirError(f"{out_dir} is not an empty folder; give a new or empty one for the TensorBoard files "
                          "(TensorBoard would mix events already there with the new ones)")
    space = run.search_config().space
    started = _timestamp(run.info.get("started"))
    _write(tb, out_dir, [(tb.hparams_config_pb(_hparams(tb, space), _metrics(tb), time_created_secs=started), 0, started)])
    started_trials = [t for t in run.trials if t.params_record is not None]  # a folder without params.json: nothing ran
    for trial in started_trials:
        _export_trial(tb, trial, list(space), out_dir / trial.path.name, started)
    return ExportResult(out_dir, len(started_trials), sum(t.result is None for t in started_trials))


class _TensorBoard:
    """The tensorboard modules the export uses, imported once (see ``_tensorboard``)."""

    def __init__(self) -> None:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2, summary_v2
        from tensorboard.plugins.scalar import summary_v2 as scalar
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self.event_pb2, self.summary_pb2, self.api_pb2 = event_pb2, summary_pb2, api_pb2
        self.metadata, self.plugin_data_pb2, self.hp = metadata, plugin_data_pb2, summary_v2
        self.scalar_pb, self.EventFileWriter = scalar.scalar_pb, EventFileWriter
        self.hparams_pb, self.hparams_config_pb = summary_v2.hparams_pb, summary_v2.hparams_config_pb


def _tensorboard() -> _TensorBoard:
    try:
        import tensorboard  # noqa: F401  (first, alone: a missing package fails here, whatever is cached)

        return _TensorBoard()
    except ImportError as exc:
        raise MissingExtraError(f"hpsearch export --tensorboard needs the tensorboard package ({exc}); "
                                f"install it with: {INSTALL_HINT}") from None


def _hparams(tb: _TensorBoard, space: dict[str, Distribution]) -> list[Any]:
    """The searched parameters in declared order, each with its domain (choice: its values; a range:
    its bounds) and its distribution as the description."""
    out = []
    for name, dist in space.items():
        if isinstance(dist, Choice):
            same_type = len({type(v) for v in dist.values}) == 1
            domain = tb.hp.Discrete(list(dist.values)) if same_type else None
            description = f"choice of {list(dist.values)}"
        else:
            low, high = dist.low, dist.high  # type: ignore[attr-defined]  (every range distribution has both)
            domain = tb.hp.IntInterval(low, high) if dist.integer else tb.hp.RealInterval(float(low), float(high))
            description = f"{dist.name} from {low} to {high}"
        out.append(tb.hp.HParam(name, domain, description=description))
    return out


def _metrics(tb: _TensorBoard) -> list[Any]:
    return [tb.hp.Metric(tag, display_name=tag.replace("/", " "), description=why,
                         dataset_type=tb.hp.Metric.VALIDATION if "val" in field else None)
            for tag, (field, why) in BEST_METRICS.items()]


def _export_trial(tb: _TensorBoard, trial: TrialRecord, names: list[str], folder: Path, run_start: float) -> None:
    """One trial: a session start (its params), its epochs, its best figures, and, once finished, its end."""
    start = _trial_start(trial, run_start)
    params = {k: trial.params[k] for k in names if k in trial.params}  # conditional ones may be absent
    summaries: list[tuple[Any, int, float]] = [(tb.hparams_pb(params, trial_id=folder.name, start_time_secs=start), 0, start)]
    wall = start
    for epoch in trial.metrics():
        wall += epoch.seconds
        for tag, key in EPOCH_SCALARS.items():
            if _finite(value := getattr(epoch, key)):
                summaries.append((tb.scalar_pb(tag, float(value)), epoch.epoch, wall))
    if trial.result is not None:
        for tag, (key, _) in BEST_METRICS.items():
            if _finite(value := getattr(trial.result, key)):
                summaries.append((tb.scalar_pb(tag, float(value)), trial.result.best_epoch or 0, wall))
    status = _session_status(tb, trial)
    if status is not None:
        summaries.append((_session_end_pb(tb, status, wall), 0, wall))
    _write(tb, folder, summaries)


def _write(tb: _TensorBoard, folder: Path, summaries: list[tuple[Any, int, float]]) -> None:
    """One event file in ``folder`` holding each (summary, step, wall time) in order."""
    writer = tb.EventFileWriter(str(folder))
    try:
        for summary, step, wall_time in summaries:
            writer.add_event(tb.event_pb2.Event(wall_time=wall_time, step=step, summary=summary))
    finally:
        writer.close()


def _session_status(tb: _TensorBoard, trial: TrialRecord) -> int | None:
    """The HParams session status of a finished trial; None (no end written) while it runs or was
    interrupted, which TensorBoard shows as unknown."""
    if trial.result is None:
        return None
    status = trial.status
    if status in (TrialStatus.COMPLETED, TrialStatus.STOPPED):  # stopped: measured like any other, by a scheduler
        return tb.api_pb2.STATUS_SUCCESS
    if status in (TrialStatus.DIVERGED, TrialStatus.FAILED):
        return tb.api_pb2.STATUS_FAILURE
    return None


def _session_end_pb(tb: _TensorBoard, status: int, end_time: float) -> Any:
    """The session's end, as the HParams plugin reads it (the plugin's summary_v2 has no builder for
    it without TensorFlow; this is what its v1 ``session_end_pb`` writes)."""
    info = tb.plugin_data_pb2.SessionEndInfo(status=status, end_time_secs=end_time)
    summary = tb.summary_pb2.Summary()
    summary.value.add(tag=tb.metadata.SESSION_END_INFO_TAG, tensor=tb.metadata.NULL_TENSOR,
                      metadata=tb.metadata.create_summary_metadata(tb.plugin_data_pb2.HParamsPluginData(session_end_info=info)))
    return summary


def _trial_start(trial: TrialRecord, run_start: float) -> float:
    """When the trial began: params.json is written as it starts (the run's start if it is missing)."""
    try:
        return (trial.path / "params.json").stat().st_mtime
    except OSError:
        return run_start


def _timestamp(iso: str | None) -> float:
    try:
        return datetime.fromisoformat(iso).timestamp() if iso else 0.0
    except ValueError:
        return 0.0


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
