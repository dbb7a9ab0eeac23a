"""Trial i depends on (seed, i) alone; each parameter on its own stream; conditionals dropped."""

from __future__ import annotations

import copy

from hpsearch.space.config import parse_config
from hpsearch.space.sampler import sample_trial, sample_trials
from tests.helpers import TINY


def test_trial_i_does_not_depend_on_how_many_ran_before():
    cfg = parse_config(TINY)
    all_trials = sample_trials(cfg, 10)
    assert sample_trials(cfg, 3, start=7) == all_trials[7:]
    assert sample_trial(cfg, 5) == all_trials[5]
    assert [t.id for t in all_trials] == list(range(10))


def test_same_seed_same_trials_other_seed_other_trials():
    cfg = parse_config(TINY)
    assert sample_trials(cfg, 5) == sample_trials(parse_config(TINY), 5)
    other = sample_trials(cfg.with_overrides(seed=1), 5)
    assert [t.params for t in other] != [t.params for t in sample_trials(cfg, 5)]


def test_adding_a_parameter_leaves_the_others_unchanged():
    raw = copy.deepcopy(TINY)
    before = sample_trials(parse_config(raw), 6)
    raw["space"]["dropout"] = {"distribution": "uniform", "low": 0.0, "high": 0.5}
    after = sample_trials(parse_config(raw), 6)
    for b, a in zip(before, after, strict=True):
        assert {k: a.params[k] for k in b.params} == b.params
        assert a.seed == b.seed
        assert 0.0 <= a.params["dropout"] <= 0.5


def test_params_keep_the_declared_order_and_hyperparameters_are_complete():
    trial = sample_trial(parse_config(TINY), 0)
    assert list(trial.params) == ["lr", "hidden_units"]
    assert trial.hyperparameters["optimizer"] == "adam"
    assert trial.hyperparameters["batch_size"] == 64  # the documented default
    assert "momentum" not in trial.hyperparameters  # sgd-only
    assert 0 <= trial.seed < 2**31


def test_conditional_parameters_only_in_trials_that_use_them():
    raw = copy.deepcopy(TINY)
    raw["fixed"] = {}
    raw["space"]["optimizer"] = {"distribution": "choice", "values": ["sgd", "adam", "adamw"]}
    raw["space"]["momentum"] = {"distribution": "one_minus_log_uniform", "low": 0.8, "high": 0.99}
    raw["space"]["beta1"] = {"distribution": "one_minus_log_uniform", "low": 0.8, "high": 0.99}
    trials = sample_trials(parse_config(raw), 40)
    seen = {t.params["optimizer"] for t in trials}
    assert seen == {"sgd", "adam", "adamw"}
    for t in trials:
        sgd = t.params["optimizer"] == "sgd"
        assert ("momentum" in t.params) == sgd
        assert ("beta1" in t.params) == (not sgd)
        assert ("beta2" in t.hyperparameters) == (not sgd)


def test_no_space_gives_the_fixed_config_with_distinct_training_seeds():
    raw = copy.deepcopy(TINY)
    raw["space"] = {}
    trials = sample_trials(parse_config(raw), 5)
    assert all(t.params == {} for t in trials)
    assert len({t.seed for t in trials}) == 5
    assert len({tuple(sorted(t.hyperparameters.items())) for t in trials}) == 1
