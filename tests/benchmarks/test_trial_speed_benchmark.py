"""The speed benchmark runs end to end on a tiny setting (no timing is asserted: only that every way
trained, reached a sane accuracy and that the report says what it measured)."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from hpsearch.data.load import LOADERS
from tests.helpers import ROOT as ROOT_DIR
from tests.helpers import SHARED_DATA

REPO = ROOT_DIR
DATA = SHARED_DATA


@pytest.fixture(autouse=True)
def loaders_restored():
    """The benchmark adds its data set to the global loader table (ways.register_dataset); take it out
    again, so later tests see the table the config's dataset names describe."""
    saved = dict(LOADERS)
    yield
    LOADERS.clear()
    LOADERS.update(saved)


def load_benchmark():
    path = REPO / "benchmarks" / "trial_speed.py"
    spec = importlib.util.spec_from_file_location("trial_speed", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["trial_speed"] = module
    spec.loader.exec_module(module)
    return module


TINY = ["--subset", "600", "--epochs", "1", "--repeats", "1", "--batch-sizes", "128", "--device", "cpu", "--threads", "1"]


def check_rows(rows: list[dict], batchnorm: list[bool]) -> None:
    assert [(r["batch_size"], r["batchnorm"]) for r in rows] == [(128, bn) for bn in batchnorm]
    for row in rows:
        for way in ("dataloader", "hpsearch", "floor"):
            assert row[way] > 0
            assert 0.0 <= row[f"{way}_acc"] <= 1.0
        assert 0.0 < row["eval_share"] < 1.0


def test_generated_data_all_three_ways_and_cli(capsys):
    out = load_benchmark().main([*TINY, "--data", "generated", "--cli-repeats", "1"])
    check_rows(out["rows"], [False, True])
    # the generated set is learnable: every way beats chance (10%) clearly after one epoch
    assert all(r[f"{w}_acc"] > 0.3 for r in out["rows"] for w in ("dataloader", "hpsearch", "floor"))
    commands = {row[0]: row for row in out["cli"]}
    assert commands["hpsearch --help"][2] == "0"
    assert commands["hpsearch --help"][3] == "no"  # --help does not import torch
    printed = capsys.readouterr().out
    assert "data: generated" in printed
    assert "speed-up vs dataloader" in printed
    assert "hpsearch --help" in printed


@pytest.mark.skipif(not (DATA / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").exists(),
                    reason=f"real MNIST not found under {DATA}")
def test_real_mnist_through_torchvision_copy(capsys):
    out = load_benchmark().main([*TINY, "--data", "real", "--batchnorm", "on", "--cli-repeats", "0"])
    check_rows(out["rows"], [True])
    assert "real MNIST" in capsys.readouterr().out
