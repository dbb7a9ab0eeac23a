"""The built-in synthetic set's accuracy ceiling, computed from its generator, is what the quickstart's
``target_error`` says: the error the best possible classifier makes, so the diagnosis measures
avoidable bias from it (and not from 0, which overstated it by about 10 points)."""

from __future__ import annotations

import torch

from hpsearch.data.synthetic import CLASSES, LATENT, generate, make_synthetic
from hpsearch.space.config import DataConfig, load_config
from tests.helpers import QUICKSTART


def bayes_accuracy(samples: int, draws: int = 100) -> tuple[float, float]:
    """(accuracy of the Bayes-optimal classifier, share of labels the teacher gave) on the default set.

    The generator is linear-Gaussian from the latent z to the features x, so z given x is Gaussian
    (mean and covariance in closed form); the optimal guess is the class the teacher gives most often
    over draws of z from it (label flips are uniform, so they do not change the argmax).
    """
    made = generate(samples)  # the examples and the hidden parts that made them
    x, y, teacher, w1, w2, mixing, scales = made.x, made.y, made.teacher, made.w1, made.w2, made.mixing, made.scales
    assert torch.equal(x, make_synthetic(samples)[0]) and torch.equal(y, make_synthetic(samples)[1])
    a = (mixing * scales).double()
    noise_precision = torch.diag(1 / (0.01 * scales.double() ** 2))
    covariance = torch.linalg.inv(torch.eye(LATENT, dtype=torch.float64) + a @ noise_precision @ a.T)
    mean, root = x.double() @ noise_precision @ a.T @ covariance, torch.linalg.cholesky(covariance)
    votes = torch.zeros(samples, CLASSES)
    draw = torch.Generator().manual_seed(0)
    for _ in range(draws):
        latent = mean + torch.randn(samples, LATENT, generator=draw, dtype=torch.float64) @ root.T
        votes += torch.nn.functional.one_hot((torch.tanh(latent.float() @ w1) @ w2).argmax(dim=1), CLASSES)
    best = votes.argmax(dim=1)
    return (best == y).float().mean().item(), (y == teacher).float().mean().item()


def test_quickstart_target_error_is_the_synthetic_sets_bayes_error():
    accuracy, kept = bayes_accuracy(DataConfig().samples)
    assert 0.92 < kept < 0.93  # 10% of labels redrawn at random, a fifth of them to the same class: 7.5% changed
    assert 0.885 < accuracy < 0.905  # the feature noise blurs the teacher's boundaries: 3 points more
    assert abs(load_config(QUICKSTART).target_error - (1 - accuracy)) < 0.01
