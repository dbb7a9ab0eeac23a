"""Trials on a Ray cluster (``--ray ADDRESS``): one long-lived actor per slot, events streamed back.

The driver (this process) keeps its role: it writes every file and takes every decision; Ray only
trains segments with ``run_segment``, as a worker process would. The dataset is put in Ray's object
store once per search and each actor moves it to its device once, so nodes need no dataset files and
no shared filesystem. Events flow one way: an actor's ``train`` is a streaming generator whose items
(an ``EpochEnded`` per epoch, then the ``SegmentEnded``) the driver picks up with ``ray.wait``; a
segment costs one task, not one per trial setup as in Ray Tune.

Faults: an actor that dies mid-segment (its node lost, its process killed) is replaced and the same
segment, which carries the trial's last rung state if it has one, is trained again on what remains
(the bookkeeper ignores the epochs it already has). A trial that raises is ``failed`` by
``run_segment`` and not retried. When no node can train a trial for ``LOST_AFTER_S`` or the
connection breaks, ``ExecutorLost`` stops the search as ``interrupted``. hpsearch's own code is
shipped to the nodes with the runtime_env (``py_modules``), so they need only ``ray`` and ``torch``.
"""

from __future__ import annotations

import contextlib
import math
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import hpsearch
from hpsearch.data import Dataset
from hpsearch.errors import ExecutorError, ExecutorLost
from hpsearch.runs.records import TrialStatus
from hpsearch.search.executors.base import Execution, Executor, RayTarget
from hpsearch.training.segments import Event, Segment, SegmentEnded
from hpsearch.training.trainer import DeviceData, cpu_threads, run_segment
from hpsearch.training.warmup import warm_up

try:
    import ray
    from ray import exceptions as ray_errors
except ImportError:  # the extra is not installed: RayExecutor says how to install it
    ray = None

INSTALL = 'Ray is not installed: pip install "hpsearch[ray]"'
CONNECT_TIMEOUT_S = 10.0  # an address whose port does not answer within this fails
LOST_AFTER_S = 60.0  # no node able to train a trial for this long: the cluster is gone
RETRIES = 3  # a segment whose actor keeps dying (not its node) fails after this many tries
POLL_S = 1.0  # how often a quiet driver checks that the cluster can still train


class _TrialWorker:
    """Runs on a node: holds the dataset on its device and trains the segments it is given."""

    def __init__(self, dataset: Dataset, device: str, threads: int) -> None:
        self.threads = threads
        self.data = DeviceData.from_dataset(dataset, torch.device(device))
        with cpu_threads(threads):
            warm_up(self.data)  # before it takes work: the actor's one-time costs stay out of every trial's seconds

    def train(self, segment: Segment) -> Iterator[Any]:
        with cpu_threads(self.threads):
            yield from run_segment(segment, self.data)


@dataclass
class _Run:
    """A segment on its way through the cluster: which actor trains it, and how often it was started."""

    segment: Segment
    began: float
    actor: Any = None
    stream: Any = None  # the ObjectRefGenerator of its events
    tries: int = 0  # starts that ended with the actor dead while its node lived (a crash, not a lost node)
    nodes: frozenset[str] = frozenset()  # the live nodes when it started


class RayExecutor(Executor):
    """Joins the cluster (or starts one for ``local``), checks it can train a trial, puts the data
    in the object store; ``execution.devices`` becomes the device the cluster trains on. Segments
    wait in a queue for an idle actor, so a search goes on with fewer actors after a node is lost."""

    def __init__(self, execution: Execution) -> None:
        if ray is None:
            raise ExecutorError(INSTALL)
        assert execution.ray is not None
        self.target, self.threads = execution.ray, execution.threads
        self.owned = _connect(self.target)  # we started it (local) or joined it: we stop it or leave it
        self.closed = False
        self.idle: list[Any] = []  # actors without work
        self.running: dict[Any, _Run] = {}  # by stream
        self.queue: deque[_Run] = deque()  # segments waiting for an actor
        self.starved_since: float | None = None
        try:
            self.device, self.need = _device_and_need(self.target, execution.threads)
            capacity = _capacity(self.need)
            if capacity < 1:
                raise ExecutorError(f"the Ray cluster at {self.target.address} has no node with {_says(self.need)} "
                                    f"for one trial (it has {_cluster_says()})")
            execution.devices = [torch.device(self.device)]
            self.slots = execution.workers or capacity
            self.worker = ray.remote(_TrialWorker).options(**_options(self.need))
            self.data = ray.put(execution.dataset)  # once per search: every actor reads this copy
            self.idle = [self._actor() for _ in range(min(self.slots, capacity))]
        except BaseException:
            self.close(cancel=True)
            raise

    def _actor(self) -> Any:
        return self.worker.remote(self.data, self.device, self.threads)

    def submit(self, segment: Segment) -> None:
        self.queue.append(_Run(segment, time.perf_counter()))
        self._dispatch()

    def _dispatch(self) -> None:
        """Start queued segments on idle actors; after a node loss, make actors again as room returns."""
        if self.queue and len(self.idle) + len(self.running) < self.slots:
            room = _capacity(self.need) - len(self.idle) - len(self.running)
            self.idle += [self._actor() for _ in range(min(room, self.slots - len(self.idle) - len(self.running)))]
        while self.queue and self.idle:
            run = self.queue.popleft()
            run.actor, run.nodes = self.idle.pop(), _live_nodes()
            run.stream = run.actor.train.options(num_returns="streaming").remote(run.segment)
            self.running[run.stream] = run

    def events(self) -> Iterator[Event]:
        while True:
            try:
                self._dispatch()
                ready = ray.wait(list(self.running), num_returns=1, timeout=POLL_S)[0] if self.running else []
                if not ready:
                    self._check_cluster()
                    time.sleep(0 if self.running else POLL_S)
                    continue
                run = self.running[ready[0]]
                event = self._next(run)
            except (ray_errors.RaySystemError, ConnectionError) as exc:
                raise ExecutorLost(f"lost the connection to the Ray cluster at {self.target.address}: {exc}") from None
            if event is None:
                continue
            yield event
            if isinstance(event, SegmentEnded):
                if self.running.pop(run.stream, None) is not None:
                    self.idle.append(run.actor)
                return

    def _next(self, run: _Run) -> Event | None:
        """The run's next event; None when its actor died and the segment went back to the queue (to
        the front: it goes on first), or a failed SegmentEnded when its actor kept crashing."""
        try:
            return ray.get(next(run.stream))
        except (ray_errors.RayActorError, ray_errors.ObjectLostError, ray_errors.WorkerCrashedError,
                ray_errors.NodeDiedError, StopIteration) as exc:
            del self.running[run.stream]
            ray.kill(run.actor, no_restart=True)
            if run.nodes <= _live_nodes():  # its node lives: the actor itself crashed
                run.tries += 1
            if run.tries < RETRIES:
                run.actor = run.stream = None
                self.queue.appendleft(run)
                return None
            prior = run.segment.start.seconds if run.segment.start is not None else 0.0
            error = f"the Ray actor training this trial died {RETRIES} times; last: {type(exc).__name__}: {exc}"
            return SegmentEnded(run.segment.trial.id, TrialStatus.FAILED, prior + time.perf_counter() - run.began,
                                error=error.splitlines()[0])

    def _check_cluster(self) -> None:
        """Raise ExecutorLost once no node has been able to train a trial for ``LOST_AFTER_S``."""
        if _capacity(self.need) > 0:
            self.starved_since = None
            return
        self.starved_since = self.starved_since or time.monotonic()
        if time.monotonic() - self.starved_since >= LOST_AFTER_S:
            raise ExecutorLost(f"no node of the Ray cluster at {self.target.address} has been able to train a trial "
                               f"(each needs {_says(self.need)}) for {LOST_AFTER_S:.0f}s")

    def close(self, cancel: bool = False) -> None:
        """Kill the actors (at once: a segment in flight stops mid-epoch), then leave or stop the cluster."""
        if self.closed:
            return
        self.closed = True
        for actor in [*self.idle, *(run.actor for run in self.running.values())]:
            with contextlib.suppress(Exception):  # the cluster may be gone already
                ray.kill(actor, no_restart=True)
        if self.owned:
            ray.shutdown()


def _connect(target: RayTarget) -> bool:
    """Join the cluster at ``target.address`` (``local``: start one). Returns whether to shut Ray down
    at the end. Raises ExecutorError naming the address when no cluster answers there: the port is
    tried first, since ray.init alone retries for a minute and then ends the process."""
    if ray.is_initialized():  # a program that joined a cluster itself: use it, leave it connected
        return False
    address = target.address
    if address not in ("auto", "local"):
        _check_reachable(address)
    runtime_env = {"py_modules": [str(Path(hpsearch.__file__).parent)]}  # the driver's hpsearch, on every node
    # ray.init installs its own SIGTERM handler (it aborts the process): the search's handlers are put
    # back, so SIGTERM still marks the running trials interrupted and exits 130
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:  # in this thread: ray.init from another one cannot start a local instance
        ray.init(address=address, runtime_env=runtime_env, logging_level="ERROR", log_to_driver=False,
                 include_dashboard=False if address == "local" else None)
    except (ConnectionError, RuntimeError, ValueError, ray_errors.RayError) as exc:  # RayError: auth
        error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExecutorError(f"could not join the Ray cluster at {address}: {error}") from None
    finally:
        if threading.current_thread() is threading.main_thread():
            for sig, handler in handlers.items():
                if handler is not None:
                    signal.signal(sig, handler)
    return True


def _check_reachable(address: str) -> None:
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
            return
    except OSError as exc:
        raise ExecutorError(f"no Ray cluster answers at {address} ({exc.strerror or exc}); start one with "
                            f"`ray start --head` there, or use --ray local") from None


def _device_and_need(target: RayTarget, threads: int) -> tuple[str, dict[str, float]]:
    """The device trials train on (``auto``: CUDA when the cluster has GPUs) and what each trial asks for."""
    gpus = ray.cluster_resources().get("GPU", 0)
    name = target.device
    if name == "auto":
        name = "cuda" if gpus > 0 else "cpu"
    if name.startswith("cuda"):  # cuda:N means nothing on a cluster: Ray gives each trial its GPU(s)
        if gpus <= 0:
            raise ExecutorError(f"device {target.device!r} needs CUDA, but the Ray cluster at {target.address} has "
                                f"no GPU (it has {_cluster_says()}); use device: cpu or auto")
        return "cuda", {"GPU": target.gpus_per_trial or 1.0}
    if name != "cpu":
        raise ExecutorError(f"device {target.device!r} cannot be used on a Ray cluster; use cpu, cuda or auto")
    return "cpu", {"CPU": float(threads)}


def _live_nodes() -> frozenset[str]:
    return frozenset(node["NodeID"] for node in ray.nodes() if node.get("Alive"))


def _capacity(need: dict[str, float]) -> int:
    """How many trials the cluster's live nodes can train at once (each trial on one node)."""
    fits = 0
    for node in ray.nodes():
        if node.get("Alive"):
            have = node.get("Resources", {})
            fits += min(math.floor(have.get(k, 0) / v + 1e-9) for k, v in need.items())
    return fits


def _options(need: dict[str, float]) -> dict[str, float]:
    return {"num_gpus": need["GPU"], "num_cpus": 0} if "GPU" in need else {"num_cpus": need["CPU"]}


def _says(need: dict[str, float]) -> str:
    return " and ".join(f"{v:g} {k}" for k, v in need.items())


def _cluster_says() -> str:
    have = ray.cluster_resources()
    return ", ".join(f"{have.get(k, 0):g} {k}" for k in ("CPU", "GPU"))
