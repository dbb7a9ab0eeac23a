from __future__ import annotations

import math
import random

import pytest

from hpsearch.reports.importance import INACTIVE, estimate_importance, group_labels, omega_squared, verdict
from hpsearch.space.config import parse_config
from hpsearch.space.sampler import sample_trials

SPACE = {
    "lr": {"distribution": "log_uniform", "low": 1.0e-4, "high": 1.0},
    "batch_size": {"distribution": "choice", "values": [32, 64, 128, 256]},
    "hidden_units": {"distribution": "int_log_uniform", "low": 32, "high": 512},
    "momentum": {"distribution": "one_minus_log_uniform", "low": 0.9, "high": 0.999},
}
NAMES = list(SPACE)


def sampled_params(n: int) -> list[dict]:
    # lr is declared last here, so ranking it first is measured, not copied from the declared order
    space = {name: SPACE[name] for name in [*NAMES[1:], "lr"]}
    config = parse_config({"name": "t", "seed": 3, "trials": n, "fixed": {"optimizer": "sgd"}, "space": space})
    return [t.params for t in sample_trials(config, n)]


def test_planted_lr_effect_ranks_lr_first():
    params = sampled_params(40)
    noise = random.Random(7)
    # accuracy peaks at lr = 1e-2 and falls off by decades; nothing else matters
    metric = [0.9 - 0.05 * abs(math.log10(p["lr"]) + 2) + noise.gauss(0, 0.01) for p in params]
    report = estimate_importance(params, metric, [*NAMES[1:], "lr"], seed=0)
    top = report.ranked[0]
    assert top.name == "lr" and top.declared_rank == 4
    assert top.share > 0.5 and report.significant(top)
    assert all(p.share < 0.15 for p in report.ranked[1:])
    lines = verdict(report, "val_acc")
    assert any("lr matters most here" in line and "not batch_size as declared" in line for line in lines)


def test_pure_noise_stands_out_nowhere():
    params = sampled_params(40)
    noise = random.Random(11)
    report = estimate_importance(params, [noise.gauss(0.8, 0.02) for _ in params], NAMES, seed=0)
    assert not any(report.significant(p) for p in report.params)
    assert "no parameter stands out from seed noise" in verdict(report, "val_acc")[-1]


def test_same_seed_same_estimate():
    params = sampled_params(20)
    metric = [p["batch_size"] / 256 for p in params]
    assert estimate_importance(params, metric, NAMES, seed=5) == estimate_importance(params, metric, NAMES, seed=5)


def test_too_few_trials_say_so():
    params = sampled_params(6)
    report = estimate_importance(params, [0.5] * 6, NAMES)
    assert not report.enough
    assert verdict(report, "val_acc")[0].startswith("too few trials to tell: 6 with a val_acc, need at least 10")


def test_groups_values_bins_and_inactive():
    assert group_labels([True, False, None, True], max_bins=2) == [True, False, INACTIVE, True]
    assert group_labels([2, 3, 2, 3], max_bins=5) == [2, 3, 2, 3]
    # equal-count bins of the values' order: identical for a log or a linear axis
    values = [1e-4, 1e-1, 1e-3, 1e-2, 0.5, 2e-4]
    assert group_labels(values, max_bins=2) == [0, 1, 0, 1, 1, 0]
    assert group_labels([math.log(v) for v in values], max_bins=2) == group_labels(values, max_bins=2)


def test_omega_squared_bounds():
    assert omega_squared([0, 0, 1, 1], [1.0, 1.0, 2.0, 2.0]) == pytest.approx(1.0)
    assert omega_squared([0, 1, 0, 1], [1.0, 1.0, 2.0, 2.0]) == 0.0  # clipped: less than chance
    assert omega_squared([0, 0, 0, 0], [1.0, 2.0, 3.0, 4.0]) == 0.0
