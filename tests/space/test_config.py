"""Config parsing: a valid file becomes typed objects; every bad input gets its message and exit 2."""

from __future__ import annotations

import copy

import pytest
from click.testing import CliRunner

from hpsearch.cli.main import main
from hpsearch.errors import ConfigError
from hpsearch.space.config import config_to_dict, load_config, parse_config
from hpsearch.space.distributions import Choice, IntLogUniform, LogUniform
from tests.helpers import QUICKSTART, TINY


def test_quickstart_parses_with_space_in_declared_order():
    cfg = load_config(QUICKSTART)
    assert list(cfg.space) == ["lr", "batch_size", "hidden_units", "momentum", "layers", "lr_decay"]
    assert cfg.space["lr"] == LogUniform(1e-4, 1.0)
    assert cfg.space["batch_size"] == Choice((32, 64, 128, 256))
    assert cfg.space["hidden_units"] == IntLogUniform(32, 512)
    assert cfg.fixed == {"optimizer": "sgd", "batchnorm": True}
    assert (cfg.name, cfg.seed, cfg.trials, cfg.epochs, cfg.device) == ("quickstart", 0, 12, 5, "auto")


def test_defaults_and_name_from_file_stem(write_config):
    cfg = load_config(write_config("{}\n", name="my-search.yaml"))
    assert (cfg.name, cfg.seed, cfg.trials, cfg.epochs, cfg.device) == ("my-search", 0, 10, 5, "auto")
    assert cfg.space == {} and cfg.fixed == {}
    assert cfg.data.dataset == "synthetic" and cfg.data.val_fraction == 0.2


def test_config_round_trips_through_its_dict():
    cfg = load_config(QUICKSTART)
    again = parse_config(config_to_dict(cfg), source=cfg.source)
    assert again == cfg


def test_overrides_are_validated():
    cfg = load_config(QUICKSTART)
    assert cfg.with_overrides(trials=3, seed=7, epochs=None).trials == 3
    with pytest.raises(ConfigError, match=r"device: must be auto, cpu, cuda, cuda:N or mps, got 'gpu'"):
        cfg.with_overrides(device="gpu")


def test_searched_optimizer_allows_its_conditional_parameters():
    raw = copy.deepcopy(TINY)
    raw["fixed"] = {}
    raw["space"]["optimizer"] = {"distribution": "choice", "values": ["sgd", "adam"]}
    raw["space"]["momentum"] = {"distribution": "one_minus_log_uniform", "low": 0.8, "high": 0.99}
    raw["space"]["beta2"] = {"distribution": "one_minus_log_uniform", "low": 0.9, "high": 0.9999}
    assert list(parse_config(raw).space)[-2:] == ["momentum", "beta2"]


def test_all_problems_are_reported_at_once(write_config):
    path = write_config("trials: 0\nepochs: -1\nspace:\n  lr: {distribution: log_uniform, low: 0, high: 1}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert [p.path for p in info.value.problems] == ["trials", "epochs", "space.lr.low"]
    assert [p.line for p in info.value.problems] == [1, 2, 4]


LR = "{distribution: log_uniform, low: 1.0e-4, high: 1.0}"
BAD = [
    ("unknown top-level key", "trails: 5\n", "trails: unknown key; did you mean 'trials'?", 1),
    ("unknown hyperparameter", f"space:\n  learning_rate: {LR}\n", "space.learning_rate: unknown key; did you mean 'lr'?", 2),
    ("unknown fixed name", "fixed:\n  batchsize: 32\n", "fixed.batchsize: unknown key; did you mean 'batch_size'?", 2),
    ("low >= high", "space:\n  lr: {distribution: log_uniform, low: 1.0, high: 1.0e-4}\n", "space.lr.low: low < high must hold", 2),
    ("low <= 0 on a log scale", "space:\n  lr: {distribution: log_uniform, low: 0, high: 1}\n", "space.lr.low: low > 0 must hold on a log scale", 2),
    ("one_minus outside (0,1)", "fixed: {optimizer: sgd}\nspace:\n  momentum: {distribution: one_minus_log_uniform, low: 0.9, high: 1.0}\n", "space.momentum.high: 0 < low < high < 1 must hold", 3),
    ("empty choices", "space:\n  batch_size: {distribution: choice, values: []}\n", "space.batch_size.values: values must list at least one value", 2),
    ("non-integer bound", "space:\n  layers: {distribution: int_uniform, low: 1.5, high: 4}\n", "space.layers.low: low must be an integer, but got low=1.5", 2),
    ("fixed and searched", f"fixed:\n  lr: 0.1\nspace:\n  lr: {LR}\n", "space.lr: lr is both fixed and searched", 4),
    ("unknown distribution", "space:\n  lr: {distribution: loguniform, low: 1, high: 2}\n", "space.lr.distribution: unknown distribution 'loguniform'; did you mean 'log_uniform'?", 2),
    ("momentum with adam", "fixed: {optimizer: adam}\nspace:\n  momentum: {distribution: uniform, low: 0.5, high: 0.9}\n", "space.momentum: momentum applies only to sgd, but optimizer is fixed to adam", 3),
    ("momentum with default optimizer", "fixed: {momentum: 0.9}\n", "fixed.momentum: momentum applies only to sgd, but optimizer is adam by default", 1),
    ("beta1 with sgd", "fixed: {optimizer: sgd, beta1: 0.9}\n", "fixed.beta1: beta1 applies only to adam, adamw", 1),
    ("float distribution for an integer", "space:\n  batch_size: {distribution: uniform, low: 16, high: 64.5}\n", "space.batch_size.distribution: batch_size takes whole numbers, but uniform draws reals; use int_uniform, int_log_uniform or choice", 2),
    ("real distribution with integer bounds", "space:\n  hidden_units: {distribution: log_uniform, low: 32, high: 512}\n", "space.hidden_units.distribution: hidden_units takes whole numbers, but log_uniform draws reals", 2),
    ("choice value of the wrong type", "space:\n  layers: {distribution: choice, values: [1, 2.5]}\n", "space.layers: choice can produce 2.5, but layers must be an integer >= 1", 2),
    ("bad fixed value", "fixed: {activation: swish}\n", "fixed.activation: must be one of relu, tanh, sigmoid, gelu; got 'swish'", 1),
    ("missing bound", "space:\n  lr: {distribution: log_uniform, low: 1.0e-4}\n", "space.lr: log_uniform needs low and high; missing high", 2),
    ("bad device", "device: gpu\n", "device: must be auto, cpu, cuda, cuda:N or mps, got 'gpu'", 1),
    ("not a mapping", "- 1\n- 2\n", "the file must hold a mapping", None),
    ("malformed YAML", "space:\n  lr: {distribution: log_uniform, low: 1\n", "malformed YAML", 3),
    ("duplicate key", "trials: 2\ntrials: 3\n", "duplicate key 'trials'", 2),
]


@pytest.mark.parametrize(("case", "text", "message", "line"), BAD, ids=[b[0] for b in BAD])
def test_bad_config_gets_file_key_line_and_exit_2(case, text, message, line, write_config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_config(text)
    for command in ("validate", "run", "sample"):
        result = CliRunner().invoke(main, [command, str(path)])
        assert result.exit_code == 2, (command, result.output)
        assert message in result.output, result.output
        where = f"{path}:{line}:" if line is not None else f"{path}:"
        assert where in result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "runs").exists(), "nothing may be written for a bad config"


def test_missing_file_gets_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert f"config file not found: {tmp_path / 'nope.yaml'}" in result.output


def test_validate_prints_a_one_line_summary():
    result = CliRunner().invoke(main, ["validate", str(QUICKSTART)])
    assert result.exit_code == 0
    assert result.output.count("\n") == 1
    assert "ok: quickstart, 12 trials x 5 epochs on synthetic, searching lr, batch_size" in result.output


def test_yaml_text_that_looks_like_a_number_gets_a_hint(write_config):
    path = write_config("space:\n  lr: {distribution: log_uniform, low: 1e-4, high: 1}\n")
    with pytest.raises(ConfigError, match=r"space.lr.low: low must be a finite number, but got low='1e-4'; "
                                          r"YAML reads 1e-4 as text: write it with a dot, e.g. 1.0e-4"):
        load_config(path)


def test_a_file_name_that_is_no_valid_run_name_is_cleaned_up(write_config, tmp_path):
    cfg = load_config(write_config("trials: 2\n", name="my config (v2).yaml"))
    assert cfg.name == "my-config-v2"
    assert cfg.with_overrides(trials=3).name == "my-config-v2"


@pytest.mark.parametrize(("where", "wrong", "meant"), [
    ("data.dataset", "MNIST", "mnist"), ("data.dataset", "fashion-mnist", "fashion_mnist"),
    ("data.dataset", "FashionMNIST", "fashion_mnist"), ("fixed.optimizer", "Adam", "adam"),
    ("fixed.activation", "ReLU", "relu"), ("scheduler.name", "ASHA", "asha"),
])
def test_a_name_in_the_wrong_case_or_with_dashes_gets_a_did_you_mean(write_config, where, wrong, meant):
    section, key = where.split(".")
    result = CliRunner().invoke(main, ["validate", str(write_config({"name": "x", section: {key: wrong}}))])
    assert result.exit_code == 2
    assert f"{where}: must be one of" in result.output and f"{wrong!r} (did you mean {meant!r}?)" in result.output


def test_uniform_on_a_learning_rate_over_decades_is_accepted_with_a_warning(write_config):
    config = {"name": "x", "space": {"lr": {"distribution": "uniform", "low": 1.0e-4, "high": 1.0}}}
    result = CliRunner().invoke(main, ["validate", str(write_config(config))])
    assert result.exit_code == 0, result.output
    assert "config.yaml:3: space.lr: uniform draws 90% of its values from the top decade (0.1 to 1)" in result.stderr
    assert "log_uniform draws each decade equally" in result.stderr
    narrow = {"name": "x", "space": {"lr": {"distribution": "uniform", "low": 0.01, "high": 0.05},
                                     "dropout": {"distribution": "uniform", "low": 0.0, "high": 0.5}}}
    assert parse_config(narrow).warnings == ()  # within a decade, and not a log-scale parameter: nothing to say
    assert parse_config(config).with_overrides(trials=3).warnings == parse_config(config).warnings
