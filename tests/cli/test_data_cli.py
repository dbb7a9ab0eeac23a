"""Bad data through the command line: one clear line, exit code 2, no traceback, nothing under runs/.
And --test: only the best trial is evaluated on the test split, and run.json says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torchvision.datasets
from click.testing import CliRunner

from hpsearch.cli.main import main
from tests.helpers import write_idx_dataset


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HPSEARCH_CACHE", str(tmp_path / "user-cache"))
    monkeypatch.delenv("HPSEARCH_DATA", raising=False)


def config(write_config, data: dict[str, Any], **top: Any) -> Path:
    return write_config({"name": "d", "trials": 2, "epochs": 2, "device": "cpu", "data": data,
                         "fixed": {"optimizer": "adam", "batch_size": 32, "hidden_units": 32},
                         "space": {"lr": {"distribution": "log_uniform", "low": 3.0e-3, "high": 1.0e-2}}, **top})


def fails_cleanly(path: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["run", str(path), *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.output.startswith("error: ")
    assert not Path("runs").exists(), "bad data must be reported before the run folder is made"
    return result.output


def npz(path: Path, n: int = 200, **arrays: Any) -> str:
    rng = np.random.default_rng(0)
    content = {"x": rng.normal(size=(n, 5)), "y": np.arange(n) % 3, **arrays}
    np.savez(path, **content)
    return str(path)


def test_missing_files_say_where_they_were_looked_for_and_how_to_place_them(write_config, tmp_path):
    out = fails_cleanly(config(write_config, {"dataset": "mnist", "root": str(tmp_path / "nowhere"), "download": False}))
    assert "missing train-images-idx3-ubyte" in out and str(tmp_path / "nowhere" / "MNIST" / "raw") in out
    assert "download: false is set" in out and "place the files by hand" in out
    assert "train-images-idx3-ubyte.gz" in out, "names the files to fetch"


def test_a_failed_download_is_one_clear_error(write_config, tmp_path, monkeypatch):
    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", ["http://127.0.0.1:9/"])  # nothing listens there
    out = fails_cleanly(config(write_config, {"dataset": "mnist", "root": str(tmp_path / "data")}))
    assert "mnist: download failed: http://127.0.0.1:9/train-images-idx3-ubyte.gz" in out
    assert "place the files by hand" in out
    assert not list((tmp_path / "data").rglob("*.gz")), "no half-downloaded file is left to look present"


def test_labels_out_of_range_in_idx_files(write_config, tmp_path):
    labels = np.arange(600, dtype=np.uint8) % 10
    labels[7] = 12
    write_idx_dataset(tmp_path / "data" / "MNIST" / "raw", train_labels=labels)
    out = fails_cleanly(config(write_config, {"dataset": "mnist", "root": str(tmp_path / "data")}))
    assert "mnist training labels): labels out of range: found 0..12, but labels must be integers 0..9" in out


def test_test_labels_out_of_range_in_a_file(write_config, tmp_path):
    path = npz(tmp_path / "d.npz", x_test=np.ones((10, 5)), y_test=np.arange(10) % 4)
    assert "labels out of range: found 0..3" in fails_cleanly(config(write_config, {"dataset": "file", "path": path}))


def test_nan_features(write_config, tmp_path):
    x = np.ones((200, 5))
    x[17, 3] = np.nan
    path = npz(tmp_path / "d.npz", x=x)
    out = fails_cleanly(config(write_config, {"dataset": "file", "path": path}))
    assert "features contain 1 NaN or infinite value(s), the first in example 17 (0-based), feature 3" in out


def test_fewer_than_two_classes(write_config, tmp_path):
    path = npz(tmp_path / "d.npz", y=np.zeros(200, dtype=int))
    out = fails_cleanly(config(write_config, {"dataset": "file", "path": path}))
    assert "the training split has only class 0; classification needs at least 2 classes" in out


def test_fewer_examples_than_one_batch(write_config, tmp_path):
    path = npz(tmp_path / "d.npz", n=30)
    out = fails_cleanly(config(write_config, {"dataset": "file", "path": path}))
    assert "the training split has 24 examples, fewer than one batch (fixed.batch_size is up to 32)" in out


def test_a_missing_file_says_where_it_looked(write_config, tmp_path):
    out = fails_cleanly(config(write_config, {"dataset": "file", "path": "no/such.csv"}))
    assert f"{tmp_path / 'no' / 'such.csv'} does not exist" in out


def test_test_on_a_dataset_without_a_test_split(write_config, tmp_path):
    path = npz(tmp_path / "d.npz")
    out = fails_cleanly(config(write_config, {"dataset": "file", "path": path}), "--test")
    assert "has no test split" in out and "x_test and y_test" in out


def test_run_with_test_flag_evaluates_only_the_best_trial_on_the_test_split(write_config, tmp_path):
    write_idx_dataset(tmp_path / "data" / "KMNIST" / "raw")
    path = config(write_config, {"dataset": "kmnist", "root": str(tmp_path / "data")})
    result = CliRunner().invoke(main, ["run", str(path), "--run-dir", "run", "--test", "-q"])
    assert result.exit_code == 0, result.output
    info = json.loads(Path("run/run.json").read_text())
    test = info["test"]
    assert test["trial"] == info["best"]["trial"] and test["val_acc"] == info["best"]["val_acc"]
    assert test["examples"] == 200 and test["test_acc"] > 0.9, "the learnable images are learned"
    assert f"test_acc {100 * test['test_acc']:.1f}% on the 200 held-out test examples" in result.output
    assert Path("run/best_model.pt").is_file()
    assert info["data"]["test"] == 200 and info["data"]["train"] + info["data"]["val"] == 600


def test_config_test_key_and_a_file_test_split(write_config, tmp_path):
    rng = np.random.default_rng(1)
    y = np.arange(300) % 2
    x = rng.normal(size=(300, 3)) + 3 * y[:, None]
    np.savez(tmp_path / "d.npz", x=x[:240], y=np.array(["no", "yes"])[y[:240]], x_test=x[240:],
             y_test=np.array(["no", "yes"])[y[240:]])
    path = config(write_config, {"dataset": "file", "path": "d.npz"}, test=True)
    result = CliRunner().invoke(main, ["run", str(path), "--run-dir", "run", "-q"])
    assert result.exit_code == 0, result.output
    info = json.loads(Path("run/run.json").read_text())
    assert info["data"]["classes"] == ["no", "yes"] and info["test"]["examples"] == 60
    assert info["test"]["test_acc"] > 0.9
    assert "test_acc" not in info["best"], "validation and test figures are kept apart"


def test_without_test_the_test_split_is_not_evaluated(write_config, tmp_path):
    write_idx_dataset(tmp_path / "data" / "MNIST" / "raw")
    path = config(write_config, {"dataset": "mnist", "root": str(tmp_path / "data")})
    result = CliRunner().invoke(main, ["run", str(path), "--run-dir", "run", "-q", "--trials", "1"])
    assert result.exit_code == 0 and "test_acc" not in result.output
    assert "test" not in json.loads(Path("run/run.json").read_text())


def test_a_real_csv_with_an_id_column_semicolons_and_labels_1_to_3(write_config, tmp_path):
    """The shapes real files come in: an id column (drop), ';' (detected), labels 1..3 (mapped)."""
    rng = np.random.default_rng(0)
    rows = ["id;f1;f2;f3;kind"]
    for i in range(150):
        label = i % 3 + 1
        rows.append(";".join([str(1000 + i), *(f"{v:.4f}" for v in rng.normal(size=3) + 2 * label), str(label)]))
    (tmp_path / "real.csv").write_text("\n".join(rows) + "\n")
    path = config(write_config, {"dataset": "file", "path": "real.csv", "target": "kind", "drop": ["id"]})
    result = CliRunner().invoke(main, ["run", str(path), "--run-dir", "run", "-q"])
    assert result.exit_code == 0, result.output
    data = json.loads(Path("run/run.json").read_text())["data"]
    assert data["classes"] == ["1", "2", "3"] and data["input_dim"] == 3
    assert data["labels"] == "integers mapped to 0..C-1 in increasing order"


def test_an_npz_saved_with_scikit_learn_names_runs(write_config, tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "sk.npz", X=rng.normal(size=(120, 4)), Y=np.arange(120) % 2)
    result = CliRunner().invoke(main, ["run", str(config(write_config, {"dataset": "file", "path": "sk.npz"})), "-q"])
    assert result.exit_code == 0, result.output


def test_relative_data_paths_are_read_from_the_config_files_folder(tmp_path, monkeypatch):
    """``hpsearch run ../mydata/csv.yaml`` finds blobs.csv beside the config, wherever the shell is."""
    import yaml

    mydata, project = tmp_path / "mydata", tmp_path / "project"
    mydata.mkdir()
    project.mkdir()
    rows = ["a,b,label"] + [f"{i % 7},{(i * 3) % 5},{'cat' if i % 2 else 'dog'}" for i in range(100)]
    (mydata / "blobs.csv").write_text("\n".join(rows) + "\n")
    (mydata / "csv.yaml").write_text(yaml.safe_dump({"trials": 1, "epochs": 1, "device": "cpu", "fixed": {"batch_size": 16},
                                                     "data": {"dataset": "file", "path": "blobs.csv"}}))
    monkeypatch.chdir(project)
    result = CliRunner().invoke(main, ["run", "../mydata/csv.yaml", "--run-dir", "run", "-q"])
    assert result.exit_code == 0, result.output
    written = yaml.safe_load((project / "run" / "config.yaml").read_text())["data"]["path"]
    assert written == str(mydata / "blobs.csv"), "the run folder keeps the absolute path"
    result = CliRunner().invoke(main, ["validate", "../mydata/csv.yaml"])
    assert result.exit_code == 0, result.output
    (mydata / "blobs.csv").unlink()
    result = CliRunner().invoke(main, ["run", "../mydata/csv.yaml", "-q"])
    assert result.exit_code == 2 and f"{mydata / 'blobs.csv'} does not exist" in result.output
    assert "read from the config file's folder" in result.output
