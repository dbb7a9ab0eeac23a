"""The command line as a user meets it: help, version, sample, run, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from hpsearch import __version__
from hpsearch.cli.main import main
from tests.helpers import QUICKSTART


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_version_and_help_on_every_command():
    assert invoke("--version").output.strip() == f"hpsearch, version {__version__}"
    for command in ([], ["run"], ["sample"], ["validate"]):
        result = invoke(*command, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output


def test_sample_json_lists_trials_with_params_in_order():
    result = invoke("sample", str(QUICKSTART), "-n", "3", "--format", "json")
    assert result.exit_code == 0
    trials = json.loads(result.output)
    assert [t["trial"] for t in trials] == [0, 1, 2]
    assert list(trials[0]["params"]) == ["lr", "batch_size", "hidden_units", "momentum", "layers", "lr_decay"]
    assert all(1e-4 <= t["params"]["lr"] <= 1.0 for t in trials)


def test_sample_table_shows_readable_values_and_the_seed_changes_them():
    table = invoke("sample", str(QUICKSTART), "-n", "2").output
    assert table.splitlines()[0].split() == ["trial", "lr", "batch_size", "hidden_units", "momentum", "layers", "lr_decay"]
    assert "e-0" in table and "fixed: optimizer=sgd batchnorm=true" in table
    assert invoke("sample", str(QUICKSTART), "-n", "2", "--seed", "1").output != table


def test_run_prints_a_line_per_trial_and_the_best(tiny_config, tmp_path):
    run_dir = tmp_path / "out"
    result = invoke("run", str(tiny_config), "--trials", "2", "--epochs", "1", "--run-dir", str(run_dir))
    assert result.exit_code == 0, result.output
    assert result.output.count("trial 000") >= 2
    assert "best trial" in result.output and "val_acc" in result.output and "gap" in result.output
    assert json.loads((run_dir / "run.json").read_text())["trials"] == {"completed": 2}


def test_run_refuses_a_folder_that_holds_a_run(tiny_config, tmp_path):
    run_dir = tmp_path / "out"
    assert invoke("run", str(tiny_config), "--trials", "1", "--epochs", "1", "--run-dir", str(run_dir)).exit_code == 0
    again = invoke("run", str(tiny_config), "--run-dir", str(run_dir))
    assert again.exit_code == 2 and "already holds a run" in again.output


def test_run_exits_1_when_no_trial_completed(write_config, tmp_path):
    path = write_config({"trials": 1, "epochs": 1, "device": "cpu", "data": {"samples": 200},
                         "fixed": {"optimizer": "sgd", "lr": 1.0e6}})
    result = invoke("run", str(path), "--run-dir", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "diverged" in result.output and "no trial completed" in result.output


def test_cuda_requested_without_cuda_is_a_clear_usage_error(tiny_config, tmp_path, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    result = invoke("run", str(tiny_config), "--device", "cuda", "--run-dir", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "Invalid value for '--device': device 'cuda' requested but CUDA is not available" in result.output
    assert "use --device auto or cpu" in result.output
    assert not (tmp_path / "out").exists()


PROBE = """
import runpy, sys
sys.argv = ["hpsearch", *sys.argv[1:]]
try:
    runpy.run_module("hpsearch", run_name="__main__")
except SystemExit as exit_:
    assert not exit_.code, exit_.code
assert "torch" not in sys.modules, "torch was imported"
"""


@pytest.mark.parametrize("args", [["--help"], ["validate", str(QUICKSTART)], ["sample", str(QUICKSTART)]])
def test_python_dash_m_works_and_light_commands_do_not_import_torch(args):
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


EARLY_PROBE = """
import runpy, sys
import hpsearch.search.forkserver as forkserver
def early():
    print("torch imported" if "torch" in sys.modules else "torch not imported")
    raise SystemExit(0)
forkserver.start_workers_early = early
sys.argv = ["hpsearch", *sys.argv[1:]]
runpy.run_module("hpsearch", run_name="__main__")
"""


@pytest.mark.parametrize("command", ["run", "resume"])
def test_workers_fork_server_starts_before_torch_is_imported(command, tiny_config, tmp_path):
    """The fork server imports torch while the CLI does (about 2 s off a 2-worker search's start)."""
    target = str(tiny_config) if command == "run" else str(tmp_path / "no-run-yet")
    out = subprocess.run([sys.executable, "-c", EARLY_PROBE, command, target, "--workers", "2"],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "torch not imported", out.stdout + out.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["run", "{config}", "--workers", "0"], "error: Invalid value for '--workers': 0 is not in the range x>=1. (see hpsearch run --help)"),
    (["run"], "error: Missing argument 'CONFIG'. (see hpsearch run --help)"),
    (["rn"], "error: No such command 'rn'. Did you mean 'run'? (see hpsearch --help)"),
])
def test_a_usage_error_is_one_line_naming_the_option(args, message, tiny_config):
    result = CliRunner().invoke(main, [a.format(config=tiny_config) for a in args], prog_name="hpsearch")
    assert result.exit_code == 2
    assert result.output.strip() == message


def test_quiet_prints_no_blank_line_first(tiny_config, tmp_path):
    result = invoke("run", str(tiny_config), "--run-dir", str(tmp_path / "run"), "-q")
    assert result.exit_code == 0 and result.stdout.startswith("3 trials in ")


def test_a_run_folder_that_cannot_be_made_is_a_clear_usage_error(tiny_config, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    result = invoke("run", str(tiny_config), "--run-dir", str(tmp_path / "a-file" / "run"))
    assert result.exit_code == 2
    assert f"cannot write the run folder {tmp_path / 'a-file' / 'run'}" in result.output
    assert "Traceback" not in result.output


def test_device_help_lists_every_device_the_config_accepts():
    text = " ".join(CliRunner().invoke(main, ["run", "--help"]).output.split())
    assert "Override the config's device: auto, cpu, cuda, cuda:N or mps." in text
