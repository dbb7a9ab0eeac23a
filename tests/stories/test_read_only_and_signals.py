"""A read-only run folder and signals in the first second (issue 18, points 13 and 17).

Read-only: as root, chmod does not stop writes, so the folder is made read-only for real with a
read-only bind mount in a private mount namespace (``unshare -m``, which needs CAP_SYS_ADMIN); as
another user, chmod does it. The test skips when neither can make a folder read-only.
Signals: SIGINT and SIGTERM sent at instants from 0.25 s to 1.7 s into ``hpsearch run``
(the interpreter starting, imports, the config, torch's import, the first trial) all end in exit 130,
or, before Python has run a line of hpsearch, in death by that signal (which a shell reports as
128 + its number): never click's ``Aborted!``, a traceback, or a run that goes on.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from hpsearch.search.run import run_search
from hpsearch.space.config import parse_config
from tests.helpers import ROOT, TINY

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _read_only_command(folder: Path, argv: list[str]) -> list[str] | None:
    """``argv`` run with ``folder`` read-only, or None when this machine cannot make it so."""
    if os.geteuid() != 0:
        return argv  # the caller chmods the folder
    if shutil.which("unshare") is None:
        return None
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount -o bind,ro '{folder}' '{folder}' && ! touch '{folder}/.p'"],
                           capture_output=True)
    if probe.returncode != 0:
        return None
    quoted = " ".join(f"'{a}'" for a in argv)
    return ["unshare", "-m", "sh", "-c", f"mount -o bind,ro '{folder}' '{folder}' && exec {quoted}"]


@pytest.mark.parametrize("command", ["resume", "plot"])
def test_resume_and_plot_on_a_read_only_folder_say_cannot_write_in_one_line(tmp_path: Path, command: str) -> None:
    if command == "plot":
        pytest.importorskip("matplotlib")
    run_dir = tmp_path / "run"
    run_search(parse_config({**TINY, "trials": 2, "epochs": 1}), run_dir, max_seconds=None if command == "plot" else 1e-9)
    argv = [sys.executable, "-m", "hpsearch", command, str(run_dir)]
    full = _read_only_command(run_dir, argv)
    if full is None:
        pytest.skip("cannot make a folder read-only here (root without mount rights)")
    if os.geteuid() != 0:
        for path in [run_dir, *run_dir.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    proc = subprocess.run(full, capture_output=True, text=True, env=ENV, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write" in lines[0] and str(run_dir) in lines[0], proc.stderr
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before


def test_a_signal_in_the_first_second_and_a_half_exits_130(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({**TINY, "trials": 2, "epochs": 1}))
    outcomes = []
    for i, delay in enumerate([0.25 + 0.05 * k for k in range(30)]):  # from once the interpreter is up
        sig = (signal.SIGINT, signal.SIGTERM)[i % 2]
        run_dir = tmp_path / f"run{i}"
        proc = subprocess.Popen([sys.executable, "-m", "hpsearch", "run", str(config), "--run-dir", str(run_dir), "-q"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        time.sleep(delay)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=300)
        outcomes.append((round(delay, 2), sig.name, proc.returncode, err))
    bad = [o for o in outcomes if not (o[2] == 130 or o[2] == -signal.Signals[o[1]].value)]
    assert not bad, bad
    assert all("Aborted!" not in o[3] and "Traceback" not in o[3] for o in outcomes), outcomes
    assert sum(o[2] == 130 for o in outcomes) >= len(outcomes) - 3  # only the interpreter's own start is out of reach
