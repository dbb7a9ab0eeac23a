"""``hpsearch export --tensorboard``: the event files read back with TensorBoard's own reader (the
multiplexer its server uses), scalars and HParams records checked field by field."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hpsearch.cli.main import main
from hpsearch.errors import MissingExtraError, RunDirError
from hpsearch.reports.tbexport import BEST_METRICS, export_tensorboard
from hpsearch.runs.readers import RunRecord
from hpsearch.search.run import run_search
from hpsearch.space.config import parse_config
from tests.helpers import TINY, FakeTrial, make_run

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed (pip install -e '.[tensorboard]')")
from tensorboard.backend.event_processing.plugin_event_multiplexer import EventMultiplexer
from tensorboard.plugins.hparams import api_pb2, metadata
from tensorboard.util import tensor_util

EPOCH_TAGS = {"accuracy/train": "train_acc", "accuracy/val": "val_acc", "loss/train": "train_loss",
              "loss/val": "val_loss", "lr": "lr"}


class Export:
    """An exported folder as TensorBoard's server reads it."""

    def __init__(self, folder: Path) -> None:
        self.mux = EventMultiplexer()
        self.mux.AddRunsFromDirectory(str(folder))
        self.mux.Reload()
        self.hparams = self.mux.PluginRunToTagToContent("hparams")

    def runs(self) -> set[str]:
        return set(self.mux.Runs())

    def experiment(self) -> api_pb2.Experiment:
        return metadata.parse_experiment_plugin_data(self.hparams["."][metadata.EXPERIMENT_TAG])

    def session_start(self, run: str):
        return metadata.parse_session_start_info_plugin_data(self.hparams[run][metadata.SESSION_START_INFO_TAG])

    def session_end(self, run: str):
        content = self.hparams[run].get(metadata.SESSION_END_INFO_TAG)
        return None if content is None else metadata.parse_session_end_info_plugin_data(content)

    def scalars(self, run: str, tag: str) -> list[tuple[int, float]]:
        return [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in self.mux.Tensors(run, tag)]


def _value(proto) -> object:
    return getattr(proto, proto.WhichOneof("kind"))


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("real") / "run"
    run_search(parse_config(TINY), run_dir)
    return run_dir


def test_a_real_run_reads_back_trial_by_trial(real_run, tmp_path):
    result = export_tensorboard(RunRecord(real_run), tmp_path / "tb")
    assert (result.trials, result.unfinished) == (3, 0)
    tb = Export(tmp_path / "tb")
    assert tb.runs() == {".", "0000", "0001", "0002"}
    for trial in sorted((real_run / "trials").iterdir()):
        name = trial.name
        params = json.loads((trial / "params.json").read_text())["params"]
        start = tb.session_start(name)
        assert start.group_name == name
        assert {k: _value(v) for k, v in start.hparams.items()} == params
        assert tb.session_end(name).status == api_pb2.STATUS_SUCCESS
        epochs = [json.loads(line) for line in (trial / "metrics.jsonl").read_text().splitlines()]
        for tag, key in EPOCH_TAGS.items():
            assert tb.scalars(name, tag) == [(e["epoch"], pytest.approx(e[key], rel=1e-6)) for e in epochs], tag
        best = json.loads((trial / "result.json").read_text())
        for tag, (key, _) in BEST_METRICS.items():
            assert tb.scalars(name, tag) == [(best["best_epoch"], pytest.approx(best[key], rel=1e-6))], tag


def test_the_experiment_lists_the_searched_params_with_their_ranges_and_the_metrics(real_run, tmp_path):
    export_tensorboard(RunRecord(real_run), tmp_path / "tb")
    experiment = Export(tmp_path / "tb").experiment()
    infos = {info.name: info for info in experiment.hparam_infos}
    assert list(infos) == list(RunRecord(real_run).param_names)  # the declared order
    assert (infos["lr"].domain_interval.min_value, infos["lr"].domain_interval.max_value) == (1.0e-3, 1.0e-2)
    assert (infos["hidden_units"].domain_interval.min_value, infos["hidden_units"].domain_interval.max_value) == (16, 64)
    assert infos["lr"].description == "log_uniform from 0.001 to 0.01"
    assert [m.name.tag for m in experiment.metric_infos] == list(BEST_METRICS)
    assert experiment.metric_infos[0].display_name == "best val_acc"


def test_statuses_conditional_params_and_a_trial_still_running(tmp_path):
    space = {"lr": {"distribution": "log_uniform", "low": 1.0e-4, "high": 1.0},
             "optimizer": {"distribution": "choice", "values": ["sgd", "adam"]},
             "momentum": {"distribution": "one_minus_log_uniform", "low": 0.9, "high": 0.999}}
    run = make_run(tmp_path / "run", [
        FakeTrial({"lr": 0.01, "optimizer": "sgd", "momentum": 0.95}, [(0.6, 0.5), (0.7, 0.65)]),
        FakeTrial({"lr": 0.5, "optimizer": "adam"}, [(0.2, 0.2)], status="failed"),
        FakeTrial({"lr": 0.001, "optimizer": "adam"}, [(0.4, 0.35)], status="running"),
    ], space=space)
    (run / "trials" / "0003").mkdir()  # a kill between the folder and its params.json: nothing ran, nothing shown
    result = export_tensorboard(RunRecord(run), tmp_path / "tb")
    assert (result.trials, result.unfinished) == (3, 1)
    tb = Export(tmp_path / "tb")
    assert tb.runs() == {".", "0000", "0001", "0002"}
    assert {k: _value(v) for k, v in tb.session_start("0001").hparams.items()} == {"lr": 0.5, "optimizer": "adam"}
    assert tb.session_end("0000").status == api_pb2.STATUS_SUCCESS
    assert tb.session_end("0001").status == api_pb2.STATUS_FAILURE
    assert tb.session_end("0002") is None  # still running: no end yet, its epoch so far
    assert tb.scalars("0002", "accuracy/val") == [(1, pytest.approx(0.35))]
    assert tb.scalars("0001", "accuracy/val") == [(1, pytest.approx(0.2))]
    assert "best/val_acc" not in tb.mux.PluginRunToTagToContent("scalars")["0001"]  # failed: no best figures
    optimizer = next(i for i in tb.experiment().hparam_infos if i.name == "optimizer")
    assert [v.string_value for v in optimizer.domain_discrete.values] == ["adam", "sgd"]


def test_a_folder_holding_files_is_refused(real_run, tmp_path):
    (tmp_path / "tb").mkdir()
    (tmp_path / "tb" / "old.txt").write_text("x")
    with pytest.raises(RunDirError, match="is not an empty folder; give a new or empty one"):
        export_tensorboard(RunRecord(real_run), tmp_path / "tb")


def test_cli_export_and_its_errors(real_run, tmp_path, monkeypatch):
    result = CliRunner().invoke(main, ["export", str(real_run), "--tensorboard", str(tmp_path / "tb")])
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote 3 trials to {tmp_path / 'tb'}; view them with: tensorboard --logdir {tmp_path / 'tb'}\n"
    again = CliRunner().invoke(main, ["export", str(real_run), "--tensorboard", str(tmp_path / "tb")])
    assert again.exit_code == 2 and "is not an empty folder" in again.output
    not_a_run = CliRunner().invoke(main, ["export", str(tmp_path), "--tensorboard", str(tmp_path / "tb2")])
    assert not_a_run.exit_code == 2 and f"error: {tmp_path} is not a run folder (no run.json)" in not_a_run.output
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if the extra were not installed
    with pytest.raises(MissingExtraError, match=r'pip install -e "\.\[tensorboard\]"'):
        export_tensorboard(RunRecord(real_run), tmp_path / "tb3")
    missing = CliRunner().invoke(main, ["export", str(real_run), "--tensorboard", str(tmp_path / "tb3")])
    assert missing.exit_code == 2
    assert 'install it with: pip install -e ".[tensorboard]" from a checkout' in missing.output
    assert not (tmp_path / "tb3").exists()
