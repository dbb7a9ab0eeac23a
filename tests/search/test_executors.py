"""The executor seam: a new way of running trials plugs in without touching the loop.

``Interleaving`` is an executor written here, as a user or a later issue would write one: it trains
three segments at once in this process, one epoch of each in turn, so events reach the loop out of
trial order and segments end while others are half done. The run folder it leaves must equal the
one the in-process executor leaves (no scheduler: results do not depend on arrival order).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest

from hpsearch.runs.records import TrialStatus
from hpsearch.search.executors import Execution, Executor, InProcessExecutor, ProcessExecutor
from hpsearch.search.run import run_search
from hpsearch.space.config import parse_config
from hpsearch.space.sampler import sample_trial
from hpsearch.training.segments import EpochEnded, Event, Segment, SegmentEnded
from hpsearch.training.trainer import DeviceData, run_segment
from tests.helpers import TINY, assert_same_run

CONFIG = {**TINY, "trials": 5, "epochs": 3}  # no dropout: interleaved trials in one process share torch's global RNG


class Interleaving(Executor):
    slots = 3

    def __init__(self, execution: Execution) -> None:
        self.data = DeviceData.from_dataset(execution.dataset, execution.devices[0])
        self.running: deque[Iterator[Event]] = deque()
        self.order: list[int] = []  # trial ids of the events, as they came

    def submit(self, segment: Segment) -> None:
        self.running.append(run_segment(segment, self.data))

    def events(self) -> Iterator[Event]:
        while True:
            training = self.running.popleft()
            event = next(training)
            self.order.append(event.trial_id)
            yield event
            if isinstance(event, SegmentEnded):
                return
            self.running.append(training)

    def close(self, cancel: bool = False) -> None:
        self.running.clear()


def test_a_new_executor_plugs_in_without_loop_changes_and_leaves_the_same_folder(tmp_path: Path) -> None:
    config = parse_config(CONFIG)
    reference = run_search(config, tmp_path / "in-process")
    made: list[Interleaving] = []

    def factory(execution: Execution) -> Executor:
        made.append(Interleaving(execution))
        return made[0]

    result = run_search(config, tmp_path / "interleaved", executor=factory)
    assert made[0].order[:3] == [0, 1, 2]  # the epochs really came interleaved
    assert [t.id for t, _ in result.trials] == [t.id for t, _ in reference.trials]
    assert_same_run(tmp_path / "interleaved", tmp_path / "in-process")


def test_an_interleaving_executor_with_asha_finishes_every_trial_cleanly(tmp_path: Path) -> None:
    config = parse_config({**CONFIG, "trials": 6, "epochs": 9, "scheduler": {"name": "asha", "min_epochs": 1, "eta": 3}})
    result = run_search(config, tmp_path / "run", executor=Interleaving)
    statuses = {r.status for _, r in result.trials}
    assert len(result.trials) == 6 and statuses <= {TrialStatus.COMPLETED, TrialStatus.STOPPED}
    assert TrialStatus.STOPPED in statuses
    for _, r in result.trials:  # a stopped trial stopped at the rung it was judged at
        assert r.rung is not None and len(r.epochs) == (r.rung if r.status is TrialStatus.STOPPED else 9)
    assert not list((tmp_path / "run").glob("trials/*/checkpoint.pt"))


@pytest.mark.parametrize("kind", [InProcessExecutor, ProcessExecutor])
def test_every_segment_ends_exactly_once_and_a_rung_segment_carries_its_state(kind: type[Executor]) -> None:
    from hpsearch.data import prepare_data

    config = parse_config(CONFIG)
    execution = Execution(prepare_data(config), [__import__("torch").device("cpu")], workers=2)
    segments = [Segment(sample_trial(config, 0), 2, keep_state=True), Segment(sample_trial(config, 1), 3)]
    with kind(execution) as executor:
        ended: dict[int, SegmentEnded] = {}
        epochs: dict[int, list[int]] = {0: [], 1: []}
        for segment in segments[: executor.slots]:
            executor.submit(segment)
        waiting = segments[executor.slots :]
        while len(ended) < len(segments):
            for event in executor.events():
                if isinstance(event, EpochEnded):
                    epochs[event.trial_id].append(event.metrics.epoch)
                else:
                    assert event.trial_id not in ended
                    ended[event.trial_id] = event
                    if waiting:
                        executor.submit(waiting.pop(0))
    assert epochs == {0: [1, 2], 1: [1, 2, 3]}
    assert ended[0].status is TrialStatus.COMPLETED and ended[0].state is not None and ended[0].state.epoch == 2
    assert ended[1].state is None and ended[1].best_weights is not None
