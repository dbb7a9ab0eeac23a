"""The run folder's records as typed objects: what each file holds, readable without torch.

The trainer produces ``EpochMetrics`` and ``TrialResult``; the store writes them and reads them back
as the same classes, so reports read fields (``result.val_acc``), never raw dicts. ``TrialStatus``
is the one list of trial statuses, and ``best_of`` the one rule for "best": the highest validation
accuracy, the earliest (epoch or trial) on ties.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from hpsearch.space.sampler import Trial

T = TypeVar("T")
NUMBER = (int, float)


def check_shape(record: dict[str, Any], shape: dict[str, Any], required: tuple[str, ...] = ()) -> None:
    """A file's fields have the types its record needs (raises TypeError naming the field), so a
    damaged or foreign file is refused when read, not when a report formats it."""
    for name in required:
        if record.get(name) is None:
            raise KeyError(name)
    for name, kinds in shape.items():
        value = record.get(name)
        if value is not None and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
            raise TypeError(f"{name} is {value!r:.40}, not {' or '.join(k.__name__ for k in kinds)}")


class TrialStatus(str, Enum):
    """A trial's status, as result.json writes it (``running`` while it has no result.json)."""

    COMPLETED = "completed"
    STOPPED = "stopped"  # early stopping (a scheduler) ended it at a rung
    DIVERGED = "diverged"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    RUNNING = "running"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def may_be_best(self) -> bool:
        """Completed and stopped trials were measured like any other: either can be the run's best."""
        return self in BEST_STATUSES

    @property
    def final(self) -> bool:
        """Kept as it is by ``hpsearch resume``; an interrupted or running trial runs again."""
        return self in FINAL_STATUSES


DECISION_KEYS = frozenset({"rung", "value", "cutoff", "rank", "competitors", "promoted"})  # schedulers.Decision
BEST_STATUSES = (TrialStatus.COMPLETED, TrialStatus.STOPPED)
FINAL_STATUSES = (*BEST_STATUSES, TrialStatus.DIVERGED, TrialStatus.FAILED)
STATUS_ORDER = (*BEST_STATUSES, TrialStatus.DIVERGED, TrialStatus.INTERRUPTED, TrialStatus.FAILED, TrialStatus.RUNNING)


def best_of(items: Iterable[T], val_acc: Callable[[T], float | None], order: Callable[[T], int]) -> T | None:
    """The item with the highest validation accuracy, the earliest by ``order`` on ties; None if
    none has one. The one rule for a trial's best epoch and a run's best trial.

    >>> best_of([(1, 0.5), (2, 0.7), (3, 0.7)], lambda e: e[1], lambda e: e[0])
    (2, 0.7)
    """
    scored = [item for item in items if val_acc(item) is not None]
    return max(scored, key=lambda item: (val_acc(item), -order(item))) if scored else None


@dataclass
class EpochMetrics:
    """One line of metrics.jsonl. Accuracies in [0, 1]; losses are means over examples."""

    epoch: int
    lr: float
    train_loss: float | None
    train_acc: float
    val_loss: float | None
    val_acc: float
    seconds: float
    eval_seconds: float = 0.0  # of ``seconds``, the part spent measuring train and validation accuracy

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> EpochMetrics:
        check_shape(record, {"epoch": (int,), **{k: NUMBER for k in ("lr", "train_loss", "train_acc", "val_loss", "val_acc",
                                                                     "seconds", "eval_seconds")}}, ("epoch", "val_acc"))
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in record.items() if k in names})


@dataclass
class TrialResult:
    """What result.json holds. ``gap`` = train_acc - val_acc at the best epoch (the variance)."""

    status: TrialStatus
    best_epoch: int | None = None
    train_acc: float | None = None
    val_acc: float | None = None
    gap: float | None = None
    seconds: float = 0.0
    num_parameters: int | None = None
    error: str | None = None
    epochs: list[EpochMetrics] = field(default_factory=list)
    rung: int | None = None  # with a scheduler: the last rung the trial reached (epochs trained there)
    decisions: list[dict[str, Any]] = field(default_factory=list)  # schedulers.Decision dicts, rung by rung
    epochs_trained: int | None = None  # as read back from result.json (``epochs`` stay in metrics.jsonl)

    def __post_init__(self) -> None:
        self.status = TrialStatus(self.status)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("epochs")
        out["status"] = TrialStatus(self.status).value
        out["epochs_trained"] = len(self.epochs) if self.epochs or self.epochs_trained is None else self.epochs_trained
        if not self.decisions:
            out.pop("decisions")
        return {k: v for k, v in out.items() if v is not None or k in ("val_acc", "best_epoch")}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> TrialResult:
        """A TrialResult from a result.json (per-epoch figures stay in metrics.jsonl)."""
        check_shape(record, {"status": (str,), "best_epoch": (int,), "train_acc": NUMBER, "val_acc": NUMBER, "gap": NUMBER,
                             "seconds": NUMBER, "num_parameters": (int,), "error": (str,), "rung": (int,),
                             "decisions": (list,), "epochs_trained": (int,)}, ("status",))
        for decision in record.get("decisions") or []:
            if not isinstance(decision, dict) or not decision.keys() >= DECISION_KEYS:
                raise TypeError(f"a rung decision is {decision!r:.40}, not one with {', '.join(sorted(DECISION_KEYS))}")
        return cls(status=record["status"], best_epoch=record.get("best_epoch"), train_acc=record.get("train_acc"),
                   val_acc=record.get("val_acc"), gap=record.get("gap"), seconds=record.get("seconds", 0.0),
                   num_parameters=record.get("num_parameters"), error=record.get("error"),
                   rung=record.get("rung"), decisions=list(record.get("decisions") or []),
                   epochs_trained=record.get("epochs_trained"))

    def fill_best(self) -> None:
        """Summarize the trial by its best epoch (see ``best_of``)."""
        best = best_of(self.epochs, lambda m: m.val_acc, lambda m: m.epoch)
        if best is None:
            return
        self.best_epoch, self.train_acc, self.val_acc = best.epoch, best.train_acc, best.val_acc
        self.gap = best.train_acc - best.val_acc

    def figures(self) -> dict[str, Any]:
        """The best epoch's figures, as run.json, trials.csv and the --json summary report them."""
        return {"val_acc": self.val_acc, "train_acc": self.train_acc, "gap": self.gap, "best_epoch": self.best_epoch}


@dataclass
class TrialParams:
    """What params.json holds: the trial's id and seed, its sampled parameters, and the full
    hyperparameters it trained with (fixed values and defaults filled in)."""

    trial: int | None
    seed: int | None
    params: dict[str, Any] = field(default_factory=dict)
    hyperparameters: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"trial": self.trial, "seed": self.seed, "params": self.params, "hyperparameters": self.hyperparameters}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> TrialParams:
        check_shape(record, {"trial": (int,), "seed": (int,), "params": (dict,), "hyperparameters": (dict,)})
        return cls(trial=record.get("trial"), seed=record.get("seed"), params=dict(record.get("params") or {}),
                   hyperparameters=dict(record.get("hyperparameters") or {}))


@dataclass(frozen=True)
class DataSummary:
    """run.json's ``data``: the dataset's name and split sizes, and the model's input and output sizes."""

    dataset: str | None = None
    train: int | None = None
    val: int | None = None
    test: int | None = None
    input_dim: int | None = None
    num_classes: int | None = None

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> DataSummary:
        return cls(**{k: record.get(k) for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class BestTrial:
    """run.json's ``best``: the run's best trial (see ``SearchResult.best``), its params and figures."""

    trial: int
    params: dict[str, Any]
    val_acc: float | None = None
    train_acc: float | None = None
    gap: float | None = None
    best_epoch: int | None = None

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> BestTrial:
        return cls(trial=record["trial"], params=dict(record.get("params") or {}), val_acc=record.get("val_acc"),
                   train_acc=record.get("train_acc"), gap=record.get("gap"), best_epoch=record.get("best_epoch"))


@dataclass
class TimeSplit:
    """Where a search's wall time went, whatever trained the trials. ``startup`` is the time before
    the first trial (data, worker processes); after it, ``training`` and ``evaluation`` add up the
    epochs (train steps; measuring train and validation accuracy) and ``overhead`` is the rest of the
    workers' time (building models and optimizers, writing files, idle slots): ``workers`` x the
    loop's wall time less the epochs. Recorded in run.json as ``time``; ``hpsearch run`` prints it."""

    wall: float
    startup: float
    training: float
    evaluation: float
    workers: int
    trials: int  # trials this invocation started (or continued)

    @property
    def overhead(self) -> float:
        return max(0.0, (self.wall - self.startup) * self.workers - self.training - self.evaluation)

    def per_trial_ms(self) -> float:
        return 1000 * self.overhead / max(1, self.trials)

    def to_dict(self) -> dict[str, float | int]:
        return {"wall": round(self.wall, 3), "startup": round(self.startup, 3), "training": round(self.training, 3),
                "evaluation": round(self.evaluation, 3), "overhead": round(self.overhead, 3),
                "overhead_per_trial_ms": round(self.per_trial_ms(), 1), "workers": self.workers, "trials": self.trials}

    def line(self) -> str:
        """One line that adds up: ``time: 19.8s = 2.1s start-up + 17.7s trials (11.4s training, 2.0s
        evaluation, 4.3s overhead; 36 ms a trial)``; with workers the parts are worker time, which
        the line says: ``... + 4.0s trials on 2 workers (8.0s of worker time: ...)``."""
        trials = max(0.0, round(self.wall, 1) - round(self.startup, 1))  # of the shown figures: the line adds up
        parts = (f"{self.training:.1f}s training, {self.evaluation:.1f}s evaluation, {self.overhead:.1f}s overhead; "
                 f"{self.per_trial_ms():.0f} ms a trial")
        opening = f"on {self.workers} workers ({trials * self.workers:.1f}s of worker time: " if self.workers > 1 else "("
        return f"time: {self.wall:.1f}s = {self.startup:.1f}s start-up + {trials:.1f}s trials {opening}{parts})"


@dataclass
class SearchResult:
    run_dir: Path
    status: str  # completed | no_trial_completed | stopped | interrupted
    trials: list[tuple[Trial, TrialResult]] = field(default_factory=list)  # finished ones, by id
    seconds: float = 0.0  # this invocation's wall time
    planned: int = 0  # the config's number of trials
    stop_reason: str | None = None  # why trials were left unstarted (--max-time)
    interrupted: list[int] = field(default_factory=list)  # the trial a signal stopped mid-way, if any
    test: dict[str, Any] | None = None  # the best trial's test-split figures, with --test only
    time: TimeSplit | None = None  # where this invocation's wall time went

    @property
    def best(self) -> tuple[Trial, TrialResult] | None:
        """The highest validation accuracy among completed and stopped trials (a stopped trial's
        figures were measured like any other's; ASHA's survivors usually win anyway)."""
        done = [(t, r) for t, r in self.trials if TrialStatus(r.status).may_be_best]
        return best_of(done, lambda tr: tr[1].val_acc, lambda tr: tr[0].id)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, result in self.trials:
            status = TrialStatus(result.status).value
            counts[status] = counts.get(status, 0) + 1
        if self.interrupted:
            counts["interrupted"] = len(self.interrupted)
        return counts
