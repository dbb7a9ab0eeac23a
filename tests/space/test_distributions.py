"""Every distribution: validated at construction, in bounds, seeded, and with the right shape.

Continuous ones are checked with a Kolmogorov-Smirnov distance against the exact CDF; integer ones
for reachability of every value and against their exact probabilities. Seeds are fixed.
"""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from hpsearch.space.distributions import (
    Choice,
    DistributionError,
    IntLogUniform,
    IntUniform,
    LogUniform,
    OneMinusLogUniform,
    Uniform,
)

N = 4000
KS_CRITICAL = 1.95 / math.sqrt(N)  # alpha = 0.001: a correct sampler fails this once in a thousand seeds

ALL = [
    Uniform(-1.0, 3.0),
    LogUniform(1e-4, 1.0),
    IntUniform(2, 4),
    IntLogUniform(32, 512),
    OneMinusLogUniform(0.9, 0.999),
    Choice((32, 64, "x", True)),
]


def draws(dist, n: int = N, seed: int = 0) -> list:
    rng = random.Random(seed)
    return [dist.sample(rng) for _ in range(n)]


def ks_distance(samples: list[float], cdf) -> float:
    xs = sorted(samples)
    n = len(xs)
    return max(max(abs((i + 1) / n - cdf(x)), abs(i / n - cdf(x))) for i, x in enumerate(xs))


@pytest.mark.parametrize("dist", ALL, ids=lambda d: d.name)
def test_contract_in_bounds_right_type_and_seeded(dist):
    values = draws(dist, 500)
    assert values == draws(dist, 500), "same seed must give the same draws"
    assert values != draws(dist, 500, seed=1)
    if isinstance(dist, Choice):
        assert set(values) <= set(dist.values)
        return
    assert all(dist.low <= v <= dist.high for v in values)
    expected = int if isinstance(dist, IntUniform | IntLogUniform) else float
    assert all(type(v) is expected for v in values)


def test_uniform_matches_exact_cdf():
    d = Uniform(-1.0, 3.0)
    assert ks_distance(draws(d), lambda x: (x + 1) / 4) < KS_CRITICAL


def test_log_uniform_is_flat_in_log_space():
    d = LogUniform(1e-4, 1.0)
    cdf = lambda x: (math.log(x) - math.log(1e-4)) / (math.log(1.0) - math.log(1e-4))  # noqa: E731
    assert ks_distance(draws(d), cdf) < KS_CRITICAL
    # and not uniform: a quarter of the draws fall in each decade, not 90% in the top one
    assert 0.2 < sum(v < 1e-3 for v in draws(d)) / N < 0.3


def test_one_minus_log_uniform_is_flat_in_log_of_one_minus_x():
    d = OneMinusLogUniform(0.9, 0.999)
    lo, hi = math.log(1 - 0.999), math.log(1 - 0.9)
    cdf = lambda x: (hi - math.log(1 - x)) / (hi - lo)  # noqa: E731
    assert ks_distance(draws(d), cdf) < KS_CRITICAL
    assert 0.45 < sum(v > 0.99 for v in draws(d)) / N < 0.55  # 0.99-0.999 as likely as 0.9-0.99


def test_int_uniform_reaches_every_value_equally():
    counts = Counter(draws(IntUniform(2, 4)))
    assert set(counts) == {2, 3, 4}
    assert all(abs(c / N - 1 / 3) < 0.03 for c in counts.values())


def test_int_log_uniform_reaches_every_value_with_its_exact_probability():
    low, high = 1, 16
    counts = Counter(draws(IntLogUniform(low, high), n=20000))
    assert set(counts) == set(range(low, high + 1))
    width = math.log(high + 0.5) - math.log(low - 0.5)
    for k in range(low, high + 1):
        p = (math.log(min(k + 0.5, high + 0.5)) - math.log(max(k - 0.5, low - 0.5))) / width
        assert abs(counts[k] / 20000 - p) < 4 * math.sqrt(p * (1 - p) / 20000) + 1e-3, k


def test_choice_includes_booleans_and_is_uniform():
    counts = Counter(draws(Choice((True, False))))
    assert set(counts) == {True, False}
    assert abs(counts[True] / N - 0.5) < 0.03


@pytest.mark.parametrize(
    ("make", "field", "match"),
    [
        (lambda: Uniform(1.0, 1.0), "low", r"low < high must hold, but got \(low=1.0, high=1.0\)"),
        (lambda: LogUniform(0.0, 1.0), "low", r"low > 0 must hold on a log scale"),
        (lambda: IntUniform(1.5, 3), "low", r"low must be an integer, but got low=1.5"),
        (lambda: IntLogUniform(0, 8), "low", r"low > 0 must hold on a log scale"),
        (lambda: OneMinusLogUniform(0.9, 1.0), "high", r"0 < low < high < 1 must hold"),
        (lambda: OneMinusLogUniform(0.0, 0.9), "low", r"0 < low < high < 1 must hold"),
        (lambda: Choice(()), "values", r"at least one value"),
        (lambda: Choice(([1, 2],)), "values", r"must be scalars"),
        (lambda: Uniform(float("nan"), 1.0), "low", r"finite number"),
    ],
)
def test_invalid_arguments_name_the_field_and_values(make, field, match):
    with pytest.raises(DistributionError, match=match) as info:
        make()
    assert info.value.field == field


def test_distributions_are_immutable():
    d = LogUniform(1e-4, 1.0)
    with pytest.raises(AttributeError):
        d.low = 1.0  # type: ignore[misc]
