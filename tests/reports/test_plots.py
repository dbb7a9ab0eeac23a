from __future__ import annotations

import importlib.util

import pytest
from click.testing import CliRunner

from hpsearch.cli.main import main
from hpsearch.reports import plots as plots
from hpsearch.runs.store import RunRecord
from tests.helpers import FakeTrial, make_run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SPACE = {
    "lr": {"distribution": "log_uniform", "low": 1.0e-4, "high": 1.0},
    "batchnorm": {"distribution": "choice", "values": [False, True]},
    "momentum": {"distribution": "one_minus_log_uniform", "low": 0.9, "high": 0.999},
    "layers": {"distribution": "int_uniform", "low": 1, "high": 3},
}


def bn_run(tmp_path):
    trials = [FakeTrial({"lr": 10 ** -(1 + i % 4), "batchnorm": i % 2 == 0, "momentum": 0.9 + i / 200, "layers": 1 + i % 3},
                        [(0.6 + 0.02 * i, 0.55 + 0.02 * i), (0.7 + 0.02 * i, 0.6 + 0.02 * i)],
                        status="diverged" if i == 5 else "completed") for i in range(8)]
    return make_run(tmp_path / "bn", trials, space=SPACE, fixed={"optimizer": "sgd"})


def test_plot_writes_valid_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    root = bn_run(tmp_path)
    result = plots.plot_run(RunRecord(root))
    names = sorted(p.name for p in result.written)
    assert names == ["batchnorm.png", "learning_curves.png", "metric_vs_params.png", "train_vs_val.png"]
    for path in result.written:
        assert path.parent == root and path.read_bytes()[:8] == PNG_SIGNATURE and path.stat().st_size > 5000


def test_batchnorm_plot_skipped_when_one_value_sampled(tmp_path):
    pytest.importorskip("matplotlib")
    root = make_run(tmp_path / "r", [FakeTrial({"lr": 0.01, "batch_size": 32, "hidden_units": 64}, [(0.8, 0.7)])])
    result = CliRunner().invoke(main, ["plot", str(root)])
    assert result.exit_code == 0, result.output
    assert f"wrote {root / 'train_vs_val.png'}" in result.output
    assert "skipped batchnorm.png: batchnorm was not sampled both off and on" in result.output
    assert not (root / "batchnorm.png").exists()


def test_without_matplotlib_the_command_says_how_to_install(tmp_path, monkeypatch):
    root = bn_run(tmp_path)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    result = CliRunner().invoke(main, ["plot", str(root)])
    assert result.exit_code == 2
    assert "needs matplotlib, which is not installed: pip install 'hpsearch[plot]'" in result.output
    assert not list(root.glob("*.png"))
