"""Trials on worker processes: the same params and CPU metrics as one worker, and a worker that
dies fails only its own trial while the search goes on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from hpsearch.cli.main import main
from hpsearch.data import prepare_data
from hpsearch.search.executors.processes import CRASH_ENV
from hpsearch.search.run import run_search
from hpsearch.space.config import parse_config
from hpsearch.training.bestmodel import load_best_model

CONFIG = {
    "name": "workers", "seed": 5, "trials": 4, "epochs": 2, "device": "cpu",
    "data": {"dataset": "synthetic", "samples": 400},
    "fixed": {"optimizer": "adam", "batch_size": 32},
    "space": {"lr": {"distribution": "log_uniform", "low": 1.0e-3, "high": 0.1},
              "hidden_units": {"distribution": "int_log_uniform", "low": 16, "high": 128},
              "dropout": {"distribution": "uniform", "low": 0.0, "high": 0.5}},
}


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("one") / "run"
    run_search(parse_config(CONFIG), run_dir)
    return run_dir


def _trial(run_dir: Path, trial_id: int) -> tuple[dict, list[dict], dict]:
    folder = run_dir / "trials" / f"{trial_id:04d}"
    lines = (folder / "metrics.jsonl").read_text().splitlines() if (folder / "metrics.jsonl").exists() else []
    metrics = [{k: v for k, v in json.loads(line).items() if not k.endswith("seconds")} for line in lines]
    result = {k: v for k, v in json.loads((folder / "result.json").read_text()).items() if not k.endswith("seconds")}
    return json.loads((folder / "params.json").read_text()), metrics, result


def test_two_workers_match_one_and_a_dead_worker_fails_only_its_trial(one_worker: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """One search (spawning workers is the slow part): both first workers die on their trials 0 and 1,
    so trials 2 and 3 train only if dead workers are replaced; they match the one-worker run exactly."""
    monkeypatch.setenv(CRASH_ENV, "0,1")
    result = run_search(parse_config({**CONFIG, "workers": 2}), tmp_path / "run")
    assert [(t.id, r.status) for t, r in result.trials] == [(0, "failed"), (1, "failed"), (2, "completed"), (3, "completed")]
    for trial_id in (0, 1):
        params, _, outcome = _trial(tmp_path / "run", trial_id)
        assert params == _trial(one_worker, trial_id)[0]
        assert "died (exit code 3; out of memory?) while training this trial" in outcome["error"]
    for trial_id in (2, 3):  # params, every epoch's metrics (CPU, same thread count), results
        assert _trial(tmp_path / "run", trial_id) == _trial(one_worker, trial_id), trial_id
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["status"] == "completed" and info["trials"] == {"failed": 2, "completed": 2}
    assert (tmp_path / "run" / "trials.csv").read_text().count("\n") == 5
    model, record = load_best_model(tmp_path / "run")  # the best epoch's weights came back from a worker
    assert (record["trial"], record["val_acc"]) == (info["best"]["trial"], info["best"]["val_acc"])
    data = prepare_data(parse_config(CONFIG))
    with torch.inference_mode():
        val_acc = (model(data.x_val).argmax(dim=1) == data.y_val).float().mean().item()
    assert val_acc == pytest.approx(record["val_acc"], abs=1e-6)


@pytest.mark.parametrize(("devices", "message"), [
    ("gpu", "'gpu': expected a comma-separated list of cpu, cuda, cuda:N or mps"),
    ("cpu,cuda:7", "CUDA is not available here" if not torch.cuda.is_available() else "only"),
])
def test_bad_devices_are_refused_before_anything_runs(tiny_config: Path, tmp_path: Path, devices: str, message: str) -> None:
    result = CliRunner().invoke(main, ["run", str(tiny_config), "--workers", "2", "--devices", devices,
                                       "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "run").exists()
