"""The search loop: sample each trial, train it, record it; failures are data, not crashes."""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from . import __version__
from .config import SearchConfig, config_to_dict
from .data import load_data
from .errors import ConfigError, Problem
from .sampler import Trial, sample_trial
from .store import RunStore
from .trainer import DeviceData, EpochMetrics, TrialResult, resolve_device, train_trial


class SearchObserver:
    """Hooks for progress display; the default does nothing. The CLI's draws bars and lines."""

    def search_started(self, config: SearchConfig, run_dir: Path, device: torch.device) -> None: ...
    def trial_started(self, trial: Trial) -> None: ...
    def epoch_finished(self, trial: Trial, metrics: EpochMetrics) -> None: ...
    def trial_finished(self, trial: Trial, result: TrialResult) -> None: ...


class SearchInterrupted(Exception):
    """The user interrupted the search; the run folder was closed with status ``interrupted``."""

    def __init__(self, run_dir: Path) -> None:
        super().__init__(f"search interrupted; partial results in {run_dir}")
        self.run_dir = run_dir


@dataclass
class SearchResult:
    run_dir: Path
    status: str  # completed | no_trial_completed
    trials: list[tuple[Trial, TrialResult]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def best(self) -> tuple[Trial, TrialResult] | None:
        done = [(t, r) for t, r in self.trials if r.status == "completed" and r.val_acc is not None]
        return max(done, key=lambda tr: (tr[1].val_acc, -tr[0].id)) if done else None

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, result in self.trials:
            counts[result.status] = counts.get(result.status, 0) + 1
        return counts


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _versions() -> dict[str, str]:
    return {"python": platform.python_version(), "torch": torch.__version__, "hpsearch": __version__, "platform": platform.platform()}


def trial_row(trial: Trial, result: TrialResult) -> dict[str, Any]:
    """A trials.csv row: id, status, the params, then the best epoch's figures."""
    return {"trial": trial.id, "status": result.status, **trial.params, "val_acc": result.val_acc,
            "train_acc": result.train_acc, "gap": result.gap, "best_epoch": result.best_epoch,
            "seconds": round(result.seconds, 3)}


def run_search(config: SearchConfig, run_dir: str | Path | None = None, observer: SearchObserver | None = None,
               runs_root: str | Path = "runs") -> SearchResult:
    """Run the whole search and write its folder; returns every trial's result.

    Bad config or data raise before anything is written. Ctrl-C closes the folder as
    ``interrupted`` and raises SearchInterrupted.
    """
    observer = observer or SearchObserver()
    try:
        device = resolve_device(config.device)
    except ValueError as exc:
        raise ConfigError([Problem("device", str(exc))], config.source) from None
    dataset = load_data(config.data)
    store = RunStore.create(Path(run_dir) if run_dir is not None else None, config.name, Path(runs_root))
    store.write_config(config_to_dict(config))
    info: dict[str, Any] = {"name": config.name, "seed": config.seed, "status": "running", "started": _now(),
                            "ended": None, "device": str(device), "versions": _versions(),
                            "argv": sys.argv, "data": dataset.summary()}
    store.write_run_info(info)
    data = DeviceData.from_dataset(dataset, device)
    observer.search_started(config, store.root, device)
    outcome = SearchResult(store.root, "running")
    header = ["trial", "status", *config.space, "val_acc", "train_acc", "gap", "best_epoch", "seconds"]
    start = time.perf_counter()
    try:
        for trial_id in range(config.trials):
            trial = sample_trial(config, trial_id)
            result = _run_trial(trial, data, config.epochs, store, observer)
            outcome.trials.append((trial, result))
            store.write_trials_csv(header, (trial_row(t, r) for t, r in outcome.trials))
    except KeyboardInterrupt:
        outcome.seconds = time.perf_counter() - start
        _close(store, info, outcome, "interrupted")
        raise SearchInterrupted(store.root) from None
    outcome.seconds = time.perf_counter() - start
    outcome.status = "completed" if outcome.best else "no_trial_completed"
    _close(store, info, outcome, outcome.status)
    return outcome


def _run_trial(trial: Trial, data: DeviceData, epochs: int, store: RunStore, observer: SearchObserver) -> TrialResult:
    store.write_params(trial.id, {"trial": trial.id, "seed": trial.seed, "params": trial.params,
                                  "hyperparameters": trial.hyperparameters})
    observer.trial_started(trial)
    history: list[dict[str, Any]] = []

    def on_epoch(metrics: EpochMetrics) -> None:
        history.append(metrics.to_dict())
        store.write_metrics(trial.id, history)
        observer.epoch_finished(trial, metrics)

    began = time.perf_counter()
    try:
        result = train_trial(trial, data, epochs, on_epoch)
    except KeyboardInterrupt:
        store.write_result(trial.id, TrialResult("interrupted", seconds=time.perf_counter() - began).to_dict())
        raise
    except Exception as exc:  # a failing trial is recorded, the search goes on
        result = TrialResult("failed", seconds=time.perf_counter() - began, error=f"{type(exc).__name__}: {exc}")
    store.write_result(trial.id, result.to_dict())
    observer.trial_finished(trial, result)
    return result


def _close(store: RunStore, info: dict[str, Any], outcome: SearchResult, status: str) -> None:
    best = outcome.best
    info.update(status=status, ended=_now(), seconds=round(outcome.seconds, 3), trials=outcome.counts())
    if best is not None:
        trial, result = best
        info["best"] = {"trial": trial.id, "params": trial.params, "val_acc": result.val_acc,
                        "train_acc": result.train_acc, "gap": result.gap, "best_epoch": result.best_epoch}
    store.write_run_info(info)
