"""A residual MLP for tables: hpsearch searches its width, depth and dropout.

``configs/tabular_resmlp.yaml`` names it as ``model: "../examples/tabular_resmlp.py:ResMLP"``: a
class works like a function, since ``ResMLP(input_shape, num_classes, **params)`` returns the module.
``input_shape`` is ``(features,)`` for a table.
"""

from __future__ import annotations

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """x + Linear(Dropout(ReLU(Linear(LayerNorm(x))))): the pre-norm block of tabular ResNets."""

    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, 2 * width), nn.ReLU(),
                                  nn.Dropout(dropout), nn.Linear(2 * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResMLP(nn.Module):
    """An input Linear to ``width``, ``blocks`` residual blocks, a LayerNorm and the class logits."""

    def __init__(self, input_shape: tuple[int, ...], num_classes: int, width: int = 64, blocks: int = 2,
                 dropout: float = 0.1) -> None:
        super().__init__()
        (features,) = input_shape
        self.net = nn.Sequential(nn.Linear(features, width), *(ResidualBlock(width, dropout) for _ in range(blocks)),
                                 nn.LayerNorm(width), nn.Linear(width, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
