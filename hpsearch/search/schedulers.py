"""Early stopping of hopeless trials: asynchronous successive halving (ASHA) and Hyperband.

Random search stays the sampler; the scheduler only decides, each time a trial reaches a rung,
whether it may train on. Rungs sit at ``min_epochs * eta**k`` epochs (below ``epochs``). A trial
continues past a rung only if its metric is in the top 1/eta of the trials that have reached that
rung so far (itself included; at least the best one always continues), so most of the budget goes
to the promising trials. Decisions depend on the order trials reach a rung: with one worker that
order is the trial order, so a search and its resume decide alike; with several workers it may
differ between runs (documented).

Hyperband runs several ASHA brackets side by side: trial i goes to bracket ``i % brackets``, and
bracket s starts its rungs at ``min_epochs * eta**s`` (more patient brackets for slow starters).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from hpsearch.space.config import SearchConfig


@dataclass(frozen=True)
class Decision:
    """What happened at a rung: recorded in the trial's result so a user can see why it stopped."""

    rung: int  # epochs trained when the decision was taken
    value: float  # the trial's metric there (best validation accuracy so far)
    cutoff: float  # the lowest value that continues at this rung, given what had arrived
    rank: int  # 1 = best among the trials that reached this rung so far
    competitors: int  # how many trials had reached the rung, this one included
    promoted: bool

    def to_dict(self) -> dict[str, float | int | bool]:
        return dict(self.__dict__)


class Scheduler(Protocol):
    name: str

    def rungs(self, trial_id: int) -> list[int]: ...
    def report(self, trial_id: int, epoch: int, value: float) -> Decision | None: ...
    def restore(self, trial_id: int, decisions: Iterable[Mapping[str, Any]]) -> None: ...


class NoScheduler:
    """Every trial trains all its epochs."""

    name = "none"

    def rungs(self, trial_id: int) -> list[int]:
        return []

    def report(self, trial_id: int, epoch: int, value: float) -> Decision | None:
        return None

    def restore(self, trial_id: int, decisions: Iterable[Mapping[str, Any]]) -> None:
        return None


def make_scheduler(config: SearchConfig) -> Scheduler:
    """The scheduler ``config.scheduler`` names (one of ``space.config.SCHEDULERS``, each built by
    its entry in ``BUILDERS``)."""
    return BUILDERS[config.scheduler.name](config)


def _hyperband(config: SearchConfig) -> ASHA:
    """Hyperband without ``brackets`` gets one bracket per rung plus one that never stops (Li et al.'s
    s_max + 1), e.g. 4 for epochs 27, min_epochs 1, eta 3."""
    spec = config.scheduler
    default = len(ASHA(config.epochs, spec.min_epochs, spec.eta).rungs(0)) + 1
    return ASHA(config.epochs, spec.min_epochs, spec.eta, spec.brackets if spec.brackets is not None else default)


@dataclass
class ASHA:
    """Asynchronous successive halving over ``epochs`` with rungs at min_epochs * eta**k."""

    epochs: int
    min_epochs: int = 1
    eta: int = 3
    brackets: int = 1  # 1: plain ASHA; > 1: Hyperband's brackets
    recorded: dict[tuple[int, int], list[float]] = field(default_factory=dict)  # (bracket, rung) -> values

    def __post_init__(self) -> None:
        if self.min_epochs < 1 or self.eta < 2 or self.brackets < 1:
            raise ValueError(f"need min_epochs >= 1, eta >= 2, brackets >= 1; got {self.min_epochs}, {self.eta}, {self.brackets}")

    @property
    def name(self) -> str:
        return "asha" if self.brackets == 1 else "hyperband"

    def bracket(self, trial_id: int) -> int:
        return trial_id % self.brackets

    def rungs(self, trial_id: int) -> list[int]:
        """Epoch counts at which ``trial_id`` is judged: min_epochs * eta**k for k >= its bracket."""
        out, k = [], self.bracket(trial_id)
        while (rung := self.min_epochs * self.eta**k) < self.epochs:
            out.append(rung)
            k += 1
        return out

    def report(self, trial_id: int, epoch: int, value: float) -> Decision | None:
        """Record ``value`` if ``epoch`` is one of the trial's rungs and decide; else None."""
        if epoch not in self.rungs(trial_id):
            return None
        values = self.recorded.setdefault((self.bracket(trial_id), epoch), [])
        values.append(value)
        ranked = sorted(values, reverse=True)
        keep = max(1, math.floor(len(ranked) / self.eta))
        cutoff = ranked[keep - 1]
        rank = ranked.index(value) + 1
        return Decision(epoch, value, cutoff, rank, len(ranked), promoted=value >= cutoff)

    def restore(self, trial_id: int, decisions: Iterable[Mapping[str, Any]]) -> None:
        """Put back the rung values a trial recorded (its result.json or checkpoint): on resume the
        rungs are rebuilt from the folder, so later decisions match an unbroken one-worker run."""
        for decision in decisions:
            self.recorded.setdefault((self.bracket(trial_id), int(decision["rung"])), []).append(float(decision["value"]))


BUILDERS: dict[str, Callable[[SearchConfig], Scheduler]] = {
    "none": lambda config: NoScheduler(),
    "asha": lambda config: ASHA(config.epochs, config.scheduler.min_epochs, config.scheduler.eta),
    "hyperband": _hyperband,
}
