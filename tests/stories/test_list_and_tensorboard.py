"""A search seen from outside: ``hpsearch list`` while a real ``hpsearch run`` is at work and after
it is killed with SIGKILL; then the killed run exported and served by a real TensorBoard, whose
HParams HTTP API (what its dashboard draws from) is queried."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hpsearch.cli.main import main
from hpsearch.runs.runlock import LOCK_NAME
from tests.helpers import ROOT

CONFIG = {
    "name": "live", "seed": 3, "trials": 30, "epochs": 3, "device": "cpu",  # long enough to be caught running
    "data": {"dataset": "synthetic", "samples": 3000},
    "fixed": {"optimizer": "sgd", "batch_size": 32},
    "space": {"lr": {"distribution": "log_uniform", "low": 1.0e-3, "high": 0.3},
              "hidden_units": {"distribution": "int_log_uniform", "low": 16, "high": 64}},
}


def _wait(condition, what: str, proc: subprocess.Popen | None = None, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc is None or proc.poll() is None, f"{what}: the process ended:\n{proc.communicate()}"
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.05)


def _list(root: Path) -> dict:
    result = CliRunner().invoke(main, ["list", str(root), "--format", "json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    return row


def _killed_run(tmp_path: Path) -> Path:
    """Start a search, list it while it runs, SIGKILL it, list it again; returns its folder."""
    config = tmp_path / "live.yaml"
    config.write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    run_dir = tmp_path / "runs" / "live"
    proc = subprocess.Popen([sys.executable, "-m", "hpsearch", "run", str(config), "--run-dir", str(run_dir)],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait(lambda: (run_dir / LOCK_NAME).exists() and any(run_dir.glob("trials/*/result.json")),
              "the search finishes its first trial", proc)
        row = _list(run_dir.parent)
        assert row["status"] == "running" and row["planned"] == 30 and 1 <= row["finished"] < 30
        assert row["progress"] is None or row["progress"].startswith("trial ")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    row = _list(run_dir.parent)
    assert row["status"] == "killed" and row["progress"] is None
    return run_dir


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_a_killed_search_lists_as_killed_and_its_export_serves_in_tensorboard(tmp_path):
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    run_dir = _killed_run(tmp_path)
    tb_dir = tmp_path / "tb"
    result = CliRunner().invoke(main, ["export", str(run_dir), "--tensorboard", str(tb_dir)])
    assert result.exit_code == 0, result.output
    trials = sorted(p for p in (run_dir / "trials").iterdir() if (p / "params.json").exists())

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(tb_dir), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/data/plugin/hparams"
    try:
        query = {"experimentName": "", "startIndex": 0, "sliceSize": 100,
                 "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
                 "colParams": [{"hparam": "lr", "includeInResult": True},
                               {"hparam": "hidden_units", "includeInResult": True},
                               {"metric": {"tag": "best/val_acc", "group": ""}, "includeInResult": True}]}
        finished = sum((trial / "result.json").exists() for trial in trials)

        def loaded() -> bool:  # TensorBoard loads the runs in the background: wait for every trial and its end
            try:
                groups = _post(f"{url}/session_groups", query).get("sessionGroups", [])
            except OSError:
                return False
            ended = sum(s["status"] != "STATUS_UNKNOWN" for g in groups for s in g["sessions"])
            return len(groups) == len(trials) and ended >= finished

        _wait(loaded, "TensorBoard serves every trial", server)
        experiment = _post(f"{url}/experiment", {"experimentName": ""})
        assert [h["name"] for h in experiment["hparamInfos"]] == ["hidden_units", "lr"]  # TensorBoard sorts them
        assert [m["name"]["tag"] for m in experiment["metricInfos"]][:2] == ["best/val_acc", "best/train_acc"]
        groups = _post(f"{url}/session_groups", query)["sessionGroups"]
    finally:
        server.terminate()
        server.wait(timeout=60)
    by_name = {group["name"]: group for group in groups}
    assert sorted(by_name) == [p.name for p in trials]
    for trial in trials:
        group = by_name[trial.name]
        assert group["hparams"] == pytest.approx(json.loads((trial / "params.json").read_text())["params"])
        result_file = trial / "result.json"
        if result_file.exists():
            record = json.loads(result_file.read_text())
            metrics = {m["name"]["tag"]: m["value"] for m in group["metricValues"]}
            assert metrics.get("best/val_acc") == (None if record["val_acc"] is None else pytest.approx(record["val_acc"]))
            ok = record["status"] in ("completed", "stopped")
            assert group["sessions"][0]["status"] == ("STATUS_SUCCESS" if ok else "STATUS_FAILURE")
        else:  # the trial the kill cut short: exported as it stood, with no end
            assert group["sessions"][0]["status"] == "STATUS_UNKNOWN"
