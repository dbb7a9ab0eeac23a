"""The ``model:`` key read without importing the model: references, signatures from the source,
and the names a config may use with a custom model (all torch-free, no user code runs)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hpsearch.errors import ConfigError
from hpsearch.space.config import config_to_dict, load_config, parse_config
from hpsearch.space.modelref import NO_LITERAL, ModelRefError, parse_reference, read_model
from hpsearch.space.sampler import sample_trial
from tests.helpers import ROOT

MODEL = '''
from torch import nn
open(__file__ + ".imported", "w").close()   # proof of import, which the config reader must never cause

def build(input_shape, num_classes, width=32, depth: int = 2, act=nn.ReLU, *, dropout=0.0, tag):
    return nn.Linear(input_shape[0], num_classes)

class Net(nn.Module):
    def __init__(self, input_shape, num_classes, blocks=3):
        super().__init__()

def loose(input_shape, num_classes, **kwargs):
    return None

alias = build
'''


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "models" / "net.py"
    path.parent.mkdir()
    path.write_text(MODEL)
    return path


def config(model: str, fixed: dict | None = None, space: dict | None = None, source: Path | None = None) -> dict:
    return {"name": "m", "model": model, "fixed": fixed or {}, "space": space or {}}


def parse(raw: dict, folder: Path):
    return parse_config(raw, source=str(folder / "config.yaml"))


def test_references_parse_without_reading_anything(tmp_path):
    assert parse_reference("mlp", tmp_path).builtin
    ref = parse_reference("models/net.py:build", tmp_path)
    assert ref.path == str((tmp_path / "models" / "net.py").resolve()) and ref.function == "build"
    assert parse_reference("pkg.sub.mod:make", tmp_path).module == "pkg.sub.mod"
    for bad, match in [("net.py", "must be mlp"), ("net.py:2x", "not a Python name"), ("a b:f", "neither a .py file"),
                       (3, "must be mlp")]:
        with pytest.raises(ModelRefError, match=match):
            parse_reference(bad, tmp_path)


def test_signature_is_read_from_the_source_without_importing(model_file):
    ref = read_model(parse_reference(f"{model_file}:build", None))
    params = {p.name: p for p in ref.parameters}
    assert list(params) == ["width", "depth", "act", "dropout", "tag"]
    assert params["width"].default == 32 and not params["width"].required
    assert params["act"].default is NO_LITERAL and params["tag"].required
    assert ref.source == model_file.read_text() and not ref.var_keyword
    assert [p.name for p in read_model(parse_reference(f"{model_file}:Net", None)).parameters] == ["blocks"]
    assert read_model(parse_reference(f"{model_file}:loose", None)).var_keyword
    assert read_model(parse_reference(f"{model_file}:alias", None)).parameters is None  # known when imported
    assert not Path(str(model_file) + ".imported").exists()


@pytest.mark.parametrize(("reference", "match"), [
    ("models/none.py:build", r"model file .*none.py does not exist"),
    ("models/net.py:buidl", r"net.py defines no function 'buidl'; did you mean 'build'\?"),
    ("models/broken.py:build", r"broken.py:3: SyntaxError"),
])
def test_a_model_that_cannot_be_found_is_a_config_error_naming_file_and_line(tmp_path, model_file, reference, match):
    (tmp_path / "models" / "broken.py").write_text("from torch import nn\n\ndef build(input_shape, num_classes:\n")
    with pytest.raises(ConfigError, match=r"config.yaml: model: (.*/)?" + match) as error:
        parse(config(reference, fixed={"tag": 1}), tmp_path)
    assert len(error.value.problems) == 1


def test_names_are_the_training_hyperparameters_and_the_functions_parameters(tmp_path, model_file):
    raw = config("models/net.py:build", fixed={"tag": "a", "optimizer": "sgd", "momentum": 0.5, "act": "gelu"},
                 space={"lr": {"distribution": "log_uniform", "low": 1e-3, "high": 1e-1},
                        "width": {"distribution": "int_log_uniform", "low": 8, "high": 64},
                        "dropout": {"distribution": "uniform", "low": 0.0, "high": 0.5}})
    cfg = parse(raw, tmp_path)
    trial = sample_trial(cfg, 0)
    assert set(trial.params) == {"lr", "width", "dropout"}
    assert trial.hyperparameters["tag"] == "a" and "hidden_units" not in trial.hyperparameters
    assert trial.hyperparameters["momentum"] == 0.5 and trial.model is cfg.model
    assert config_to_dict(cfg)["model"] == f"{model_file.resolve()}:build"  # absolute: resume finds it anywhere


@pytest.mark.parametrize(("fixed", "space", "match"), [
    ({"tag": 1, "widht": 3}, {}, r"fixed.widht: unknown key; did you mean 'width'\? allowed: the training "
                                 r"hyperparameters \(lr, batch_size, momentum, lr_decay, beta1, beta2, eps, optimizer, "
                                 r"weight_decay\) and build's parameters \(width, depth, act, dropout, tag\)"),
    ({"tag": 1}, {"hidden_units": {"distribution": "int_uniform", "low": 8, "high": 9}},
     r"space.hidden_units: unknown key; hidden_units is a setting of the built-in MLP, and build does not take it"),
    ({}, {}, r"model: build takes tag without a default: fix it \(fixed.tag\) or search it \(space.tag\)"),
    ({"tag": 1}, {"width": {"distribution": "uniform", "low": 8, "high": 64}}, r"width takes whole numbers"),
    ({"tag": {"a": 1}}, {}, r"fixed.tag: must be a number, string, boolean, null or a list of them"),
])
def test_wrong_names_and_values_are_refused_before_anything_runs(tmp_path, model_file, fixed, space, match):
    with pytest.raises(ConfigError, match=match):
        parse(config("models/net.py:build", fixed, space), tmp_path)


def test_mlp_names_are_allowed_when_the_function_takes_them(tmp_path, model_file):
    cfg = parse(config("models/net.py:build", fixed={"tag": 0, "dropout": 0.9}), tmp_path)  # its own dropout: no MLP range check
    assert cfg.fixed["dropout"] == 0.9


def test_a_module_reference_is_read_without_importing_its_package(tmp_path, monkeypatch):
    package = tmp_path / "lib" / "mymodels"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('package code must not run')\n")
    (package / "cnn.py").write_text("def build(input_shape, num_classes, channels=8):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path / "lib"))
    cfg = parse(config("mymodels.cnn:build", space={"channels": {"distribution": "choice", "values": [4, 8]}}), tmp_path)
    assert cfg.model.names() == ["channels"] and cfg.model.source is None
    with pytest.raises(ConfigError, match=r"module nosuch\.mod is not importable here"):
        parse(config("nosuch.mod:build"), tmp_path)


def test_validate_and_sample_neither_import_the_model_nor_torch(tmp_path, model_file):
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent("""\
        name: m
        model: models/net.py:build
        fixed: {tag: 1}
        space: {width: {distribution: int_log_uniform, low: 8, high: 64}}
    """))
    probe = ("import sys; from hpsearch.cli.main import main; sys.argv = ['hpsearch', *sys.argv[1:]]\n"
             "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
             "assert 'torch' not in sys.modules, 'torch was imported'")
    for command in (["validate", str(path)], ["sample", str(path), "-n", "2"]):
        proc = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True, cwd=ROOT,
                              env={"PYTHONPATH": str(ROOT), "PATH": ""}, timeout=120)
        assert proc.returncode == 0, proc.stderr
    assert "width" in proc.stdout and not Path(str(model_file) + ".imported").exists()


def test_the_shipped_examples_validate():
    for name in ("mnist_cnn", "tabular_resmlp"):
        cfg = load_config(ROOT / "configs" / f"{name}.yaml")
        assert not cfg.model.builtin and cfg.model.path is not None and Path(cfg.model.path).is_file()


def test_fuse_is_refused_with_a_custom_model(tmp_path, model_file):
    with pytest.raises(ConfigError, match=r"config.yaml: fuse: fuses the built-in MLP only .* set fuse: 1"):
        parse({**config("models/net.py:build", fixed={"tag": 1}), "fuse": 4}, tmp_path)
