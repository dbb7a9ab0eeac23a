"""The main process's side of a running trial: it records each epoch, asks the scheduler at every
rung, writes the rung checkpoints and the result. The trainer (here or in a worker process) only
trains; every file is written here, so a run folder has a single writer however many workers run.

A rung checkpoint (``trials/NNNN/checkpoint.pt``, written atomically) holds the TrainState and the
decisions so far; ``hpsearch resume`` continues an interrupted trial from it, and the scheduler's
rungs are rebuilt from the decisions recorded in the folder. It is deleted once the trial's
result.json is written: a finished trial needs no checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from hpsearch.atomic import atomic_file
from hpsearch.runs.records import FINAL_STATUSES, EpochMetrics, TrialResult
from hpsearch.runs.store import RunStore, TrialRecord
from hpsearch.search.schedulers import Scheduler
from hpsearch.space.sampler import Trial
from hpsearch.training.trainer import STOP, TrainState

if TYPE_CHECKING:
    from hpsearch.search.run import SearchObserver

CHECKPOINT = "checkpoint.pt"


def write_checkpoint(trial_dir: Path, state: TrainState, decisions: list[dict[str, Any]]) -> None:
    """torch.save to a temporary file in the trial folder, then a rename: never half a checkpoint."""
    with atomic_file(trial_dir / CHECKPOINT, binary=True) as handle:
        torch.save({"state": state.to_dict(), "decisions": decisions}, handle)


def read_checkpoint(trial_dir: Path) -> tuple[TrainState, list[dict[str, Any]]] | None:
    """The trial's last rung checkpoint, or None (none written, or unreadable: then it reruns)."""
    path = trial_dir / CHECKPOINT
    if not path.exists():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        return TrainState(**saved["state"]), list(saved["decisions"])
    except Exception:  # a checkpoint from another torch or hpsearch version: start the trial again
        return None


@dataclass
class TrialDriver:
    """Records one trial into ``store`` as its epochs arrive, and takes its rung decisions."""

    trial: Trial
    store: RunStore
    scheduler: Scheduler
    observer: SearchObserver
    history: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def start(cls, trial: Trial, store: RunStore, scheduler: Scheduler, observer: SearchObserver,
              resume_from: tuple[TrainState, list[dict[str, Any]]] | None) -> TrialDriver:
        """Write params.json (and, when continuing from a checkpoint, the epochs it holds)."""
        driver = cls(trial, store, scheduler, observer)
        if resume_from is None:
            store.clear_trial(trial.id)
        else:
            state, decisions = resume_from
            driver.history, driver.decisions = list(state.epochs), list(decisions)
            (store.trial_dir(trial.id) / "result.json").unlink(missing_ok=True)
            store.write_metrics(trial.id, driver.history)  # epochs after the checkpoint are trained again
        store.write_params(trial.id, {"trial": trial.id, "seed": trial.seed, "params": trial.params,
                                      "hyperparameters": trial.hyperparameters})
        observer.trial_started(trial)
        return driver

    def epoch(self, metrics: EpochMetrics) -> str | None:
        """Record an epoch; at a rung, judge the best validation accuracy so far. STOP ends the trial."""
        self.history.append(metrics.to_dict())
        self.store.write_metrics(self.trial.id, self.history)
        self.observer.epoch_finished(self.trial, metrics)
        best = max(e["val_acc"] for e in self.history)
        decision = self.scheduler.report(self.trial.id, metrics.epoch, best)
        if decision is None:
            return None
        self.decisions.append(decision.to_dict())
        return None if decision.promoted else STOP

    def snapshot(self, state: TrainState) -> None:
        write_checkpoint(self.store.trial_dir(self.trial.id), state, self.decisions)

    def finish(self, result: TrialResult) -> TrialResult:
        """Write result.json (with the rung reached and the decisions) and drop the checkpoint."""
        result.decisions = list(self.decisions)
        result.rung = self.decisions[-1]["rung"] if self.decisions else None
        self.store.write_result(self.trial.id, result.to_dict())
        (self.store.trial_dir(self.trial.id) / CHECKPOINT).unlink(missing_ok=True)
        self.observer.trial_finished(self.trial, result)
        return result

    def interrupted(self, seconds: float) -> None:
        """Mark the trial ``interrupted`` unless its result.json (final once written) exists; its
        checkpoint, if any, stays for ``hpsearch resume``."""
        if not (self.store.trial_dir(self.trial.id) / "result.json").exists():
            self.store.write_result(self.trial.id, TrialResult("interrupted", seconds=seconds, decisions=list(self.decisions)).to_dict())


def rebuild_rungs(scheduler: Scheduler, store: RunStore, done: list[tuple[Trial, TrialResult]],
                  pending: list[int], device_types: set[str]) -> dict[int, tuple[TrainState, list[dict[str, Any]]]]:
    """Put the folder's rung records back into ``scheduler`` (finished trials, then the checkpoints
    of unfinished ones, by trial id: one worker's arrival order) and return those checkpoints.

    A checkpoint taken on another kind of device (a GPU run resumed on a CPU) cannot restore its
    random state there, so that trial starts again from scratch instead."""
    for trial, result in sorted(done, key=lambda tr: tr[0].id):
        scheduler.restore(trial.id, result.decisions)
    starts: dict[int, tuple[TrainState, list[dict[str, Any]]]] = {}
    for trial_id in pending:
        record = TrialRecord(store.trial_dir(trial_id)) if store.trial_dir(trial_id).exists() else None
        if record is None or record.status in FINAL_STATUSES:
            continue
        found = read_checkpoint(record.path)
        if found is not None and {found[0].device_type} == device_types:
            scheduler.restore(trial_id, found[1])
            starts[trial_id] = found
    return starts
