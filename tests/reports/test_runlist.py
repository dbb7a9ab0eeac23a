"""``hpsearch list``: real run folders (a tiny synthetic search), one left as a killed writer leaves
it (a lock naming a dead pid), one as a live writer (the lock of this test process), and folders
that are not runs."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from hpsearch.cli.main import main
from hpsearch.reports.runlist import list_runs, render_runs
from hpsearch.runs.runlock import LOCK_NAME
from hpsearch.search.run import run_search
from hpsearch.space.config import parse_config
from tests.helpers import TINY


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A completed run of 3 trials x 2 epochs, and a run stopped by --max-time before any trial."""
    root = tmp_path_factory.mktemp("made")
    run_search(parse_config(TINY), root / "tiny-completed")
    run_search(parse_config(TINY), root / "tiny-stopped", max_seconds=0)
    return root / "tiny-completed", root / "tiny-stopped"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _as_left_open(src: Path, dst: Path, lock_pid: int | None, host: str | None = None) -> Path:
    """``src`` as a writer leaves it mid-search: run.json still ``running`` (no end, no seconds, no
    best), the last trial started (params.json, its first epoch) but without result.json, and
    run.lock naming ``lock_pid`` (none when None)."""
    shutil.copytree(src, dst)
    info = json.loads((dst / "run.json").read_text())
    for key in ("ended", "seconds", "best", "trials"):
        info.pop(key, None)
    (dst / "run.json").write_text(json.dumps({**info, "status": "running"}))
    last = dst / "trials" / "0002"
    (last / "result.json").unlink()
    (last / "metrics.jsonl").write_text((last / "metrics.jsonl").read_text().splitlines()[0] + "\n")
    if lock_pid is not None:
        (dst / LOCK_NAME).write_text(json.dumps({"pid": lock_pid, "host": host or socket.gethostname()}))
    return dst


def _started(run: Path) -> float:
    return datetime.fromisoformat(json.loads((run / "run.json").read_text())["started"]).timestamp()


def test_finished_runs_show_status_trials_best_start_and_time(finished, tmp_path):
    completed, stopped = finished
    root = tmp_path / "runs"
    root.mkdir()
    shutil.copytree(completed, root / completed.name)
    shutil.copytree(stopped, root / stopped.name)
    (root / "notes").mkdir()  # not a run: skipped
    (root / "notes" / "todo.txt").write_text("x")
    (root / "README.txt").write_text("not a folder")
    rows = {row.name: row for row in list_runs(root)}
    assert sorted(rows) == ["tiny-completed", "tiny-stopped"]
    info = json.loads((completed / "run.json").read_text())
    done = rows["tiny-completed"]
    assert (done.status, done.progress, done.finished, done.planned) == ("completed", None, 3, 3)
    assert (done.best_val_acc, done.best_trial) == (info["best"]["val_acc"], info["best"]["trial"])
    assert (done.started, done.seconds) == (info["started"], info["seconds"])
    halted = rows["tiny-stopped"]
    assert (halted.status, halted.finished, halted.planned, halted.best_val_acc) == ("stopped", 0, 3, None)
    table = render_runs(list(rows.values()), root)
    line = next(line for line in table.splitlines() if line.startswith("tiny-completed"))
    assert line.split()[1:3] == ["completed", "3/3"]
    assert f"{100 * info['best']['val_acc']:.1f}% (trial {info['best']['trial']:04d})" in line


def test_a_writer_killed_mid_search_shows_as_killed(finished, tmp_path):
    root = tmp_path / "runs"
    _as_left_open(finished[0], root / "dead-lock", _dead_pid())
    _as_left_open(finished[0], root / "no-lock", None)  # killed before... or lock deleted: nobody writes it
    rows = {row.name: row for row in list_runs(root)}
    for row in rows.values():
        assert (row.status, row.progress, row.finished, row.planned) == ("killed", None, 2, 3)
        assert row.seconds is not None and row.seconds >= 0  # until its last write
    assert "2 killed runs: their processes ended without closing the folders; continue each with: hpsearch resume RUN_DIR" \
        in render_runs(list(rows.values()), root)
    assert render_runs([rows["dead-lock"]], root).splitlines()[-1] == (
        f"dead-lock: its process ended without closing the folder; continue it with: hpsearch resume {root / 'dead-lock'}")


def test_a_live_writer_shows_as_running_with_the_trial_at_work(finished, tmp_path):
    root = tmp_path / "runs"
    here = _as_left_open(finished[0], root / "live", os.getpid())
    _as_left_open(finished[0], root / "elsewhere", 1, host="another-host")  # cannot be checked: respected
    rows = {row.name: row for row in list_runs(root, now=_started(here) + 125)}
    live = rows["live"]
    assert (live.status, live.progress, live.finished, live.planned) == ("running", "trial 0002 epoch 1/2", 2, 3)
    assert live.seconds == pytest.approx(125)
    assert live.best_val_acc == max(json.loads((here / "trials" / t / "result.json").read_text())["val_acc"]
                                    for t in ("0000", "0001"))
    assert rows["elsewhere"].status == "running"
    line = next(line for line in render_runs([live], root).splitlines() if line.startswith("live"))
    assert "running (trial 0002 epoch 1/2)" in line and "2/3" in line and "2m05s" in line


def test_cli_json_for_scripts_and_the_default_runs_folder(finished, tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    shutil.copytree(finished[0], runs / finished[0].name)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["list", "--format", "json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert set(row) == {"name", "path", "status", "progress", "finished", "planned", "best_val_acc", "best_trial",
                        "started", "seconds"}
    assert (row["name"], row["status"], row["finished"], row["planned"]) == (finished[0].name, "completed", 3, 3)
    assert isinstance(row["best_val_acc"], float) and isinstance(row["seconds"], float)
    table = CliRunner().invoke(main, ["list"])
    assert table.exit_code == 0 and table.output.splitlines()[0].split()[:3] == ["run", "status", "trials"]


def test_cli_a_missing_runs_folder_exits_2_and_an_empty_one_says_so(tmp_path):
    missing = CliRunner().invoke(main, ["list", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert f"error: runs folder {tmp_path / 'nope'} does not exist" in missing.output
    empty = CliRunner().invoke(main, ["list", str(tmp_path)])
    assert empty.exit_code == 0 and empty.output == f"no runs in {tmp_path}\n"
