"""Trials trained one at a time in this process (``workers: 1``, the default)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from hpsearch.search.executors.base import Execution, Executor
from hpsearch.training.segments import Event, Segment
from hpsearch.training.trainer import DeviceData, cpu_threads, run_segment
from hpsearch.training.warmup import warm_up


class InProcessExecutor(Executor):
    """Trains each submitted segment here, when the loop asks for events: the loop's own thread
    does the work, so a Ctrl-C lands in the loop like anywhere else."""

    slots = 1

    def __init__(self, execution: Execution) -> None:
        self.data = DeviceData.from_dataset(execution.dataset, execution.devices[0])  # moved to the device once
        self.threads = execution.threads
        self.queue: deque[Segment] = deque()
        with cpu_threads(self.threads):
            warm_up(self.data)  # once per search, outside every trial's clock

    def submit(self, segment: Segment) -> None:
        self.queue.append(segment)

    def events(self) -> Iterator[Event]:
        segment = self.queue.popleft()
        with cpu_threads(self.threads):
            yield from run_segment(segment, self.data)

    def close(self, cancel: bool = False) -> None:
        self.queue.clear()
