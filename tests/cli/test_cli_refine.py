"""hpsearch refine as a user meets it: the printed ranges, the file, bad input, and the fine stage run."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from hpsearch.cli.main import main
from tests.helpers import TINY, FakeTrial, make_run


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def run(tmp_path):
    trials = [FakeTrial({"lr": 10 ** (-4 + i / 3), "batch_size": [32, 64, 128][i % 3], "hidden_units": 32 + 20 * i},
                        [(0.5 + 0.03 * i, 0.5 + 0.02 * i)]) for i in range(12)]
    return make_run(tmp_path / "run", trials)


def test_refine_prints_each_range_old_to_new_and_writes_the_file_beside_the_config(run):
    result = invoke("refine", run)
    assert result.exit_code == 0, result.output
    assert "the top 3 of 12 completed trials by validation accuracy (the top quarter of 12, at least 3)" in result.output
    assert "lr: 1.0e-04 .. 1.0e+00 -> " in result.output and "hidden_units: 32 .. 512 -> " in result.output
    written = run / "fake-refined.yaml"
    assert f"wrote {written}" in result.output and f"hpsearch run {written}" in result.output
    assert invoke("validate", written).exit_code == 0


def test_out_dash_prints_the_yaml_alone_on_stdout(run, tmp_path):
    result = CliRunner().invoke(main, ["refine", str(run), "--top", "4", "--trials", "5", "--out", "-"])
    assert result.exit_code == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert config["trials"] == 5 and config["refined_trials"] == [11, 10, 9, 8]
    assert "->" in result.stderr and not (run / "fake-refined.yaml").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--top", "13"], "--top 13 is larger than the 12 completed trials"),
    (["--top", "0"], "Invalid value for '--top'"),
])
def test_bad_options_exit_2(run, args, message):
    result = invoke("refine", run, *args)
    assert result.exit_code == 2 and message in result.output


def test_too_few_trials_a_non_run_and_a_run_in_progress_exit_2(tmp_path):
    few = make_run(tmp_path / "few", [FakeTrial({"lr": 0.01, "batch_size": 32, "hidden_units": 64}, [(0.5, 0.5)])] * 4
                   + [FakeTrial({"lr": 0.1, "batch_size": 32, "hidden_units": 64}, status="failed")])
    result = invoke("refine", few)
    assert result.exit_code == 2 and "has 4 completed trials; refine needs at least 6" in result.output
    result = invoke("refine", tmp_path)
    assert result.exit_code == 2 and "is not a run folder (no run.json)" in result.output
    (few / "run.lock").write_text(json.dumps({"pid": 1, "host": "elsewhere"}))
    result = invoke("refine", few, "--top", "2")
    assert result.exit_code == 2 and "is still being written by process 1 on elsewhere" in result.output


def test_an_unwritable_out_exits_2(run, tmp_path):
    result = invoke("refine", run, "--out", run / "config.yaml" / "x.yaml")  # a file where a folder should be
    assert result.exit_code == 2 and "cannot write" in result.output


def test_coarse_to_fine_end_to_end(tmp_path, write_config):
    """A real coarse run, refined, runs as it is; run.json carries refined_from; compare shows both stages."""
    coarse = tmp_path / "coarse"
    config = write_config({**TINY, "trials": 6, "epochs": 1})
    assert invoke("run", config, "--run-dir", coarse, "--quiet").exit_code == 0
    refined = invoke("refine", coarse, "--trials", "3", "--out", tmp_path / "fine.yaml")
    assert refined.exit_code == 0, refined.output
    fine = tmp_path / "fine"
    result = invoke("run", tmp_path / "fine.yaml", "--run-dir", fine, "--quiet")
    assert result.exit_code == 0, result.output
    info = json.loads((fine / "run.json").read_text())
    assert info["refined_from"]["run"] == str(coarse.resolve()) and len(info["refined_from"]["trials"]) == 3
    assert info["name"] == "tiny-refined" and info["trials"] == {"completed": 3}
    shown = invoke("compare", coarse, fine)
    assert shown.exit_code == 0, shown.output
    assert "coarse to fine: fine was refined from coarse around its trials" in shown.output
    assert "coarse: coarse" in shown.output and "epochs trained" in shown.output


def test_refine_does_not_import_torch(run):
    import subprocess
    import sys

    from tests.helpers import ROOT

    code = ("import sys\nfrom hpsearch.cli.main import main\n"
            f"main(['refine', {str(run)!r}, '--out', '-'], standalone_mode=False)\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("NO-TORCH")
