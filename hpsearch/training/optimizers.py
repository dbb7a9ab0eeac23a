"""The trials' optimizers: torch.optim's SGD, Adam and AdamW, without importing torch._dynamo.

A ``torch.optim`` optimizer imports ``torch._dynamo`` the first time it is built (its
``add_param_group``, ``zero_grad``, ``state_dict`` and ``load_state_dict`` are wrapped by
``torch._disable_dynamo``, which imports it on first call) and its ``step`` runs ``import
torch._dynamo`` on every call: 1.2-1.8 s on this project's 2-core machine, in every process that
trains, paid by nothing else a search does (it was about a third of the quickstart). Those
wrappers only matter while ``torch.compile`` traces the optimizer, which a trial never does. The
classes here are
``torch.optim``'s own (``isinstance`` holds, same state-dict layout, same update code: each
method calls the one it overrides, unwrapped, and ``step`` runs under ``no_grad`` as the wrapper
would), so every checkpoint and every float is what the stock class gives
(``tests/training/test_optimizers.py``). Only torch's own wrappers are bypassed, recognised by
their code; where this torch wraps these methods otherwise, the stock classes are used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import nn

AnOptimizer = TypeVar("AnOptimizer", bound=torch.optim.Optimizer)

_WRAPPED = ("add_param_group", "zero_grad", "state_dict", "load_state_dict")


def _torch_wrappers() -> set[Any]:
    """The code of the wrappers to bypass (torch's, recognised by their code objects): the lazy
    dynamo-disable, the step's grad-mode wrapper, and the hook wrapper torch adds to ``step``."""
    from torch.optim.optimizer import Optimizer, _use_grad_for_differentiable

    return {torch._disable_dynamo(lambda: None).__code__, _use_grad_for_differentiable(lambda self: None).__code__,
            Optimizer.profile_hook_step(lambda self: None).__code__}


def _unwrapped(cls: type[torch.optim.Optimizer], name: str, wrappers: set[Any]) -> Callable[..., Any] | None:
    """``cls.name`` without torch's wrappers; None if it has none, or a wrapper we do not know
    (whose work we would skip)."""
    method = getattr(cls, name)
    inner = method
    while getattr(inner, "__code__", None) in wrappers and hasattr(inner, "__wrapped__"):
        inner = inner.__wrapped__
    return None if inner is method or hasattr(inner, "__wrapped__") else inner


def _without_dynamo(stock: type[AnOptimizer]) -> type[AnOptimizer]:
    """A subclass of ``stock`` whose wrapped methods call the stock code directly."""
    wrappers = _torch_wrappers()
    inner = {name: _unwrapped(stock, name, wrappers) for name in (*_WRAPPED, "step")}
    if any(method is None for method in inner.values()):
        return stock  # a torch whose methods are wrapped otherwise: keep its classes as they are
    raw_step = inner.pop("step")

    def step(self: torch.optim.Optimizer, closure: Callable[[], float] | None = None) -> float | None:
        with torch.no_grad():  # the stock wrapper's grad mode (defaults["differentiable"], never set here), minus its graph break
            return raw_step(self, closure)

    doc = f"``torch.optim.{stock.__name__}``, minus the wrappers that import ``torch._dynamo`` (see the module)."
    return type(stock.__name__, (stock,), {**inner, "step": step, "__module__": __name__, "__doc__": doc})


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
