"""Trials on a Ray cluster (``--ray ADDRESS``): one long-lived actor per worker, events streamed back.

The driver (this process) keeps its role: it writes every file and takes every decision; Ray only
trains, as a worker process would: each actor is given a group of up to ``fuse`` compatible
segments (``grouping.take_group``; one with ``fuse: 1``) and trains it with ``run_segments``, so the
executor holds ``workers * fuse`` segments. The dataset is put in Ray's object store once per
search and each actor moves it to its device once, so nodes need no dataset files and no shared
filesystem. Events flow one way: an actor's ``train`` is a streaming generator whose items (each
trial's ``EpochEnded`` per epoch and one ``SegmentEnded``) the driver picks up with ``ray.wait``; a
group costs one task, not one per trial setup as in Ray Tune. An actor takes new work only once
every segment of its group has ended.

Faults: an actor that dies mid-group (its node lost, its process killed) is replaced and its
unfinished segments, each carrying its trial's last rung state if it has one, go back to the front
of the queue and train again on what remains (the bookkeeper ignores the epochs it already has; a
trial's results do not depend on its group, so regrouping changes nothing). A trial that raises is
``failed`` by ``run_segments`` and not retried. When no node can train for ``LOST_AFTER_S`` or the
connection breaks, ``ExecutorLost`` stops the search as ``interrupted``. hpsearch's own code is
shipped to the nodes with the runtime_env (``py_modules``, ray_cluster.py), so they need only
``ray`` and ``torch``.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch

from hpsearch.data import Dataset
from hpsearch.errors import ExecutorError, ExecutorLost
from hpsearch.runs.records import TrialStatus
from hpsearch.search.executors.base import Execution, Executor
from hpsearch.search.executors.grouping import take_group
from hpsearch.search.executors.ray_cluster import (
    actor_options,
    capacity,
    cluster_says,
    connect,
    device_and_need,
    live_nodes,
    ray,
    ray_errors,
    says,
)
from hpsearch.training.fused import run_segments
from hpsearch.training.segments import Event, Segment, SegmentEnded
from hpsearch.training.trainer import DeviceData, cpu_threads
from hpsearch.training.warmup import warm_up

INSTALL = 'Ray is not installed: pip install "hpsearch[ray]"'
LOST_AFTER_S = 60.0  # no node able to train a trial for this long: the cluster is gone
RETRIES = 3  # a segment whose actor keeps dying (not its node) fails after this many tries
POLL_S = 1.0  # how often a quiet driver checks that the cluster can still train


class _TrialWorker:
    """Runs on a node: holds the dataset on its device and trains the groups of segments it is given."""

    def __init__(self, dataset: Dataset, device: str, threads: int, fused: bool) -> None:
        self.threads, self.fused = threads, fused
        self.data = DeviceData.from_dataset(dataset, torch.device(device))
        with cpu_threads(threads):
            warm_up(self.data)  # before it takes work: the actor's one-time costs stay out of every trial's seconds

    def train(self, group: list[Segment]) -> Iterator[Any]:
        with cpu_threads(self.threads):
            yield from run_segments(group, self.data, fused=self.fused)


@dataclass
class _Group:
    """Segments on their way through one actor: those not yet ended, by trial id."""

    actor: Any
    stream: Any  # the ObjectRefGenerator of its events
    segments: dict[int, Segment]
    nodes: frozenset[str]  # the live nodes when it started


class RayExecutor(Executor):
    """Joins the cluster (or starts one for ``local``), checks it can train a trial, puts the data
    in the object store; ``execution.devices`` becomes the device the cluster trains on. Segments
    wait in a queue for an idle actor, so a search goes on with fewer actors after a node is lost."""

    def __init__(self, execution: Execution) -> None:
        if ray is None:
            raise ExecutorError(INSTALL)
        assert execution.ray is not None
        self.target, self.threads, self.fuse = execution.ray, execution.threads, execution.fuse
        self.owned = connect(self.target)  # we started it (local) or joined it: we stop it or leave it
        self.closed = False
        self.idle: list[Any] = []  # actors without work
        self.running: dict[Any, _Group] = {}  # by stream
        self.queue: deque[Segment] = deque()  # segments waiting for an actor
        self.submitted: dict[int, float] = {}  # trial id -> when its segment was submitted
        self.tries: dict[int, int] = {}  # trial id -> starts that ended with the actor dead while its node lived
        self.failed: deque[SegmentEnded] = deque()  # segments whose actor kept crashing, not yet reported
        self.starved_since: float | None = None
        try:
            self.device, self.need = device_and_need(self.target, execution.threads)
            fits = capacity(self.need)
            if fits < 1:
                raise ExecutorError(f"the Ray cluster at {self.target.address} has no node with {says(self.need)} "
                                    f"for one trial (it has {cluster_says()})")
            execution.devices = [torch.device(self.device)]
            self.actors = execution.workers or fits  # at most this many actors, each training a group
            self.slots = self.actors * self.fuse
            self.worker = ray.remote(_TrialWorker).options(**actor_options(self.need))
            self.data = ray.put(execution.dataset)  # once per search: every actor reads this copy
            self.idle = [self._actor() for _ in range(min(self.actors, fits))]
        except BaseException:
            self.close(cancel=True)
            raise

    def _actor(self) -> Any:
        return self.worker.remote(self.data, self.device, self.threads, self.fuse > 1)

    def submit(self, segment: Segment) -> None:
        # sent in events(), once the loop has submitted all it can: groups fill up
        self.queue.append(segment)
        self.submitted.setdefault(segment.trial.id, time.perf_counter())

    def _dispatch(self) -> None:
        """Give queued segments, in groups, to idle actors; after a node loss, make actors again as room returns."""
        if self.queue and len(self.idle) + len(self.running) < self.actors:
            room = capacity(self.need) - len(self.idle) - len(self.running)
            self.idle += [self._actor() for _ in range(min(room, self.actors - len(self.idle) - len(self.running)))]
        while self.queue and self.idle:
            group = take_group(self.queue, self.fuse)
            actor, nodes = self.idle.pop(), live_nodes()
            stream = actor.train.options(num_returns="streaming").remote(group)
            self.running[stream] = _Group(actor, stream, {s.trial.id: s for s in group}, nodes)

    def events(self) -> Iterator[Event]:
        while not self.failed:
            try:
                self._dispatch()
                ready = ray.wait(list(self.running), num_returns=1, timeout=POLL_S)[0] if self.running else []
                if not ready:
                    self._check_cluster()
                    time.sleep(0 if self.running else POLL_S)
                    continue
                group = self.running[ready[0]]
                event = self._next(group)
            except (ray_errors.RaySystemError, ConnectionError) as exc:
                raise ExecutorLost(f"lost the connection to the Ray cluster at {self.target.address}: {exc}") from None
            if event is None:
                continue
            if isinstance(event, SegmentEnded):
                self._ended(group, event.trial_id)
            yield event
            if isinstance(event, SegmentEnded):
                return
        yield self.failed.popleft()

    def _ended(self, group: _Group, trial_id: int) -> None:
        """A segment of ``group`` ended; once they all have, its actor takes new work."""
        group.segments.pop(trial_id, None)
        self.submitted.pop(trial_id, None)
        self.tries.pop(trial_id, None)
        if not group.segments and self.running.pop(group.stream, None) is not None:
            self.idle.append(group.actor)

    def _next(self, group: _Group) -> Event | None:
        """The group's next event; None when its actor died (see ``_lost``)."""
        try:
            return ray.get(next(group.stream))
        except (ray_errors.RayActorError, ray_errors.ObjectLostError, ray_errors.WorkerCrashedError,
                ray_errors.NodeDiedError, StopIteration) as exc:
            self._lost(group, exc)
            return None

    def _lost(self, group: _Group, exc: BaseException) -> None:
        """The group's actor died: its unfinished segments go back to the front of the queue, in
        order (they go on first), except those whose actor kept crashing: they end ``failed``."""
        del self.running[group.stream]
        ray.kill(group.actor, no_restart=True)
        crashed = group.nodes <= live_nodes()  # its node lives: the actor itself crashed
        again: list[Segment] = []
        for trial_id, segment in group.segments.items():
            self.tries[trial_id] = self.tries.get(trial_id, 0) + crashed
            if self.tries[trial_id] < RETRIES:
                again.append(segment)
                continue
            prior = segment.start.seconds if segment.start is not None else 0.0
            error = f"the Ray actor training this trial died {RETRIES} times; last: {type(exc).__name__}: {exc}"
            seconds = prior + time.perf_counter() - self.submitted.pop(trial_id)
            self.failed.append(SegmentEnded(trial_id, TrialStatus.FAILED, seconds, error=error.splitlines()[0]))
            del self.tries[trial_id]
        self.queue.extendleft(reversed(again))

    def _check_cluster(self) -> None:
        """Raise ExecutorLost once no node has been able to train a trial for ``LOST_AFTER_S``."""
        if capacity(self.need) > 0:
            self.starved_since = None
            return
        self.starved_since = self.starved_since or time.monotonic()
        if time.monotonic() - self.starved_since >= LOST_AFTER_S:
            raise ExecutorLost(f"no node of the Ray cluster at {self.target.address} has been able to train a trial "
                               f"(each needs {says(self.need)}) for {LOST_AFTER_S:.0f}s")

    def close(self, cancel: bool = False) -> None:
        """Kill the actors (at once: a group in flight stops mid-epoch), then leave or stop the cluster."""
        if self.closed:
            return
        self.closed = True
        for actor in [*self.idle, *(group.actor for group in self.running.values())]:
            with contextlib.suppress(Exception):  # the cluster may be gone already
                ray.kill(actor, no_restart=True)
        if self.owned:
            ray.shutdown()
