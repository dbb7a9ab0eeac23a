"""Training one trial: data resident on the device, one shuffled copy per epoch, batches sliced.

No DataLoader: for tensors that fit in memory, slicing a resident tensor is far cheaper than
collating per-item samples, and it is the same on CPU and CUDA. The loop reads nothing back from
the device per step (the batch losses are kept on the device and summed once per epoch), the
optimizers are the fused kernels where torch has them, and CUDA matmuls use TF32 during a trial.
``benchmarks/trial_speed.py`` measures each of these against a plain DataLoader loop and the
bare compute floor.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hpsearch.data import Dataset
from hpsearch.runs.records import EpochMetrics, TrialResult, TrialStatus
from hpsearch.space.sampler import Trial
from hpsearch.training.model import build_from_hyperparameters, count_parameters
from hpsearch.training.trainstate import BestSoFar, TrainState, restore, snapshot

# Train accuracy is measured on a fixed sample of the training split as large as the validation set,
# within these bounds: the gap (train - val) then compares two estimates of similar precision, and
# evaluation stays a small share of an epoch (measured by benchmarks/trial_speed.py).
TRAIN_EVAL_SAMPLE = 10_000
TRAIN_EVAL_MIN = 2_000
EVAL_BATCH = 8192
STOP = "stop"  # returned by an ``on_epoch`` callback: end the trial after this epoch (early stopping)

OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "sgd": lambda p, h, **kw: torch.optim.SGD(p, lr=h["lr"], momentum=h["momentum"], weight_decay=h["weight_decay"], **kw),
    "adam": lambda p, h, **kw: torch.optim.Adam(p, lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"], weight_decay=h["weight_decay"], **kw),
    "adamw": lambda p, h, **kw: torch.optim.AdamW(p, lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"], weight_decay=h["weight_decay"], **kw),
}


def make_optimizer(params: list[nn.Parameter], h: dict[str, Any]) -> torch.optim.Optimizer:
    """The trial's optimizer with fused kernels (one kernel per step for all parameters; on CPU
    about 20% faster per step than the default for-loop at batch size 64), or the multi-tensor
    foreach path where this torch build has no fused kernel for the device. Same update rule."""
    try:
        return OPTIMIZERS[h["optimizer"]](params, h, fused=True)
    except (RuntimeError, TypeError):
        return OPTIMIZERS[h["optimizer"]](params, h, foreach=True)


@dataclass
class DeviceData:
    """The dataset's tensors on the trial device, moved once per search, plus the fixed sample of
    the training split on which train accuracy is measured (so trials are compared on the same one).
    The sample's rows are gathered once here, not in every epoch of every trial."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    train_eval_idx: torch.Tensor
    input_dim: int
    num_classes: int
    x_train_eval: torch.Tensor = field(init=False, repr=False)
    y_train_eval: torch.Tensor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.x_train_eval = self.x_train[self.train_eval_idx].contiguous()
        self.y_train_eval = self.y_train[self.train_eval_idx].contiguous()

    @classmethod
    def from_dataset(cls, data: Dataset, device: torch.device) -> DeviceData:
        n = len(data.y_train)
        size = min(max(len(data.y_val), TRAIN_EVAL_MIN), TRAIN_EVAL_SAMPLE)
        sample = torch.randperm(n, generator=torch.Generator().manual_seed(0))[:size]
        return cls(
            data.x_train.to(device), data.y_train.to(device), data.x_val.to(device), data.y_val.to(device),
            sample.sort().values.to(device), data.input_dim, data.num_classes,
        )


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available. Asking for an absent CUDA or MPS device raises ValueError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r} requested but CUDA is not available here; use device: auto or cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device {name!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r} requested but Apple's MPS is not available here; use device: auto or cpu")
    return device


def _evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """[summed loss, correct count] in eval mode, left on the device (the caller reads all at once)."""
    model.eval()
    totals = torch.zeros(2, device=x.device)  # float32: exact counts below 2**24, and MPS has no float64
    with torch.inference_mode():
        for start in range(0, len(y), EVAL_BATCH):
            logits = model(x[start : start + EVAL_BATCH])
            target = y[start : start + EVAL_BATCH]
            totals[0] += F.cross_entropy(logits, target, reduction="sum")
            totals[1] += (logits.argmax(dim=1) == target).sum()
    return totals


def _evaluate_both(model: nn.Module, data: DeviceData) -> tuple[float, float, float, float]:
    """(train_loss, train_acc, val_loss, val_acc): means over examples, one read from the device."""
    train = _evaluate(model, data.x_train_eval, data.y_train_eval)
    val = _evaluate(model, data.x_val, data.y_val)
    t_loss, t_correct, v_loss, v_correct = torch.cat([train, val]).tolist()
    n_train, n_val = len(data.y_train_eval), len(data.y_val)
    return t_loss / n_train, t_correct / n_train, v_loss / n_val, v_correct / n_val


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(mean loss, accuracy) of ``model`` on (x, y), at the precision trials are evaluated with (so a
    test figure compares with the validation figure that chose the model)."""
    with _fast_matmul(x.device):
        loss_sum, correct = _evaluate(model, x, y).tolist()
    return loss_sum / len(y), correct / len(y)


@contextlib.contextmanager
def _fast_matmul(device: torch.device) -> Iterator[None]:
    """TF32 matmuls on CUDA during a trial (10-bit mantissa inputs, fp32 accumulation, as cuDNN
    already uses for convolutions by default), restoring the caller's setting afterwards. CPU: no-op.
    Not yet measured on a GPU: ``benchmarks/trial_speed.py --device cuda`` reports accuracy beside time."""
    if device.type != "cuda":
        yield
        return
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(previous)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def train_trial(
    trial: Trial,
    data: DeviceData,
    epochs: int,
    on_epoch: Callable[[EpochMetrics], str | None] | None = None,
    *,
    start: TrainState | None = None,
    snapshot_at: Collection[int] = (),
    on_snapshot: Callable[[TrainState], None] | None = None,
    on_best: Callable[[nn.Module], None] | None = None,
) -> TrialResult:
    """Train ``trial`` for ``epochs`` on ``data``; returns a completed, stopped or diverged result.

    Seeded by ``trial.seed`` (weights, batch order, dropout) without touching the caller's RNG.
    ``on_epoch`` returning STOP ends the trial (status ``stopped``); after each epoch in
    ``snapshot_at`` that goes on, ``on_snapshot`` gets a TrainState, from which ``start`` continues.
    Exceptions propagate; the search records them as failed trials. ``on_best(model)`` is called
    after each epoch that beats every earlier one on validation accuracy (the best epoch's weights
    are the ones the result reports, so they are the ones worth keeping); continuing from ``start``,
    it is first called with the checkpoint's best-epoch weights.
    """
    device = data.x_train.device
    h = trial.hyperparameters
    began = time.perf_counter()
    # manual_seed seeds every CUDA device, so every one is forked: the caller's RNG stays untouched
    fork_devices = list(range(torch.cuda.device_count())) if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices, device_type=device.type), _fast_matmul(device):
        torch.manual_seed(trial.seed)
        model = build_from_hyperparameters(h, data.input_dim, data.num_classes).to(device)
        optimizer = make_optimizer(list(model.parameters()), h)
        generator = torch.Generator(device=device).manual_seed(trial.seed)
        result = TrialResult(status="completed", num_parameters=count_parameters(model))
        best = BestSoFar(on_best, keep_weights=bool(snapshot_at))
        if start is not None:
            restore(start, model, optimizer, generator, device)
            result.epochs = [EpochMetrics(**e) for e in start.epochs]
            best.restore(start, model)
        prior = start.seconds if start is not None else 0.0
        for epoch in range(start.epoch if start is not None else 0, epochs):
            metrics, running_loss = _run_epoch(model, optimizer, data, h, generator, epoch)
            result.epochs.append(metrics)
            verdict = on_epoch(metrics) if on_epoch is not None else None
            best.update(metrics.val_acc, model)
            if not (math.isfinite(running_loss) and metrics.train_loss is not None):
                result.status = TrialStatus.DIVERGED
                result.error = f"training loss became {running_loss} in epoch {epoch + 1}"
                break
            if verdict == STOP:
                result.status = TrialStatus.STOPPED
                break
            if on_snapshot is not None and epoch + 1 in snapshot_at:
                seconds = prior + time.perf_counter() - began
                on_snapshot(snapshot(result.epochs, model, optimizer, generator, device, seconds, best.weights))
    result.fill_best()
    result.seconds = prior + time.perf_counter() - began
    return result


def _run_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, data: DeviceData, h: dict[str, Any],
               generator: torch.Generator, epoch: int) -> tuple[EpochMetrics, float]:
    """Train epoch ``epoch`` (from 0) and measure it; returns its metrics and the running loss."""
    epoch_start = time.perf_counter()
    lr = h["lr"] / (1 + h["lr_decay"] * epoch)
    for group in optimizer.param_groups:
        group["lr"] = lr
    running_loss = _train_epoch(model, optimizer, data, h["batch_size"], h["batchnorm"], generator)
    eval_start = time.perf_counter()
    train_loss, train_acc, val_loss, val_acc = _evaluate_both(model, data)
    done = time.perf_counter()
    metrics = EpochMetrics(epoch + 1, lr, _finite(train_loss), train_acc, _finite(val_loss), val_acc,
                           done - epoch_start, done - eval_start)
    return metrics, running_loss


def _train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, data: DeviceData, batch_size: int, batchnorm: bool, generator: torch.Generator) -> float:
    """One pass over the shuffled training split; returns the mean training loss (one host sync).

    The split is permuted once into a contiguous copy, so each batch is a free slice instead of
    two gathers per step; the batch losses stay on the device until the end of the epoch.
    """
    model.train()
    n = len(data.y_train)
    order = torch.randperm(n, device=data.x_train.device, generator=generator)
    x_epoch, y_epoch = data.x_train[order], data.y_train[order]
    losses: list[torch.Tensor] = []
    sizes: list[int] = []
    for begin in range(0, n, batch_size):
        x, y = x_epoch[begin : begin + batch_size], y_epoch[begin : begin + batch_size]
        if batchnorm and len(y) < 2:
            break  # BatchNorm1d cannot normalize a batch of one
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
        sizes.append(len(y))
    if not losses:
        return 0.0
    weights = torch.tensor(sizes, device=x_epoch.device, dtype=torch.float32)
    return (torch.stack(losses) * weights).sum().item() / n
