"""``synthetic``: a built-in classification problem where hyperparameters visibly matter.

Five classes labelled by a random two-layer teacher network on 8 latent factors, observed through
40 features whose scales span 0.1 to 10 (ill-conditioned, so a too-large learning rate diverges and
batch norm helps), with 10% of the labels redrawn at random (so a big model memorizes noise and
shows a train/validation gap). No model can beat about 90%: 7.5% of the labels differ from the
teacher's (a fifth of the redrawn ones land on the same class) and the feature noise blurs its
boundaries (a Bayes-optimal classifier gets 89.6%; tests/data/test_synthetic_ceiling.py computes it,
and configs/quickstart.yaml's target_error is 0.10). A good MLP reaches about 83% in 10 epochs.
Generated in milliseconds from a fixed seed: the same examples for every search, whatever its
``seed``, so runs stay comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hpsearch.data.dataset import Dataset, stratified_split
from hpsearch.data.preprocessing import Preprocessing
from hpsearch.space.config import DataConfig

FEATURES = 40
LATENT = 8
CLASSES = 5
LABEL_NOISE = 0.1
DATA_SEED = 20261128


@dataclass(frozen=True)
class Generated:
    """Everything the generator draws: the examples (``x``, ``y``) and the hidden parts that made
    them (the teacher's weights and labels, the features' mixing and scales), which
    tests/data/test_synthetic_ceiling.py reads to compute the set's accuracy ceiling."""

    x: torch.Tensor
    y: torch.Tensor
    teacher: torch.Tensor  # the teacher's labels, before 10% are redrawn
    w1: torch.Tensor
    w2: torch.Tensor
    mixing: torch.Tensor
    scales: torch.Tensor


def generate(samples: int, seed: int = DATA_SEED) -> Generated:
    """``samples`` examples and how they were made, deterministic in seed."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, LATENT, generator=g)
    w1 = torch.randn(LATENT, 16, generator=g) / LATENT**0.5
    w2 = torch.randn(16, CLASSES, generator=g)
    teacher = (torch.tanh(z @ w1) @ w2).argmax(dim=1)
    flip = torch.rand(samples, generator=g) < LABEL_NOISE
    y = torch.where(flip, torch.randint(0, CLASSES, (samples,), generator=g), teacher)
    mixing = torch.randn(LATENT, FEATURES, generator=g) / LATENT**0.5
    scales = torch.logspace(-1, 1, FEATURES)[torch.randperm(FEATURES, generator=g)]
    x = (z @ mixing + 0.1 * torch.randn(samples, FEATURES, generator=g)) * scales
    return Generated(x, y, teacher, w1, w2, mixing, scales)


def make_synthetic(samples: int, seed: int = DATA_SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """``samples`` examples (x: float32 [samples, 40], y: int64 in 0..4), deterministic in seed."""
    made = generate(samples, seed)
    return made.x.float(), made.y.long()


def load_synthetic(config: DataConfig) -> Dataset:
    x, y = make_synthetic(config.samples)
    train_idx, val_idx = stratified_split(y, config.val_fraction, DATA_SEED)
    return Dataset(
        name="synthetic",
        x_train=x[train_idx],
        y_train=y[train_idx],
        x_val=x[val_idx],
        y_val=y[val_idx],
        num_classes=CLASSES,
        info={"description": "built-in: 5 classes, 40 ill-scaled features, 10% label noise"},
        preprocessing=Preprocessing((FEATURES,)),  # fed as generated: the ill-scaled features are the point
    )
