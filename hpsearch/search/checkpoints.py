"""Rung checkpoints: how a trial that passed a rung survives a kill, and how resume rebuilds the rungs.

A rung checkpoint (``trials/NNNN/checkpoint.pt``, written atomically when a trial is promoted at a
rung) holds the TrainState and the rung decisions so far; ``hpsearch resume`` continues an
interrupted trial from it, and the scheduler's rungs are rebuilt from the decisions recorded in the
folder. It is deleted once the trial's result.json is written: a finished trial needs no checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from hpsearch.atomic import save_atomic
from hpsearch.runs.readers import TrialRecord
from hpsearch.runs.records import TrialResult, TrialStatus
from hpsearch.runs.store import RunStore
from hpsearch.search.schedulers import Scheduler
from hpsearch.space.sampler import Trial
from hpsearch.training.trainstate import TrainState

CHECKPOINT = "checkpoint.pt"
Checkpoint = tuple[TrainState, list[dict[str, Any]]]  # the state and the rung decisions so far


def write_checkpoint(trial_dir: Path, state: TrainState, decisions: list[dict[str, Any]]) -> None:
    """torch.save to a temporary file in the trial folder, then a rename: never half a checkpoint."""
    save_atomic({"state": state.to_dict(), "decisions": decisions}, trial_dir / CHECKPOINT, torch.save)


def read_checkpoint(trial_dir: Path) -> Checkpoint | None:
    """The trial's last rung checkpoint, or None (none written, or unreadable: then it reruns)."""
    path = trial_dir / CHECKPOINT
    if not path.exists():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        return TrainState(**saved["state"]), list(saved["decisions"])
    except Exception:  # a checkpoint from another torch or hpsearch version: start the trial again
        return None


def rebuild_rungs(scheduler: Scheduler, store: RunStore, done: list[tuple[Trial, TrialResult]],
                  pending: list[int], device_types: set[str]) -> dict[int, Checkpoint]:
    """Put the folder's rung records back into ``scheduler`` (finished trials, then the checkpoints
    of unfinished ones, by trial id: one worker's arrival order) and return those checkpoints.

    A checkpoint taken on another kind of device (a GPU run resumed on a CPU) cannot restore its
    random state there, so that trial starts again from scratch instead."""
    for trial, result in sorted(done, key=lambda tr: tr[0].id):
        scheduler.restore(trial.id, result.decisions)
    starts: dict[int, Checkpoint] = {}
    for trial_id in pending:
        record = TrialRecord(store.trial_dir(trial_id)) if store.trial_dir(trial_id).exists() else None
        if record is None or TrialStatus(record.status).final:
            continue
        found = read_checkpoint(record.path)
        if found is not None and {found[0].device_type} == device_types:
            scheduler.restore(trial_id, found[1])
            starts[trial_id] = found
    return starts
