"""Searching a custom model: built once per trial under its seed, failures per trial, import errors
before anything is written, image shapes kept, the best model rebuilt, workers and shipped source."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner

import hpsearch
from hpsearch.cli.main import main
from hpsearch.errors import ConfigError, RunDirError
from hpsearch.runs.records import TrialStatus
from hpsearch.search.run import resume_search, run_search
from hpsearch.space.config import SearchConfig, load_config, parse_config
from hpsearch.space.modelref import parse_reference, read_model
from hpsearch.training.bestmodel import load_best_model
from hpsearch.training.usermodel import load_function
from tests.helpers import write_idx_dataset

MODEL = '''
import torch
from torch import nn

SEEN = []

def build(input_shape, num_classes, width=16, mode="ok"):
    SEEN.append(tuple(input_shape))
    if mode == "raise":
        raise RuntimeError("width too odd for this model")
    if mode == "none":
        return None
    out = num_classes + 1 if mode == "shape" else num_classes
    return nn.Sequential(nn.Flatten(), nn.Linear(int(torch.tensor(input_shape).prod()), width), nn.ReLU(), nn.Linear(width, out))

def image_only(input_shape, num_classes, channels=4):
    assert tuple(input_shape) == (1, 28, 28), input_shape
    return nn.Sequential(nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
                         nn.Linear(channels * 16, num_classes))
'''


def write_model(folder: Path, text: str = MODEL) -> Path:
    path = folder / "net.py"
    path.write_text(text)
    return path


def tiny(folder: Path, model: str = "net.py:build", **extra: Any) -> SearchConfig:
    raw = {"name": "own", "trials": 3, "epochs": 2, "device": "cpu", "model": model,
           "data": {"dataset": "synthetic", "samples": 400},
           "space": {"lr": {"distribution": "log_uniform", "low": 1e-3, "high": 1e-2},
                     "width": {"distribution": "int_log_uniform", "low": 8, "high": 32}}, **extra}
    return parse_config(raw, source=str(folder / "config.yaml"))


def curves(run: Path) -> list[list[float]]:
    return [[json.loads(line)["val_acc"] for line in (t / "metrics.jsonl").read_text().splitlines()]
            for t in sorted((run / "trials").iterdir())]


def test_a_custom_model_is_searched_seeded_and_its_best_model_rebuilt(tmp_path):
    write_model(tmp_path)
    first = run_search(tiny(tmp_path), run_dir=tmp_path / "a")
    run_search(tiny(tmp_path), run_dir=tmp_path / "b")
    assert first.status == "completed" and [r.status for _, r in first.trials] == [TrialStatus.COMPLETED] * 3
    assert curves(tmp_path / "a") == curves(tmp_path / "b")  # trial i depends on (seed, i) alone
    assert {t.params["width"] for t, _ in first.trials} <= set(range(8, 33))
    info = json.loads((tmp_path / "a" / "run.json").read_text())
    assert info["model"]["reference"] == f"{(tmp_path / 'net.py').resolve()}:build" and len(info["model"]["sha256"]) == 64
    (tmp_path / "net.py").unlink()  # the reports never need the code; best_model.pt keeps it: rebuilt without the file
    outputs = {}
    for command in ("compare", "importance", "show"):
        shown = CliRunner().invoke(main, [command, str(tmp_path / "a"), *(["0"] if command == "show" else [])])
        assert shown.exit_code == 0, shown.output
        outputs[command] = shown.output
    assert f"model: {info['model']['reference']}; " in outputs["show"]
    model, record = load_best_model(tmp_path / "a")
    best = first.best[0]
    assert record["model"]["params"] == {"width": best.params["width"]} and record["input_shape"] == [40]
    assert model[1].out_features == best.params["width"]
    assert model(torch.zeros(2, 40)).shape == (2, 5)


@pytest.mark.parametrize(("mode", "message"), [
    ("raise", "RuntimeError: width too odd for this model"),
    ("none", r"returned a NoneType, not a torch.nn.Module"),
    ("shape", r"the model's output is \(2, 6\), expected \(2, 5\): a batch of inputs of shape \(40,\) must map to 5 class logits"),
])
def test_a_model_that_fails_fails_its_trial_and_the_search_goes_on(tmp_path, mode, message):
    write_model(tmp_path)
    cfg = tiny(tmp_path, trials=4, epochs=1, space={"mode": {"distribution": "choice", "values": ["ok", mode]}})
    result = run_search(cfg, run_dir=tmp_path / "run")
    by_mode = {t.params["mode"]: r for t, r in result.trials}
    assert set(by_mode) == {"ok", mode}, "seed 0 draws both modes in 4 trials"
    assert by_mode["ok"].status is TrialStatus.COMPLETED
    assert by_mode[mode].status is TrialStatus.FAILED
    assert re.search(message, by_mode[mode].error), by_mode[mode].error


def test_a_file_that_does_not_import_is_refused_before_anything_is_written(tmp_path):
    write_model(tmp_path, "from torch import nn\n\nWIDTH = 3\nlayer = nn.Linaer(WIDTH, 2)\n\ndef build(input_shape, num_classes):\n    pass\n")
    with pytest.raises(ConfigError, match=r"model: .*net.py:4: AttributeError: .*Linaer.*while importing"):
        run_search(tiny(tmp_path, space={}), run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_names_are_checked_again_against_the_imported_signature(tmp_path):
    # ``build`` is bound by an assignment: its parameters are unknown until imported, then checked
    write_model(tmp_path, "from torch import nn\n\ndef _make(input_shape, num_classes, width=8):\n"
                          "    return nn.Linear(input_shape[0], num_classes)\n\nbuild = _make\n")
    cfg = tiny(tmp_path, space={"widht": {"distribution": "choice", "values": [8, 16]}})
    assert cfg.model.parameters is None
    with pytest.raises(ConfigError, match=r"space.widht: unknown key; did you mean 'width'\?"):
        run_search(cfg, run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_images_keep_their_shape_for_a_custom_model_and_the_mlp_flattens(tmp_path):
    write_model(tmp_path)
    write_idx_dataset(tmp_path / "data" / "MNIST" / "raw", n_train=300, n_test=50)
    data = {"dataset": "mnist", "root": str(tmp_path / "data"), "download": False}
    cnn = parse_config({"name": "cnn", "trials": 1, "epochs": 1, "device": "cpu", "model": "net.py:image_only",
                        "data": data}, source=str(tmp_path / "config.yaml"))
    result = run_search(cnn, run_dir=tmp_path / "cnn")
    assert result.trials[0][1].status is TrialStatus.COMPLETED, result.trials[0][1].error
    assert json.loads((tmp_path / "cnn" / "run.json").read_text())["data"]["input_shape"] == [1, 28, 28]
    best = hpsearch.load_model(tmp_path / "cnn")  # raw images in, as for the MLP: shaped for the CNN inside
    assert best.input_shape == (28, 28) and len(best.predict(torch.rand(3, 28, 28) * 255)) == 3
    mlp = parse_config({"name": "mlp", "trials": 1, "epochs": 1, "device": "cpu", "data": data})
    assert run_search(mlp, run_dir=tmp_path / "mlp").trials[0][1].status is TrialStatus.COMPLETED
    assert "input_shape" not in json.loads((tmp_path / "mlp" / "run.json").read_text())["data"]


def test_shipped_source_imports_where_the_file_is_absent(tmp_path):
    """What a worker on another machine (Ray) does: the trial's ModelRef carries the file's text."""
    path = write_model(tmp_path)
    ref = read_model(parse_reference(f"{path}:build", None))
    path.unlink()
    model = load_function(ref)((40,), 5, width=4)
    assert model[1].out_features == 4


def test_workers_import_the_model_file_and_train_the_same_trials(tmp_path):
    write_model(tmp_path)
    one = run_search(tiny(tmp_path), run_dir=tmp_path / "one")
    two = run_search(tiny(tmp_path, workers=2), run_dir=tmp_path / "two")
    assert one.status == two.status == "completed"
    assert curves(tmp_path / "one") == curves(tmp_path / "two")


def test_resume_refuses_an_edited_model_file(tmp_path):
    path = write_model(tmp_path)
    run_search(tiny(tmp_path), run_dir=tmp_path / "run")
    (tmp_path / "run" / "run.json").write_text(
        json.dumps({**json.loads((tmp_path / "run" / "run.json").read_text()), "status": "interrupted"}))
    path.write_text(MODEL + "\n# edited\n")
    with pytest.raises(RunDirError, match=r"net.py was edited after the search started"):
        resume_search(tmp_path / "run")
    assert load_config(tmp_path / "run" / "config.yaml").model.path == str(path.resolve())
