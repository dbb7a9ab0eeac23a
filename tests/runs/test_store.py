"""The run folder read back as typed records: fields, not dicts; a status enum; missing or garbled
files read as None (a trial in progress), never as an error."""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from hpsearch.runs.readers import RunRecord, TrialRecord, open_trial
from hpsearch.runs.records import BestTrial, DataSummary, EpochMetrics, TrialParams, TrialResult, TrialStatus, best_of
from hpsearch.runs.store import RunStore
from hpsearch.runs.summary import versions
from tests.helpers import FakeTrial, make_run

PARAMS = {"lr": 0.01, "batch_size": 64, "hidden_units": 100}


@pytest.fixture
def run(tmp_path: Path) -> RunRecord:
    trials = [FakeTrial(PARAMS, [(0.80, 0.78), (0.90, 0.85), (0.95, 0.84)]),
              FakeTrial(PARAMS, [(0.30, 0.29)], status="diverged"),
              FakeTrial(PARAMS, [], status="failed"),
              FakeTrial(PARAMS, [(0.5, 0.5)], status="running")]
    return RunRecord(make_run(tmp_path / "run", trials, val_examples=600))


def test_a_finished_trial_reads_back_as_typed_records(run: RunRecord) -> None:
    trial = run.trial(0)
    assert trial.status is TrialStatus.COMPLETED
    assert isinstance(trial.result, TrialResult)
    assert trial.result.val_acc == pytest.approx(0.85) and trial.result.train_acc == pytest.approx(0.90)
    assert trial.result.best_epoch == 2 and trial.result.epochs_trained == 3
    assert trial.result.gap == pytest.approx(0.05) and trial.result.num_parameters == 1000
    assert trial.params_record == TrialParams(trial=0, seed=100, params=PARAMS, hyperparameters=trial.hyperparameters)
    assert trial.seed == 100 and trial.params == PARAMS and trial.hyperparameters["lr"] == 0.01
    epochs = trial.metrics()
    assert all(isinstance(e, EpochMetrics) for e in epochs)
    assert [e.epoch for e in epochs] == [1, 2, 3] and [e.val_acc for e in epochs] == [0.78, 0.85, 0.84]
    assert epochs[0].train_loss == pytest.approx(0.2) and epochs[0].lr == 0.01


def test_statuses_are_enum_members(run: RunRecord) -> None:
    assert [t.status for t in run.trials] == [TrialStatus.COMPLETED, TrialStatus.DIVERGED, TrialStatus.FAILED,
                                              TrialStatus.RUNNING]
    failed = run.trial(2).result
    assert failed is not None and failed.error == "RuntimeError: planted failure" and failed.val_acc is None


def test_a_running_trial_has_params_and_epochs_but_no_result(run: RunRecord) -> None:
    trial = run.trial(3)
    assert not (trial.path / "result.json").exists()
    assert trial.result is None and trial.status is TrialStatus.RUNNING
    assert trial.seed == 103 and [e.val_acc for e in trial.metrics()] == [0.5]


@pytest.mark.parametrize("content", [b'{"status": "compl', b"", b"[1, 2]", b'{"val_acc": 0.5}',
                                     b'{"status": "no-such-status"}', b"\xff\xfe"])
def test_a_garbled_result_reads_as_none(run: RunRecord, content: bytes) -> None:
    path = run.trial(0).path / "result.json"
    path.write_bytes(content)
    trial = TrialRecord(path.parent)
    assert trial.result is None and trial.status is TrialStatus.RUNNING
    assert trial.params == PARAMS  # the other files still read


def test_missing_or_garbled_params_read_as_none(run: RunRecord) -> None:
    folder = run.trial(0).path
    (folder / "params.json").write_text("{not json")
    garbled = TrialRecord(folder)
    assert garbled.params_record is None and garbled.params == {} and garbled.seed is None
    assert garbled.result is not None and garbled.result.val_acc == pytest.approx(0.85)
    (folder / "params.json").unlink()
    (folder / "metrics.jsonl").unlink()
    missing = TrialRecord(folder)
    assert missing.params_record is None and missing.hyperparameters == {} and missing.metrics() == []


def test_run_json_through_typed_accessors(run: RunRecord, tmp_path: Path) -> None:
    assert run.name == "fake" and run.status == "completed" and run.best is None
    assert run.data == DataSummary(dataset="synthetic", train=2400, val=600, input_dim=40, num_classes=5)
    assert run.val_examples == 600
    store = RunStore(run.root)
    store.write_run_info({**run.info, "best": {"trial": 0, "params": PARAMS, "val_acc": 0.85, "train_acc": 0.9,
                                               "gap": 0.05, "best_epoch": 2}})
    again, trial = open_trial(run.root / "trials" / "0000")
    assert again.best == BestTrial(trial=0, params=PARAMS, val_acc=0.85, train_acc=0.9, gap=0.05, best_epoch=2)
    assert trial.result is not None and trial.result.val_acc == again.best.val_acc


def test_typed_writers_write_what_the_dict_forms_wrote(tmp_path: Path) -> None:
    """params.json, metrics.jsonl and result.json hold the same text from a record as from its dict."""
    typed, plain = RunStore(tmp_path / "typed"), RunStore(tmp_path / "plain")
    params = TrialParams(trial=0, seed=7, params=PARAMS, hyperparameters={**PARAMS, "epochs": 3})
    epochs = [EpochMetrics(1, 0.01, float("nan"), 0.5, 0.7, 0.4, 1.0)]
    result = TrialResult(TrialStatus.DIVERGED, seconds=1.0, epochs=epochs, error="loss is nan")
    typed.write_params(0, params)
    typed.write_metrics(0, epochs)
    typed.write_result(0, result)
    plain.write_params(0, {"trial": 0, "seed": 7, "params": PARAMS, "hyperparameters": {**PARAMS, "epochs": 3}})
    plain.write_metrics(0, [e.to_dict() for e in epochs])
    plain.write_result(0, result.to_dict())
    for name in ("params.json", "metrics.jsonl", "result.json"):
        assert (typed.trial_dir(0) / name).read_text() == (plain.trial_dir(0) / name).read_text(), name
    assert json.loads((typed.trial_dir(0) / "metrics.jsonl").read_text())["train_loss"] is None  # NaN as null
    back = TrialRecord(typed.trial_dir(0))
    assert back.params_record == params and back.result is not None and back.result.status is TrialStatus.DIVERGED
    assert TrialParams.from_dict(params.to_dict()) == params


def test_best_trial_is_the_highest_val_acc_earliest_on_ties(run: RunRecord) -> None:
    scored = [t for t in run.trials if t.result is not None and t.result.val_acc is not None]
    best = best_of(scored, lambda t: t.result.val_acc if t.result else None, lambda t: t.id)
    assert best is not None and best.id == 0


def test_versions_records_torch_version_with_its_local_suffix(monkeypatch: pytest.MonkeyPatch) -> None:
    """run.json keeps torch.__version__ (e.g. 2.13.0+cu130), as before; runs/ itself never imports torch."""
    import torch

    assert versions()["torch"] == torch.__version__
    monkeypatch.delitem(sys.modules, "torch")
    assert versions()["torch"] == version("torch")
    assert "torch" not in sys.modules
