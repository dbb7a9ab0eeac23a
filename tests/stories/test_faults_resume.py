"""Interrupted, killed and failing searches: signals through the real CLI, then ``hpsearch resume``,
compared file by file with an unbroken run of the same seed (timings aside)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hpsearch.cli.main import main
from hpsearch.runs.runlock import LOCK_NAME
from hpsearch.search.run import run_search
from hpsearch.space.config import parse_config
from tests.helpers import ROOT, FailingTrials, assert_same_run

CONFIG = {
    "name": "faults", "seed": 7, "trials": 4, "epochs": 2, "device": "cpu",
    "data": {"dataset": "synthetic", "samples": 3000},  # epochs long enough that a signal lands mid-trial
    "fixed": {"optimizer": "sgd", "batch_size": 32},
    "space": {"lr": {"distribution": "log_uniform", "low": 1.0e-3, "high": 0.3},
              "hidden_units": {"distribution": "int_log_uniform", "low": 16, "high": 64}},
}


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "faults.yaml"
    path.write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One unbroken run of the same seed, in-process (same CPU, same torch, same metrics)."""
    run_dir = tmp_path_factory.mktemp("ref") / "run"
    run_search(parse_config(CONFIG), run_dir)
    return run_dir


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "hpsearch", *args], env=_env(), cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _epochs_written(run_dir: Path) -> int:
    return sum(len(p.read_text().splitlines()) for p in run_dir.glob("trials/*/metrics.jsonl"))


def _holds_lock(run_dir: Path, proc: subprocess.Popen[str]) -> bool:
    """The process under test has started its search: it holds the run folder's lock."""
    try:
        return json.loads((run_dir / LOCK_NAME).read_text())["pid"] == proc.pid
    except (OSError, ValueError, KeyError):
        return False


def _hit(proc: subprocess.Popen[str], run_dir: Path, rng: random.Random, sig: int) -> None:
    """Send ``sig`` at a seeded-random moment: after a random number of epochs has been written
    (so the search is under way), plus a random fraction of an epoch."""
    total = CONFIG["trials"] * CONFIG["epochs"]
    start = _epochs_written(run_dir) if run_dir.exists() else 0
    target = min(start + rng.randint(1, 3), total - 2)  # leave work to interrupt
    deadline = time.monotonic() + 120
    while (not _holds_lock(run_dir, proc) or _epochs_written(run_dir) < target) and proc.poll() is None:
        assert time.monotonic() < deadline, "the search made no progress"
        time.sleep(0.005)
    time.sleep(rng.uniform(0, 0.05))
    assert proc.poll() is None, f"the search ended before the signal:\n{proc.communicate()}"
    proc.send_signal(sig)


def test_sigkill_then_sigterm_then_resume_matches_an_unbroken_run(config_file: Path, reference: Path, tmp_path: Path) -> None:
    rng = random.Random(5)
    run_dir = tmp_path / "run"
    proc = _start("run", str(config_file), "--run-dir", str(run_dir))
    _hit(proc, run_dir, rng, signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    assert (run_dir / LOCK_NAME).exists()  # kill -9 leaves the lock of a dead pid behind
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"
    shown = CliRunner().invoke(main, ["compare", str(run_dir), "--format", "json"])
    killed = [t for t in json.loads(shown.output) if not (run_dir / "trials" / f"{t['trial']:04d}" / "result.json").exists()]
    assert {t["status"] for t in killed} <= {"interrupted"}, "a killed search's trial is not running"
    assert "the search was killed" in CliRunner().invoke(main, ["compare", str(run_dir)]).output

    proc = _start("resume", str(run_dir))
    _hit(proc, run_dir, rng, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "took over the stale lock" in err
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    statuses = [json.loads(p.read_text())["status"] for p in sorted(run_dir.glob("trials/*/result.json"))]
    # the signal may fall inside a trial (marked interrupted) or between two trials (none is)
    finished = statuses[:-1] if statuses[-1] == "interrupted" else statuses
    assert set(finished) <= {"completed", "diverged"}
    assert not (run_dir / LOCK_NAME).exists()

    result = CliRunner().invoke(main, ["resume", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert "resuming:" in result.output
    assert_same_run(run_dir, reference)


def test_sigint_marks_the_running_trial_and_resume_completes_it(config_file: Path, reference: Path, tmp_path: Path) -> None:
    rng = random.Random(11)
    run_dir = tmp_path / "run"
    proc = _start("run", str(config_file), "--run-dir", str(run_dir), "--json", str(tmp_path / "s.json"))
    _hit(proc, run_dir, rng, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "hpsearch resume" in err
    assert "\r" not in out + err  # not a terminal: no bar redraws
    finished = {p.parent.name: json.loads(p.read_text()) for p in run_dir.glob("trials/*/result.json")}
    interrupted = [name for name, r in finished.items() if r["status"] == "interrupted"]
    assert interrupted in ([], [max(finished)])  # the signal may fall between two trials
    done = [name for name, r in finished.items() if r["status"] != "interrupted"]
    assert sorted(line.split()[1] for line in out.splitlines() if line.startswith("trial ")) == sorted(done)
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["status"] == "interrupted" and summary["exit_code"] == 130
    assert summary["trials"].get("interrupted", 0) == len(interrupted)
    kept = {name: (run_dir / "trials" / name / "result.json").read_text()
            for name, r in finished.items() if r["status"] != "interrupted"}

    result = CliRunner().invoke(main, ["resume", str(run_dir)])
    assert result.exit_code == 0, result.output
    for name, text in kept.items():  # finished trials are kept as they were, byte for byte
        assert (run_dir / "trials" / name / "result.json").read_text() == text
    assert_same_run(run_dir, reference)
    info = json.loads((run_dir / "run.json").read_text())
    assert len(info["resumed"]) == 1


def test_resume_of_a_finished_run_changes_nothing(reference: Path, tmp_path: Path) -> None:
    before = {p: p.read_bytes() for p in reference.rglob("*") if p.is_file()}
    result = CliRunner().invoke(main, ["resume", str(reference)])
    assert result.exit_code == 0, result.output
    assert {p: p.read_bytes() for p in reference.rglob("*") if p.is_file()} == before


def test_a_live_lock_is_refused(tmp_path: Path, config_file: Path) -> None:
    run_dir = tmp_path / "run"
    config = parse_config({**CONFIG, "trials": 1, "epochs": 1, "data": {"samples": 100}})
    run_search(config, run_dir)
    (run_dir / LOCK_NAME).write_text(json.dumps({"pid": os.getpid(), "host": os.uname().nodename}))
    result = CliRunner().invoke(main, ["resume", str(run_dir)])
    assert result.exit_code == 2
    assert f"in use by process {os.getpid()}" in result.output and LOCK_NAME in result.output
    assert (run_dir / LOCK_NAME).exists()  # not ours to remove


def test_a_stale_lock_is_taken_over_with_a_warning(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    config = parse_config({**CONFIG, "trials": 2, "epochs": 1, "data": {"samples": 100}})
    run_search(config, run_dir)
    info = json.loads((run_dir / "run.json").read_text())
    (run_dir / "trials" / "0001" / "result.json").unlink()  # a half-written trial
    (run_dir / "run.json").write_text(json.dumps({**info, "status": "running"}))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    (run_dir / LOCK_NAME).write_text(json.dumps({"pid": pid, "host": os.uname().nodename}))
    result = CliRunner().invoke(main, ["resume", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert f"took over the stale lock {run_dir / LOCK_NAME} of process {pid}" in result.output
    assert json.loads((run_dir / "trials" / "0001" / "result.json").read_text())["status"] == "completed"
    assert not (run_dir / LOCK_NAME).exists()


def test_resume_refuses_an_edited_config(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_search(parse_config({**CONFIG, "trials": 1, "epochs": 1, "data": {"samples": 100}}), run_dir)
    path = run_dir / "config.yaml"
    path.write_text(path.read_text().replace("epochs: 1", "epochs: 2"))
    result = CliRunner().invoke(main, ["resume", str(run_dir)])
    assert result.exit_code == 2
    assert f"{path} was edited after the search started" in result.output


def test_resume_of_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["resume", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a run folder" in result.output


def test_a_failing_trial_is_recorded_and_the_search_goes_on(tmp_path: Path) -> None:
    config = parse_config({**CONFIG, "trials": 3, "epochs": 1, "data": {"samples": 100}})
    result = run_search(config, tmp_path / "run", executor=FailingTrials({1}, RuntimeError("CUDA out of memory (simulated)")))
    assert [r.status for _, r in result.trials] == ["completed", "failed", "completed"]
    failed = json.loads((tmp_path / "run" / "trials" / "0001" / "result.json").read_text())
    assert failed == {**failed, "status": "failed", "error": "RuntimeError: CUDA out of memory (simulated)"}
    assert json.loads((tmp_path / "run" / "run.json").read_text())["trials"] == {"completed": 2, "failed": 1}
    # resume keeps a failed trial as it is
    before = (tmp_path / "run" / "trials" / "0001" / "result.json").read_text()
    assert CliRunner().invoke(main, ["resume", str(tmp_path / "run")]).exit_code == 0
    assert (tmp_path / "run" / "trials" / "0001" / "result.json").read_text() == before


def test_exit_1_only_when_no_trial_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the CLI builds its executor with make_executor: the test executor takes its place, nothing else changes
    monkeypatch.setattr("hpsearch.search.run.make_executor", FailingTrials(None, ValueError("bad combination")))
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({**CONFIG, "trials": 2, "epochs": 1, "data": {"samples": 100}}))
    result = CliRunner().invoke(main, ["run", str(path), "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert "no trial completed" in result.output
    assert "ValueError: bad combination" in result.output
