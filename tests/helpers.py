"""What the tests share: the repository's paths and a tiny config, run folders written through the
real writer without training (planted figures), small data files in the real formats (IDX as in
MNIST, CIFAR-10 python batches), the check that two run folders hold the same search, and the
kill -9 of a search once a rung checkpoint exists (tests/stories)."""

from __future__ import annotations

import csv
import gzip
import json
import os
import pickle
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hpsearch.runs.records import EpochMetrics, TrialParams, TrialResult, TrialStatus
from hpsearch.runs.store import RunStore
from hpsearch.search.observer import SearchObserver
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
    status: TrialStatus | str = TrialStatus.COMPLETED  # completed | stopped | diverged | failed | running (no result.json)
    decisions: list[dict[str, Any]] = field(default_factory=list)  # a scheduler's rung decisions (schedulers.Decision)


def make_run(root: Path, trials: list[FakeTrial], space: dict[str, Any] | None = None, target_error: float = 0.0,
             fixed: dict[str, Any] | None = None, val_examples: int = 1000, scheduler: dict[str, Any] | None = None,
             run_status: str = "completed") -> Path:
    """Write a run folder at ``root`` holding ``trials``; returns ``root``. A ``running`` run is held by
    this process (its run.lock names this pid), as a search being written is."""
    raw = {"name": "fake", "trials": len(trials), "epochs": 3, "target_error": target_error,
           "fixed": fixed or {}, "space": space if space is not None else SPACE}
    if scheduler is not None:
        raw["scheduler"] = scheduler
    config = parse_config(raw)
    store = RunStore.create(root, "fake")
    store.write_config(config_to_dict(config))
    store.write_run_info({"name": "fake", "seed": 0, "status": run_status,
                          "data": {"dataset": "synthetic", "train": 4 * val_examples, "val": val_examples,
                                   "input_dim": 40, "num_classes": 5}})
    if run_status == "running":
        (root / "run.lock").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    for i, trial in enumerate(trials):
        hyper = resolve({**config.fixed, **trial.params})
        store.write_params(i, TrialParams(trial=i, seed=100 + i, params=trial.params, hyperparameters=hyper))
        epochs = [EpochMetrics(e + 1, hyper["lr"], 1.0 - tr, tr, 1.0 - va, va, 0.5) for e, (tr, va) in enumerate(trial.curve)]
        store.write_metrics(i, epochs)
        status = TrialStatus(trial.status)
        if status is TrialStatus.RUNNING:
            continue
        result = TrialResult(status, seconds=1.5 * (i + 1), num_parameters=1000, epochs=epochs,
                             decisions=trial.decisions)
        if status is TrialStatus.FAILED:
            result.error = "RuntimeError: planted failure"
        else:
            result.fill_best()
        store.write_result(i, result)
    return root

TIMINGS = {"seconds"}
ASHA_CONFIG: dict[str, Any] = {  # a small ASHA search: 6 trials x 9 epochs, rungs at 1 and 3

    "name": "asha", "seed": 3, "trials": 6, "epochs": 9, "device": "cpu",
    "data": {"dataset": "synthetic", "samples": 600},
    "fixed": {"optimizer": "sgd", "batch_size": 16},
    "space": {"lr": {"distribution": "log_uniform", "low": 1.0e-4, "high": 0.3},
              "hidden_units": {"distribution": "int_log_uniform", "low": 16, "high": 64}},
    "scheduler": {"name": "asha", "min_epochs": 1, "eta": 3},
}

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "configs" / "quickstart.yaml"
# Real MNIST for the tests that need it: $HPSEARCH_TEST_DATA, else the team's ../shared/data beside
# the checkout; those tests skip, saying where they looked, when neither holds it.
SHARED_DATA = Path(os.environ.get("HPSEARCH_TEST_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")

TINY: dict[str, Any] = {
    "name": "tiny",
    "seed": 0,
    "trials": 3,
    "epochs": 2,
    "device": "cpu",
    "data": {"dataset": "synthetic", "samples": 600},
    "fixed": {"optimizer": "adam"},
    "space": {
        "lr": {"distribution": "log_uniform", "low": 1.0e-3, "high": 1.0e-2},
        "hidden_units": {"distribution": "int_log_uniform", "low": 16, "high": 64},
    },
}



IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes: magic 0x0000 08 <ndim>, big-endian dims, then the data."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def learnable_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n 28x28 images whose class k (0..9) lights rows 2k..2k+1: easy for an MLP, not for chance."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
    for i, k in enumerate(labels):
        images[i, 2 * k : 2 * k + 2, 4:24] = 255
    return images, labels.astype(np.uint8)


def write_idx_dataset(folder: Path, n_train: int = 600, n_test: int = 200, gz: bool = True,
                      train_labels: np.ndarray | None = None) -> Path:
    """The four MNIST files in ``folder`` (e.g. <root>/MNIST/raw), .gz or plain. Returns folder."""
    folder.mkdir(parents=True, exist_ok=True)
    x_train, y_train = learnable_images(n_train, seed=1)
    x_test, y_test = learnable_images(n_test, seed=2)
    if train_labels is not None:
        y_train = train_labels
    for name, array in zip(IDX_NAMES, (x_train, y_train, x_test, y_test), strict=True):
        data = idx_bytes(array)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return folder


def write_cifar_dataset(root: Path, per_batch: int = 20) -> Path:
    """cifar-10-batches-py/ with data_batch_1..5 and test_batch as CIFAR-10 ships them: pickled dicts
    whose 'data' is uint8 [N, 3072] (R, G, B planes of 32x32) and 'labels' a list of ints.
    The planes have means near 200, 100 and 50, so per-channel normalization is visible."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        planes = [np.clip(rng.normal(mean, 20, size=(per_batch, 1024)), 0, 255) for mean in (200, 100, 50)]
        data = np.concatenate(planes, axis=1).astype(np.uint8)
        labels = [int(v) for v in np.arange(per_batch) % 10]
        batch = {"batch_label": f"{name} of 6", "labels": labels, "data": data,
                 "filenames": [f"img_{i}.png" for i in range(per_batch)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return folder


def _table(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return [{k: v for k, v in row.items() if k not in TIMINGS} for row in csv.DictReader(handle)]


def _no_timings(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in TIMINGS and not k.endswith("seconds")}


def assert_same_run(run_dir: Path, reference: Path) -> None:
    """Same files, same trial ids, params, per-epoch metrics, results and trials.csv (timings aside)."""
    files = sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*"))
    assert files == sorted(str(p.relative_to(reference)) for p in reference.rglob("*"))
    for trial in sorted((reference / "trials").iterdir()):
        mine = run_dir / "trials" / trial.name
        assert json.loads((mine / "params.json").read_text()) == json.loads((trial / "params.json").read_text())
        lines = [_no_timings(json.loads(line)) for line in (mine / "metrics.jsonl").read_text().splitlines()]
        assert lines == [_no_timings(json.loads(line)) for line in (trial / "metrics.jsonl").read_text().splitlines()]
        assert _no_timings(json.loads((mine / "result.json").read_text())) == _no_timings(json.loads((trial / "result.json").read_text()))
    assert _table(run_dir / "trials.csv") == _table(reference / "trials.csv")
    info, ref = json.loads((run_dir / "run.json").read_text()), json.loads((reference / "run.json").read_text())
    for key in ("status", "best", "trials", "seed", "name", "data", "config_sha256", "device"):
        assert info.get(key) == ref.get(key), key
    assert (run_dir / "config.yaml").read_text() == (reference / "config.yaml").read_text()


class FailingTrials:
    """A test executor (see hpsearch/search/executors): it trains like the in-process one, except
    that the trials in ``failing`` raise ``error`` inside their training, where a real failure
    (out of memory, a bad model) would. It plugs in through ``run_search(..., executor=...)``, with no
    change to the loop: the proof that a new executor needs none."""

    def __init__(self, failing: set[int] | None, error: Exception) -> None:
        self.failing, self.error = failing, error  # failing None: every trial
        self.calls: list[int] = []

    def __call__(self, execution: Any) -> Any:
        from hpsearch.search.executors.inprocess import InProcessExecutor
        from hpsearch.training.trainer import run_segment

        outer = self

        class _Executor(InProcessExecutor):
            def events(self):  # type: ignore[no-untyped-def]
                segment = self.queue[0]
                outer.calls.append(segment.trial.id)
                if outer.failing is None or segment.trial.id in outer.failing:
                    self.queue.popleft()
                    yield from run_segment(segment, _Exploding(outer.error))
                else:
                    yield from super().events()

        return _Executor(execution)


class _Exploding:
    """Device data whose first use raises: the error surfaces inside the trainer's own try."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        raise self.error


def invoke(*args: str) -> tuple[int, str]:
    """Run ``hpsearch ARGS`` in this process (click's runner): (exit code, output)."""
    from click.testing import CliRunner

    from hpsearch.cli.main import main

    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def results_of(run_dir: Path) -> dict[int, dict]:
    """Every trial's result.json in ``run_dir``, by trial id."""
    return {int(p.parent.name): json.loads(p.read_text()) for p in sorted(run_dir.glob("trials/*/result.json"))}


def epochs_written(run_dir: Path) -> int:
    """Epochs the run folder's metrics.jsonl files hold, all trials together."""
    return sum(len(p.read_text().splitlines()) for p in run_dir.glob("trials/*/metrics.jsonl"))


def kill_after_a_checkpoint(args: list[str], run_dir: Path) -> None:
    """Start ``hpsearch ARGS -q`` and SIGKILL it as soon as it has written an epoch and a rung
    checkpoint exists (or once it ends)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "hpsearch", *args, "-q"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = epochs_written(run_dir) if run_dir.exists() else 0
    deadline = time.monotonic() + 120
    while proc.poll() is None and not (epochs_written(run_dir) > start and list(run_dir.glob("trials/*/checkpoint.pt"))):
        assert time.monotonic() < deadline, "the search made no progress"
        time.sleep(0.002)
    proc.kill()
    proc.wait(timeout=30)


class EpochCounter(SearchObserver):
    """Counts the epochs a search trains (a resume from rung checkpoints trains fewer)."""

    def __init__(self) -> None:
        self.epochs = 0

    def epoch_finished(self, trial: object, metrics: object) -> None:
        self.epochs += 1


def checkpoint_epoch(path: Path) -> int:
    """The epoch a trial's rung checkpoint (``path``: its checkpoint.pt) holds it at."""
    from hpsearch.search.checkpoints import read_checkpoint

    found = read_checkpoint(path.parent)
    assert found is not None
    return found[0].epoch


def kill_then_resume_exactly(config: dict[str, Any], tmp_path: Path, reference: Path) -> None:
    """The kill -9 story: run ``config`` with the CLI in a subprocess and SIGKILL it once a rung
    checkpoint exists (resuming and killing again, up to 3 times, until a kill lands while one waits),
    then resume here. The resume must continue the checkpointed trials (train exactly the epochs
    left, not retrain them) and end as the unbroken ``reference`` run, best model included."""
    import torch
    import yaml

    from hpsearch.search.run import resume_search

    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    run_dir = tmp_path / "run"
    kill_after_a_checkpoint(["run", str(path), "--run-dir", str(run_dir)], run_dir)
    for _ in range(3):  # a couple of kill/resume cycles, until a kill lands while a checkpoint waits
        if list(run_dir.glob("trials/*/checkpoint.pt")):
            break
        kill_after_a_checkpoint(["resume", str(run_dir)], run_dir)
    checkpoints = list(run_dir.glob("trials/*/checkpoint.pt"))
    assert checkpoints, "no kill landed between a rung and the end of a trial"
    done = {t for t, r in results_of(run_dir).items() if r["status"] in ("completed", "stopped")}
    resumed_from = {int(p.parent.name): checkpoint_epoch(p) for p in checkpoints}
    expected = sum(r["epochs_trained"] - resumed_from.get(t, 0) for t, r in results_of(reference).items() if t not in done)

    counter = EpochCounter()
    assert resume_search(run_dir, counter).status == "completed"
    assert counter.epochs == expected  # checkpointed trials were continued, not retrained from scratch
    assert_same_run(run_dir, reference)  # params, every epoch's metrics, results and decisions, trials.csv
    mine, ref_model = (torch.load(d / "best_model.pt", weights_only=True) for d in (run_dir, reference))
    assert mine["trial"] == ref_model["trial"]
    assert all(torch.equal(mine["state_dict"][k], v) for k, v in ref_model["state_dict"].items())
