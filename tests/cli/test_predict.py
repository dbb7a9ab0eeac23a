"""``hpsearch predict`` and ``hpsearch.load_model``: the best model on new raw data, with the training
preprocessing applied inside. The check that it is applied right: predicting the test split's raw
examples gives exactly the test accuracy ``--test`` measured on the preprocessed split."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import hpsearch
from hpsearch.cli.main import main
from tests.helpers import learnable_images, write_idx_dataset

FIXED = {"optimizer": "adam", "batch_size": 32, "hidden_units": 32, "lr": 3.0e-3}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HPSEARCH_CACHE", str(tmp_path / "user-cache"))


def run(write_config, data: dict, tmp_path: Path, test: bool = True) -> tuple[Path, dict]:
    path = write_config({"name": "p", "trials": 2, "epochs": 3, "device": "cpu", "test": test, "data": data,
                         "fixed": FIXED, "space": {"dropout": {"distribution": "choice", "values": [0.0, 0.1]}}})
    result = CliRunner().invoke(main, ["run", str(path), "--run-dir", str(tmp_path / "run"), "-q"])
    assert result.exit_code == 0, result.output
    return tmp_path / "run", json.loads((tmp_path / "run" / "run.json").read_text())


def predict(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, ["predict", *args])
    assert result.exit_code == code, result.output
    return result.output


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def tabular(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three features on wildly different scales (standardization matters); labels by name."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)) * [1.0, 100.0, 0.01] + [0.0, 500.0, 3.0]
    y = np.where(x[:, 0] + (x[:, 1] - 500) / 100 > 0, "cat", "dog")
    return x, y


def write_csv(path: Path, header: list[str], columns: list) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(zip(*columns, strict=True))
    return path


def test_predicting_the_raw_test_split_reproduces_the_test_accuracy(write_config, tmp_path):
    x, y = tabular(400, 0)
    x_test, y_test = tabular(100, 1)
    np.savez(tmp_path / "data.npz", x=x.reshape(400, 3, 1), y=y, x_test=x_test.reshape(100, 3, 1), y_test=y_test)
    run_dir, info = run(write_config, {"dataset": "file", "path": str(tmp_path / "data.npz")}, tmp_path)
    np.savez(tmp_path / "new.npz", x=x_test.reshape(100, 3, 1))
    predicted = [r["class"] for r in rows(predict(str(run_dir), "new.npz"))]
    assert np.mean(np.array(predicted) == y_test) == info["test"]["test_acc"]
    model = hpsearch.load_model(run_dir)
    assert model.classes == ["cat", "dog"] and isinstance(model, torch.nn.Module)
    assert model.predict(torch.tensor(x_test.reshape(100, 3), dtype=torch.float32)) == predicted  # flattened works too
    record = torch.load(run_dir / "best_model.pt", weights_only=True)
    assert record["classes"] == ["cat", "dog"] and record["preprocessing"]["input_shape"] == [3, 1]
    assert record["preprocessing"]["mean"].tolist() == pytest.approx([0.0, 500.0, 3.0], abs=10)


def test_images_go_in_as_raw_pixels(write_config, tmp_path):
    write_idx_dataset(tmp_path / "data" / "MNIST" / "raw", n_train=300, n_test=100)
    run_dir, info = run(write_config, {"dataset": "mnist", "root": str(tmp_path / "data")}, tmp_path)
    images, labels = learnable_images(100, seed=2)  # the test split, as uint8 pixels 0..255
    torch.save(torch.from_numpy(images), tmp_path / "new.pt")
    predicted = [int(r["class"]) for r in rows(predict(str(run_dir), "new.pt"))]
    assert np.mean(np.array(predicted) == labels) == info["test"]["test_acc"]
    record = torch.load(run_dir / "best_model.pt", weights_only=True)
    assert record["preprocessing"]["input_shape"] == [28, 28] and record["preprocessing"]["scale"] == 1 / 255
    assert record["classes"] == [str(d) for d in range(10)]


def test_a_csv_matches_columns_by_name_and_probabilities_come_with_proba(write_config, tmp_path):
    x, y = tabular(300, 0)
    write_csv(tmp_path / "train.csv", ["a", "b", "c", "label"], [*x.T, y])
    run_dir, _ = run(write_config, {"dataset": "file", "path": "train.csv"}, tmp_path, test=False)
    write_csv(tmp_path / "new.csv", ["c", "label", "b", "a"], [x[:5, 2], y[:5], x[:5, 1], x[:5, 0]])  # reordered
    write_csv(tmp_path / "plain.csv", ["a", "b", "c"], [*x[:5].T])
    out = rows(predict(str(run_dir), "new.csv", "--proba"))
    assert [r["row"] for r in out] == ["0", "1", "2", "3", "4"]
    assert list(out[0]) == ["row", "class", "prob_cat", "prob_dog"]
    assert all(abs(float(r["prob_cat"]) + float(r["prob_dog"]) - 1) < 1e-5 for r in out)
    assert [r["class"] for r in out] == [r["class"] for r in rows(predict(str(run_dir), "plain.csv"))]
    assert predict(str(run_dir), "new.csv", "--out", "pred.csv") == "wrote 5 prediction(s) to pred.csv\n"
    assert [r["class"] for r in rows(Path("pred.csv").read_text())] == [r["class"] for r in out]


def test_wrong_columns_or_shapes_exit_2_naming_what_differs(write_config, tmp_path):
    x, y = tabular(300, 0)
    write_csv(tmp_path / "train.csv", ["a", "b", "c", "label"], [*x.T, y])
    run_dir = str(run(write_config, {"dataset": "file", "path": "train.csv"}, tmp_path, test=False)[0])
    write_csv(tmp_path / "bad.csv", ["a", "b", "id"], [[1.0], [2.0], [3.0]])
    out = predict(run_dir, "bad.csv", code=2)
    assert out.startswith("error: bad.csv: its columns differ") and "missing 'c'" in out
    assert "not in the training data: 'id'" in out and "Traceback" not in out
    np.savez(tmp_path / "bad.npz", x=np.zeros((4, 2)))
    assert "examples of shape [2] (array [4, 2]), but the model takes [N, 3]" in predict(run_dir, "bad.npz", code=2)
    write_csv(tmp_path / "text.csv", ["a", "b", "c"], [["1"], ["x"], ["3"]])
    assert "line 2, column 'b': 'x' is not a number" in predict(run_dir, "text.csv", code=2)
    (tmp_path / "new.txt").write_text("1,2,3\n")
    assert "give a .csv, .npz or .pt file" in predict(run_dir, "new.txt", code=2)
    assert "does not exist: no trial" in predict(str(tmp_path), "bad.csv", code=2)
