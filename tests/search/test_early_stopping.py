"""ASHA in a real search: stopped trials keep their metrics and say why; a search killed with SIGKILL
resumes from its rung checkpoints to the same folder an unbroken run writes; config and smoke."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from hpsearch.cli.main import main
from hpsearch.errors import ConfigError
from hpsearch.reports.ci import smoke_config
from hpsearch.search.schedulers import ASHA, make_scheduler
from hpsearch.space.config import parse_config
from tests.helpers import ASHA_CONFIG, results_of


def test_asha_stops_trials_at_rungs_and_records_why(asha_reference: Path) -> None:
    results = results_of(asha_reference)
    statuses = [r["status"] for r in results.values()]
    assert "stopped" in statuses and "completed" in statuses and set(statuses) <= {"stopped", "completed"}
    assert results[0]["status"] == "completed"  # the first to reach every rung always continues
    for trial_id, result in results.items():
        lines = (asha_reference / "trials" / f"{trial_id:04d}" / "metrics.jsonl").read_text().splitlines()
        assert len(lines) == result["epochs_trained"]  # a stopped trial keeps the epochs it trained
        rungs = [d["rung"] for d in result["decisions"]]
        assert rungs == [1, 3][: len(rungs)] and result["rung"] == rungs[-1]
        assert all(d["promoted"] for d in result["decisions"][:-1])
        last = result["decisions"][-1]
        best_so_far = max(json.loads(line)["val_acc"] for line in lines[: last["rung"]])
        assert last["value"] == best_so_far  # judged on the best validation accuracy up to the rung
        assert last["promoted"] == (last["value"] >= last["cutoff"])
        if result["status"] == "stopped":
            assert result["epochs_trained"] == last["rung"] and not last["promoted"]
        else:
            assert result["epochs_trained"] == 9 and last["promoted"]
    assert not list(asha_reference.glob("trials/*/checkpoint.pt"))  # finished trials need no checkpoint
    info = json.loads((asha_reference / "run.json").read_text())
    assert info["status"] == "completed" and info["trials"]["stopped"] == statuses.count("stopped")
    model = torch.load(asha_reference / "best_model.pt", weights_only=True)
    assert (model["trial"], model["val_acc"]) == (info["best"]["trial"], info["best"]["val_acc"])
    table = CliRunner().invoke(main, ["compare", str(asha_reference), "--format", "csv"])
    assert table.exit_code == 0 and table.output.count(",stopped,") == statuses.count("stopped")


def test_scheduler_config_is_validated_with_key_paths(write_config) -> None:
    path = write_config("scheduler:\n  name: ashaa\n  eta: 1\n  min_epoch: 2\nworkers: 0\n")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert f"{path}:2: scheduler.name: must be one of none, asha, hyperband, got 'ashaa'" in result.output
    assert f"{path}:3: scheduler.eta: must be an integer >= 2, got 1" in result.output
    assert f"{path}:4: scheduler.min_epoch: unknown key; did you mean 'min_epochs'?" in result.output
    assert f"{path}:5: workers: must be an integer >= 1, got 0" in result.output
    with pytest.raises(ConfigError, match=r"scheduler\.brackets: applies only to name: hyperband"):
        parse_config({"scheduler": {"name": "asha", "brackets": 2}})


def test_scheduler_shorthand_hyperband_defaults_and_round_trip() -> None:
    config = parse_config({"epochs": 27, "scheduler": "hyperband"})
    scheduler = make_scheduler(config)
    assert isinstance(scheduler, ASHA) and (scheduler.brackets, scheduler.rungs(0), scheduler.rungs(3)) == (4, [1, 3, 9], [])
    from hpsearch.space.config import config_to_dict

    assert parse_config(config_to_dict(config)) == config
    assert make_scheduler(parse_config({})).name == "none"


def test_smoke_with_a_scheduler_reaches_a_rung() -> None:
    smoke = smoke_config(parse_config(ASHA_CONFIG))
    assert (smoke.trials, smoke.epochs, smoke.scheduler.name) == (2, 2, "asha")
    assert make_scheduler(smoke).rungs(0) == [1]


def test_a_trial_continued_from_its_checkpoint_trains_as_an_unbroken_one() -> None:
    """Metrics, final weights and the best epoch's weights (for best_model.pt) all match, with dropout on."""
    from hpsearch.data import prepare_data
    from hpsearch.space.sampler import sample_trial
    from hpsearch.training.segments import EpochEnded, Segment
    from hpsearch.training.trainer import DeviceData, run_segment

    config = parse_config({**ASHA_CONFIG, "fixed": {"optimizer": "adam", "dropout": 0.3, "batch_size": 32}})
    data = DeviceData.from_dataset(prepare_data(config), torch.device("cpu"))
    trial = sample_trial(config, 1)

    def train(segment: Segment) -> tuple[list[dict], object]:
        events = list(run_segment(segment, data))
        epochs = [{k: v for k, v in e.metrics.to_dict().items() if not k.endswith("seconds")}
                  for e in events if isinstance(e, EpochEnded)]
        return epochs, events[-1]

    unbroken, unbroken_end = train(Segment(trial, 5))
    first, rung = train(Segment(trial, 2, keep_state=True))
    rest, continued_end = train(Segment(trial, 5, start=rung.state))
    assert rung.state is not None and rung.state.epoch == 2
    assert first + rest == unbroken
    assert all(torch.equal(continued_end.best_weights[k], v) for k, v in unbroken_end.best_weights.items())


def test_a_checkpoint_from_another_kind_of_device_is_not_resumed(tmp_path):
    import torch

    from hpsearch.runs.store import RunStore
    from hpsearch.search.checkpoints import rebuild_rungs, write_checkpoint
    from hpsearch.search.schedulers import ASHA
    from hpsearch.training.trainstate import TrainState

    store = RunStore(tmp_path)
    store.write_params(0, {"trial": 0, "params": {}})
    state = TrainState(1, {}, {}, torch.get_rng_state(), None, torch.Generator().get_state(), [], 0.5,
                       device_type="cuda")
    write_checkpoint(store.trial_dir(0), state, [{"rung": 1, "value": 0.5, "cutoff": 0.5, "rank": 1,
                                                  "competitors": 1, "promoted": True}])
    assert rebuild_rungs(ASHA(epochs=9), store, [], [0], {"cpu"}) == {}
    assert set(rebuild_rungs(ASHA(epochs=9), store, [], [0], {"cuda"})) == {0}
