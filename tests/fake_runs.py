"""Run folders for the report tests, written through the real writer (RunStore, TrialResult,
EpochMetrics) without training, so the figures in them are exactly the ones a test plants."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpsearch.runs.records import EpochMetrics, TrialResult
from hpsearch.runs.store import RunStore
from hpsearch.space.config import config_to_dict, parse_config
from hpsearch.space.hyperparams import resolve

SPACE = {
    "lr": {"distribution": "log_uniform", "low": 1.0e-4, "high": 1.0},
    "batch_size": {"distribution": "choice", "values": [32, 64, 128]},
    "hidden_units": {"distribution": "int_log_uniform", "low": 32, "high": 512},
}


@dataclass
class FakeTrial:
    params: dict[str, Any]
    curve: list[tuple[float, float]] = field(default_factory=list)  # (train_acc, val_acc) per epoch
    status: str = "completed"  # completed | diverged | failed | running


def make_run(root: Path, trials: list[FakeTrial], space: dict[str, Any] | None = None, target_error: float = 0.0,
             fixed: dict[str, Any] | None = None, val_examples: int = 1000) -> Path:
    """Write a run folder at ``root`` holding ``trials``; returns ``root``."""
    raw = {"name": "fake", "trials": len(trials), "epochs": 3, "target_error": target_error,
           "fixed": fixed or {}, "space": space if space is not None else SPACE}
    config = parse_config(raw)
    store = RunStore.create(root, "fake")
    store.write_config(config_to_dict(config))
    store.write_run_info({"name": "fake", "seed": 0, "status": "completed",
                          "data": {"dataset": "synthetic", "train": 4 * val_examples, "val": val_examples,
                                   "input_dim": 40, "num_classes": 5}})
    for i, trial in enumerate(trials):
        hyper = resolve({**config.fixed, **trial.params})
        store.write_params(i, {"trial": i, "seed": 100 + i, "params": trial.params, "hyperparameters": hyper})
        epochs = [EpochMetrics(e + 1, hyper["lr"], 1.0 - tr, tr, 1.0 - va, va, 0.5) for e, (tr, va) in enumerate(trial.curve)]
        store.write_metrics(i, [e.to_dict() for e in epochs])
        if trial.status == "running":
            continue
        result = TrialResult(trial.status, seconds=1.5 * (i + 1), num_parameters=1000, epochs=epochs)
        if trial.status == "failed":
            result.error = "RuntimeError: planted failure"
        else:
            result.fill_best()
        store.write_result(i, result.to_dict())
    return root
