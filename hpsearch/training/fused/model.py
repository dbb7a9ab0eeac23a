"""N MLPs as one: weights stacked ``[N, out, in]``, one ``baddbmm`` per layer for all trials.

Each trial keeps its own true width inside the group's padded width ``H``: its weights are
written into the top-left corner of each stacked matrix and the padding stays exactly zero (its
gradient is zero: padded inputs are zero, padded outputs feed zero weights), so a trial computes
what it computes alone. Every trial's tensors are read and written in the unfused layout
(``nn.Sequential`` state-dict keys) through ``state_dict(k)`` / ``load_state_dict(k, ...)``, so a
trial can leave its group at any epoch and go on alone, or the other way round.

Matrices are stored ``[N, out, in]`` (``nn.Linear``'s layout) and multiplied as ``W.mT``, so each
trial's slice goes through the same CPU GEMM call as its ``nn.Linear`` (bit for bit, measured);
batch norm runs once over ``[batch, N * H]`` channels, which is each trial's own statistics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hpsearch.training.model import ACTIVATION_LAYERS

BN_MOMENTUM, BN_EPS = 0.1, 1e-5  # nn.BatchNorm1d's defaults, which the unfused model uses


@dataclass
class Slot:
    """One stacked tensor and, per trial, the unfused shape of its corner (``true(k)``)."""

    tensor: torch.Tensor
    true: Callable[[int], tuple[int, ...]]

    def region(self, k: int) -> torch.Tensor:
        """Trial ``k``'s corner, in its unfused shape (a view: writes go into the stack)."""
        shape = self.true(k)
        corner = self.tensor[k]
        if corner.dim() == 0:
            return corner
        index = tuple(slice(0, s) for s in shape) if corner.dim() == len(shape) else (slice(0, 1), *(slice(0, s) for s in shape))
        return corner[index].reshape(shape)


class FusedMLP:
    """``len(widths)`` MLPs of ``layers`` hidden layers (trial k: ``widths[k]`` units, padded to
    ``padded``), batch norm and activation shared, dropout probability per trial."""

    def __init__(self, widths: list[int], padded: int, layers: int, input_dim: int, num_classes: int,
                 batchnorm: bool, activation: str, dropouts: list[float], device: torch.device, dtype: torch.dtype) -> None:
        self.widths, self.padded, self.layers, self.batchnorm = list(widths), padded, layers, batchnorm
        self.dropouts = list(dropouts)
        self.activation = ACTIVATION_LAYERS[activation]()
        n, H, kw = len(widths), padded, {"device": device, "dtype": dtype}
        self.params: list[Slot] = []  # in nn.Sequential.parameters() order
        self.buffers: list[Slot] = []  # batch norm running statistics, in state-dict order
        self.keys: list[list[str]] = []  # per trial: the unfused state-dict key of each params + buffers slot
        width_in = input_dim
        for layer in range(layers):
            fan_in = (lambda k: input_dim) if layer == 0 else (lambda k: self.widths[k])
            self.params.append(Slot(torch.zeros(n, H, width_in, **kw), lambda k, f=fan_in: (self.widths[k], f(k))))
            if not batchnorm:
                self.params.append(Slot(torch.zeros(n, 1, H, **kw), lambda k: (self.widths[k],)))
            else:
                self.params += [Slot(torch.zeros(n, H, **kw), lambda k: (self.widths[k],)) for _ in range(2)]
                self.buffers += [Slot(torch.zeros(n, H, **kw), lambda k: (self.widths[k],)),
                                 Slot(torch.ones(n, H, **kw), lambda k: (self.widths[k],)),
                                 Slot(torch.zeros(n, dtype=torch.long, device=device), lambda k: ())]
            width_in = H
        last_in = (lambda k: self.widths[k]) if layers else (lambda k: input_dim)
        self.params.append(Slot(torch.zeros(n, num_classes, width_in, **kw), lambda k: (num_classes, last_in(k))))
        self.params.append(Slot(torch.zeros(n, 1, num_classes, **kw), lambda k: (num_classes,)))
        for slot in self.params:
            slot.tensor.requires_grad_(True)
        # an activation that is not 0 at 0 (sigmoid) would make padded units nonzero: mask them
        zero = self.activation(torch.zeros(1, **kw)).item()
        self.mask = None if zero == 0 or layers == 0 else self._mask(device, dtype)

    def _mask(self, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        mask = torch.zeros(len(self.widths), 1, self.padded, device=device, dtype=dtype)
        for k, width in enumerate(self.widths):
            mask[k, :, :width] = 1
        return mask

    @property
    def size(self) -> int:
        return len(self.widths)

    def parameters(self) -> list[torch.Tensor]:
        return [slot.tensor for slot in self.params]

    def _slots(self) -> Iterator[Slot]:
        """Parameters and buffers in the unfused state-dict order (a BN layer's weight, bias, then buffers)."""
        params, buffers = iter(self.params), iter(self.buffers)
        for _ in range(self.layers):
            yield next(params)
            if self.batchnorm:
                yield from (next(params), next(params), next(buffers), next(buffers), next(buffers))
            else:
                yield next(params)
        yield from params

    def load_state_dict(self, k: int, state: dict[str, torch.Tensor]) -> None:
        """Write trial ``k``'s unfused state dict into its corners (its keys recorded for ``state_dict``)."""
        keys = list(state)
        slots = list(self._slots())
        if len(keys) != len(slots):
            raise ValueError(f"state dict has {len(keys)} entries, the fused model {len(slots)} per trial")
        with torch.no_grad():
            for key, slot in zip(keys, slots, strict=True):
                slot.region(k).copy_(state[key])
        while len(self.keys) <= k:
            self.keys.append([])
        self.keys[k] = keys

    def state_dict(self, k: int) -> dict[str, torch.Tensor]:
        """A copy of trial ``k``'s tensors in the unfused layout, on the group's device."""
        return {key: slot.region(k).detach().clone() for key, slot in zip(self.keys[k], self._slots(), strict=True)}

    def keep(self, rows: list[int]) -> None:
        """Keep only trials ``rows`` (in that order): the others left the group."""
        index = torch.tensor(rows, device=self.params[0].tensor.device)
        for slot in self.params:
            slot.tensor = slot.tensor.detach().index_select(0, index).requires_grad_(True)
        for slot in self.buffers:
            slot.tensor = slot.tensor.index_select(0, index)
        self.widths = [self.widths[r] for r in rows]
        self.dropouts = [self.dropouts[r] for r in rows]
        self.keys = [self.keys[r] for r in rows]
        if self.mask is not None:
            self.mask = self.mask.index_select(0, index)

    def forward(self, x: torch.Tensor, train: bool, noise: Callable[[int, torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """Logits ``[N, batch, classes]`` for inputs ``[N, batch, in]`` (an expanded view works).
        In training, ``noise(layer, activations)`` returns the dropout multipliers (None: no dropout)."""
        params, buffers = iter(self.params), iter(self.buffers)
        for layer in range(self.layers):
            weight = next(params).tensor
            if self.batchnorm:
                z = torch.bmm(x, weight.mT)
                gamma, beta = next(params).tensor, next(params).tensor
                mean, var, count = (next(buffers).tensor for _ in range(3))
                n, batch, width = z.shape
                flat = z.transpose(0, 1).reshape(batch, n * width)  # channels = (trial, unit)
                flat = F.batch_norm(flat, mean.view(-1), var.view(-1), gamma.view(-1), beta.view(-1), train, BN_MOMENTUM, BN_EPS)
                if train:
                    count.add_(1)
                z = flat.view(batch, n, width).transpose(0, 1)
            else:
                z = _Linear.apply(x, weight, next(params).tensor, self.widths)
            x = self.activation(z)
            if self.mask is not None:
                x = x * self.mask
            if train and noise is not None:
                x = x * noise(layer, x)
            del z
        weight, bias = next(params).tensor, next(params).tensor
        return _Linear.apply(x, weight, bias, [bias.shape[-1]] * len(self.widths))


class _Linear(torch.autograd.Function):
    """``baddbmm(bias, x, W.mT)`` whose bias gradient is summed per trial over its true width, as
    ``nn.Linear`` sums it: a reduction over the padded width rounds differently (measured), and in
    float32 that last bit would make a fused trial drift from the trial alone. Where no trial is
    padded (the output layer) one batched sum over the batch dimension gives each trial's own sums
    bit for bit (measured for batches 1-2048 and widths 2-40). The other gradients
    are autograd's own for ``baddbmm`` (bit for bit ``nn.Linear``'s, per trial)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, widths: list[int]) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.widths = widths
        return torch.baddbmm(bias, x, weight.mT)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        grad_x = grad.bmm(weight) if ctx.needs_input_grad[0] else None
        grad_weight = grad.mT.bmm(x)  # [N, out, in] like the weight: no layout copy when accumulated
        if all(width == grad.shape[2] for width in ctx.widths):  # no padding (the output layer): one call, same sums
            return grad_x, grad_weight, grad.sum(1, keepdim=True), None
        grad_bias = torch.zeros(grad.shape[0], 1, grad.shape[2], dtype=grad.dtype, device=grad.device)
        for k, width in enumerate(ctx.widths):
            torch.sum(grad[k, :, :width], 0, out=grad_bias[k, 0, :width])
        return grad_x, grad_weight, grad_bias, None


def copy_template(fused: FusedMLP, k: int, model: nn.Module) -> None:
    """Trial ``k`` starts from ``model``'s weights (built, as when it trains alone, from its seed)."""
    fused.load_state_dict(k, model.state_dict())
