"""The custom-model benchmark runs end to end on a tiny generated set (no timing is asserted: only
that both ways trained the same model to a sane accuracy and the ratio is reported)."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from hpsearch.data.load import LOADERS
from tests.helpers import ROOT


@pytest.fixture(autouse=True)
def loaders_restored():
    """The benchmark registers its data set in the global loader table; later tests must not see it."""
    saved = dict(LOADERS)
    yield
    LOADERS.clear()
    LOADERS.update(saved)


def test_both_ways_train_the_example_cnn(capsys):
    path = ROOT / "benchmarks" / "custom_model_speed.py"
    spec = importlib.util.spec_from_file_location("custom_model_speed", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["custom_model_speed"] = module
    spec.loader.exec_module(module)
    out = module.main(["--data", "generated", "--subset", "1500", "--epochs", "2", "--repeats", "1"])
    assert set(out["seconds_per_epoch"]) == {"dataloader", "hpsearch"} and out["speedup"] > 0
    assert all(0.2 < acc <= 1.0 for acc in out["accuracy"].values()), out["accuracy"]  # 10 classes: chance is 0.1
    assert "speed-up" in capsys.readouterr().out
