"""A trial inside a fused group: its segment, its random streams, its record of epochs so far.

A member starts as its trial starts alone: ``torch.manual_seed(trial.seed)``, then the model is
built (the same initial weights, with its own true fan-in), then the batch-order generator is
seeded with ``trial.seed``. Its dropout stream is a generator holding the state the global RNG
would have had (so on CPU its dropout masks are the unfused ones). ``train_state`` freezes it in
the unfused checkpoint layout, so it can continue alone or in any other group.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch

from hpsearch.runs.records import EpochMetrics
from hpsearch.training.model import build_from_hyperparameters
from hpsearch.training.segments import Segment
from hpsearch.training.trainstate import BestSoFar, TrainState, _cpu_copy


@dataclass
class Member:
    segment: Segment
    initial: dict[str, torch.Tensor] | None  # the seeded initial weights (None: from segment.start)
    param_groups: list[dict[str, Any]]  # the unfused optimizer's param_groups (checkpoint template)
    dropout: torch.Generator  # the stream dropout masks come from (the trial device's)
    order: torch.Generator  # the batch-order generator
    cpu_rng: torch.Tensor  # the CPU RNG state when the trial trains alone on a GPU (its checkpoint's torch_rng)
    epochs: list[EpochMetrics] = field(default_factory=list)
    best: BestSoFar = field(default_factory=BestSoFar)
    seconds: float = 0.0  # training time so far: this trial's share of its groups' time
    began: float = field(default_factory=time.perf_counter)

    @property
    def trial_id(self) -> int:
        return self.segment.trial.id

    @property
    def h(self) -> dict[str, Any]:
        return self.segment.trial.hyperparameters

    @property
    def epoch(self) -> int:
        return len(self.epochs)

    def train_state(self, model: dict[str, torch.Tensor], optimizer: dict[str, Any], device: torch.device) -> TrainState:
        """The trial's checkpoint (tensors on the CPU), exactly what the unfused trainer writes."""
        on_cuda = device.type == "cuda"
        return TrainState(self.epoch, _cpu_copy(model), _cpu_copy(optimizer),
                          self.cpu_rng if on_cuda else self.dropout.get_state(),
                          self.dropout.get_state() if on_cuda else None, self.order.get_state(),
                          [m.to_dict() for m in self.epochs], self.seconds, self.best.cpu_weights(), device.type)


def new_member(segment: Segment, input_dim: int, num_classes: int, device: torch.device) -> Member:
    """The member for ``segment``: seeded as the unfused trainer seeds it, or restored from its start."""
    from hpsearch.training.optimizers import make_optimizer

    trial, start = segment.trial, segment.start
    fork_devices = list(range(torch.cuda.device_count())) if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices, device_type=device.type):
        torch.manual_seed(trial.seed)
        template = build_from_hyperparameters(trial.hyperparameters, input_dim, num_classes)
        cpu_rng = torch.get_rng_state()
    groups = make_optimizer(list(template.parameters()), trial.hyperparameters).state_dict()["param_groups"]
    dropout = torch.Generator(device=device)
    order = torch.Generator(device=device).manual_seed(trial.seed)
    if device.type == "cuda":
        dropout.manual_seed(trial.seed)  # manual_seed seeds the CUDA generator; building the model does not draw from it
    else:
        dropout.set_state(cpu_rng)
    member = Member(segment, template.state_dict() if start is None else None, groups, dropout, order, cpu_rng)
    if start is not None:
        member.epochs = [EpochMetrics(**e) for e in start.epochs]
        member.best.restore(start)
        member.seconds = start.seconds
        order.set_state(start.generator)
        member.cpu_rng = start.torch_rng
        if device.type == "cuda":
            if start.cuda_rng is not None:
                dropout.set_state(start.cuda_rng)
        else:
            dropout.set_state(start.torch_rng)
    return member
