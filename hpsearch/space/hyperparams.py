"""The hyperparameters the trainer knows: their defaults, what values they accept, and when they apply.

This is the one registry of names: the config validates against it, the sampler drops inactive
conditional parameters with it, and the trainer reads resolved values from it. The listing order is
the canonical importance order (learning rate first), used when a parameter is not in ``space``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hpsearch.space.distributions import is_int, is_number
from hpsearch.space.names import did_you_mean

ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu")
OPTIMIZERS = ("sgd", "adam", "adamw")


def _positive_int(v: Any) -> str | None:
    ok = is_int(v) and v >= 1
    return None if ok else f"must be an integer >= 1, got {v!r}"


def _positive_float(v: Any) -> str | None:
    ok = is_number(v) and v > 0
    return None if ok else f"must be a number > 0, got {v!r}"


def _non_negative_float(v: Any) -> str | None:
    ok = is_number(v) and v >= 0
    return None if ok else f"must be a number >= 0, got {v!r}"


def _unit_interval(v: Any) -> str | None:
    ok = is_number(v) and 0 <= v < 1
    return None if ok else f"must be a number in [0, 1), got {v!r}"


def _boolean(v: Any) -> str | None:
    return None if isinstance(v, bool) else f"must be true or false, got {v!r}"


def _one_of(allowed: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if v in allowed else f"must be one of {', '.join(allowed)}; got {v!r}{did_you_mean(v, allowed)}"

    return check


@dataclass(frozen=True)
class Hyperparameter:
    """A trainer setting: its default, a validator returning an error text or None, and the
    optimizers it applies to (None: all of them)."""

    name: str
    default: Any
    check: Callable[[Any], str | None]
    doc: str
    optimizers: tuple[str, ...] | None = None

    def active_for(self, optimizer: str) -> bool:
        return self.optimizers is None or optimizer in self.optimizers


HYPERPARAMETERS: dict[str, Hyperparameter] = {
    h.name: h
    for h in (
        Hyperparameter("lr", 1e-3, _positive_float, "initial learning rate"),
        Hyperparameter("batch_size", 64, _positive_int, "examples per optimizer step"),
        Hyperparameter("hidden_units", 128, _positive_int, "width of every hidden layer"),
        Hyperparameter("momentum", 0.9, _unit_interval, "SGD momentum", ("sgd",)),
        Hyperparameter("layers", 2, _positive_int, "number of hidden layers"),
        Hyperparameter("lr_decay", 0.0, _non_negative_float, "lr_t = lr / (1 + lr_decay * epoch)"),
        Hyperparameter("beta1", 0.9, _unit_interval, "Adam's first-moment decay", ("adam", "adamw")),
        Hyperparameter("beta2", 0.999, _unit_interval, "Adam's second-moment decay", ("adam", "adamw")),
        Hyperparameter("eps", 1e-8, _positive_float, "Adam's denominator epsilon", ("adam", "adamw")),
        Hyperparameter("batchnorm", False, _boolean, "BatchNorm1d after each hidden Linear"),
        Hyperparameter("activation", "relu", _one_of(ACTIVATIONS), "hidden activation"),
        Hyperparameter("dropout", 0.0, _unit_interval, "dropout after each hidden activation"),
        Hyperparameter("optimizer", "adam", _one_of(OPTIMIZERS), "sgd, adam or adamw"),
        Hyperparameter("weight_decay", 0.0, _non_negative_float, "L2 penalty (decoupled for adamw)"),
    )
}


# Names users often write for ours, so an unknown key can suggest the right one.
ALIASES = {
    "learning_rate": "lr", "batch": "batch_size", "units": "hidden_units", "hidden": "hidden_units",
    "width": "hidden_units", "num_layers": "layers", "n_layers": "layers", "depth": "layers",
    "batch_norm": "batchnorm", "bn": "batchnorm", "wd": "weight_decay", "l2": "weight_decay",
    "decay": "lr_decay", "optim": "optimizer",
}


# The built-in MLP's settings; a custom model (``model:``) takes its own parameters instead.
MLP_ONLY = ("hidden_units", "layers", "batchnorm", "activation", "dropout")
# What the trainer itself uses (the optimizer, its schedule, the batch size), whatever the model.
TRAINING = tuple(name for name in HYPERPARAMETERS if name not in MLP_ONLY)


def resolve(params: Mapping[str, Any], mlp: bool = True) -> dict[str, Any]:
    """Full hyperparameter set for one trial: defaults overlaid with ``params``, inactive
    optimizer-specific ones removed. ``resolve({"optimizer": "sgd"})["momentum"] == 0.9``.

    For a custom model (``mlp=False``) the MLP's settings get no defaults, and names that are not
    training hyperparameters (the model function's parameters) pass through as given.
    """
    values = {name: HYPERPARAMETERS[name].default for name in (HYPERPARAMETERS if mlp else TRAINING)}
    values.update(params)
    return {k: v for k, v in values.items()
            if k not in TRAINING or HYPERPARAMETERS[k].active_for(values["optimizer"])}


def model_params(hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments a custom model function gets: every resolved value that is not a
    training hyperparameter."""
    return {k: v for k, v in hyperparameters.items() if k not in TRAINING}
