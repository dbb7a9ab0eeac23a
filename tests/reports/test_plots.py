from __future__ import annotations

import importlib.util

import pytest
from click.testing import CliRunner

from hpsearch.cli.main import main
from hpsearch.reports import plots as plots
from hpsearch.runs.readers import RunRecord
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
    assert 'needs matplotlib, which is not installed: pip install -e ".[plot]"' in result.output
    assert not list(root.glob("*.png"))


def drawn(monkeypatch, root) -> dict:
    """The figures plot_run draws, by file name, kept open to measure where their texts landed."""
    figures: dict = {}
    monkeypatch.setattr(plots, "_save", lambda fig, plt, path: figures.__setitem__(path.name, fig))
    plots.plot_run(RunRecord(root))
    return figures


def boxes(fig, texts) -> list:
    renderer = fig.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in texts if t.get_visible() and t.get_text()]


def overlapping(extents) -> list:
    return [(a, b) for i, a in enumerate(extents) for b in extents[i + 1:] if a.overlaps(b)]


def test_tick_labels_never_overprint(tmp_path, monkeypatch):
    """A narrow one-minus range (beta1 from 0.9 to 0.935: less than a decade of 1 - beta1) once printed
    minor and major tick labels on top of each other."""
    pytest.importorskip("matplotlib")
    space = {**{k: v for k, v in SPACE.items() if k != "momentum"},
             "beta1": {"distribution": "one_minus_log_uniform", "low": 0.9, "high": 0.935},
             "beta2": {"distribution": "one_minus_log_uniform", "low": 0.99, "high": 0.9999},
             "lr_decay": {"distribution": "log_uniform", "low": 0.05, "high": 0.1}}
    runs = [FakeTrial({"lr": 10 ** -(1 + i / 4), "batchnorm": i % 2 == 0, "beta1": 0.9 + i / 400, "layers": 1 + i % 3,
                       "beta2": 1 - 10 ** -(2 + i / 7), "lr_decay": 0.05 + i / 300}, [(0.6 + 0.02 * i, 0.55 + 0.02 * i)])
            for i in range(14)]
    root = make_run(tmp_path / "r", runs, space=space, fixed={"optimizer": "adamw"})
    fig = drawn(monkeypatch, root)["metric_vs_params.png"]
    for ax in fig.axes:
        if ax.get_visible():
            labels = boxes(fig, [*ax.get_xticklabels(), *ax.get_xticklabels(minor=True)])
            assert len(labels) >= 2 and overlapping(labels) == [], ax.get_xlabel()
    beta2 = next(ax for ax in fig.axes if ax.get_xlabel().startswith("beta2"))
    renderer = fig.canvas.get_renderer()
    shown = sorted((t.get_window_extent(renderer).x0, t.get_text()) for t in beta2.get_xticklabels() if t.get_text())
    assert [text for _, text in shown] == ["0.99", "0.999", "0.9999"]  # beta2 itself, growing to the right


def test_train_vs_val_labels_do_not_merge(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    runs = [FakeTrial({"lr": 0.01, "batch_size": 32, "hidden_units": 64}, [(0.80 + 0.002 * i, 0.79 + 0.002 * (i % 7))])
            for i in range(30)]  # thirty trials within two points of each other
    fig = drawn(monkeypatch, make_run(tmp_path / "r", runs))["train_vs_val.png"]
    labels = boxes(fig, fig.axes[0].texts)
    assert labels and overlapping(labels) == []
    assert "0029" in [t.get_text() for t in fig.axes[0].texts]  # the best trial keeps its label


def test_batchnorm_means_are_not_printed_over_the_points(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    fig = drawn(monkeypatch, bn_run(tmp_path))["batchnorm.png"]
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    points = [ax.transData.transform(xy) for c in ax.collections if hasattr(c, "get_offsets") for xy in c.get_offsets()]
    for text in ax.texts:
        box = text.get_window_extent(renderer)
        assert not any(box.contains(*p) for p in points), text.get_text()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["batch norm off\nmean 68.0% (n=4)",
                                                            "batch norm on\nmean 66.0% (n=4)"]
