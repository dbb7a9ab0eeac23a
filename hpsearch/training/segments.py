"""What flows through the executor seam: segments of training one way, events the other.

A trial trains in **segments**: from where it is (scratch, or a ``TrainState``) up to its next rung
or its last epoch. An executor takes ``Segment``s and gives back, one way, an ``EpochEnded`` per
epoch and one ``SegmentEnded`` per segment. Nobody waits for an answer: the search loop decides at
the end of a segment (promote, stop, finish) and, for a promoted trial, submits its next segment.
Everything here pickles (tensors in a ``TrainState`` are on the CPU), so a segment can be trained in
this process, in a worker process, or on another machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hpsearch.runs.records import EpochMetrics, TrialStatus
from hpsearch.space.sampler import Trial
from hpsearch.training.trainstate import TrainState


@dataclass(frozen=True)
class Segment:
    """Train ``trial`` from ``start`` (None: from scratch) until ``until`` epochs have been trained.
    With ``keep_state`` (``until`` is a rung the trial may pass), the segment ends with the state
    to continue from."""

    trial: Trial
    until: int
    start: TrainState | None = None
    keep_state: bool = False

    @property
    def first_epoch(self) -> int:
        return self.start.epoch if self.start is not None else 0


@dataclass(frozen=True)
class EpochEnded:
    trial_id: int
    metrics: EpochMetrics


@dataclass(frozen=True)
class SegmentEnded:
    """A segment's end: ``completed`` (it reached ``until``), ``diverged`` or ``failed`` (it raised,
    or the process training it died). ``seconds`` is the trial's training time over all its segments."""

    trial_id: int
    status: TrialStatus
    seconds: float
    num_parameters: int | None = None
    error: str | None = None
    state: TrainState | None = None  # with keep_state, when the segment completed
    best_weights: dict[str, Any] | None = None  # CPU copy of the trial's best epoch's weights so far


Event = EpochEnded | SegmentEnded
