"""What a search leaves in its run folder besides the trials: its result, run.json and trials.csv.

``search.py`` runs the trials; this module keeps the record of them: the ``SearchResult`` the API
returns, the ``--max-time`` clock, and the summary files rewritten from the finished trials.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version as _version
from typing import Any

from hpsearch import __version__
from hpsearch.runs.records import SearchResult, TrialResult
from hpsearch.runs.store import RunStore
from hpsearch.space.config import SearchConfig
from hpsearch.space.sampler import Trial


@dataclass
class TimeLimit:
    """``--max-time``: no trial starts once ``seconds`` have passed since the search began."""

    seconds: float | None = None
    clock: Callable[[], float] = time.monotonic
    start: float = field(init=False)
    began: float = field(init=False)  # perf_counter at the start, for the time split (never the test clock)

    def __post_init__(self) -> None:
        self.start = self.clock()
        self.began = time.perf_counter()

    def elapsed(self) -> float:
        return self.clock() - self.start

    def wall(self) -> float:
        """Real seconds since the search began (``elapsed`` follows ``clock``, which tests may fake)."""
        return time.perf_counter() - self.began

    def reached(self) -> bool:
        return self.seconds is not None and self.elapsed() >= self.seconds


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def torch_version() -> str:
    """``torch.__version__`` (``2.13.0+cu130``: the build, local suffix included) when torch is loaded, as
    it is whenever a search runs; else the installed package's version. runs/ never imports torch itself."""
    torch = sys.modules.get("torch")
    return str(torch.__version__) if torch is not None else _version("torch")


def versions() -> dict[str, str]:
    return {"python": platform.python_version(), "torch": torch_version(), "hpsearch": __version__, "platform": platform.platform()}


def trial_row(trial: Trial, result: TrialResult) -> dict[str, Any]:
    """A trials.csv row: id, status, the params, then the best epoch's figures."""
    return {"trial": trial.id, "status": result.status, **trial.params, **result.figures(),
            "seconds": round(result.seconds, 3)}


def write_trials_csv(config: SearchConfig, store: RunStore, outcome: SearchResult) -> None:
    header = ["trial", "status", *config.space, "val_acc", "train_acc", "gap", "best_epoch", "seconds"]
    store.write_trials_csv(header, (trial_row(t, r) for t, r in outcome.trials))


def close_run(store: RunStore, info: dict[str, Any], outcome: SearchResult, status: str) -> None:
    """Write run.json's final state. ``seconds`` adds up the time of every invocation on the folder."""
    best = outcome.best
    previous = info.get("seconds") or 0.0  # what earlier invocations recorded (none for a new run)
    info.update(status=status, ended=now(), seconds=round(previous + outcome.seconds, 3), trials=outcome.counts())
    info.pop("best", None)
    info.pop("stopped", None)
    info.pop("test", None)
    if best is not None:
        trial, result = best
        info["best"] = {"trial": trial.id, "params": trial.params, **result.figures()}
    if outcome.stop_reason is not None:
        info["stopped"] = outcome.stop_reason
    if outcome.test is not None:
        info["test"] = outcome.test
    if outcome.time is not None:
        info["time"] = outcome.time.to_dict()
    store.write_run_info(info)
