"""The shipped custom-model examples run as they are: ``configs/mnist_cnn.yaml`` (a CNN on MNIST) and
``configs/tabular_resmlp.yaml`` (a residual MLP on examples/table.csv), through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hpsearch.cli.main import main
from tests.helpers import ROOT, SHARED_DATA, write_idx_dataset


def run(args: list[str]) -> dict:
    result = CliRunner().invoke(main, ["run", *args, "--quiet"])
    assert result.exit_code == 0, result.output
    run_dir = Path(args[args.index("--run-dir") + 1])
    return json.loads((run_dir / "run.json").read_text())


def test_the_tabular_example_runs_as_it_is(tmp_path):
    info = run([str(ROOT / "configs" / "tabular_resmlp.yaml"), "--trials", "2", "--run-dir", str(tmp_path / "run")])
    assert info["status"] == "completed" and info["model"]["reference"].endswith("examples/tabular_resmlp.py:ResMLP")
    assert info["data"]["input_dim"] == 8 and info["best"]["val_acc"] > 0.6  # 3 classes: chance is about 0.4


def test_the_cnn_example_gets_images_in_their_shape(tmp_path, monkeypatch):
    write_idx_dataset(tmp_path / "data" / "MNIST" / "raw", n_train=400, n_test=50)
    monkeypatch.setenv("HPSEARCH_DATA", str(tmp_path / "data"))
    info = run([str(ROOT / "configs" / "mnist_cnn.yaml"), "--trials", "1", "--epochs", "1", "--device", "cpu",
                "--run-dir", str(tmp_path / "run")])
    assert info["status"] == "completed" and info["data"]["input_shape"] == [1, 28, 28]


@pytest.mark.slow
def test_the_cnn_example_reaches_98_5_percent_on_real_mnist_in_2_epochs(tmp_path, monkeypatch):
    if not (SHARED_DATA / "MNIST" / "raw").is_dir():
        pytest.skip(f"real MNIST files not found at {SHARED_DATA / 'MNIST' / 'raw'}")
    monkeypatch.setenv("HPSEARCH_DATA", str(SHARED_DATA))
    monkeypatch.setenv("HPSEARCH_CACHE", str(tmp_path / "cache"))  # the shared folder is read-only
    info = run([str(ROOT / "configs" / "mnist_cnn.yaml"), "--device", "cpu", "--run-dir", str(tmp_path / "run")])
    assert info["best"]["val_acc"] >= 0.985 and info["best"]["best_epoch"] <= 2
