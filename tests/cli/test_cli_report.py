from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from hpsearch.cli.main import main
from tests.helpers import ROOT as ROOT_DIR
from tests.helpers import FakeTrial, make_run

REPO = ROOT_DIR


@pytest.fixture
def root(tmp_path):
    trials = [FakeTrial({"lr": 10 ** (-4 + i / 3), "batch_size": [32, 64, 128][i % 3], "hidden_units": 32 + 20 * i},
                        [(0.5 + 0.03 * i, 0.5 + 0.02 * i)]) for i in range(12)]
    return make_run(tmp_path / "run", trials)


@pytest.mark.parametrize("command", [["compare"], ["importance"], ["plot"], ["show"]])
def test_a_folder_that_is_not_a_run_exits_2(tmp_path, command):
    result = CliRunner().invoke(main, [*command, str(tmp_path)])
    assert result.exit_code == 2
    assert f"error: {tmp_path} is not a run folder (no run.json)" in result.output or "not a trial folder" in result.output


def test_a_missing_folder_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_compare_json_and_show(root):
    result = CliRunner().invoke(main, ["compare", str(root), "--format", "json", "--top", "2"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["trial"] for r in rows] == [11, 10]
    shown = CliRunner().invoke(main, ["show", str(root), "11"])
    assert shown.exit_code == 0 and "trial 0011 of run" in shown.output


def test_importance_table_and_json(root):
    text = CliRunner().invoke(main, ["importance", str(root)])
    assert text.exit_code == 0, text.output
    assert "method: binned marginal variance share" in text.output and "declared" in text.output
    data = json.loads(CliRunner().invoke(main, ["importance", str(root), "--format", "json"]).output)
    assert data["trials"] == 12 and {p["name"] for p in data["params"]} == {"lr", "batch_size", "hidden_units"}


def test_reading_commands_do_not_import_torch(root):
    commands = [["compare", str(root)], ["show", str(root), "1"], ["importance", str(root)], ["list", str(root.parent)]]
    if importlib.util.find_spec("tensorboard") is not None:  # the tensorboard extra (in .[test])
        commands.append(["export", str(root), "--tensorboard", str(root.parent / "tb")])
    code = (
        "import sys\nfrom hpsearch.cli.main import main\n"
        f"for args in {commands!r}:\n"
        "    main(args, standalone_mode=False)\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env={"PYTHONPATH": str(REPO), "PATH": ""}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("NO-TORCH")
