"""Trials in parallel: N worker processes (``workers: N``), each training one segment at a time,
or with ``fuse: F`` a group of up to F compatible segments as one batched model.

Workers are forked from a fork server that imported torch once, so each worker starts in
milliseconds instead of paying 1.4-2.3 s of imports;
``start_workers_early`` launches that server while the main process still loads the data. Where
there is no fork server (Windows, macOS default), workers are spawned. The dataset reaches them
through shared memory (torch's reductions), not as a copy per worker.

The workers only train: they send each event over a pipe (``wire``: small tensors as arrays,
not through shared memory) and never wait for an answer; the main process writes every file and
takes every decision. Each worker trains with the config's ``threads`` torch threads whatever the
number of workers (thread count changes the order of float sums, so it must be fixed for CPU
metrics to match bit for bit). A worker that dies (killed, out of memory) ends its segments as
``failed``; a fresh worker takes its place. Workers ignore SIGINT and SIGTERM: the main process
handles Ctrl-C once, and kills them.
"""

from __future__ import annotations

import os
import signal
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

import torch

from hpsearch.data import Dataset
from hpsearch.runs.records import TrialStatus
from hpsearch.search.executors import wire
from hpsearch.search.executors.base import Execution, Executor
from hpsearch.search.executors.grouping import take_group
from hpsearch.search.forkserver import worker_context
from hpsearch.training.fused import run_segments
from hpsearch.training.segments import Event, Segment, SegmentEnded
from hpsearch.training.trainer import DeviceData
from hpsearch.training.warmup import warm_up

CRASH_ENV = "HPSEARCH_TEST_CRASH_TRIALS"  # tests only: "0,3": a worker given one of these trials exits at once
def _worker_main(conn: Connection, dataset: Dataset, device: str, threads: int, crash: set[int], fused: bool) -> None:
    """A worker's life: put the data on its device once, then train the groups of segments it is sent."""
    # Ctrl-C and a SIGTERM sent to the whole process group (CI runners, timeout) are the main
    # process's to handle: it marks the running trials interrupted and kills the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    torch.set_num_threads(threads)
    data = DeviceData.from_dataset(dataset, torch.device(device))
    warm_up(data)  # before it takes work: the process's one-time costs stay out of every trial's seconds
    try:
        while (group := wire.loads(conn.recv_bytes())) is not None:
            if any(segment.trial.id in crash for segment in group):
                os._exit(3)
            for event in run_segments(group, data, fused=fused):
                conn.send_bytes(wire.dumps(event))
    except (EOFError, BrokenPipeError, ConnectionResetError):  # the main process is gone
        return


@dataclass
class _Worker:
    process: Any  # multiprocessing's ForkServerProcess or SpawnProcess
    conn: Connection
    device: str
    group: dict[int, Segment] = field(default_factory=dict)  # trial id -> its segment, not yet ended
    began: float = 0.0


class ProcessExecutor(Executor):
    """``execution.workers`` workers; worker k trains on ``devices[k % len(devices)]``."""

    def __init__(self, execution: Execution) -> None:
        self.context = worker_context()
        self.dataset, self.threads = execution.dataset, execution.threads
        self.fuse = execution.fuse
        # read here, not in the worker: a forked worker has the fork server's environment, not ours
        self.crash = {int(t) for t in os.environ.get(CRASH_ENV, "").split(",") if t.strip()}
        devices = [str(d) for d in execution.devices]
        self.workers = [self._spawn(devices[k % len(devices)]) for k in range(execution.workers or 1)]
        self.slots = len(self.workers) * self.fuse
        self.queue: deque[Segment] = deque()  # submitted, not yet sent to a worker
        self.lost: deque[SegmentEnded] = deque()  # segments of a dead worker not yet reported

    def _spawn(self, device: str) -> _Worker:
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_worker_main, args=(child, self.dataset, device, self.threads, self.crash, self.fuse > 1),
                                       daemon=True)
        process.start()
        child.close()  # so the parent sees EOF when the worker dies
        return _Worker(process, parent, device)

    def _replace(self, worker: _Worker) -> _Worker:
        worker.conn.close()
        fresh = self._spawn(worker.device)
        self.workers[self.workers.index(worker)] = fresh
        return fresh

    def submit(self, segment: Segment) -> None:
        self.queue.append(segment)  # sent in events(), once the loop has submitted all it can: groups fill up

    def _dispatch(self) -> None:
        """Send every idle worker a group from the queue."""
        for worker in self.workers:
            if worker.group or not self.queue:
                continue
            group = take_group(self.queue, self.fuse)
            message = wire.dumps(group)
            try:
                worker.conn.send_bytes(message)
            except OSError:  # it died while idle: a fresh worker takes the group
                worker = self._replace(worker)
                worker.conn.send_bytes(message)
            worker.group, worker.began = {s.trial.id: s for s in group}, time.perf_counter()

    def events(self) -> Iterator[Event]:
        if self.lost:
            yield self.lost.popleft()
            return
        self._dispatch()
        busy = {w.conn: w for w in self.workers if w.group}
        while True:
            for conn in wait(list(busy)):
                worker = busy[conn]  # type: ignore[index]
                try:
                    event = wire.loads(conn.recv_bytes())  # type: ignore[union-attr]
                except (EOFError, OSError):
                    self.lost.extend(self._died(worker))
                    event = self.lost.popleft()
                yield event
                if isinstance(event, SegmentEnded):
                    worker.group.pop(event.trial_id, None)
                    return

    def _died(self, worker: _Worker) -> list[SegmentEnded]:
        """A worker died mid-group (killed, out of memory): its unfinished segments fail, a fresh worker replaces it."""
        worker.process.join(timeout=10)
        code = worker.process.exitcode
        how = f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
        error = f"worker process {worker.process.pid} died ({how}; out of memory?) while training this trial"
        ended = [SegmentEnded(s.trial.id, TrialStatus.FAILED, (s.start.seconds if s.start is not None else 0.0)
                              + time.perf_counter() - worker.began, error=error) for s in worker.group.values()]
        worker.group = {}
        self._replace(worker)
        return ended

    def close(self, cancel: bool = False) -> None:
        for worker in self.workers:
            try:
                if cancel:
                    worker.process.kill()
                else:
                    worker.conn.send_bytes(wire.dumps(None))
            except OSError:
                pass
        for worker in self.workers:
            worker.process.join(timeout=2)  # a worker told to stop exits at once; one that does not is killed
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)
            worker.conn.close()
