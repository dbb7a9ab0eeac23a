"""From a loader's training and test splits to a ``Dataset``: normalization, then the validation split.

The order is the honest one: normalization statistics come from the training split only; the
validation split is carved from the training split (stratified, with a fixed seed so every search
on the same data is judged on the same examples); the test split is carried along untouched and
never reaches the trainer (see ``hpsearch.training.bestmodel`` for its one use, after the search).
"""

from __future__ import annotations

from typing import Any

import torch

from hpsearch.data.dataset import Dataset, stratified_split

SPLIT_SEED = 0  # the validation split's seed: fixed, so searches with different seeds compare on the same split


def standardize(x_train: torch.Tensor, x_test: torch.Tensor | None, channels: int) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor | None]:
    """Per-channel mean/std of the training split, applied in place to both splits (float32 [N, C*K]);
    returns them (float32 [C], as applied: best_model.pt keeps them so new data is fed alike) and the splits.

    ``channels`` = 1 for MNIST (one mean over all pixels), 3 for CIFAR-10 (R, G, B planes), and the
    feature count for tabular data (per-feature standardization). A constant channel keeps std 1.
    """
    view = x_train.view(len(x_train), channels, -1)
    std, mean = torch.std_mean(view, dim=(0, 2), correction=0)  # float32 pairwise sums: exact enough, and fast
    std = torch.where(std > 1e-6, std, torch.ones_like(std))
    for x in (x_train, x_test):
        if x is not None:
            x.view(len(x), channels, -1).sub_(mean[None, :, None]).div_(std[None, :, None])
    return {"mean": mean, "std": std}, x_train, x_test


def finish(name: str, x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor | None, y_test: torch.Tensor | None,
           num_classes: int, val_fraction: float, info: dict[str, Any]) -> Dataset:
    """Carve the validation split from the training split and assemble the Dataset."""
    train_idx, val_idx = stratified_split(y_train, val_fraction, SPLIT_SEED)
    info = {**info, "val_split": {"from": "training split", "fraction": val_fraction, "stratified": True, "seed": SPLIT_SEED}}
    return Dataset(name=name, x_train=x_train.index_select(0, train_idx), y_train=y_train[train_idx],
                   x_val=x_train.index_select(0, val_idx), y_val=y_train[val_idx], num_classes=num_classes, x_test=x_test, y_test=y_test, info=info)
