from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys

import pytest

from hpsearch.errors import HpsearchError
from hpsearch.reports.compare import compare, trial_rows
from hpsearch.reports.show import model_summary, resolve_trial, show_trial
from hpsearch.runs.readers import RunRecord
from tests.helpers import FakeTrial, make_run


@pytest.fixture
def run(tmp_path):
    trials = [
        FakeTrial({"lr": 0.0032, "batch_size": 64, "hidden_units": 100}, [(0.80, 0.78), (0.85, 0.831)]),
        FakeTrial({"lr": 0.5, "batch_size": 32, "hidden_units": 40}, [(0.30, 0.29)], status="diverged"),
        FakeTrial({"lr": 0.01, "batch_size": 128, "hidden_units": 300}, [(0.99, 0.90), (1.0, 0.88)]),
        FakeTrial({"lr": 0.1, "batch_size": 32, "hidden_units": 64}, [], status="failed"),
        FakeTrial({"lr": 0.02, "batch_size": 32, "hidden_units": 64}, [(0.5, 0.5)], status="running"),
        FakeTrial({"lr": 1e-4, "batch_size": 64, "hidden_units": 32}, [(0.40, 0.39), (0.50, 0.49)]),
    ]
    return RunRecord(make_run(tmp_path / "run-a", trials, target_error=0.02))


def data_lines(text: str) -> list[str]:
    return text.split("\n\n")[0].splitlines()[2:]


def test_table_sorts_best_first_and_others_after_completed(run):
    text = compare([run])
    header = text.splitlines()[0].split()
    assert header[:4] == ["trial", "lr", "batch_size", "hidden_units"]  # declared order
    trials = [line.split()[0] for line in data_lines(text)]
    assert trials == ["0002", "0000", "0005", "0001", "0003", "0004"]
    first = data_lines(text)[0]
    assert "1.0e-02" in first and "99.0%" in first and "90.0%" in first and "+9.0%" in first and "high variance" in first
    assert "3.2e-03" in data_lines(text)[1] and "83.1%" in data_lines(text)[1]
    assert "running" in data_lines(text)[-1] and " - " in data_lines(text)[-1]


def test_summary_says_what_to_try_next(run):
    text = compare([run])
    assert "6 trials (3 completed, 1 diverged, 1 failed, 1 running), target error 2.0%" in text
    assert "best trial 0002 (val acc 90.0%): high variance" in text
    assert "try next: more training data" in text and "dropout" in text


def test_json_holds_raw_numbers_in_the_table_order(run):
    rows = json.loads(compare([run], fmt="json"))
    assert [r["trial"] for r in rows] == [2, 0, 5, 1, 3, 4]
    assert list(rows[0])[:7] == ["trial", "lr", "batch_size", "hidden_units", "train_acc", "val_acc", "gap"]
    assert rows[0]["lr"] == 0.01 and rows[0]["val_acc"] == 0.90 and rows[0]["status"] == "completed"
    assert rows[0]["diagnosis"] == "high variance" and rows[0]["variance"] == pytest.approx(0.09)
    assert rows[-1]["status"] == "running" and rows[-1]["val_acc"] is None


def test_sort_top_and_csv(run):
    rows = list(csv.DictReader(io.StringIO(compare([run], sort="lr", top=2, fmt="csv"))))
    assert [r["trial"] for r in rows] == ["5", "0"]  # completed trials by lr, smallest first
    assert float(rows[1]["lr"]) == 0.0032
    with pytest.raises(HpsearchError, match="cannot sort by 'nope'; choose one of val_acc"):
        compare([run], sort="nope")


def test_several_runs_get_a_run_column(run, tmp_path):
    other = RunRecord(make_run(tmp_path / "run-b", [FakeTrial({"lr": 0.001}, [(0.95, 0.95)])],
                               space={"lr": {"distribution": "log_uniform", "low": 1e-4, "high": 1.0}}))
    text = compare([run, other], fmt="markdown")
    assert text.startswith("| run")
    assert data_lines(text)[0].startswith("| run-b")
    assert "run-a: 6 trials" in text and "run-b: 1 trials" in text
    assert json.loads(compare([run, other], fmt="json"))[0]["run"] == "run-b"


def test_trial_rows_read_statuses(run):
    assert [r.status for r in trial_rows(run)] == ["completed", "diverged", "completed", "failed", "running", "completed"]


def test_show_prints_params_model_diagnosis_and_curve(run):
    text = show_trial(*resolve_trial(run.root / "trials" / "0002", None))
    assert "trial 0002 of run-a" in text and "completed" in text
    assert "lr             1.0e-02" in text
    assert "model: 40 -> 300 -> 300 -> 5" in text
    assert "diagnosis: high variance" in text
    curve = text.split("\n\n")[-1].splitlines()
    assert curve[0].split()[:2] == ["epoch", "lr"] and len(curve) == 4
    assert curve[2].split()[0] == "1*"  # the best epoch (val 90%) is starred
    assert "-12.0%" not in text and "+12.0%" in curve[3]


def test_show_by_run_and_id_and_bad_ids(run):
    run_, trial = resolve_trial(run.root, "0003")
    assert trial.id == 3
    assert "error: RuntimeError: planted failure" in show_trial(run_, trial)
    with pytest.raises(HpsearchError, match="has no trial 42"):
        resolve_trial(run.root, "42")
    with pytest.raises(HpsearchError, match="is a run folder; give a trial id"):
        resolve_trial(run.root, None)
    with pytest.raises(HpsearchError, match="not a trial folder"):
        resolve_trial(run.root / "trials", None)


@pytest.mark.parametrize("batchnorm", [False, True])
def test_model_summary_counts_what_build_mlp_builds(batchnorm):
    from hpsearch.training.model import build_mlp, count_parameters

    h = {"hidden_units": 37, "layers": 3, "batchnorm": batchnorm, "activation": "tanh", "dropout": 0.1}
    text, count = model_summary(h, 40, 5)
    assert count == count_parameters(build_mlp(40, 5, 37, 3, batchnorm, "tanh", 0.1))
    assert ("BatchNorm1d" in text) == batchnorm and "Dropout(0.1)" in text


def test_target_error_override_moves_bias_to_the_target(run):
    rows = json.loads(compare([run], fmt="json", target_error=0.1))
    best = rows[0]
    assert best["avoidable_bias"] == pytest.approx(0.01 - 0.1)
    assert "target error 10.0%" in compare([run], target_error=0.1)
    with pytest.raises(HpsearchError, match=r"target error must be in \[0, 1\)"):
        compare([run], target_error=1.5)


def test_a_stopped_trial_can_be_the_best_as_in_the_search(tmp_path):
    trials = [
        FakeTrial({"lr": 0.003, "batch_size": 64, "hidden_units": 100}, [(0.80, 0.78), (0.85, 0.80)]),
        FakeTrial({"lr": 0.01, "batch_size": 32, "hidden_units": 200}, [(0.86, 0.84)], status="stopped"),
    ]
    text = compare([RunRecord(make_run(tmp_path / "run", trials))])
    assert "diagnosis of 2 completed or stopped trials" in text
    assert "best trial 0001 (val acc 84.0%)" in text


def test_sort_by_gap_puts_the_smallest_gap_in_size_first(tmp_path):
    curves = [[(0.80, 0.83)], [(0.80, 0.795)], [(0.90, 0.80)], [(0.80, 0.81)]]  # gaps -3, +0.5, +10, -1 points
    run = RunRecord(make_run(tmp_path / "run", [FakeTrial({"lr": 0.01}, c) for c in curves],
                             space={"lr": {"distribution": "log_uniform", "low": 1e-4, "high": 1.0}}))
    for key in ("gap", "variance"):
        assert [r["trial"] for r in json.loads(compare([run], sort=key, fmt="json"))] == [1, 3, 0, 2]


def test_across_runs_a_fixed_parameter_shows_its_value_and_an_inactive_one_a_dash(tmp_path):
    space = {"lr": {"distribution": "log_uniform", "low": 1e-4, "high": 1.0},
             "batchnorm": {"distribution": "choice", "values": [False, True]},
             "optimizer": {"distribution": "choice", "values": ["sgd", "adam"]},
             "momentum": {"distribution": "uniform", "low": 0.8, "high": 0.99}}
    searched = make_run(tmp_path / "a", [FakeTrial({"lr": 0.01, "batchnorm": False, "optimizer": "adam"}, [(0.8, 0.8)])],
                        space=space)
    fixed = make_run(tmp_path / "b", [FakeTrial({"lr": 0.02}, [(0.7, 0.7)])], space={"lr": space["lr"]},
                     fixed={"batchnorm": True, "optimizer": "sgd"})
    rows = {r["run"]: r for r in json.loads(compare([RunRecord(searched), RunRecord(fixed)], fmt="json"))}
    assert (rows["b"]["batchnorm"], rows["b"]["optimizer"], rows["b"]["momentum"]) == (True, "sgd", 0.9)  # fixed, default
    assert (rows["a"]["batchnorm"], rows["a"]["optimizer"], rows["a"]["momentum"]) == (False, "adam", None)  # adam: none
    table = data_lines(compare([RunRecord(searched), RunRecord(fixed)]))
    assert table[0].split()[:6] == ["a", "0000", "1.0e-02", "false", "adam", "-"]
    assert table[1].split()[:6] == ["b", "0000", "2.0e-02", "true", "sgd", "0.9000"]


def test_a_killed_searchs_unfinished_trial_reads_interrupted_not_running(tmp_path):
    """kill -9 leaves run.json at running and the lock of a dead process: nothing runs any more."""
    root = make_run(tmp_path / "run", [FakeTrial({"lr": 0.01}, [(0.8, 0.8)]), FakeTrial({"lr": 0.02}, [(0.5, 0.5)], status="running")],
                    space={"lr": {"distribution": "log_uniform", "low": 1e-4, "high": 1.0}})
    info = json.loads((root / "run.json").read_text())
    (root / "run.json").write_text(json.dumps({**info, "status": "running"}))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
    for pid, status in ((os.getpid(), "running"), (int(dead), "interrupted")):
        (root / "run.lock").write_text(json.dumps({"pid": pid, "host": socket.gethostname()}))
        assert [r.status for r in trial_rows(RunRecord(root))] == ["completed", status]
    assert "the search was killed" in compare([RunRecord(root)]) and f"hpsearch resume {root}" in compare([RunRecord(root)])
    (root / "run.lock").unlink()
    assert [r.status for r in trial_rows(RunRecord(root))] == ["completed", "interrupted"]
