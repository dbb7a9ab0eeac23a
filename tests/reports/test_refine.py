"""hpsearch refine's logic: the new space around the top trials, on each parameter's own scale."""

from __future__ import annotations

import json
import math
import os
import socket

import pytest

from hpsearch.errors import RunDirError
from hpsearch.reports.ranges import edge, position
from hpsearch.reports.refine import default_out, refine_run, refined_name
from hpsearch.runs.readers import RunRecord
from hpsearch.space.config import load_config
from hpsearch.space.distributions import Choice, IntLogUniform, IntUniform, LogUniform, OneMinusLogUniform, Uniform
from tests.helpers import FakeTrial, make_run

LR = {"distribution": "log_uniform", "low": 1.0e-4, "high": 1.0}


def run_of(tmp_path, values: list[dict], space: dict, fixed: dict | None = None, name: str = "run"):
    """A run whose trial i has ``values[i]`` and val acc falling with i: trial 0 is the best."""
    trials = [FakeTrial(params, [(0.9 - 0.01 * i, 0.9 - 0.01 * i)]) for i, params in enumerate(values)]
    return RunRecord(make_run(tmp_path / name, trials, space=space, fixed=fixed))


def test_a_log_range_narrows_on_its_log_scale(tmp_path):
    # top 3 (of 12) at 1e-3..3e-3; the worse ones spread over the whole range
    values = [{"lr": v} for v in (2e-3, 1e-3, 3e-3, 1e-4, 0.5, 0.9, 2e-4, 0.05, 0.2, 0.01, 3e-4, 0.7)]
    change = refine_run(run_of(tmp_path, values, {"lr": LR})).changes[0]
    # a tenth of the old 4 decades (0.4 decade) each side of the top trials, not a tenth of 1.0 (linear)
    assert change.new.low == pytest.approx(1e-3 / 10**0.4, rel=0.01)
    assert change.new.high == pytest.approx(3e-3 * 10**0.4, rel=0.01)
    assert isinstance(change.new, LogUniform) and "narrowed" in change.reason


def test_integers_stay_integers_and_fixed_and_order_stay(tmp_path):
    space = {"hidden_units": {"distribution": "int_log_uniform", "low": 16, "high": 1024},
             "lr": LR, "layers": {"distribution": "int_uniform", "low": 1, "high": 5}}
    values = [{"hidden_units": h, "lr": 0.01, "layers": n}
              for h, n in [(100, 2), (120, 3), (90, 2), (16, 5), (1000, 1), (500, 1), (20, 5), (800, 4)]]
    refined = refine_run(run_of(tmp_path, values, space, fixed={"batchnorm": True}), top=3)
    assert list(refined.config.space) == ["hidden_units", "lr", "layers"]
    assert refined.config.fixed == {"batchnorm": True}
    hidden, layers = refined.config.space["hidden_units"], refined.config.space["layers"]
    assert isinstance(hidden, IntLogUniform) and type(hidden.low) is int and type(hidden.high) is int
    assert 16 < hidden.low <= 90 and 120 <= hidden.high < 1024
    assert layers == IntUniform(2, 3)


def test_one_integer_value_keeps_a_neighbour_as_a_range_needs_two(tmp_path):
    space = {"layers": {"distribution": "int_uniform", "low": 1, "high": 3}, "lr": LR}
    values = [{"layers": n, "lr": 0.01} for n in (2, 2, 2, 1, 3, 1, 3, 1)]
    change = refine_run(run_of(tmp_path, values, space), top=3).changes[0]
    assert change.new == IntUniform(2, 3) and "needs low < high" in change.reason


def test_a_choice_keeps_what_the_top_used_and_what_was_never_tried(tmp_path):
    space = {"batch_size": {"distribution": "choice", "values": [16, 32, 64, 128, 256]}, "lr": LR}
    values = [{"batch_size": b, "lr": 0.01} for b in (64, 32, 64, 128, 128, 256, 128, 256)]  # 16 never tried
    change = refine_run(run_of(tmp_path, values, space), top=3).changes[0]
    assert change.new == Choice((16, 32, 64))
    assert "dropped 128, 256 (used only by worse trials)" in change.reason and "16 (never tried)" in change.reason


def test_booleans_and_numbers_are_different_choice_values(tmp_path):
    space = {"batchnorm": {"distribution": "choice", "values": [True, False]}, "lr": LR}
    values = [{"batchnorm": b, "lr": 0.01} for b in (True, True, True, False, False, False)]
    assert refine_run(run_of(tmp_path, values, space), top=3).config.space["batchnorm"] == Choice((True,))


def test_a_best_at_the_top_edge_extends_the_range_by_a_quarter_of_its_width(tmp_path):
    values = [{"lr": v} for v in (0.9, 0.3, 0.5, 1e-4, 1e-3, 2e-4, 1e-2, 3e-3)]
    change = refine_run(run_of(tmp_path, values, {"lr": LR}), top=3).changes[0]
    assert change.new.high == pytest.approx(10.0)  # a quarter of 4 decades past 1.0
    assert change.new.low == pytest.approx(0.3 / 10**0.4, rel=0.01)
    assert "upper tenth" in change.reason and "extends past 1.0e+00 to 1.0e+01" in change.reason and "x10" in change.reason


def test_a_best_in_the_middle_never_leaves_the_old_range(tmp_path):
    values = [{"lr": v} for v in (0.01, 0.02, 0.005, 1e-4, 0.9, 1e-3, 0.3, 3e-4)]
    new = refine_run(run_of(tmp_path, values, {"lr": LR}), top=3).config.space["lr"]
    assert 1e-4 < new.low < new.high < 1.0


def test_an_edge_the_hyperparameter_cannot_pass_stays_and_says_why(tmp_path):
    space = {"dropout": {"distribution": "uniform", "low": 0.1, "high": 0.9}, "layers": {"distribution": "int_uniform", "low": 1, "high": 4}}
    values = [{"dropout": d, "layers": n} for d, n in [(0.12, 1), (0.15, 1), (0.2, 2), (0.8, 4), (0.7, 3), (0.5, 4)]]
    refined = refine_run(run_of(tmp_path, values, space), top=3)
    dropout, layers = refined.changes
    assert dropout.new.low == 0.0 and "extends past 0.1 to 0" in dropout.reason  # as far as dropout goes
    assert layers.new.low == 1 and "layers cannot go past 1" in layers.reason and "integer >= 1" in layers.reason


def test_one_minus_log_narrows_on_the_log_of_one_minus_x(tmp_path):
    space = {"momentum": {"distribution": "one_minus_log_uniform", "low": 0.9, "high": 0.9999}}
    values = [{"momentum": m} for m in (0.99, 0.995, 0.98, 0.9, 0.9999, 0.95, 0.9995, 0.92)]
    new = refine_run(run_of(tmp_path, values, space, fixed={"optimizer": "sgd"}), top=3).config.space["momentum"]
    assert isinstance(new, OneMinusLogUniform)
    # a tenth of 3 decades of 1 - x (0.3 decade) beyond 1 - 0.98 and 1 - 0.995
    assert 1 - new.low == pytest.approx(0.02 * 10**0.3, rel=0.01) and 1 - new.high == pytest.approx(0.005 / 10**0.3, rel=0.01)


def test_a_conditional_parameter_no_refined_optimizer_uses_leaves_the_space(tmp_path):
    space = {"optimizer": {"distribution": "choice", "values": ["sgd", "adam"]},
             "momentum": {"distribution": "one_minus_log_uniform", "low": 0.8, "high": 0.99}}
    values = [{"optimizer": "adam"}] * 3 + [{"optimizer": "sgd", "momentum": 0.9}] * 3
    refined = refine_run(run_of(tmp_path, values, space, fixed={}), top=3)
    assert refined.config.space == {"optimizer": Choice(("adam",))}
    assert refined.changes[1].new is None and "applies only to sgd" in refined.changes[1].reason


def test_default_top_is_a_quarter_at_least_three_and_too_few_trials_say_how_many(tmp_path):
    values = [{"lr": 10 ** (-4 + i / 5)} for i in range(16)]
    assert len(refine_run(run_of(tmp_path, values, {"lr": LR})).top) == 4
    assert len(refine_run(run_of(tmp_path, values[:8], {"lr": LR}, name="r8")).top) == 3
    with pytest.raises(RunDirError, match=r"has 5 completed trials; refine needs at least 6"):
        refine_run(run_of(tmp_path, values[:5], {"lr": LR}, name="r5"))
    with pytest.raises(RunDirError, match=r"--top 6 is larger than the 5 completed trials"):
        refine_run(run_of(tmp_path, values[:5], {"lr": LR}, name="r5b"), top=6)


def test_failed_trials_do_not_count_and_the_best_leads(tmp_path):
    trials = [FakeTrial({"lr": 0.5}, [(0.2, 0.2)], status="failed")] + [
        FakeTrial({"lr": 10 ** (-3 + i / 4)}, [(0.5 + 0.01 * i, 0.5 + 0.01 * i)]) for i in range(8)]
    refined = refine_run(RunRecord(make_run(tmp_path / "r", trials, space={"lr": LR})), top=2)
    assert [t.id for t in refined.top] == [8, 7] and refined.scored == 8
    assert refined.config.refined_trials == [8, 7]


def test_a_run_being_written_is_refused(tmp_path):
    root = make_run(tmp_path / "r", [FakeTrial({"lr": 0.01}, [(0.5, 0.5)])] * 6, space={"lr": LR})
    (root / "run.lock").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    with pytest.raises(RunDirError, match=r"is still being written by process \d+"):
        refine_run(RunRecord(root))


def test_the_written_file_reads_back_as_the_same_config(tmp_path):
    space = {"lr": LR, "batch_size": {"distribution": "choice", "values": [32, 64, 128]},
             "momentum": {"distribution": "one_minus_log_uniform", "low": 0.5, "high": 0.99},
             "dropout": {"distribution": "uniform", "low": 0.0, "high": 0.5}}
    values = [{"lr": 10 ** (-4 + i / 3), "batch_size": [32, 64, 128][i % 3], "momentum": 0.5 + 0.04 * i,
               "dropout": 0.04 * i} for i in range(12)]
    refined = refine_run(run_of(tmp_path, values, space, fixed={"optimizer": "sgd"}), trials=7)
    path = default_out(refined)
    assert path == tmp_path / "run" / "fake-refined.yaml"
    path.write_text(refined.to_yaml())
    again = load_config(path)
    assert again == refined.config.__class__(**{**refined.config.__dict__, "source": str(path)})
    assert again.trials == 7 and again.seed == 1 and again.name == "fake-refined"
    assert again.refined_from == str((tmp_path / "run").resolve())
    assert "refined_trials: [0, 1, 2]" in path.read_text()
    assert "# refining" in path.read_text() and "lr: {distribution: log_uniform, low: " in path.read_text()


def test_refined_names_count_up():
    assert [refined_name(n) for n in ("q", "q-refined", "q-refined2")] == ["q-refined", "q-refined2", "q-refined3"]


@pytest.mark.parametrize(("dist", "value", "where"), [
    (LogUniform(1e-4, 1.0), 1e-4 * 10**0.3, "low"), (LogUniform(1e-4, 1.0), 1e-4 * 10**0.5, None),
    (LogUniform(1e-4, 1.0), 0.5, "high"), (Uniform(0.0, 1.0), 0.95, "high"), (Uniform(0.0, 1.0), 0.5, None),
    (IntUniform(2, 4), 4, "high"), (IntUniform(2, 4), 3, None), (OneMinusLogUniform(0.9, 0.999), 0.91, "low"),
    (Choice((1, 2)), 2, None),
])
def test_edges_are_the_outer_tenth_on_the_range_scale(dist, value, where):
    assert edge(dist, value) == where


def test_position_is_on_the_log_scale():
    assert position(LogUniform(1e-4, 1.0), 1e-2) == pytest.approx(0.5)
    assert position(OneMinusLogUniform(0.9, 0.999), 0.99) == pytest.approx(0.5)
    assert not math.isclose(position(LogUniform(1e-4, 1.0), 1e-2), 1e-2)


def test_compare_names_refine_when_it_fits_and_says_widen_only_at_an_edge(tmp_path):
    from hpsearch.reports.compare import compare

    middle = [{"lr": v} for v in (0.01, 0.02, 0.005, 1e-4, 0.9, 1e-3, 0.3, 3e-4)]
    text = compare([run_of(tmp_path, middle, {"lr": LR}, name="middle")])
    assert f"coarse to fine: hpsearch refine {tmp_path / 'middle'} (the best sits inside every range" in text
    assert "widen" not in text
    edge_run = [{"lr": v} for v in (0.9, 0.01, 0.005, 1e-4, 0.02, 1e-3, 0.3, 3e-4)]
    text = compare([run_of(tmp_path, edge_run, {"lr": LR}, name="edge")])
    assert "widen the range: the best sits at an edge of lr (top), which refine extends" in text
    few = compare([run_of(tmp_path, middle[:5], {"lr": LR}, name="few")])
    assert "hpsearch refine" not in few
