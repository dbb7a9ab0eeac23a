"""The three ways of training the same MLP that ``trial_speed.py`` times against each other.

1. ``dataloader``: what most PyTorch users write today (and run under Optuna or Ray Tune): a
   torchvision dataset with ToTensor() and Normalize, a DataLoader, and the train/test loop of the
   official PyTorch MNIST example (loss.item() every 10 batches for the log, test set each epoch).
2. ``hpsearch``: ``run_search`` with one trial, as a user's search runs it: sampling, the run
   folder written (params, metrics every epoch, result, trials.csv), train and validation
   accuracy measured every epoch.
3. ``floor``: the same forward, backward and optimizer steps on batches sliced before the clock
   starts; no shuffling, no evaluation, no logging. Nothing can train this model faster per step.

Each returns a ``Timing``: wall seconds and CPU seconds for all epochs, and the final accuracy on
the same held-out examples.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hpsearch.data import Dataset
from hpsearch.data.load import LOADERS
from hpsearch.runs.records import EpochMetrics
from hpsearch.search.run import SearchObserver, run_search
from hpsearch.space.config import DataConfig, SearchConfig
from hpsearch.space.hyperparams import resolve
from hpsearch.training.model import build_mlp
from hpsearch.training.optimizers import make_optimizer

BENCH_DATASET = "trial-speed-bench"  # registered for the benchmark's own run_search calls


@dataclass
class Setting:
    """One row of the table: the model and optimizer every way trains."""

    batch_size: int
    batchnorm: bool
    epochs: int
    device: torch.device
    seed: int = 0

    def hyperparameters(self) -> dict[str, Any]:
        return {"optimizer": "adam", "lr": 1e-3, "batch_size": self.batch_size, "hidden_units": 256,
                "layers": 2, "batchnorm": self.batchnorm}

    def model(self) -> nn.Sequential:
        torch.manual_seed(self.seed)
        return build_mlp(784, 10, 256, 2, self.batchnorm).to(self.device)


@dataclass
class Timing:
    wall: float
    cpu: float
    accuracy: float
    extra: dict[str, float] = field(default_factory=dict)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.inference_mode():
        return (model(x).argmax(dim=1) == y).float().mean().item()


def way_dataloader(s: Setting, train_set: torch.utils.data.Dataset, test_set: torch.utils.data.Dataset) -> Timing:
    """The official example's loop (pytorch/examples mnist/main.py), with this MLP and Adam."""
    torch.manual_seed(s.seed)
    model = nn.Sequential(nn.Flatten(), s.model())
    return example_loop(model, train_set, test_set, s.batch_size, s.epochs, s.device)


def example_loop(model: nn.Module, train_set: torch.utils.data.Dataset, test_set: torch.utils.data.Dataset,
                 batch_size: int, epochs: int, device: torch.device) -> Timing:
    """``epochs`` of the official PyTorch MNIST example's train/test loop (Adam, lr 1e-3): a
    ``DataLoader``, ``loss.item()`` every 10 batches for the log, the test set every epoch."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    cuda = {"num_workers": 1, "pin_memory": True} if device.type == "cuda" else {}
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=batch_size, shuffle=True, **cuda)
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=1000, **cuda)
    log: list[str] = []
    wall, cpu = time.perf_counter(), time.process_time()
    for epoch in range(1, epochs + 1):
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(data), target)
            loss.backward()
            optimizer.step()
            if batch_idx % 10 == 0:
                log.append(f"Train Epoch: {epoch} [{batch_idx * len(data)}]\tLoss: {loss.item():.6f}")
        accuracy = _example_test(model, device, test_loader)
    _sync(device)
    return Timing(time.perf_counter() - wall, time.process_time() - cpu, accuracy)


def _example_test(model: nn.Module, device: torch.device, test_loader: torch.utils.data.DataLoader) -> float:
    model.eval()
    test_loss, correct = 0.0, 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.cross_entropy(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    return correct / len(test_loader.dataset)


class _Clock(SearchObserver):
    """Notes when the search is ready to train (data on the device) and what each epoch reported."""

    def __init__(self) -> None:
        self.ready = 0.0
        self.epochs: list[EpochMetrics] = []

    def search_started(self, config: SearchConfig, run_dir: Path, device: torch.device) -> None:
        self.ready = time.perf_counter()

    def epoch_finished(self, trial: Any, metrics: EpochMetrics) -> None:
        self.epochs.append(metrics)


def register_dataset(dataset: Dataset) -> None:
    """Make ``dataset`` loadable by run_search under BENCH_DATASET (the loader registry is global)."""
    LOADERS[BENCH_DATASET] = lambda config: dataset


def way_hpsearch(s: Setting, runs_root: Path) -> Timing:
    """One trial through ``run_search``. Wall time counts from the data being on the device (the
    once-per-search start, reported apart) to the run folder being closed."""
    config = SearchConfig(name="bench", seed=s.seed, trials=1, epochs=s.epochs, device=str(s.device),
                          data=DataConfig(dataset=BENCH_DATASET), fixed=s.hyperparameters(),
                          threads=torch.get_num_threads())  # the same threads as the other ways
    clock = _Clock()
    begin, cpu = time.perf_counter(), time.process_time()
    result = run_search(config, Path(tempfile.mkdtemp(dir=runs_root)) / "run", clock)
    end, cpu = time.perf_counter(), time.process_time() - cpu
    trial_result = result.trials[0][1]
    if trial_result.status != "completed":
        raise RuntimeError(f"hpsearch trial {trial_result.status}: {trial_result.error}")
    trained = sum(m.seconds for m in clock.epochs)
    extra = {"start": clock.ready - begin, "eval": sum(m.eval_seconds for m in clock.epochs),
             "outside_epochs": (end - clock.ready) - trained}
    return Timing(end - clock.ready, cpu, clock.epochs[-1].val_acc, extra)


def way_floor(s: Setting, x: torch.Tensor, y: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor) -> Timing:
    """The same steps with the same (fused) optimizer on batches sliced beforehand."""
    model = s.model()
    optimizer = make_optimizer(list(model.parameters()), resolve(s.hyperparameters()))
    batches = [(x[i : i + s.batch_size], y[i : i + s.batch_size]) for i in range(0, len(y), s.batch_size)]
    if s.batchnorm and len(batches[-1][1]) < 2:
        batches.pop()
    with _SameMatmulPrecision(s.device):
        _sync(s.device)
        wall, cpu = time.perf_counter(), time.process_time()
        model.train()
        for _ in range(s.epochs):
            for xb, yb in batches:
                loss = F.cross_entropy(model(xb), yb)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        _sync(s.device)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Timing(wall, cpu, _accuracy(model, x_test, y_test))


class _SameMatmulPrecision:
    """TF32 on CUDA, as hpsearch's trainer uses during a trial, so the floor runs the same kernels."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.previous = device, torch.get_float32_matmul_precision()

    def __enter__(self) -> None:
        if self.device.type == "cuda":
            torch.set_float32_matmul_precision("high")

    def __exit__(self, *exc: object) -> None:
        torch.set_float32_matmul_precision(self.previous)
