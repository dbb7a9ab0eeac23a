"""The run lock across container restarts and damaged lock files (issue 18, points 6c and 18): a
lock whose pid now belongs to another process (a reboot, a restarted container where hpsearch is
pid 1 again) is taken over; an empty or non-JSON lock is refused saying what to do."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from hpsearch.cli.main import main
from hpsearch.runs.runlock import LOCK_NAME, RunLock, active_writer, process_identity
from hpsearch.search.run import run_search
from hpsearch.space.config import parse_config
from tests.helpers import TINY

needs_proc = pytest.mark.skipif(process_identity(os.getpid()) is None, reason="no /proc: pid reuse cannot be told apart")


@pytest.fixture
def stopped_run(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    run_search(parse_config({**TINY, "trials": 1, "epochs": 1}), run_dir, max_seconds=1e-9)  # stopped, 1 pending
    return run_dir


@needs_proc
def test_a_lock_whose_pid_now_belongs_to_another_process_is_taken_over(stopped_run: Path) -> None:
    """As after a container restart: the lock names pid 1 on this host, alive, but another process."""
    (stopped_run / LOCK_NAME).write_text(json.dumps({"pid": 1, "host": socket.gethostname(),
                                                     "process": "another-boot:12345"}))
    result = CliRunner().invoke(main, ["resume", str(stopped_run), "-q"])
    assert result.exit_code == 0, result.output
    assert f"took over the stale lock {stopped_run / LOCK_NAME} of process 1" in result.output
    assert active_writer(stopped_run) is None


@needs_proc
def test_the_lock_records_who_holds_it_and_a_live_holder_is_respected(stopped_run: Path) -> None:
    lock = RunLock(stopped_run).acquire()
    try:
        owner = json.loads((stopped_run / LOCK_NAME).read_text())
        assert owner["pid"] == os.getpid() and owner["process"] == process_identity(os.getpid())
        result = CliRunner().invoke(main, ["resume", str(stopped_run)])
        assert result.exit_code == 2 and f"in use by process {os.getpid()}" in result.output
    finally:
        lock.release()


@pytest.mark.parametrize("content", ["", "not json", "[1, 2]", '{"host": "x"}'])
def test_an_empty_or_foreign_lock_is_refused_saying_what_to_do(stopped_run: Path, content: str) -> None:
    (stopped_run / LOCK_NAME).write_text(content)
    result = CliRunner().invoke(main, ["resume", str(stopped_run)])
    assert result.exit_code == 2
    assert "names no process (empty or not a lock hpsearch wrote)" in result.output and "None" not in result.output
    assert f"delete {stopped_run / LOCK_NAME}" in result.output
    assert (stopped_run / LOCK_NAME).read_text() == content  # not ours to remove
