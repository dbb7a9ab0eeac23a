"""A trial's training state at a rung: what a checkpoint holds, and how it is taken and put back.

With it a trial continues exactly as an unbroken run would: weights, optimizer moments, the torch
RNG (dropout) and the batch-order generator are restored, and the best epoch's weights so far are
kept so the search can still save the best model of a trial continued after a resume.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn


@dataclass
class TrainState:
    """A trial frozen after ``epoch`` epochs (a rung checkpoint): with it, training continues exactly
    as an unbroken run would (weights, optimizer moments, dropout RNG and batch-order generator)."""

    epoch: int
    model: dict[str, Any]
    optimizer: dict[str, Any]
    torch_rng: torch.Tensor  # the CPU generator (dropout on CPU)
    cuda_rng: torch.Tensor | None  # the trial device's CUDA generator (dropout on CUDA)
    generator: torch.Tensor  # the batch-order generator
    epochs: list[dict[str, Any]]  # EpochMetrics dicts so far
    seconds: float  # training time so far
    best_model: dict[str, Any] | None = None  # the weights of the best epoch so far (for best_model.pt)
    device_type: str = "cpu"  # RNG states differ between cpu and cuda: resumed only on the same kind

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BestSoFar:
    """The best validation accuracy so far and that epoch's weights (kept on the device, copied to
    the CPU once per segment): the search saves the best trial's best epoch as best_model.pt."""

    value: float = -1.0
    weights: dict[str, torch.Tensor] | None = None

    def update(self, val_acc: float, model: nn.Module) -> None:
        if val_acc > self.value:
            self.value = val_acc
            self.weights = state_copy(model)

    def restore(self, state: TrainState) -> None:
        self.value = max((e["val_acc"] for e in state.epochs), default=-1.0)
        self.weights = state.best_model

    def cpu_weights(self) -> dict[str, torch.Tensor] | None:
        return None if self.weights is None else _cpu_copy(self.weights)


def state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the model's weights on its device (no host sync): the one way weights are kept."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def snapshot(epochs: list[Any], model: nn.Module, optimizer: torch.optim.Optimizer, generator: torch.Generator,
             device: torch.device, seconds: float, best_model: dict[str, torch.Tensor] | None) -> TrainState:
    """The trial's state after ``epochs`` (EpochMetrics), every tensor copied to the CPU."""
    cuda_rng = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return TrainState(len(epochs), _cpu_copy(model.state_dict()), _cpu_copy(optimizer.state_dict()),
                      torch.get_rng_state(), cuda_rng, generator.get_state(), [m.to_dict() for m in epochs],
                      seconds, best_model, device.type)


def _cpu_copy(value: Any) -> Any:
    """A copy with every tensor on the CPU: a checkpoint can be pickled, piped and saved anywhere."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: _cpu_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_cpu_copy(v) for v in value)
    return value


def restore(state: TrainState, model: nn.Module, optimizer: torch.optim.Optimizer, generator: torch.Generator,
            device: torch.device) -> None:
    """Put ``state`` back into a freshly built model, optimizer and generator, and the torch RNGs."""
    model.load_state_dict(state.model)
    optimizer.load_state_dict(state.optimizer)
    torch.set_rng_state(state.torch_rng)
    if device.type == "cuda" and state.cuda_rng is not None:
        torch.cuda.set_rng_state(state.cuda_rng, device)
    generator.set_state(state.generator)
