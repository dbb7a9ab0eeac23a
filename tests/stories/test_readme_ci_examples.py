"""The README's CI examples (a GitHub Actions job and a pytest test) work in a user's own project:
a folder outside this checkout, with its own config, hpsearch installed from the built wheel.

What is real: ``python -m build`` makes the sdist and builds the wheel from it (so the sdist holds
what the wheel needs); a fresh virtual environment gets the wheel installed by pip, with its console
script; the examples run there with no PYTHONPATH, from a folder that is not the checkout and holds
a clone-like ``hpsearch/`` folder (which must not shadow the installed package). What is borrowed,
to keep the test to a minute: the dependencies (torch and the rest) are not downloaded again but
read from the test's own environment, named in a ``.pth`` file, so the wheel is installed with
``--no-deps`` (and ``--ignore-installed``: the test environment has hpsearch installed editable).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT


def _readme_block(language: str, marker: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return next(b for b in blocks if marker in b)


def _run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload]
    assert proc.returncode == 0, f"{args}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``python -m build`` makes from a copy of the checkout's files (sdist first, then the
    wheel built from the unpacked sdist)."""
    base = tmp_path_factory.mktemp("build")
    source = base / "source"
    files = _run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(base / "dist"), str(source)])
    sdists, wheels = list((base / "dist").glob("*.tar.gz")), list((base / "dist").glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1
    return wheels[0]


@pytest.fixture(scope="module")
def project(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A user's project: a fresh venv with the wheel installed, its own hpsearch.yaml (from `hpsearch
    init`), the wheel under vendor/ as the README's job expects, and a clone-like hpsearch/ folder."""
    base = tmp_path_factory.mktemp("user")
    assert ROOT not in base.parents
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    (site / "borrowed_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")  # a path only: its .pth files do not run
    repo = base / "repo"
    (repo / "vendor").mkdir(parents=True)
    shutil.copy2(wheel, repo / "vendor" / wheel.name)
    (repo / "hpsearch").mkdir()  # e.g. a clone of hpsearch beside the user's scripts
    (repo / "hpsearch" / "README.md").write_text("a clone folder\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", VIRTUAL_ENV=str(venv), PYTHONDONTWRITEBYTECODE="1")
    job = yaml.safe_load(_readme_block("yaml", "runs-on"))
    install = [s["run"] for s in job["jobs"]["smoke"]["steps"] if s.get("run", "").startswith("pip install")]
    assert install == ["pip install vendor/hpsearch-*.whl"], "the job installs the wheel from vendor/"
    _run(["bash", "-e", "-c", install[0] + " --no-deps --ignore-installed --no-index --quiet"], cwd=repo, env=env)
    where = _run([str(python), "-c", "import hpsearch; print(hpsearch.__file__)"], cwd=repo, env=env).stdout.strip()
    assert Path(where).is_relative_to(venv), f"hpsearch imported from {where}, not from the wheel"
    assert "wrote hpsearch.yaml" in _run(["hpsearch", "init"], cwd=repo, env=env).stdout
    return repo, env


def test_readme_github_actions_job_runs_in_a_project_of_its_own(project: tuple[Path, dict[str, str]]) -> None:
    repo, env = project
    job = yaml.safe_load(_readme_block("yaml", "runs-on"))
    steps = [s["run"] for s in job["jobs"]["smoke"]["steps"] if "hpsearch" in s.get("run", "") and "pip" not in s["run"]]
    assert len(steps) == 1
    proc = _run(["bash", "-e", "-c", steps[0]], cwd=repo, env=env)
    assert "\r" not in proc.stdout + proc.stderr  # a CI log: lines, no bar redraws
    assert re.search(r"^threshold val_acc >= 0.3: passed", proc.stdout, re.M)
    assert json.loads((repo / "smoke.json").read_text())["trials"]["completed"] == 2
    assert list((repo / "runs").glob("hpsearch-smoke*")), "the run folder the job uploads"


def test_readme_pytest_example_runs_in_a_project_of_its_own(project: tuple[Path, dict[str, str]]) -> None:
    repo, env = project
    (repo / "tests").mkdir(exist_ok=True)
    (repo / "tests" / "test_smoke.py").write_text(_readme_block("python", "def test_hpsearch_smoke"))
    proc = _run([str(Path(env["VIRTUAL_ENV"]) / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                 "tests/test_smoke.py"], cwd=repo, env=env)
    assert "1 passed" in proc.stdout
