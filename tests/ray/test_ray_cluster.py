"""Searches on a real Ray cluster on this machine (no mocks): a head without CPUs and two one-CPU
nodes, shared by the module (starting Ray is the slow part). The folder a Ray search leaves is the
one an in-process search leaves, file for file (timings aside): with two trials at once, with ASHA
and one worker, with fused groups (``fuse: 3``), after losing a node mid-search (fused or not), after
Ctrl-C and resume, after losing the cluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from hpsearch.cli.main import main
from hpsearch.errors import SearchInterrupted
from hpsearch.search.observer import SearchObserver
from hpsearch.search.run import resume_search, run_search
from hpsearch.space.config import parse_config
from tests.helpers import ROOT, assert_same_run

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402 -- only where Ray is installed

pytestmark = pytest.mark.slow

CONFIG: dict[str, Any] = {
    "name": "onray", "seed": 3, "trials": 4, "epochs": 4, "device": "cpu",
    "data": {"dataset": "synthetic", "samples": 1500},  # a few tenths of a second an epoch: a kill lands mid-trial
    "fixed": {"optimizer": "adam", "batch_size": 32},
    "space": {"lr": {"distribution": "log_uniform", "low": 1.0e-3, "high": 1.0e-2},
              "hidden_units": {"distribution": "int_log_uniform", "low": 16, "high": 64}},
}
ASHA = {**CONFIG, "name": "onray-asha", "trials": 5, "workers": 1, "scheduler": {"name": "asha", "min_epochs": 1, "eta": 2}}
FUSED = {**CONFIG, "name": "onray-fused", "trials": 6, "fuse": 3}  # on Ray: 2 actors x 3 = 6 trials at once


class _Nodes:
    """The module's cluster: trials train only on the worker nodes, which tests remove and re-add."""

    def __init__(self) -> None:
        self.cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
        self.workers = [self.cluster.add_node(num_cpus=1) for _ in range(2)]
        self.cluster.wait_for_nodes()

    @property
    def address(self) -> str:
        return self.cluster.address

    def remove(self, count: int = 1) -> None:
        for _ in range(count):
            self.cluster.remove_node(self.workers.pop())

    def restore(self) -> None:
        while len(self.workers) < 2:
            self.workers.append(self.cluster.add_node(num_cpus=1))
        self.cluster.wait_for_nodes()


@pytest.fixture(scope="module")
def nodes() -> Iterator[_Nodes]:
    started = _Nodes()
    yield started
    started.cluster.shutdown()  # stops only the processes this cluster started (never `ray stop`)


@pytest.fixture
def cluster(nodes: _Nodes) -> Iterator[_Nodes]:
    nodes.restore()
    yield nodes
    assert not ray.is_initialized(), "the search left its driver connected"


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("ref") / "run"
    run_search(parse_config(CONFIG), run_dir)
    return run_dir


@pytest.fixture(scope="module")
def fused_reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("fused") / "run"
    run_search(parse_config(FUSED), run_dir)  # in this process: one group of up to 3 at a time
    return run_dir


def test_two_nodes_give_the_folder_one_process_gives(cluster: _Nodes, reference: Path, tmp_path: Path) -> None:
    result = run_search(parse_config({**CONFIG, "ray": cluster.address}), tmp_path / "run")
    assert result.status == "completed"
    assert_same_run(tmp_path / "run", reference)
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["ray"] == cluster.address and "ray:" not in (tmp_path / "run" / "config.yaml").read_text()


def test_asha_with_one_worker_decides_as_in_one_process(cluster: _Nodes, tmp_path: Path) -> None:
    run_search(parse_config(ASHA), tmp_path / "here")
    run_search(parse_config({**ASHA, "ray": cluster.address}), tmp_path / "ray")
    assert_same_run(tmp_path / "ray", tmp_path / "here")
    results = [json.loads(p.read_text()) for p in sorted((tmp_path / "ray").glob("trials/*/result.json"))]
    assert {r["status"] for r in results} == {"completed", "stopped"}  # the scheduler did stop some


class _RemoveNodeAt(SearchObserver):
    """Removes ``count`` worker nodes (their raylets and the trials they train) when the search has
    seen ``epochs`` epochs."""

    def __init__(self, cluster: _Nodes, epochs: int, count: int = 1) -> None:
        self.cluster, self.left, self.count, self.removed = cluster, epochs, count, False

    def epoch_finished(self, trial: Any, metrics: Any) -> None:
        self.left -= 1
        if self.left == 0:
            self.cluster.remove(self.count)
            self.removed = True


def test_losing_a_node_mid_search_loses_nothing(cluster: _Nodes, reference: Path, tmp_path: Path) -> None:
    observer = _RemoveNodeAt(cluster, epochs=3)  # both nodes are mid-trial then (4 epochs a trial)
    result = run_search(parse_config({**CONFIG, "ray": cluster.address}), tmp_path / "run", observer)
    assert observer.removed and result.status == "completed"
    assert_same_run(tmp_path / "run", reference)


def test_fused_groups_on_two_nodes_give_the_folder_one_process_gives(
        cluster: _Nodes, fused_reference: Path, tmp_path: Path) -> None:
    result = run_search(parse_config({**FUSED, "ray": cluster.address}), tmp_path / "run")
    assert result.status == "completed" and len(result.trials) == 6
    assert_same_run(tmp_path / "run", fused_reference)


def test_losing_a_node_mid_fused_search_loses_nothing(cluster: _Nodes, fused_reference: Path, tmp_path: Path) -> None:
    observer = _RemoveNodeAt(cluster, epochs=4)  # each node's group is mid-way then (4 epochs a trial, 3 a group)
    result = run_search(parse_config({**FUSED, "ray": cluster.address}), tmp_path / "run", observer)
    assert observer.removed and result.status == "completed"
    assert_same_run(tmp_path / "run", fused_reference)


def test_losing_the_cluster_stops_interrupted_and_resume_here_finishes(
        cluster: _Nodes, reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hpsearch.search.executors import ray_executor

    monkeypatch.setattr(ray_executor, "LOST_AFTER_S", 2.0)  # how long to wait for nodes to come back
    observer = _RemoveNodeAt(cluster, epochs=2, count=2)
    with pytest.raises(SearchInterrupted, match=r"no node of the Ray cluster at .* has been able to train a trial "
                       r"\(each needs 1 CPU\) for 2s; search interrupted"):
        run_search(parse_config({**CONFIG, "ray": cluster.address}), tmp_path / "run", observer)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "interrupted"
    assert resume_search(tmp_path / "run").status == "completed"  # without Ray: in this process
    assert_same_run(tmp_path / "run", reference)


def test_sigterm_stops_at_once_and_resume_on_ray_finishes(cluster: _Nodes, reference: Path, tmp_path: Path) -> None:
    config = tmp_path / "onray.yaml"
    config.write_text(yaml.safe_dump({**CONFIG, "ray": cluster.address}, sort_keys=False))
    run_dir = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "hpsearch", "run", str(config), "--run-dir", str(run_dir)],
                               env=env, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while not list(run_dir.glob("trials/*/metrics.jsonl")) and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)  # as Ctrl-C; ray.init installs a SIGTERM handler of its own that aborts
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted: search interrupted" in err
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "interrupted" and info["trials"].get("interrupted", 0) >= 1
    result = CliRunner().invoke(main, ["resume", str(run_dir), "--ray", cluster.address, "-q"])
    assert result.exit_code == 0, result.output
    assert_same_run(run_dir, reference)


def test_cuda_on_a_cluster_without_gpus_is_refused(cluster: _Nodes, tiny_config: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", str(tiny_config), "--device", "cuda", "--ray", cluster.address,
                                       "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert f"device 'cuda' needs CUDA, but the Ray cluster at {cluster.address} has no GPU (it has 2 CPU, 0 GPU)" in result.output
    assert not (tmp_path / "run").exists()
