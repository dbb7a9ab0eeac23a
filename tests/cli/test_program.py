"""The program's exit after a command that loaded torch: same exit code, every line printed and
file written, exit handlers run; only the interpreter's teardown is skipped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import TINY

PROBE = """
import atexit, os, runpy, sys
marker, how = sys.argv.pop(1), sys.argv.pop(1)
atexit.register(lambda: open(marker, "a").write("handlers ran;"))
real_exit = os._exit
def fast_exit(code):
    open(marker, "a").write("fast exit;")
    real_exit(code)
os._exit = fast_exit
if how == "profiled":
    sys.setprofile(lambda *args: None)
sys.argv = ["hpsearch", *sys.argv[1:]]
runpy.run_module("hpsearch", run_name="__main__")
"""


def _hpsearch(tmp_path: Path, *args: str, how: str = "plain") -> tuple[subprocess.CompletedProcess[str], Path]:
    marker = tmp_path / "exit-log"
    out = subprocess.run([sys.executable, "-c", PROBE, str(marker), how, *args], capture_output=True, text=True,
                         timeout=120)
    return out, marker


@pytest.mark.parametrize(("threshold", "code"), [("val_acc=0.2", 0), ("train_acc=1.0", 1)])
def test_a_run_exits_with_its_code_its_output_and_its_files(tmp_path, write_config, threshold, code):
    config = write_config(TINY)
    run_dir, summary = tmp_path / "run", tmp_path / "summary.json"
    out, marker = _hpsearch(tmp_path, "run", str(config), "--run-dir", str(run_dir), "--fail-under", threshold,
                            "--json", str(summary))
    assert out.returncode == code, out.stderr
    assert "best trial 0000" in out.stdout  # the lines printed last made it out, to both streams
    assert f"threshold {threshold.replace('=', ' >= ').replace('1.0', '1')}: {'passed' if code == 0 else 'FAILED'}" in out.stdout + out.stderr
    assert json.loads(summary.read_text())["exit_code"] == code
    assert json.loads((run_dir / "run.json").read_text())["status"] == "completed"
    assert marker.read_text() == "handlers ran;fast exit;"  # Ray's shutdown is one such handler


def test_a_usage_error_after_torch_still_exits_2_with_its_message(tmp_path):
    out, marker = _hpsearch(tmp_path, "resume", str(tmp_path / "not-a-run"))
    assert out.returncode == 2
    assert "not-a-run" in out.stderr
    assert marker.read_text() == "handlers ran;fast exit;"


def test_json_on_stdout_survives_the_fast_exit(tmp_path, write_config):
    out, marker = _hpsearch(tmp_path, "run", str(write_config(TINY)), "--run-dir", str(tmp_path / "run"), "--json", "-")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "completed"
    assert marker.read_text() == "handlers ran;fast exit;"


def test_under_a_profiler_the_program_exits_the_ordinary_way(tmp_path):
    out, marker = _hpsearch(tmp_path, "resume", str(tmp_path / "not-a-run"), how="profiled")
    assert out.returncode == 2
    assert marker.read_text() == "handlers ran;"  # the profiler's own exit code gets to run


def test_a_reader_that_leaves_early_does_not_stop_the_search(tmp_path, write_config):
    """``hpsearch run config.yaml | head -1``: the search runs to its end and exits 0, silently."""
    config, run_dir = write_config({**TINY, "trials": 4}), tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "hpsearch", "run", str(config), "--run-dir", str(run_dir)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().startswith("search tiny:")
    process.stdout.close()  # as head does after its line
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert "Broken pipe" not in stderr and "error" not in stderr
    assert json.loads((run_dir / "run.json").read_text())["status"] == "completed"
