"""Starting and resuming a search: prepare, lock the folder, run the loop, close the folder.

``run_search`` starts a run folder and ``resume_search`` continues one; both hand the ids still to
run to the loop, which samples trial i from (seed, i) alone, so a resumed search trains exactly the
trials an unbroken one would have. The run folder, not memory, is the record: every file is
written atomically, and trials.csv and run.json are rebuilt from the trial folders. ``_run`` is the
one place a search meets Ctrl-C (SIGINT, or SIGTERM under ``cli.interrupts``): the folder is closed
as ``interrupted``, its open trials marked, and SearchInterrupted raised.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from hpsearch.data import prepare_data
from hpsearch.errors import ConfigError, ExecutorLost, Problem, RunDirError, SearchInterrupted
from hpsearch.formatting import duration
from hpsearch.runs.records import SearchResult, TimeSplit, TrialResult
from hpsearch.runs.runlock import RunLock
from hpsearch.runs.store import RunStore, config_text, text_sha256
from hpsearch.runs.summary import TimeLimit, close_run, now, versions, write_trials_csv
from hpsearch.search.bookkeeper import Bookkeeper
from hpsearch.search.checkpoints import rebuild_rungs
from hpsearch.search.executors import Execution, Executor, ExecutorFactory, RayTarget, make_executor
from hpsearch.search.forkserver import start_workers_early
from hpsearch.search.loop import run_loop
from hpsearch.search.observer import SearchObserver
from hpsearch.search.resume import check_run_folder, load_resumable
from hpsearch.search.schedulers import make_scheduler
from hpsearch.space.config import SearchConfig, recorded_config
from hpsearch.space.sampler import Trial
from hpsearch.training.bestmodel import BestModelKeeper, evaluate_on_test
from hpsearch.training.trainer import resolve_device
from hpsearch.training.usermodel import checked_model

__all__ = ["SearchInterrupted", "SearchObserver", "SearchResult", "TimeLimit", "resume_search", "run_search"]


def run_search(config: SearchConfig, run_dir: str | Path | None = None, observer: SearchObserver | None = None,
               runs_root: str | Path = "runs", max_seconds: float | None = None,
               clock: Callable[[], float] = time.monotonic, devices: list[str] | None = None,
               executor: ExecutorFactory | None = None) -> SearchResult:
    """Run the whole search and write its folder; returns every trial's result.

    Bad config or data raise before anything is written. SIGINT (and SIGTERM, under
    ``interrupts.signals_as_interrupt``) closes the folder as ``interrupted`` and raises
    SearchInterrupted. With ``max_seconds``, no trial starts after that long (status ``stopped``).
    ``config.workers`` trials train at once, on ``devices`` (default: the config's device), or on
    the Ray cluster at ``config.ray``; ``executor`` overrides how (see ``hpsearch.search.executors``).
    """
    observer = observer or SearchObserver()
    limit = TimeLimit(max_seconds, clock)
    config = checked_model(config.with_absolute_paths())  # user code imported (and checked) before anything is written
    execution = _execution(config, config.workers, devices, config.ray, config.fuse)
    running = (executor or make_executor)(execution)  # joins a Ray cluster: a bad address writes nothing
    try:
        store = RunStore.create(Path(run_dir) if run_dir is not None else None, config.name, Path(runs_root))
    except BaseException:
        running.close(cancel=True)
        raise
    info: dict[str, Any] = {"name": config.name, "seed": config.seed, "status": "running"}

    def begin() -> None:
        _new_run_info(info, config, store.write_config(recorded_config(config)), execution, devices)
        store.write_run_info(info)

    with _locked(store.root, observer):
        return _run(config, store, info, execution, list(range(config.trials)), [], observer, limit, begin, running)


def _new_run_info(info: dict[str, Any], config: SearchConfig, config_sha256: str, execution: Execution,
                  devices: list[str] | None) -> None:
    """run.json as a search begins: what ran where, on which data (its sha256), with which config."""
    info.update({"started": now(), "ended": None, "device": str(execution.devices[0]), "versions": versions(),
                 "argv": sys.argv, "data": execution.dataset.summary(), "config_sha256": config_sha256})
    if devices:
        info["devices"] = [str(d) for d in execution.devices]
    if config.ray:
        info["ray"] = config.ray
    if not config.model.builtin:  # your own model: where it is, and its sha256 (resume refuses an edited file)
        info["model"] = config.model.describe()
    if config.refined_from is not None:  # the coarse run this search zooms in on (hpsearch refine)
        info["refined_from"] = {"run": config.refined_from, "trials": config.refined_trials}


def resume_search(run_dir: str | Path, observer: SearchObserver | None = None, max_seconds: float | None = None,
                  clock: Callable[[], float] = time.monotonic, workers: int | None = None,
                  devices: list[str] | None = None, executor: ExecutorFactory | None = None,
                  trials: int | None = None, test: bool = False, ray: str | None = None,
                  fuse: int | None = None) -> SearchResult:
    """Continue a stopped, interrupted or killed search in ``run_dir`` with the config it started with.

    Finished trials (completed, stopped, diverged, failed) are kept as they are; an interrupted
    trial continues from its last rung checkpoint, or else runs from scratch. ``workers``, ``fuse``
    and ``devices`` may differ from the first invocation's. ``trials`` (at least the planned count)
    extends the search to that many trials, as a fresh run of that many would end; ``test``
    evaluates the best trial on the test split once the search is complete (also a finished one).
    With ``ray`` (a Ray address) it continues on that cluster, else here. Raises RunDirError if the folder is not a run, is in use, or its config.yaml was edited.
    """
    observer = observer or SearchObserver()
    limit = TimeLimit(max_seconds, clock)
    root = Path(run_dir)
    check_run_folder(root)  # before the lock: nothing is written into a folder that is not a run
    with _locked(root, observer):
        state = load_resumable(root, trials)
        config, info, store = checked_model(state.config), state.info, RunStore(root)
        if not (state.pending or test or state.extension) and info.get("status") in ("completed", "no_trial_completed"):
            return SearchResult(root, info["status"], state.done, limit.elapsed(), config.trials)
        run_config = dataclasses.replace(config, test=True) if test else config  # --test: this invocation only
        execution = _execution(run_config, workers or config.workers, devices, ray, fuse or config.fuse)
        _check_same_data(config, info, execution)
        store.remove_temp_files()
        running = (executor or make_executor)(execution)  # joins a Ray cluster: a bad address writes nothing

        def begin() -> None:
            if not info:  # killed before its run.json was written: it starts now
                info.update(name=config.name, seed=config.seed, status="running")
                _new_run_info(info, config, text_sha256((root / "config.yaml").read_text(encoding="utf-8")), execution, devices)
            info.update(status="running", ended=None)
            info.setdefault("resumed", []).append({"at": now(), "argv": sys.argv, **state.extension,
                                                   **({"ray": ray} if ray else {})})
            if state.extension:  # run.json first: a kill before config.yaml is rewritten is recognised (resume.py)
                info["config_sha256"] = text_sha256(config_text(recorded_config(config)))
            store.write_run_info(info)
            if state.extension:
                store.write_config(recorded_config(config))

        return _run(run_config, store, info, execution, state.pending, state.done, observer, limit, begin, running)


def _run(config: SearchConfig, store: RunStore, info: dict[str, Any], execution: Execution, pending: list[int],
         done: list[tuple[Trial, TrialResult]], observer: SearchObserver, limit: TimeLimit,
         begin: Callable[[], None], running: Executor) -> SearchResult:
    """Open the folder (``begin``), train ``pending`` through ``running``, close the folder.

    ``done`` holds the trials already finished in the folder; trials.csv and run.json's summary
    cover them and the new ones, by trial id, so the result does not depend on how the work was split.
    The scheduler's rungs are rebuilt from the folder first, so a resumed search decides as before.
    With ``config.test``, a completed search evaluates the best trial's saved model on the test split.
    """
    outcome = SearchResult(store.root, "running", sorted(done, key=lambda tr: tr[0].id), planned=config.trials)
    book: Bookkeeper | None = None
    workers, startup = max(1, running.slots // execution.fuse), 0.0  # processes or actors, each training a group

    def split() -> TimeSplit | None:
        return None if book is None else TimeSplit(limit.wall(), startup, book.training, book.evaluation, workers,
                                                   book.started)

    try:
        begin()
        observer.search_started(dataclasses.replace(config, workers=workers, fuse=execution.fuse), store.root,
                                execution.devices[0])
        scheduler = make_scheduler(config)
        starts = rebuild_rungs(scheduler, store, done, pending, {d.type for d in execution.devices})
        observer.trials_planned(len(done), list(pending))
        keeper = BestModelKeeper(store.root, execution.dataset)
        book = Bookkeeper(config, store, scheduler, observer, outcome, keeper, starts)
        with running:
            startup = limit.wall()
            left = run_loop(book, running, pending, limit)
            outcome.time = split()
    except (KeyboardInterrupt, ExecutorLost) as exc:  # Ctrl-C, SIGTERM, or the Ray cluster gone
        _close_interrupted(config, store, info, outcome, book, limit, split())
        raise SearchInterrupted(store.root, outcome, str(exc) if isinstance(exc, ExecutorLost) else None) from None
    except OSError as exc:  # the folder cannot be written (disk full, read-only): the run's failure, never a trial's
        with contextlib.suppress(OSError):  # the disk may still be full: mark what can be marked; resume reads
            _close_interrupted(config, store, info, outcome, book, limit, split())  # the rest as interrupted
        where = f" ({exc.filename})" if exc.filename else ""
        raise RunDirError(f"cannot write the run folder {store.root}{where}: {exc.strerror or exc}; free space or "
                          f"fix permissions, then continue with: hpsearch resume {store.root}") from None
    finally:
        running.close(cancel=True)  # a no-op after the with block; else (begin failed) its workers go
    return _close(config, store, info, execution, outcome, left, limit)


def _close_interrupted(config: SearchConfig, store: RunStore, info: dict[str, Any], outcome: SearchResult,
                       book: Bookkeeper | None, limit: TimeLimit, time: TimeSplit | None) -> None:
    """Close the folder as ``interrupted``: open trials marked (their checkpoints stay for resume),
    trials.csv and run.json rewritten."""
    outcome.status, outcome.seconds = "interrupted", limit.elapsed()
    if book is not None:
        outcome.interrupted = book.interrupt()
        outcome.time = time
        write_trials_csv(config, store, outcome)
    close_run(store, info, outcome, "interrupted")


def _close(config: SearchConfig, store: RunStore, info: dict[str, Any], execution: Execution, outcome: SearchResult,
           left: int, limit: TimeLimit) -> SearchResult:
    """Sum the search up in trials.csv and run.json (and, with ``test``, evaluate the best trial once)."""
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
        outcome.test = evaluate_on_test(store.root, execution.dataset, execution.devices[0], outcome.best[0].id)
    close_run(store, info, outcome, outcome.status)
    return outcome


def _check_same_data(config: SearchConfig, info: dict[str, Any], execution: Execution) -> None:
    """Resume trains only on the data the run began with (run.json's data.sha256, when recorded)."""
    recorded = (info.get("data") or {}).get("sha256")
    if recorded is not None and recorded != execution.dataset.digest():
        what = config.data.path or config.data.root or f"the {config.data.dataset} dataset"
        raise RunDirError(f"the data changed since the run began ({what} no longer gives the examples recorded in "
                          f"run.json's data.sha256); resume never mixes two datasets in one run: restore the data, "
                          f"or start a new search")


def _execution(config: SearchConfig, workers: int | None, devices: list[str] | None, ray: str | None,
               fuse: int = 1) -> Execution:
    """How the search trains: here on ``devices``, or on the Ray cluster at ``ray`` (which picks the device)."""
    if ray is None:
        found = _devices(config, devices)
        if (workers or 1) > 1:
            start_workers_early()  # the workers' fork server imports torch while the data loads
        return Execution(prepare_data(config), found, workers, config.threads, fuse=fuse)
    if devices:
        raise ConfigError([Problem("--devices", "spreads workers over this machine's devices; on Ray each trial "
                                   "gets its device from the cluster (see ray_gpus_per_trial)")], config.source)
    return Execution(prepare_data(config), [], workers, config.threads,
                     RayTarget(ray, config.device, config.ray_gpus_per_trial), fuse=fuse)


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


@contextmanager
def _locked(root: Path, observer: SearchObserver) -> Iterator[None]:
    """Hold the run folder's lock (taking over one whose writer died, with a warning)."""
    lock = RunLock(root).acquire()
    if lock.took_over is not None:
        observer.warning(f"took over the stale lock {lock.path} of process {lock.took_over}, which no longer runs")
    try:
        yield
    finally:
        lock.release()
