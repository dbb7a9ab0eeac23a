"""What the search makes of each event: decisions, and the run folder's files.

The loop (loop.py) moves segments and events; the bookkeeper decides and records. It writes a
trial's params.json when it starts, metrics.jsonl as its epochs arrive, asks the scheduler at every
rung, writes the rung checkpoint and the next segment of a promoted trial, then result.json,
trials.csv and best_model.pt when it ends. All of it happens here, in the main process, so a run
folder has one writer and the scheduler one memory however the trials are trained.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field
from typing import Any

from hpsearch.runs.records import EpochMetrics, SearchResult, TrialResult, TrialStatus
from hpsearch.runs.store import RunStore
from hpsearch.runs.summary import write_trials_csv
from hpsearch.search.checkpoints import CHECKPOINT, Checkpoint, write_checkpoint
from hpsearch.search.observer import SearchObserver
from hpsearch.search.schedulers import Scheduler
from hpsearch.space.config import SearchConfig
from hpsearch.space.sampler import Trial, sample_trial
from hpsearch.training.bestmodel import BestModelKeeper
from hpsearch.training.segments import EpochEnded, Segment, SegmentEnded
from hpsearch.training.trainstate import TrainState

CSV_EVERY = 1.0  # seconds between rewrites of trials.csv while trials finish (O(trials) each)


@dataclass
class OpenTrial:
    """A trial started and not yet finished: its epochs and rung decisions so far."""

    trial: Trial
    epochs: list[EpochMetrics]
    decisions: list[dict[str, Any]]
    began: float = field(default_factory=time.perf_counter)


@dataclass
class Bookkeeper:
    config: SearchConfig
    store: RunStore
    scheduler: Scheduler
    observer: SearchObserver
    outcome: SearchResult  # the finished trials, by id; summed up in run.json and trials.csv
    keeper: BestModelKeeper
    starts: dict[int, Checkpoint]  # rung checkpoints that interrupted trials continue from
    open: dict[int, OpenTrial] = field(default_factory=dict)
    started: int = 0  # trials started (or continued from a checkpoint) by this invocation
    training: float = 0.0  # seconds of the epochs recorded by this invocation, less their evaluation
    evaluation: float = 0.0
    csv_written: float = -CSV_EVERY  # time.monotonic() of the last trials.csv rewrite

    def start(self, trial_id: int) -> Segment:
        """Begin trial ``trial_id`` (from its checkpoint, if it has one): write params.json; return its first segment."""
        trial = sample_trial(self.config, trial_id)
        found = self.starts.pop(trial_id, None)
        state, decisions = found if found is not None else (None, [])
        epochs = [EpochMetrics(**e) for e in state.epochs] if state is not None else []
        if state is None:
            self.store.clear_trial(trial_id)
        else:
            (self.store.trial_dir(trial_id) / "result.json").unlink(missing_ok=True)
            self.store.write_metrics(trial_id, [e.to_dict() for e in epochs])  # epochs after it are trained again
        self.store.write_params(trial_id, {"trial": trial.id, "seed": trial.seed, "params": trial.params,
                                           "hyperparameters": trial.hyperparameters})
        self.open[trial_id] = OpenTrial(trial, epochs, list(decisions))
        self.started += 1
        self.observer.trial_started(trial)
        return self._segment(trial, state)

    def _segment(self, trial: Trial, state: TrainState | None) -> Segment:
        """From ``state`` to the trial's next rung (where the scheduler judges it) or its last epoch."""
        done = state.epoch if state is not None else 0
        rung = next((r for r in self.scheduler.rungs(trial.id) if r > done), None)
        return Segment(trial, rung or self.config.epochs, state, keep_state=rung is not None)

    def epoch(self, event: EpochEnded) -> None:
        """Record an epoch; at a rung, the scheduler judges the best validation accuracy so far."""
        book, metrics = self.open[event.trial_id], event.metrics
        if metrics.epoch <= len(book.epochs):  # a lost segment trained again: the same epoch, already recorded
            return
        book.epochs.append(metrics)
        self.training += metrics.seconds - metrics.eval_seconds
        self.evaluation += metrics.eval_seconds
        self.store.write_metrics(book.trial.id, [e.to_dict() for e in book.epochs])
        self.observer.epoch_finished(book.trial, metrics)
        decision = self.scheduler.report(book.trial.id, metrics.epoch, max(e.val_acc for e in book.epochs))
        if decision is not None:
            book.decisions.append(decision.to_dict())

    def segment_ended(self, event: SegmentEnded) -> Segment | None:
        """Finish the trial, or (promoted at its rung) checkpoint it and return its next segment."""
        book = self.open[event.trial_id]
        status = event.status
        if status is TrialStatus.COMPLETED and event.state is not None:  # it reached a rung
            if book.decisions and not book.decisions[-1]["promoted"]:
                status = TrialStatus.STOPPED
            else:
                write_checkpoint(self.store.trial_dir(book.trial.id), event.state, book.decisions)
                return self._segment(book.trial, event.state)
        result = TrialResult(status, seconds=event.seconds, error=event.error)
        if status is not TrialStatus.FAILED:  # a failed trial reports no epochs (its metrics.jsonl keeps them)
            result.epochs, result.num_parameters = list(book.epochs), event.num_parameters
            result.fill_best()
        self._finish(book, result, event.best_weights)
        return None

    def _finish(self, book: OpenTrial, result: TrialResult, weights: dict[str, Any] | None) -> None:
        """Write result.json (with the rung reached and the decisions), drop the checkpoint, sum up."""
        trial = book.trial
        result.decisions = list(book.decisions)
        result.rung = book.decisions[-1]["rung"] if book.decisions else None
        bisect.insort(self.outcome.trials, (trial, result), key=lambda tr: tr[0].id)  # kept in id order
        # best_model.pt before result.json: killed between the two, the trial is not final and runs again
        self.keeper.trial_finished(trial, result, self.outcome.best, weights)
        self.store.write_result(trial.id, result.to_dict())
        (self.store.trial_dir(trial.id) / CHECKPOINT).unlink(missing_ok=True)
        del self.open[trial.id]
        self.observer.trial_finished(trial, result)
        if time.monotonic() - self.csv_written >= CSV_EVERY:  # a live view; run.py rewrites it whole at the end
            write_trials_csv(self.config, self.store, self.outcome)
            self.csv_written = time.monotonic()

    def interrupt(self) -> list[int]:
        """Mark every open trial ``interrupted`` unless its result.json (final once written) exists;
        its checkpoint, if any, stays for ``hpsearch resume``. Its ``epochs_trained`` counts the epochs
        metrics.jsonl holds. Returns their ids."""
        for trial_id, book in self.open.items():
            if not (self.store.trial_dir(trial_id) / "result.json").exists():
                result = TrialResult(TrialStatus.INTERRUPTED, seconds=time.perf_counter() - book.began,
                                     epochs=list(book.epochs), decisions=list(book.decisions))
                self.store.write_result(trial_id, result.to_dict())
        return sorted(self.open)
