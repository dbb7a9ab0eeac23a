"""Training one trial: data resident on the device, shuffled batches drawn by index.

No DataLoader: for tensors that fit in memory, indexing a resident tensor is far cheaper than
collating per-item samples, and it is the same on CPU and CUDA. The loop reads nothing back from
the device per step; the epoch's loss is summed on the device and read once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .data import Dataset
from .model import build_mlp, count_parameters
from .sampler import Trial

TRAIN_EVAL_SAMPLE = 10_000  # train accuracy is measured on at most this many training examples
EVAL_BATCH = 8192

OPTIMIZERS: dict[str, Callable[[Any, dict[str, Any]], torch.optim.Optimizer]] = {
    "sgd": lambda p, h: torch.optim.SGD(p, lr=h["lr"], momentum=h["momentum"], weight_decay=h["weight_decay"]),
    "adam": lambda p, h: torch.optim.Adam(p, lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"], weight_decay=h["weight_decay"]),
    "adamw": lambda p, h: torch.optim.AdamW(p, lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"], weight_decay=h["weight_decay"]),
}


@dataclass
class EpochMetrics:
    """One line of metrics.jsonl. Accuracies in [0, 1]; losses are means over examples."""

    epoch: int
    lr: float
    train_loss: float | None
    train_acc: float
    val_loss: float | None
    val_acc: float
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrialResult:
    """What result.json holds. ``gap`` = train_acc - val_acc at the best epoch (the variance)."""

    status: str  # completed | diverged | failed | interrupted
    best_epoch: int | None = None
    train_acc: float | None = None
    val_acc: float | None = None
    gap: float | None = None
    seconds: float = 0.0
    num_parameters: int | None = None
    error: str | None = None
    epochs: list[EpochMetrics] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("epochs")
        out["epochs_trained"] = len(self.epochs)
        return {k: v for k, v in out.items() if v is not None or k in ("val_acc", "best_epoch")}


@dataclass
class DeviceData:
    """The dataset's tensors on the trial device, moved once per search, plus the fixed sample of
    the training split on which train accuracy is measured (so trials are compared on the same one)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    train_eval_idx: torch.Tensor
    input_dim: int
    num_classes: int

    @classmethod
    def from_dataset(cls, data: Dataset, device: torch.device) -> DeviceData:
        n = len(data.y_train)
        sample = torch.randperm(n, generator=torch.Generator().manual_seed(0))[:TRAIN_EVAL_SAMPLE]
        return cls(
            data.x_train.to(device), data.y_train.to(device), data.x_val.to(device), data.y_val.to(device),
            sample.sort().values.to(device), data.input_dim, data.num_classes,
        )


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available. Asking for an absent CUDA device raises ValueError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r} requested but CUDA is not available here; use device: auto or cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device {name!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    return device


def _evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(mean loss, accuracy) in eval mode; the loss is summed and divided by N."""
    model.eval()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    with torch.inference_mode():
        for start in range(0, len(y), EVAL_BATCH):
            logits = model(x[start : start + EVAL_BATCH])
            target = y[start : start + EVAL_BATCH]
            loss_sum += F.cross_entropy(logits, target, reduction="sum")
            correct += (logits.argmax(dim=1) == target).sum()
    return loss_sum.item() / len(y), correct.item() / len(y)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def train_trial(
    trial: Trial,
    data: DeviceData,
    epochs: int,
    on_epoch: Callable[[EpochMetrics], None] | None = None,
    on_best: Callable[[nn.Module], None] | None = None,
) -> TrialResult:
    """Train ``trial`` for ``epochs`` on ``data``; returns a completed or diverged result.

    Seeded by ``trial.seed`` (weights, batch order, dropout) without touching the caller's RNG.
    Exceptions propagate; the search records them as failed trials. ``on_best(model)`` is called
    after each epoch that beats every earlier one on validation accuracy (the best epoch's weights
    are the ones the result reports, so they are the ones worth keeping).
    """
    device = data.x_train.device
    h = trial.hyperparameters
    start = time.perf_counter()
    fork_devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices, device_type=device.type):
        torch.manual_seed(trial.seed)
        model = build_mlp(data.input_dim, data.num_classes, h["hidden_units"], h["layers"], h["batchnorm"], h["activation"], h["dropout"]).to(device)
        optimizer = OPTIMIZERS[h["optimizer"]](model.parameters(), h)
        generator = torch.Generator(device=device).manual_seed(trial.seed)
        result = TrialResult(status="completed", num_parameters=count_parameters(model))
        best_val = -1.0
        for epoch in range(epochs):
            epoch_start = time.perf_counter()
            lr = h["lr"] / (1 + h["lr_decay"] * epoch)
            for group in optimizer.param_groups:
                group["lr"] = lr
            running_loss = _train_epoch(model, optimizer, data, h["batch_size"], h["batchnorm"], generator)
            x_tr, y_tr = data.x_train[data.train_eval_idx], data.y_train[data.train_eval_idx]
            train_loss, train_acc = _evaluate(model, x_tr, y_tr)
            val_loss, val_acc = _evaluate(model, data.x_val, data.y_val)
            metrics = EpochMetrics(epoch + 1, lr, _finite(train_loss), train_acc, _finite(val_loss), val_acc, time.perf_counter() - epoch_start)
            result.epochs.append(metrics)
            if on_epoch is not None:
                on_epoch(metrics)
            if on_best is not None and val_acc > best_val:
                best_val = val_acc
                on_best(model)
            if not (math.isfinite(running_loss) and math.isfinite(train_loss)):
                result.status = "diverged"
                result.error = f"training loss became {running_loss} in epoch {epoch + 1}"
                break
    _fill_best(result)
    result.seconds = time.perf_counter() - start
    return result


def _train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, data: DeviceData, batch_size: int, batchnorm: bool, generator: torch.Generator) -> float:
    """One pass over the shuffled training split; returns the mean training loss (one host sync)."""
    model.train()
    n = len(data.y_train)
    order = torch.randperm(n, device=data.x_train.device, generator=generator)
    loss_sum = torch.zeros((), device=data.x_train.device)
    for begin in range(0, n, batch_size):
        idx = order[begin : begin + batch_size]
        if batchnorm and len(idx) < 2:
            break  # BatchNorm1d cannot normalize a batch of one
        loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach() * len(idx)
    return loss_sum.item() / n


def _fill_best(result: TrialResult) -> None:
    """Best epoch = highest validation accuracy (earliest on ties); its figures summarize the trial."""
    if not result.epochs:
        return
    best = max(result.epochs, key=lambda m: (m.val_acc, -m.epoch))
    result.best_epoch = best.epoch
    result.train_acc = best.train_acc
    result.val_acc = best.val_acc
    result.gap = best.train_acc - best.val_acc
