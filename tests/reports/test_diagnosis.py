from __future__ import annotations

import pytest

from hpsearch.reports.compare import compare
from hpsearch.reports.diagnosis import BALANCED, HIGH_BIAS, HIGH_VARIANCE, advice, diagnose, noise_margin, summarize
from hpsearch.runs.readers import RunRecord
from tests.helpers import FakeTrial, make_run

BASE = {"hidden_units": 128, "layers": 2, "batchnorm": False, "dropout": 0.0, "weight_decay": 0.0}


def test_high_bias_trial_has_its_figures():
    d = diagnose(train_acc=0.70, val_acc=0.69, target_error=0.05)
    assert d.label == HIGH_BIAS
    assert d.avoidable_bias == pytest.approx(0.25)
    assert d.variance == pytest.approx(0.01)
    assert "avoidable bias 25.0%" in d.describe() and "variance 1.0%" in d.describe()


def test_high_variance_trial_has_its_figures():
    d = diagnose(train_acc=0.99, val_acc=0.85, target_error=0.0)
    assert d.label == HIGH_VARIANCE
    assert d.avoidable_bias == pytest.approx(0.01)
    assert d.variance == pytest.approx(0.14)


def test_equal_bias_and_variance_is_balanced():
    assert diagnose(train_acc=0.90, val_acc=0.85, target_error=0.05).label == BALANCED


def test_a_small_validation_set_widens_the_margin():
    # bias 6 points, variance 3 points: clear on 10,000 validation examples, noise on 100
    assert diagnose(0.94, 0.91, 0.0, val_examples=10_000).label == HIGH_BIAS
    assert diagnose(0.94, 0.91, 0.0, val_examples=100).label == BALANCED
    assert noise_margin(0.1, 100) == pytest.approx(0.06)
    assert noise_margin(0.1, None) == 0.01


def test_advice_for_variance_skips_what_the_trial_already_does():
    d = diagnose(0.99, 0.85)
    tips = " ".join(advice(d, BASE, 3, 5))
    assert "dropout" in tips and "weight_decay" in tips and "batch norm" in tips
    tips_bn = " ".join(advice(d, {**BASE, "batchnorm": True, "dropout": 0.3}, 3, 5))
    assert "batch norm" not in tips_bn and "dropout (search" not in tips_bn


def test_advice_for_bias_says_train_longer_when_still_rising():
    d = diagnose(0.70, 0.69)
    assert any("best epoch was the last (5)" in t for t in advice(d, BASE, 5, 5))
    assert not any("last" in t for t in advice(d, BASE, 2, 5))
    assert "bigger model" in advice(d, BASE, 2, 5)[0]


def test_summarize_counts_labels():
    ds = [diagnose(0.7, 0.69), diagnose(0.99, 0.85), diagnose(0.7, 0.7)]
    assert summarize(ds) == "2 high bias, 1 high variance"


@pytest.mark.parametrize(("edges", "says", "never"), [
    ({"hidden_units": "high", "layers": None}, "hidden_units at the top of the searched range: widen the range upward", None),
    ({"hidden_units": None, "layers": None}, "inside the searched ranges", "widen"),
    ({"hidden_units": "low", "layers": None}, "inside the searched ranges", "widen"),
    ({"lr": None}, "hidden_units and layers not searched: raise or search them", "widen"),
    (None, "a bigger model (hidden_units 128, layers 2 now)", "widen"),
])
def test_widen_the_range_only_when_the_best_sits_at_its_top(edges, says, never):
    tip = advice(diagnose(0.70, 0.69), BASE, 2, 5, edges)[0]
    assert says in tip
    assert never is None or never not in tip


def test_a_trial_at_its_target_is_told_nothing_is_left_to_reduce(tmp_path):
    run = RunRecord(make_run(tmp_path / "run", [FakeTrial({"lr": 0.01}, [(1.0, 1.0)])],
                             space={"lr": {"distribution": "log_uniform", "low": 1e-4, "high": 1.0}}))
    text = compare([run])
    assert "balanced" in text and "try next: nothing left to reduce: train and validation error are at the target (0.0%)" in text
    assert "reduce both" not in text
    assert "reduce both" in advice(diagnose(0.80, 0.70, target_error=0.1), {}, None, None)[0]  # both large: reduce both
