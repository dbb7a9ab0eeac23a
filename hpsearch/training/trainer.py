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
import itertools
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hpsearch.data import Dataset
from hpsearch.runs.records import EpochMetrics, TrialResult, TrialStatus
from hpsearch.space.sampler import Trial
from hpsearch.training.model import count_parameters
from hpsearch.training.optimizers import make_optimizer
from hpsearch.training.segments import EpochEnded, Event, Segment, SegmentEnded
from hpsearch.training.trainstate import BestSoFar, restore, snapshot
from hpsearch.training.usermodel import build_model, check_output

# Train accuracy is measured on a fixed sample of the training split as large as the validation set,
# within these bounds: the gap (train - val) then compares two estimates of similar precision, and
# evaluation stays a small share of an epoch (measured by benchmarks/trial_speed.py).
TRAIN_EVAL_SAMPLE = 10_000
TRAIN_EVAL_MIN = 2_000
EVAL_BATCH = 8192


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
    input_shape: tuple[int, ...]  # one example's shape: (784,) flattened for the MLP, (1, 28, 28) for a custom model
    num_classes: int
    x_train_eval: torch.Tensor = field(init=False, repr=False)
    y_train_eval: torch.Tensor = field(init=False, repr=False)
    _shuffled: tuple[torch.Tensor, torch.Tensor] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.input_shape, int):  # an input_dim, as DeviceData took before custom models: flat examples
            self.input_shape = (self.input_shape,)
        self.x_train_eval = self.x_train[self.train_eval_idx].contiguous()
        self.y_train_eval = self.y_train[self.train_eval_idx].contiguous()

    @classmethod
    def from_dataset(cls, data: Dataset, device: torch.device) -> DeviceData:
        n = len(data.y_train)
        size = min(max(len(data.y_val), TRAIN_EVAL_MIN), TRAIN_EVAL_SAMPLE)
        sample = torch.randperm(n, generator=torch.Generator().manual_seed(0))[:size]
        return cls(
            data.x_train.to(device), data.y_train.to(device), data.x_val.to(device), data.y_val.to(device),
            sample.sort().values.to(device), data.input_shape, data.num_classes,
        )

    @property
    def input_dim(self) -> int:
        return math.prod(self.input_shape)

    def shuffled(self, order: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The training split in ``order``, written into buffers kept for the next epoch and trial:
        a fresh copy of a 12,000-image split is a new 37 MB allocation, and faulting its pages in cost
        three times the gather itself (30 ms against 7 ms an epoch, one CPU thread). Valid until the
        next call: an epoch uses it and is done with it before the next one starts, so one
        ``DeviceData`` serves one training thread (as every executor uses it)."""
        if self._shuffled is None:
            self._shuffled = (torch.empty_like(self.x_train), torch.empty_like(self.y_train))
        x, y = self._shuffled
        return torch.index_select(self.x_train, 0, order, out=x), torch.index_select(self.y_train, 0, order, out=y)


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


@contextlib.contextmanager
def cpu_threads(count: int) -> Iterator[None]:
    """Train with ``count`` torch threads, then restore the caller's setting."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def run_segment(segment: Segment, data: DeviceData) -> Iterator[Event]:
    """Train ``segment`` on ``data``: an ``EpochEnded`` per epoch, then one ``SegmentEnded``.

    The one place where a trial's exception becomes data: it ends the segment as ``failed`` with
    the message, and the search goes on (KeyboardInterrupt is not caught: the loop handles it).
    """
    began = time.perf_counter()
    prior = segment.start.seconds if segment.start is not None else 0.0
    try:
        yield from _train(segment, data, began, prior)
    except Exception as exc:
        yield SegmentEnded(segment.trial.id, TrialStatus.FAILED, prior + time.perf_counter() - began,
                           error=f"{type(exc).__name__}: {exc}")


def _train(segment: Segment, data: DeviceData, began: float, prior: float) -> Iterator[Event]:
    """Seeded by ``trial.seed`` (weights, batch order, dropout) without touching the caller's RNG;
    continuing from ``segment.start`` restores every state an unbroken run would have had."""
    trial, h, device = segment.trial, segment.trial.hyperparameters, data.x_train.device
    # manual_seed seeds every CUDA device, so every one is forked: the caller's RNG stays untouched
    fork_devices = list(range(torch.cuda.device_count())) if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices, device_type=device.type), _fast_matmul(device):
        torch.manual_seed(trial.seed)
        model = build_model(trial.model, h, data.input_shape, data.num_classes).to(device=device, dtype=data.x_train.dtype)
        check_output(model, trial.model, data.x_val, data.num_classes)
        optimizer = make_optimizer(list(model.parameters()), h)
        generator = torch.Generator(device=device).manual_seed(trial.seed)
        size = count_parameters(model)
        best = BestSoFar()
        epochs: list[EpochMetrics] = []
        if segment.start is not None:
            restore(segment.start, model, optimizer, generator, device)
            epochs = [EpochMetrics(**e) for e in segment.start.epochs]
            best.restore(segment.start)
        for epoch in range(segment.first_epoch, segment.until):
            metrics, running_loss = _run_epoch(model, optimizer, data, h, generator, epoch)
            epochs.append(metrics)
            best.update(metrics.val_acc, model)
            yield EpochEnded(trial.id, metrics)
            if not (math.isfinite(running_loss) and metrics.train_loss is not None):
                yield SegmentEnded(trial.id, TrialStatus.DIVERGED, prior + time.perf_counter() - began, size,
                                   error=f"training loss became {running_loss} in epoch {epoch + 1}",
                                   best_weights=best.cpu_weights())
                return
        seconds = prior + time.perf_counter() - began
        state = snapshot(epochs, model, optimizer, generator, device, seconds, best.cpu_weights()) if segment.keep_state else None
        yield SegmentEnded(trial.id, TrialStatus.COMPLETED, seconds, size, state=state, best_weights=best.cpu_weights())


def train_trial(trial: Trial, data: DeviceData, epochs: int) -> TrialResult:
    """Train ``trial`` for ``epochs`` in one segment and sum it up (for scripts and benchmarks; a
    search records the same events as they come)."""
    result = TrialResult(TrialStatus.COMPLETED)
    for event in run_segment(Segment(trial, epochs), data):
        if isinstance(event, EpochEnded):
            result.epochs.append(event.metrics)
        else:
            result.status, result.seconds, result.error = event.status, event.seconds, event.error
            result.num_parameters = event.num_parameters
    result.fill_best()
    return result


def _run_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, data: DeviceData, h: dict[str, Any],
               generator: torch.Generator, epoch: int) -> tuple[EpochMetrics, float]:
    """Train epoch ``epoch`` (from 0) and measure it; returns its metrics and the running loss."""
    epoch_start = time.perf_counter()
    lr = h["lr"] / (1 + h["lr_decay"] * epoch)
    for group in optimizer.param_groups:
        group["lr"] = lr
    running_loss = _train_epoch(model, optimizer, data, h["batch_size"], generator)
    eval_start = time.perf_counter()
    train_loss, train_acc, val_loss, val_acc = _evaluate_both(model, data)
    done = time.perf_counter()
    metrics = EpochMetrics(epoch + 1, lr, _finite(train_loss), train_acc, _finite(val_loss), val_acc,
                           done - epoch_start, done - eval_start)
    return metrics, running_loss


def _train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, data: DeviceData, batch_size: int, generator: torch.Generator) -> float:
    """One pass over the shuffled training split; returns the mean training loss (one host sync).

    The split is permuted once into a contiguous copy (``DeviceData.shuffled``), so each batch is a
    free slice instead of two gathers per step; the batch losses stay on the device until the end of
    the epoch.
    """
    model.train()
    batchnorm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    n = len(data.y_train)
    order = torch.randperm(n, device=data.x_train.device, generator=generator)
    x_epoch, y_epoch = data.shuffled(order)
    losses: list[torch.Tensor] = []
    batches = epoch_batches(n, batch_size, batchnorm)
    for step, batch in enumerate(batches):
        begin = step * batch_size
        x, y = x_epoch[begin : begin + batch], y_epoch[begin : begin + batch]
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    if not losses:
        return 0.0
    weights = torch.tensor(batches, device=x_epoch.device, dtype=torch.float32)
    return (torch.stack(losses) * weights).sum().item() / n


def epoch_batches(n: int, batch_size: int, batchnorm: bool) -> list[int]:
    """The sizes of an epoch's batches over ``n`` examples, in order; with batch norm the epoch
    stops before a batch of one (batch norm cannot normalize it). Both trainers step by this list."""
    batches = [min(batch_size, n - begin) for begin in range(0, n, batch_size)]
    return list(itertools.takewhile(lambda size: size >= 2, batches)) if batchnorm else batches
