"""A run folder that cannot be written mid-search (a full disk) fails the run, not a trial: one line,
exit 2, the folder left resumable; once space is back, ``hpsearch resume`` ends as an unbroken run.

The disk fills for real as far as the process can tell: RLIMIT_FSIZE caps every file it writes, so
the first rung checkpoint (the largest file) fails with an OSError, as ENOSPC would.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import yaml
from click.testing import CliRunner

from hpsearch.cli.main import main
from hpsearch.search.run import run_search
from hpsearch.space.config import parse_config
from tests.helpers import ASHA_CONFIG, ROOT, assert_same_run

CONFIG = {**ASHA_CONFIG, "space": {**ASHA_CONFIG["space"], "hidden_units": {"distribution": "int_log_uniform", "low": 200, "high": 300}}}  # checkpoints near 1 MB
LIMIT = 100_000  # bytes: every file but a checkpoint or best_model.pt fits


def _small_disk() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # then an oversized write raises EFBIG instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def test_a_write_failure_stops_the_run_and_resume_ends_as_an_unbroken_run(tmp_path: Path) -> None:
    config = tmp_path / "asha.yaml"
    config.write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    run_dir = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "hpsearch", "run", str(config), "--run-dir", str(run_dir), "-q"],
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, capture_output=True, text=True,
                          timeout=300, preexec_fn=_small_disk)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith(f"error: cannot write the run folder {run_dir}")
    assert "checkpoint.pt" in proc.stderr and f"hpsearch resume {run_dir}" in proc.stderr
    failed = [p for p in run_dir.glob("trials/*/result.json") if '"failed"' in p.read_text()]
    assert not failed  # no trial was blamed for the disk

    assert CliRunner().invoke(main, ["resume", str(run_dir), "-q"]).exit_code == 0
    reference = tmp_path / "reference"
    run_search(parse_config(CONFIG), reference)
    assert_same_run(run_dir, reference)
