"""Trials in parallel: N worker processes (spawn), each training one trial at a time.

The workers only train. They send each epoch's metrics, rung checkpoints and the result over a
pipe; the main process writes every file and takes every rung decision (driver.py), so the run
folder has one writer and the scheduler one memory. A worker blocks at a rung until the main
process answers go on or stop.

Results do not depend on the number of workers: trial i's parameters and training seed depend on
(seed, i) alone, and each trial trains with the config's ``threads`` torch threads whatever the
number of workers (thread count changes the order of float sums, so it must be fixed for CPU
metrics to match bit for bit). With a scheduler, decisions depend on the order in which trials
reach a rung, which with several workers depends on their speed.

A worker that dies (killed, out of memory) fails its trial; a new worker takes its place. Workers
ignore SIGINT: Ctrl-C reaches the main process, which kills them and marks their trials interrupted.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

import torch

from hpsearch.data import Dataset
from hpsearch.runs.records import EpochMetrics, TrialResult
from hpsearch.search.driver import TrialDriver
from hpsearch.space.sampler import Trial
from hpsearch.training.bestmodel import BestModelKeeper
from hpsearch.training.trainer import DeviceData, TrainState, train_trial

if TYPE_CHECKING:
    from hpsearch.runs.store import RunStore
    from hpsearch.runs.summary import TimeLimit
    from hpsearch.search.run import SearchObserver
    from hpsearch.search.schedulers import Scheduler
    from hpsearch.space.config import SearchConfig

CRASH_ENV = "HPSEARCH_TEST_CRASH_TRIALS"  # tests only: "0,3": a worker given one of these trials exits at once


@contextmanager
def cpu_threads(count: int) -> Iterator[None]:
    """Train with ``count`` torch threads, then restore the caller's setting."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _worker_main(conn: Connection, dataset: Dataset, device: str, threads: int) -> None:
    """A worker's life: load the data on its device once, then train the trials it is sent."""
    # Ctrl-C and a SIGTERM sent to the whole process group (CI runners, timeout) are the main
    # process's to handle: it marks the running trials interrupted and kills the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    torch.set_num_threads(threads)
    data = DeviceData.from_dataset(dataset, torch.device(device))
    crash = {int(t) for t in os.environ.get(CRASH_ENV, "").split(",") if t.strip()}
    try:
        while (task := conn.recv()) is not None:
            trial, epochs, start, rungs = task
            if trial.id in crash:
                os._exit(3)
            conn.send(("result", _train(conn, trial, data, epochs, start, rungs)))
    except (EOFError, BrokenPipeError, ConnectionResetError):  # the main process is gone
        return


def _train(conn: Connection, trial: Trial, data: DeviceData, epochs: int, start: TrainState | None,
           rungs: list[int]) -> TrialResult:
    def on_epoch(metrics: EpochMetrics) -> str | None:
        conn.send(("epoch", metrics))
        return conn.recv() if metrics.epoch in rungs else None

    began = time.perf_counter()
    try:
        return train_trial(trial, data, epochs, on_epoch, start=start, snapshot_at=rungs,
                           on_snapshot=lambda state: conn.send(("snapshot", state)),
                           on_best=lambda model: conn.send(("best", {k: v.detach().cpu().clone() for k, v in model.state_dict().items()})))
    except (EOFError, BrokenPipeError, ConnectionResetError):
        raise
    except Exception as exc:  # a failing trial is recorded, the search goes on
        return TrialResult("failed", seconds=time.perf_counter() - began, error=f"{type(exc).__name__}: {exc}")


@dataclass
class _Worker:
    process: Any  # multiprocessing's SpawnProcess
    conn: Connection
    device: str
    keeper: BestModelKeeper
    driver: TrialDriver | None = None
    rungs: tuple[int, ...] = ()
    began: float = 0.0


class WorkerPool:
    """``size`` spawned workers; worker k trains on ``devices[k % len(devices)]``."""

    def __init__(self, size: int, dataset: Dataset, devices: list[str], threads: int,
                 keeper: Callable[[], BestModelKeeper]) -> None:
        self.context = mp.get_context("spawn")
        self.dataset, self.threads, self.keeper = dataset, threads, keeper
        self.workers = [self._spawn(devices[k % len(devices)]) for k in range(size)]

    def _spawn(self, device: str) -> _Worker:
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_worker_main, args=(child, self.dataset, device, self.threads), daemon=True)
        process.start()
        child.close()  # so the parent sees EOF when the worker dies
        return _Worker(process, parent, device, self.keeper())

    def replace(self, worker: _Worker) -> None:
        worker.conn.close()
        self.workers[self.workers.index(worker)] = self._spawn(worker.device)

    def close(self, kill: bool = False) -> None:
        for worker in self.workers:
            try:
                if kill:
                    worker.process.kill()
                else:
                    worker.conn.send(None)
            except OSError:
                pass
        for worker in self.workers:
            worker.process.join(timeout=10)
            worker.conn.close()


def run_parallel(config: SearchConfig, store: RunStore, pool: WorkerPool, pending: list[int],
                 starts: dict[int, tuple[TrainState, list[dict[str, Any]]]], scheduler: Scheduler,
                 observer: SearchObserver, limit: TimeLimit,
                 finished: Callable[[Trial, TrialResult, BestModelKeeper], None], sample: Callable[[int], Trial]) -> int:
    """Train ``pending`` on the pool's workers; returns how many trials were left unstarted because
    ``limit`` was reached. KeyboardInterrupt marks the running trials interrupted and propagates."""
    queue = deque(pending)
    try:
        while True:
            for worker in [w for w in pool.workers if w.driver is None]:
                if not queue or limit.reached():
                    break
                trial_id = queue.popleft()
                start = starts.get(trial_id)
                worker.driver = TrialDriver.start(sample(trial_id), store, scheduler, observer, start)
                worker.rungs, worker.began = tuple(scheduler.rungs(trial_id)), time.perf_counter()
                try:
                    worker.conn.send((worker.driver.trial, config.epochs, start[0] if start else None, list(worker.rungs)))
                except OSError:  # the worker died while idle: the trial goes back to the queue's front
                    queue.appendleft(trial_id)
                    worker.driver = None
                    pool.replace(worker)
            busy = {w.conn: w for w in pool.workers if w.driver is not None}
            if not busy:
                return len(queue)
            for conn in wait(list(busy)):
                _handle(busy[conn], pool, finished)  # type: ignore[index]
    except KeyboardInterrupt:
        for worker in pool.workers:
            if worker.driver is not None:
                worker.driver.interrupted(time.perf_counter() - worker.began)
        raise


def _handle(worker: _Worker, pool: WorkerPool, finished: Callable[[Trial, TrialResult, BestModelKeeper], None]) -> None:
    """One message from a busy worker, or its death."""
    driver = worker.driver
    assert driver is not None
    try:
        kind, payload = worker.conn.recv()
    except (EOFError, OSError):
        _died(worker, pool, finished)
        return
    if kind == "epoch":
        verdict = driver.epoch(payload)
        if payload.epoch in worker.rungs:
            try:
                worker.conn.send(verdict)
            except OSError:  # it died between sending the epoch and hearing the verdict
                _died(worker, pool, finished)
    elif kind == "snapshot":
        driver.snapshot(payload)
    elif kind == "best":  # the trial's best-epoch weights so far, kept in case it becomes the search's best
        worker.keeper.pending = payload
    else:
        worker.driver = None
        finished(driver.trial, driver.finish(payload), worker.keeper)


def _died(worker: _Worker, pool: WorkerPool, finished: Callable[[Trial, TrialResult, BestModelKeeper], None]) -> None:
    """A worker died mid-trial (killed, out of memory): its trial fails, a fresh worker replaces it."""
    driver = worker.driver
    assert driver is not None
    worker.process.join(timeout=10)
    code = worker.process.exitcode
    how = f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
    error = f"worker process {worker.process.pid} died ({how}; out of memory?) while training this trial"
    failed = TrialResult("failed", seconds=time.perf_counter() - worker.began, error=error)
    worker.driver = None
    finished(driver.trial, driver.finish(failed), worker.keeper)
    pool.replace(worker)
