"""``hpsearch init``: a commented starter config that ``hpsearch run`` runs as it is, never overwriting."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hpsearch.space.config import DATASETS, load_config
from tests.helpers import invoke

pytestmark = pytest.mark.usefixtures("in_tmp")


@pytest.mark.parametrize("dataset", [d for d in DATASETS if d != "file"])
def test_every_dataset_gets_a_commented_config_that_validates(dataset):
    code, out = invoke("init", "--dataset", dataset)
    assert code == 0, out
    assert "wrote hpsearch.yaml" in out and "hpsearch run hpsearch.yaml" in out
    text = Path("hpsearch.yaml").read_text()
    assert text.startswith("# A starter search written by `hpsearch init`") and text.count("#") > 10
    cfg = load_config("hpsearch.yaml")
    assert (cfg.name, cfg.data.dataset) == ("hpsearch", dataset)
    assert invoke("validate", "hpsearch.yaml")[0] == 0


def test_init_refuses_to_overwrite_a_file():
    Path("mine.yaml").write_text("name: mine\n")
    code, out = invoke("init", "mine.yaml")
    assert code == 2 and out.startswith("error: mine.yaml exists; hpsearch init never overwrites")
    assert Path("mine.yaml").read_text() == "name: mine\n"


@pytest.mark.parametrize("args, message", [
    (["--dataset", "file"], "--dataset file needs --path DATA"),
    (["--path", "nope.csv"], "--path nope.csv: no such file"),
    (["--dataset", "mnist", "--path", "x.csv"], "--path is for --dataset file"),
    (["--dataset", "MNIST"], "Invalid value for '--dataset'"),
])
def test_bad_options_exit_2_and_write_nothing(args, message):
    code, out = invoke("init", *args)
    assert code == 2 and message in out
    assert not Path("hpsearch.yaml").exists()


def test_a_csv_starter_names_the_label_column_drops_the_id_and_runs_as_it_is(tmp_path):
    """From a project folder: the data in data/, the config in configs/ (its path relative to it)."""
    rng = np.random.default_rng(0)
    (tmp_path / "data").mkdir()
    rows = ["id;f1;f2;species"]
    rows += [f"{i};{rng.normal() + 3 * (i % 2):.3f};{rng.normal():.3f};{'ab'[i % 2]}" for i in range(120)]
    (tmp_path / "data" / "flowers.csv").write_text("\n".join(rows) + "\n")
    code, out = invoke("init", "configs/flowers.yaml", "--path", "data/flowers.csv")
    assert code == 0, out
    text = Path("configs/flowers.yaml").read_text()
    assert "path: ../data/flowers.csv" in text and "target: species" in text and "drop: [id]" in text
    assert "values: [32, 64]" in text, "no batch larger than the 96 training examples"
    code, out = invoke("run", "configs/flowers.yaml", "--run-dir", "run", "-q")
    assert code == 0, out
    data = json.loads(Path("run/run.json").read_text())["data"]
    assert data["classes"] == ["a", "b"] and data["input_dim"] == 2


def test_an_npz_starter_runs_as_it_is(tmp_path):
    rng = np.random.default_rng(0)
    y = np.arange(200) % 3
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(200, 4)) + y[:, None], Y=y + 1)
    code, out = invoke("init", "--path", "d.npz")
    assert code == 0, out
    assert "# x_key: x" in Path("hpsearch.yaml").read_text()
    code, out = invoke("run", "hpsearch.yaml", "--run-dir", "run", "-q")
    assert code == 0, out
    assert json.loads(Path("run/run.json").read_text())["data"]["classes"] == ["1", "2", "3"]
