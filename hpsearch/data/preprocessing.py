"""What turns a raw example into the model's input, recorded so a saved model can take raw data.

Every loader fills one ``Preprocessing``: the shape of one raw example, a scale (1/255 for pixels),
and the training split's mean and std per channel (one per feature for tables, one per colour
plane for images; none for the built-in ``synthetic`` set, which is fed as it is). best_model.pt
keeps it (``to_dict``: tensors, numbers and strings only, so ``torch.load(weights_only=True)``
reads it), and ``hpsearch.load_model`` puts it in front of the network, so new data goes in raw.

>>> import torch
>>> p = Preprocessing((2,), mean=torch.tensor([1.0, 10.0]), std=torch.tensor([2.0, 5.0]))
>>> p.apply(torch.tensor([[3.0, 20.0]])).tolist()
[[1.0, 2.0]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class Preprocessing:
    """``x * scale``, then ``(x - mean) / std`` per channel (``len(mean)`` equal parts of the
    flattened example); no standardization when ``mean`` is None. ``columns`` are the CSV feature
    columns in the order the model takes them, ``target`` the CSV label column, ``dropped`` the
    columns ``data.drop`` left out (new data may hold them too)."""

    input_shape: tuple[int, ...]
    scale: float = 1.0
    mean: torch.Tensor | None = None
    std: torch.Tensor | None = None
    columns: list[str] | None = None
    target: str | None = None
    how: str = "none: the raw features"
    dropped: list[str] = field(default_factory=list)

    @property
    def input_dim(self) -> int:
        return math.prod(self.input_shape)

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """Raw examples, flattened to [N, input_dim] float32, as the training split was fed."""
        x = x.reshape(len(x), -1).to(torch.float32)
        if self.scale != 1.0:
            x = x * self.scale
        if self.mean is None or self.std is None:
            return x
        channels = len(self.mean)
        mean, std = self.mean.to(x.device), self.std.to(x.device)
        return ((x.view(len(x), channels, -1) - mean[None, :, None]) / std[None, :, None]).view(len(x), -1)

    def to_dict(self) -> dict[str, Any]:
        return {"how": self.how, "input_shape": list(self.input_shape), "scale": self.scale, "mean": self.mean,
                "std": self.std, "columns": self.columns, "target": self.target, "dropped": self.dropped}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Preprocessing:
        return cls(tuple(record["input_shape"]), float(record.get("scale", 1.0)), record.get("mean"), record.get("std"),
                   record.get("columns"), record.get("target"), record.get("how", ""), list(record.get("dropped") or []))
