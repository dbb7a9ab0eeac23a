"""One optimizer step for every trial of a fused group, each with its own hyperparameters.

SGD with momentum, Adam and AdamW, written with tensor ops over the stacked parameters: per-trial
values (lr, momentum, betas, eps, weight decay, and each trial's own step count, which differs
when a trial joins a group from a checkpoint) broadcast along the trial dimension. The update
rules are torch's (``torch.optim``'s fused kernels, the ones the unfused trainer uses), in the
same order of operations where tensor ops allow it; float64 results agree with them to 1e-12.
Per-trial state reads and writes ``torch.optim``'s own ``state_dict`` layout (``state_dict(k)``),
so a trial's checkpoint resumes fused or alone.

Float32: SGD's update is bit for bit the fused kernel's (measured, with its scalar tail). Adam and
AdamW on CPU call that kernel itself, once per trial on its (padded) slices; an element that is in
the kernel's scalar tail alone may be in its vector body padded, about one unit in the last place.
On a GPU the tensor-op version runs (one set of kernels for all trials, not one per trial).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch

from hpsearch.training.fused.model import Slot

# elements per vector in torch's fused CPU SGD kernel: 8 (measured, float32, on an AVX512 machine: its
# dispatch stops at AVX2); the last numel % 8 elements of each tensor go through its scalar tail
SGD_VECTOR_WIDTH = 8
STATE_NAMES = {"sgd": ("momentum_buffer",), "adam": ("exp_avg", "exp_avg_sq"), "adamw": ("exp_avg", "exp_avg_sq")}


class FusedOptimizer:
    """``kind`` (sgd, adam, adamw) over ``params`` (slots of a FusedMLP) for trials with
    hyperparameters ``hyper[k]`` (``Trial.hyperparameters``); ``groups[k]`` is trial k's unfused
    optimizer's ``param_groups`` (its checkpoint's template)."""

    def __init__(self, kind: str, params: list[Slot], hyper: list[dict[str, Any]], groups: list[list[dict[str, Any]]]) -> None:
        self.kind, self.params, self.hyper, self.groups = kind, params, list(hyper), list(groups)
        self.steps = [0] * len(hyper)  # per trial: optimizer steps taken
        self.lrs = [h["lr"] for h in hyper]  # per trial: this epoch's learning rate
        self.state = {name: [torch.zeros_like(s.tensor, requires_grad=False) for s in params] for name in STATE_NAMES[kind]}
        self._tails: dict[int, tuple[torch.Tensor, torch.Tensor] | None] = {}
        self._columns: dict[tuple[Any, ...], torch.Tensor] = {}

    def _column(self, values: list[float], like: torch.Tensor) -> torch.Tensor:
        """Per-trial values as a tensor broadcasting along ``like``'s trial dimension (cached: the
        same values serve every step of an epoch, and a tensor built per step costs as much as a
        small trial's update)."""
        key = (*values, like.dim(), like.dtype, like.device)
        column = self._columns.get(key)
        if column is None:
            if len(self._columns) > 256:  # old epochs' learning rates
                self._columns.clear()
            column = torch.tensor(values, dtype=like.dtype, device=like.device).view(-1, *([1] * (like.dim() - 1)))
            self._columns[key] = column
        return column

    def zero_grad(self) -> None:
        for slot in self.params:
            slot.tensor.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.steps = [s + 1 for s in self.steps]
        h = self.hyper
        decay = [x["weight_decay"] for x in h]
        if self.kind != "sgd" and self.params[0].tensor.device.type == "cpu":
            self._adam_kernel()
            return
        if self.kind != "sgd":  # per step, not per tensor: the bias corrections change every step
            correction1 = [1 - x["beta1"] ** s for x, s in zip(h, self.steps, strict=True)]
            correction2 = [math.sqrt(1 - x["beta2"] ** s) for x, s in zip(h, self.steps, strict=True)]
            step_sizes = [lr_k / c for lr_k, c in zip(self.lrs, correction1, strict=True)]
            per_step: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        for j, slot in enumerate(self.params):
            p, g = slot.tensor, slot.tensor.grad
            if g is None:
                continue
            if self.kind == "sgd":  # torch's fused SGD: two fused multiply-adds (addcmul: one rounding)
                if any(decay):
                    g = g.addcmul(p, self._column(decay, p))
                buf, momentum = self.state["momentum_buffer"][j], self._column([x["momentum"] for x in h], p)
                tail = self._tail(j)
                if tail is not None:  # the kernel's scalar tail: one fused multiply-add
                    positions, trials = tail
                    fused = torch.addcmul(g.reshape(-1)[positions], buf.reshape(-1)[positions], momentum.reshape(-1)[trials])
                buf.mul_(momentum).add_(g)  # first step: 0 * m + g = g
                if tail is not None:
                    buf.view(-1)[positions] = fused
                p.addcmul_(buf, self._column([-x for x in self.lrs], p))
                continue
            if self.kind == "adam" and any(decay):
                g = g.addcmul(p, self._column(decay, p))
            if self.kind == "adamw" and any(decay):
                p.mul_(self._column([1 - lr_k * d for lr_k, d in zip(self.lrs, decay, strict=True)], p))
            exp_avg, exp_avg_sq = self.state["exp_avg"][j], self.state["exp_avg_sq"][j]
            exp_avg.lerp_(g, self._column([1 - x["beta1"] for x in h], p))
            exp_avg_sq.mul_(self._column([x["beta2"] for x in h], p)).addcmul_(g * self._column([1 - x["beta2"] for x in h], p), g)
            if p.dim() not in per_step:
                shape = (-1, *([1] * (p.dim() - 1)))
                per_step[p.dim()] = (torch.tensor(step_sizes, dtype=p.dtype, device=p.device).view(shape),
                                     torch.tensor(correction2, dtype=p.dtype, device=p.device).view(shape))
            step_size, bias2 = per_step[p.dim()]
            denom = (exp_avg_sq.sqrt() / bias2).add_(self._column([x["eps"] for x in h], p))
            p.sub_(step_size * exp_avg / denom)

    def _adam_kernel(self) -> None:
        """Adam/AdamW on CPU: torch's fused kernel (the unfused trainer's), once per trial on its
        slices of the stacks. One pass over the memory instead of a dozen tensor ops with their
        temporaries (MNIST's first layer makes this the larger part of a step), and the kernel's
        own rounding; padded elements (zero weight, zero gradient) stay exactly zero."""
        kernel = torch._fused_adam_ if self.kind == "adam" else torch._fused_adamw_
        tensors = [(slot.tensor, slot.tensor.grad, avg, avg_sq) for slot, avg, avg_sq in
                   zip(self.params, self.state["exp_avg"], self.state["exp_avg_sq"], strict=True) if slot.tensor.grad is not None]
        for k, x in enumerate(self.hyper):
            step = torch.tensor(float(self.steps[k]))  # the kernel reads each tensor's step for its bias corrections
            kernel([t[0][k] for t in tensors], [t[1][k] for t in tensors], [t[2][k] for t in tensors],
                   [t[3][k] for t in tensors], [], [step] * len(tensors), amsgrad=False, lr=self.lrs[k],
                   beta1=x["beta1"], beta2=x["beta2"], weight_decay=x["weight_decay"], eps=x["eps"], maximize=False)

    def _tail(self, j: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Flat positions (in the stack), and their trials, of the elements torch's fused CPU SGD kernel updates in its
        scalar tail, for each trial: the last ``numel % vector width`` of its unfused tensor. There
        the momentum update is one fused multiply-add, in the vector body two roundings."""
        p = self.params[j].tensor
        if p.device.type != "cpu":
            return None
        if j not in self._tails:
            width = SGD_VECTOR_WIDTH
            positions: list[int] = []
            for k in range(p.shape[0]):
                shape = self.params[j].true(k)
                numel = math.prod(shape)
                corner = torch.arange(p[0].numel()).view(p[0].shape)
                corner = corner[0] if corner.dim() > len(shape) else corner
                corner = corner[tuple(slice(0, s) for s in shape)].reshape(-1)
                positions += (corner[numel - numel % width:] + k * p[0].numel()).tolist()
            flat = torch.tensor(positions, dtype=torch.long)
            self._tails[j] = (flat, flat // p[0].numel()) if positions else None
        return self._tails[j]

    def state_dict(self, k: int) -> dict[str, Any]:
        """Trial ``k``'s optimizer state in ``torch.optim``'s layout (tensors on the group's device)."""
        state: dict[int, dict[str, Any]] = {}
        if self.steps[k] > 0:
            for j, slot in enumerate(self.params):
                entry: dict[str, Any] = {}
                if self.kind != "sgd":
                    entry["step"] = torch.tensor(float(self.steps[k]), dtype=torch.float32)
                for name, tensors in self.state.items():
                    momentum_off = name == "momentum_buffer" and self.hyper[k]["momentum"] == 0
                    entry[name] = None if momentum_off else Slot(tensors[j], slot.true).region(k).clone()
                state[j] = entry
        groups = copy.deepcopy(self.groups[k])
        for group in groups:
            group["lr"] = self.lrs[k]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, k: int, saved: dict[str, Any]) -> None:
        """Put trial ``k``'s saved ``torch.optim`` state into the stacks."""
        for j, slot in enumerate(self.params):
            entry = saved["state"].get(j, saved["state"].get(str(j)))
            if not entry:
                continue
            for name, tensors in self.state.items():
                if entry.get(name) is not None:
                    Slot(tensors[j], slot.true).region(k).copy_(entry[name])
            if "step" in entry:
                self.steps[k] = int(entry["step"])
            elif self.kind == "sgd":
                self.steps[k] = max(self.steps[k], 1)

    def keep(self, rows: list[int]) -> None:
        """Keep only trials ``rows`` (after the model's ``keep``: ``params`` are its new slots)."""
        for tensors in self.state.values():
            for j, t in enumerate(tensors):
                tensors[j] = t.index_select(0, torch.tensor(rows, device=t.device))
        self.hyper = [self.hyper[r] for r in rows]
        self.groups = [self.groups[r] for r in rows]
        self.steps = [self.steps[r] for r in rows]
        self.lrs = [self.lrs[r] for r in rows]
        self._tails, self._columns = {}, {}
