"""The MLP every trial trains."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

# one layer per name in hpsearch.space.hyperparams.ACTIVATIONS, the list the config accepts (tests check they agree)
ACTIVATION_LAYERS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
}


def build_mlp(
    input_dim: int,
    num_classes: int,
    hidden_units: int = 128,
    layers: int = 2,
    batchnorm: bool = False,
    activation: str = "relu",
    dropout: float = 0.0,
) -> nn.Sequential:
    """``layers`` hidden blocks of Linear -> BatchNorm1d (when on) -> activation (-> Dropout),
    then a final Linear to ``num_classes`` logits.

    With batch norm the hidden Linear layers carry no bias: BatchNorm1d's shift replaces it.

    >>> build_mlp(784, 10, hidden_units=256, layers=2, batchnorm=True)   # doctest: +ELLIPSIS
    Sequential(
      (0): Linear(in_features=784, out_features=256, bias=False)
      (1): BatchNorm1d(256, ...)
      ...
    """
    if activation not in ACTIVATION_LAYERS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATION_LAYERS)}, got {activation!r}")
    if layers < 0 or hidden_units < 1:
        raise ValueError(f"need layers >= 0 and hidden_units >= 1, got layers={layers}, hidden_units={hidden_units}")
    blocks: list[nn.Module] = []
    width = input_dim
    for _ in range(layers):
        blocks.append(nn.Linear(width, hidden_units, bias=not batchnorm))
        if batchnorm:
            blocks.append(nn.BatchNorm1d(hidden_units))
        blocks.append(ACTIVATION_LAYERS[activation]())
        if dropout > 0:
            blocks.append(nn.Dropout(dropout))
        width = hidden_units
    blocks.append(nn.Linear(width, num_classes))
    return nn.Sequential(*blocks)


def build_from_hyperparameters(h: Mapping[str, Any], input_dim: int, num_classes: int) -> nn.Sequential:
    """The MLP a trial with resolved hyperparameters ``h`` trains (``Trial.hyperparameters``)."""
    return build_mlp(input_dim, num_classes, h["hidden_units"], h["layers"], h["batchnorm"], h["activation"], h["dropout"])


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
