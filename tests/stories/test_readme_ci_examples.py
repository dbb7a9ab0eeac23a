"""The README's CI examples (a GitHub Actions step and a pytest test) run as written, in subprocesses."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.helpers import ROOT


def _readme_block(language: str, marker: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return next(b for b in blocks if marker in b)


def _project_copy(tmp_path: Path) -> Path:
    """A user's repository: the configs folder, hpsearch importable (as after pip install)."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "configs", repo / "configs")
    return repo


def _env() -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PYTHONPATH": str(ROOT), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def test_readme_github_actions_smoke_step_runs_as_written(tmp_path: Path) -> None:
    job = yaml.safe_load(_readme_block("yaml", "runs-on"))
    steps = [s["run"] for s in job["jobs"]["smoke"]["steps"] if "hpsearch run" in s.get("run", "")]
    assert len(steps) == 1
    repo = _project_copy(tmp_path)
    proc = subprocess.run(shlex.split(steps[0]), cwd=repo, env=_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "\r" not in proc.stdout + proc.stderr  # a CI log: lines, no bar redraws
    assert re.search(r"^threshold val_acc >= 0.3: passed", proc.stdout, re.M)
    assert json.loads((repo / "smoke.json").read_text())["trials"]["completed"] == 2


def test_readme_pytest_example_runs_as_written(tmp_path: Path) -> None:
    repo = _project_copy(tmp_path)
    (repo / "tests").mkdir()
    (repo / "tests" / "test_smoke.py").write_text(_readme_block("python", "def test_hpsearch_smoke"))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_smoke.py"],
                          cwd=repo, env=_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
