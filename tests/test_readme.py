"""The README's reference tables stay true to the code."""

from __future__ import annotations

import pytest

from hpsearch.space.config import DATASETS, SCHEDULERS, DataConfig, SchedulerConfig, SearchConfig
from hpsearch.space.distributions import DISTRIBUTIONS
from hpsearch.space.hyperparams import HYPERPARAMETERS
from hpsearch.space.keys import keys_of
from tests.helpers import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
KEY_TABLES = {"### Top-level keys": SearchConfig, "### `data`": DataConfig, "### `scheduler`": SchedulerConfig}


def key_table(heading: str) -> dict[str, list[str]]:
    """The first table under ``heading``: key (unquoted) -> its row's other cells."""
    assert README.count(f"\n{heading}\n") == 1, heading
    rows: dict[str, list[str]] = {}
    for line in README.split(f"\n{heading}\n", 1)[1].lstrip("\n").splitlines():
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if cells[0].startswith("`"):
            assert cells[0].strip("`") not in rows, f"{heading}: {cells[0]} twice"
            rows[cells[0].strip("`")] = cells[1:]
    return rows


@pytest.mark.parametrize("heading", KEY_TABLES)
def test_every_declared_config_key_has_a_row_and_every_row_is_a_key(heading):
    assert set(key_table(heading)) == set(keys_of(KEY_TABLES[heading])), heading


@pytest.mark.parametrize("heading", KEY_TABLES)
def test_the_readme_gives_each_config_key_its_declared_default(heading):
    table = key_table(heading)
    for name, key in keys_of(KEY_TABLES[heading]).items():
        assert table[name][0] == key.readme_default(), f"{heading}: {name}"


def test_the_readme_lists_every_dataset_and_scheduler_the_config_accepts():
    for name in DATASETS:
        assert f"`{name}`" in key_table("### `data`")["dataset"][1], name
    for name in SCHEDULERS:
        assert f"`{name}`" in key_table("### `scheduler`")["name"][1], name


def test_every_hyperparameter_is_documented_with_its_default():
    for name, h in HYPERPARAMETERS.items():
        default = str(h.default).lower() if isinstance(h.default, bool) else str(h.default)
        assert f"| `{name}` | `{default}` |" in README, name


def test_every_distribution_is_documented():
    for name in DISTRIBUTIONS:
        assert f"| `{name}` |" in README, name


def test_readme_gives_the_install_and_test_commands_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -c constraints.txt -e \".[test]\" && hpsearch run configs/quickstart.yaml" in README
    assert "```bash\npython -m pytest\n```" in README
    assert "\npython -m pytest\n" in ci


def test_the_python_api_section_runs_as_written_and_dir_lists_the_api(tmp_path):
    """The README's notebook example, run as written (twice a search, then the folder read back),
    in a folder holding a small config of the user's own."""
    import ast
    import os
    import re
    import subprocess
    import sys

    import yaml

    from tests.helpers import TINY

    section = README.split("## Python API\n", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "hpsearch.yaml").write_text(yaml.safe_dump({**TINY, "name": "mine"}, sort_keys=False))
    script = code + "\nprint('DIR', dir(hpsearch))\nprint('RUNS', sorted(p.name for p in __import__('pathlib').Path('runs').iterdir()))\n"
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = ast.literal_eval(proc.stdout.split("DIR ", 1)[1].splitlines()[0])
    assert {"load_config", "run_search", "sample_trials", "RunRecord", "build_mlp", "ConfigError", "load_model"} <= set(names)
    runs = ast.literal_eval(proc.stdout.split("RUNS ", 1)[1].splitlines()[0])
    assert len(runs) == 2 and all(r.startswith("mine-") for r in runs), "two searches, two folders"
