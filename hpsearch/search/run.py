"""The search loop: sample each trial, train it, record it; failures are data, not crashes.

``run_search`` starts a run folder and ``resume_search`` continues one; both hand the ids still to
run to ``run_trials``, which samples trial i from (seed, i) alone, so a resumed search trains
exactly the trials an unbroken one would have. The run folder, not memory, is the record: every
file is written atomically, and trials.csv and run.json are rebuilt from the trial folders.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from hpsearch.data import Dataset, prepare_data
from hpsearch.errors import ConfigError, Problem, SearchInterrupted
from hpsearch.formatting import duration
from hpsearch.runs.records import EpochMetrics, SearchResult, TrialResult
from hpsearch.runs.runlock import RunLock
from hpsearch.runs.store import RunStore, TrialRecord
from hpsearch.runs.summary import TimeLimit, close_run, now, versions, write_trials_csv
from hpsearch.search.driver import TrialDriver, rebuild_rungs
from hpsearch.search.resume import load_resumable
from hpsearch.search.schedulers import Scheduler, make_scheduler
from hpsearch.space.config import SearchConfig, config_to_dict
from hpsearch.space.sampler import Trial, sample_trial
from hpsearch.training.bestmodel import BestModelKeeper, evaluate_on_test
from hpsearch.training.trainer import DeviceData, TrainState, resolve_device, train_trial

__all__ = ["Execution", "SearchInterrupted", "SearchObserver", "SearchResult", "TimeLimit", "resume_search", "run_search", "run_trials"]




class SearchObserver:
    """Hooks for progress display; the default does nothing. The CLI's draws bars and lines."""

    def search_started(self, config: SearchConfig, run_dir: Path, device: torch.device) -> None: ...
    def trials_planned(self, done: int, pending: list[int]) -> None: ...
    def trial_started(self, trial: Trial) -> None: ...
    def epoch_finished(self, trial: Trial, metrics: EpochMetrics) -> None: ...
    def trial_finished(self, trial: Trial, result: TrialResult) -> None: ...
    def warning(self, message: str) -> None: ...


def _devices(config: SearchConfig, devices: list[str] | None) -> list[torch.device]:
    """The devices trials train on: ``devices`` (``--devices``, shared round-robin by the workers)
    or the config's device. Raises ConfigError for one that does not exist here."""
    found: list[torch.device] = []
    for name in devices or [config.device]:
        try:
            found.append(resolve_device(name))
        except ValueError as exc:
            raise ConfigError([Problem("--devices" if devices else "device", str(exc))], config.source) from None
    return found


def _lock(root: Path, observer: SearchObserver) -> RunLock:
    lock = RunLock(root).acquire()
    if lock.took_over is not None:
        observer.warning(f"took over the stale lock {lock.path} of process {lock.took_over}, which no longer runs")
    return lock


@dataclass
class Execution:
    """Where and how trials train: the dataset, the devices (shared round-robin by the workers) and
    how many trials train at once (1: in this process; more: in spawned worker processes)."""

    dataset: Dataset
    devices: list[torch.device]
    workers: int = 1


def run_search(config: SearchConfig, run_dir: str | Path | None = None, observer: SearchObserver | None = None,
               runs_root: str | Path = "runs", max_seconds: float | None = None,
               clock: Callable[[], float] = time.monotonic, devices: list[str] | None = None) -> SearchResult:
    """Run the whole search and write its folder; returns every trial's result.

    Bad config or data raise before anything is written. SIGINT (and SIGTERM, under
    ``interrupts.signals_as_interrupt``) closes the folder as ``interrupted`` and raises
    SearchInterrupted. With ``max_seconds``, no trial starts after that long (status ``stopped``).
    ``config.workers`` trials train at once, on ``devices`` (default: the config's device).
    """
    observer = observer or SearchObserver()
    limit = TimeLimit(max_seconds, clock)
    config = config.with_absolute_paths()
    found = _devices(config, devices)
    dataset = prepare_data(config)
    store = RunStore.create(Path(run_dir) if run_dir is not None else None, config.name, Path(runs_root))
    lock = _lock(store.root, observer)
    info: dict[str, Any] = {"name": config.name, "seed": config.seed, "status": "running"}
    try:
        digest = store.write_config(config_to_dict(config))
        info.update({"started": now(), "ended": None, "device": str(found[0]), "versions": versions(),
                     "argv": sys.argv, "data": dataset.summary(), "config_sha256": digest})
        if devices:
            info["devices"] = [str(d) for d in found]
        store.write_run_info(info)
        observer.search_started(config, store.root, found[0])
        execution = Execution(dataset, found, config.workers)
        return run_trials(config, store, info, execution, list(range(config.trials)), [], observer, limit)
    except KeyboardInterrupt:  # before the loop: nothing trained, the folder says interrupted
        outcome = SearchResult(store.root, "interrupted", planned=config.trials, seconds=limit.elapsed())
        close_run(store, info, outcome, "interrupted")
        raise SearchInterrupted(store.root, outcome) from None
    finally:
        lock.release()


def resume_search(run_dir: str | Path, observer: SearchObserver | None = None, max_seconds: float | None = None,
                  clock: Callable[[], float] = time.monotonic, workers: int | None = None,
                  devices: list[str] | None = None) -> SearchResult:
    """Continue a stopped, interrupted or killed search in ``run_dir`` with the config it started with.

    Finished trials (completed, stopped, diverged, failed) are kept as they are; an interrupted
    trial continues from its last rung checkpoint, or else runs from scratch. ``workers`` and
    ``devices`` may differ from the first invocation's. Raises RunDirError if the folder is not a
    run, is in use, or its config.yaml was edited.
    """
    observer = observer or SearchObserver()
    limit = TimeLimit(max_seconds, clock)
    root = Path(run_dir)
    lock = _lock(root, observer)
    try:
        state = load_resumable(root)
        config, info, store = state.config, state.info, RunStore(root)
        if not state.pending and info.get("status") in ("completed", "no_trial_completed"):
            status = info["status"]
            return SearchResult(root, status, state.done, limit.elapsed(), config.trials)
        found = _devices(config, devices)
        execution = Execution(prepare_data(config), found, workers or config.workers)
        store.remove_temp_files()
        info.update(status="running", ended=None)
        info.setdefault("resumed", []).append({"at": now(), "argv": sys.argv})
        store.write_run_info(info)
        observer.search_started(config, root, found[0])
        return run_trials(config, store, info, execution, state.pending, state.done, observer, limit)
    finally:
        lock.release()


@dataclass
class _Loop:
    """What both ways of running trials (here, or on workers) share."""

    config: SearchConfig
    store: RunStore
    scheduler: Scheduler
    observer: SearchObserver
    limit: TimeLimit
    starts: dict[int, tuple[TrainState, list[dict[str, Any]]]]  # rung checkpoints to continue from
    finished: Callable[[Trial, TrialResult, BestModelKeeper], None]  # records a result, keeps the best model
    keeper: Callable[[], BestModelKeeper]  # one per trial slot: it holds that trial's best-epoch weights
    started: list[int] = field(default_factory=list)  # trial ids started by this invocation


def run_trials(config: SearchConfig, store: RunStore, info: dict[str, Any], execution: Execution, pending: list[int],
               done: list[tuple[Trial, TrialResult]], observer: SearchObserver, limit: TimeLimit) -> SearchResult:
    """Sample, train and record trials ``pending`` (in order) into an open run folder, then close it.

    ``done`` holds the trials already finished in the folder; trials.csv and run.json's summary
    cover them and the new ones, by trial id, so the result does not depend on how the work was split.
    The scheduler's rungs are rebuilt from the folder first, so a resumed search decides as before.
    With ``config.test``, a completed search evaluates the best trial's saved model on the test split.
    """
    outcome = SearchResult(store.root, "running", sorted(done, key=lambda tr: tr[0].id), planned=config.trials)
    scheduler = make_scheduler(config)
    starts = rebuild_rungs(scheduler, store, done, pending, {d.type for d in execution.devices})
    observer.trials_planned(len(done), list(pending))

    def finished(trial: Trial, result: TrialResult, keeper: BestModelKeeper) -> None:
        outcome.trials = sorted([*outcome.trials, (trial, result)], key=lambda tr: tr[0].id)
        keeper.trial_finished(trial, result, outcome.best)
        write_trials_csv(config, store, outcome)

    dataset = execution.dataset
    loop = _Loop(config, store, scheduler, observer, limit, starts, finished,
                 lambda: BestModelKeeper(store.root, dataset.input_dim, dataset.num_classes))
    try:
        left = _run_here(loop, execution, pending) if execution.workers == 1 else _run_on_workers(loop, execution, pending)
    except KeyboardInterrupt:
        outcome.status, outcome.seconds = "interrupted", limit.elapsed()
        outcome.interrupted = [i for i in loop.started if TrialRecord(store.trial_dir(i)).status == "interrupted"]
        write_trials_csv(config, store, outcome)
        close_run(store, info, outcome, "interrupted")
        raise SearchInterrupted(store.root, outcome) from None
    if left:
        outcome.stop_reason = (f"--max-time {duration(limit.seconds or 0)} reached; {left} "
                               f"trial(s) not started (hpsearch resume {store.root} runs them)")
    outcome.seconds = limit.elapsed()
    write_trials_csv(config, store, outcome)  # also when nothing ran: a kill may have beaten the last rewrite
    if outcome.stop_reason is not None:
        outcome.status = "stopped"
    else:
        outcome.status = "completed" if outcome.best else "no_trial_completed"
    if config.test and outcome.status == "completed" and outcome.best is not None:
        outcome.test = evaluate_on_test(store.root, dataset, execution.devices[0], outcome.best[0].id)
    close_run(store, info, outcome, outcome.status)
    return outcome


def _run_here(loop: _Loop, execution: Execution, pending: list[int]) -> int:
    """Train ``pending`` one after the other in this process; returns how many were not started."""
    from hpsearch.search.parallel import cpu_threads

    data = DeviceData.from_dataset(execution.dataset, execution.devices[0])
    keeper = loop.keeper()
    with cpu_threads(loop.config.threads):
        for position, trial_id in enumerate(pending):
            if loop.limit.reached():
                return len(pending) - position
            loop.started.append(trial_id)
            start = loop.starts.get(trial_id)
            driver = TrialDriver.start(sample_trial(loop.config, trial_id), loop.store, loop.scheduler, loop.observer, start)
            result = _run_trial(driver, data, loop.config.epochs, start[0] if start else None,
                                loop.scheduler.rungs(trial_id), keeper.on_best)
            loop.finished(driver.trial, result, keeper)
    return 0


def _run_on_workers(loop: _Loop, execution: Execution, pending: list[int]) -> int:
    from hpsearch.search.parallel import WorkerPool, run_parallel

    pool = WorkerPool(execution.workers, execution.dataset, [str(d) for d in execution.devices], loop.config.threads,
                      loop.keeper)
    interrupted = True
    try:
        left = run_parallel(loop.config, loop.store, pool, pending, loop.starts, loop.scheduler, loop.observer,
                            loop.limit, loop.finished, lambda i: _started(loop, i))
        interrupted = False
        return left
    finally:
        pool.close(kill=interrupted)


def _started(loop: _Loop, trial_id: int) -> Trial:
    loop.started.append(trial_id)
    return sample_trial(loop.config, trial_id)


def _run_trial(driver: TrialDriver, data: DeviceData, epochs: int, start: TrainState | None, rungs: list[int],
               on_best: Callable[[torch.nn.Module], None]) -> TrialResult:
    """Train one trial here and record it. An exception is a ``failed`` result; KeyboardInterrupt marks the
    trial ``interrupted`` (unless its result.json, final once written, already exists) and propagates."""
    began = time.perf_counter()
    try:
        try:
            result = train_trial(driver.trial, data, epochs, driver.epoch, start=start, snapshot_at=rungs,
                                 on_snapshot=driver.snapshot, on_best=on_best)
        except Exception as exc:  # a failing trial is recorded, the search goes on
            result = TrialResult("failed", seconds=time.perf_counter() - began, error=f"{type(exc).__name__}: {exc}")
        return driver.finish(result)
    except KeyboardInterrupt:
        driver.interrupted(time.perf_counter() - began)
        raise
