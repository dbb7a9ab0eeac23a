"""The tensor-resident dataset the trainer consumes, and the seeded stratified splits it is cut with."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import torch

from hpsearch.data.preprocessing import Preprocessing


@dataclass
class Dataset:
    """Train and validation (and optionally test) splits as float32 features and int64 labels.

    Loaders give flat features (normalized where the dataset calls for it) and record a raw
    example's shape in ``preprocessing.input_shape``; ``unflatten`` gives the examples a shape back,
    for your own model (the built-in MLP takes them flat). The trainer moves them to its device
    once per search.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    num_classes: int
    x_test: torch.Tensor | None = None
    y_test: torch.Tensor | None = None
    info: dict[str, Any] = field(default_factory=dict)  # recorded in run.json (sizes, label names)
    preprocessing: Preprocessing | None = None  # raw example -> model input; kept in best_model.pt

    @property
    def classes(self) -> list[str]:
        """Class names by label (the loader's, else "0".."C-1")."""
        return [str(c) for c in self.info.get("classes") or range(self.num_classes)]

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One example's shape as the model receives it."""
        return tuple(self.x_train.shape[1:])

    @property
    def input_dim(self) -> int:
        return math.prod(self.input_shape)

    def unflatten(self, shape: tuple[int, ...]) -> Dataset:
        """Give every split's examples ``shape`` (a view: no copy): for your own model (``model:``)."""
        if tuple(shape) != self.input_shape and math.prod(shape) == self.input_dim:
            self.x_train, self.x_val = self.x_train.view(-1, *shape), self.x_val.view(-1, *shape)
            if self.x_test is not None:
                self.x_test = self.x_test.view(-1, *shape)
        return self

    def summary(self) -> dict[str, Any]:
        return {
            "dataset": self.name,
            "train": len(self.y_train),
            "val": len(self.y_val),
            "test": None if self.y_test is None else len(self.y_test),
            "input_dim": self.input_dim,
            **({"input_shape": list(self.input_shape)} if len(self.input_shape) > 1 else {}),
            "num_classes": self.num_classes,
            **self.info,
            "sha256": self.digest(),
        }

    def digest(self) -> str:
        """sha256 of every split's tensors (shapes, types and values): what the search trains on, so
        ``hpsearch resume`` can refuse to continue on data that changed since the run began."""
        digest = hashlib.sha256()
        for tensor in (self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test):
            if tensor is None:
                digest.update(b"none")
                continue
            array = tensor.detach().cpu().contiguous().numpy()
            digest.update(f"{array.dtype}{array.shape}".encode())
            digest.update(memoryview(array).cast("B"))
        return digest.hexdigest()


def stratified_split(labels: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (keep, held_out) with ``fraction`` of every class held out, seeded.

    Each class contributes round(fraction * count) examples (at least one when it has two or more),
    so a 10-class set keeps its class balance in both parts.
    """
    generator = torch.Generator().manual_seed(seed)
    keep, held = [], []
    for cls in torch.unique(labels):
        idx = torch.nonzero(labels == cls).flatten()
        idx = idx[torch.randperm(len(idx), generator=generator)]
        n_held = round(fraction * len(idx))
        if len(idx) >= 2:
            n_held = min(max(n_held, 1), len(idx) - 1)
        held.append(idx[:n_held])
        keep.append(idx[n_held:])
    keep_idx, held_idx = torch.cat(keep), torch.cat(held)
    return keep_idx.sort().values, held_idx.sort().values


def take_subset(dataset: Dataset, size: int, seed: int = 0) -> Dataset:
    """Keep a stratified sample of ``size`` training examples (validation and test untouched)."""
    total = len(dataset.y_train)
    if size >= total:
        return dataset
    keep, rest = stratified_split(dataset.y_train, 1 - size / total, seed)
    if len(keep) != size:  # per-class rounding can miss by a few: move random examples to hit size exactly
        generator = torch.Generator().manual_seed(seed)
        if len(keep) > size:
            keep = keep[torch.randperm(len(keep), generator=generator)[:size]].sort().values
        else:
            extra = rest[torch.randperm(len(rest), generator=generator)[: size - len(keep)]]
            keep = torch.cat([keep, extra]).sort().values
    dataset.x_train, dataset.y_train = dataset.x_train[keep], dataset.y_train[keep]
    dataset.info["subset"] = len(keep)
    return dataset
