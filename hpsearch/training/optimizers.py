"""The trials' optimizers: torch.optim's SGD, Adam and AdamW, without importing torch._dynamo.

A ``torch.optim`` optimizer imports ``torch._dynamo`` the first time it is built (its
``add_param_group``, ``zero_grad``, ``state_dict`` and ``load_state_dict`` are wrapped by
``torch._disable_dynamo``, which imports it on first call) and its ``step`` imports it on every
call: 1.2-1.8 s on this project's 2-core machine, in every process that trains, paid by nothing
else a search does (it is about a third of the quickstart). Those wrappers only matter while
``torch.compile`` traces the optimizer, which a trial never does. The classes here are
``torch.optim``'s own (``isinstance`` holds, same state-dict layout, same update code: each
method calls the one it overrides, unwrapped, and ``step`` runs under ``no_grad`` as the wrapper
would), so every checkpoint and every float is what the stock class gives
(``tests/training/test_optimizers.py``). Where this torch's methods are not wrapped that way, the
stock classes are used.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

_WRAPPED = ("add_param_group", "zero_grad", "state_dict", "load_state_dict")


def _unwrapped(cls: type[torch.optim.Optimizer], name: str) -> Callable[..., Any] | None:
    """``cls.name`` without its decorators, or None if it has none (nothing to bypass)."""
    method = getattr(cls, name)
    inner = inspect.unwrap(method)
    return None if inner is method else inner


def _without_dynamo(stock: type[torch.optim.Optimizer]) -> type[torch.optim.Optimizer]:
    """A subclass of ``stock`` whose wrapped methods call the stock code directly."""
    inner = {name: _unwrapped(stock, name) for name in (*_WRAPPED, "step")}
    if any(method is None for method in inner.values()):
        return stock  # a torch without those wrappers: nothing to avoid
    raw_step = inner.pop("step")

    def step(self: torch.optim.Optimizer, closure: None = None) -> None:
        with torch.no_grad():  # what the stock wrapper sets (differentiable=False), minus its graph break
            return raw_step(self, closure)

    return type(stock.__name__, (stock,), {**inner, "step": step, "__module__": __name__, "__doc__": stock.__doc__})


SGD, Adam, AdamW = (_without_dynamo(cls) for cls in (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW))

OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "sgd": lambda p, h, **kw: SGD(p, lr=h["lr"], momentum=h["momentum"], weight_decay=h["weight_decay"], **kw),
    "adam": lambda p, h, **kw: Adam(p, lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"], weight_decay=h["weight_decay"], **kw),
    "adamw": lambda p, h, **kw: AdamW(p, lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"], weight_decay=h["weight_decay"], **kw),
}


def make_optimizer(params: list[nn.Parameter], h: dict[str, Any]) -> torch.optim.Optimizer:
    """The trial's optimizer with fused kernels (one kernel per step for all parameters; on CPU
    about 20% faster per step than the default for-loop at batch size 64), or the multi-tensor
    foreach path where this torch build has no fused kernel for the device. Same update rule."""
    try:
        return OPTIMIZERS[h["optimizer"]](params, h, fused=True)
    except (RuntimeError, TypeError):
        return OPTIMIZERS[h["optimizer"]](params, h, foreach=True)
