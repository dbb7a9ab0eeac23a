"""Trials trained in this process (``workers: 1``, the default): one at a time, or with
``fuse: N`` up to N compatible trials at once as one batched model."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from hpsearch.search.executors.base import Execution, Executor
from hpsearch.search.executors.grouping import take_group
from hpsearch.training.fused import run_segments
from hpsearch.training.segments import Event, Segment, SegmentEnded
from hpsearch.training.trainer import DeviceData, cpu_threads
from hpsearch.training.warmup import warm_up


class InProcessExecutor(Executor):
    """Trains submitted segments here, when the loop asks for events: the loop's own thread does
    the work, so a Ctrl-C lands in the loop like anywhere else. A group in training goes on across
    calls of ``events`` (each call ends after one trial's segment ends); segments submitted
    meanwhile wait for the next group."""

    def __init__(self, execution: Execution) -> None:
        self.data = DeviceData.from_dataset(execution.dataset, execution.devices[0])  # moved to the device once
        self.threads, self.fuse = execution.threads, execution.fuse
        self.slots = execution.fuse
        self.queue: deque[Segment] = deque()
        self.running: Iterator[Event] | None = None
        with cpu_threads(self.threads):
            warm_up(self.data)  # once per search, outside every trial's clock

    def submit(self, segment: Segment) -> None:
        self.queue.append(segment)

    def events(self) -> Iterator[Event]:
        while True:
            if self.running is None:
                self.running = run_segments(take_group(self.queue, self.fuse), self.data, fused=self.fuse > 1)
            while True:
                with cpu_threads(self.threads):
                    event = next(self.running, None)
                if event is None:
                    break
                yield event
                if isinstance(event, SegmentEnded):
                    return
            self.running = None

    def close(self, cancel: bool = False) -> None:
        self.queue.clear()
        self.running = None
