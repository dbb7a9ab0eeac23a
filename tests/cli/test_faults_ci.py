"""CI use: --smoke, --fail-under, --max-time, --json, CI-friendly output, and the README's examples."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hpsearch.cli.main import main
from hpsearch.reports.ci import Threshold, parse_duration, parse_threshold, smoke_config
from hpsearch.search.run import resume_search, run_search
from hpsearch.space.config import parse_config
from tests.helpers import ROOT as ROOT_DIR

ROOT = ROOT_DIR
CONFIG = {
    "name": "ci", "seed": 1, "trials": 3, "epochs": 2, "device": "cpu",
    "data": {"dataset": "synthetic", "samples": 300},
    "fixed": {"optimizer": "sgd"},
    "space": {"lr": {"distribution": "log_uniform", "low": 1.0e-2, "high": 0.3}},
}


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "ci.yaml"
    path.write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    return path


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("10m", 600), ("1h", 3600),
                                                ("1h30m", 5400), ("1.5h", 5400), ("0.5s", 0.5)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("text", "message"), [("10 minutes", "not a duration"), ("", "not a duration"),
                                               ("0s", "must be > 0"), ("m", "not a duration")])
def test_parse_duration_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


def test_parse_threshold() -> None:
    assert parse_threshold("val_acc=0.9") == Threshold("val_acc", 0.9)
    with pytest.raises(ValueError, match="METRIC one of val_acc, train_acc"):
        parse_threshold("loss=0.1")
    with pytest.raises(ValueError, match=r"did you mean 0\.9"):
        parse_threshold("val_acc=90")
    with pytest.raises(ValueError, match="'x' is not a number"):
        parse_threshold("val_acc=x")


def test_bad_threshold_is_a_usage_error(config_file: Path) -> None:
    result = CliRunner().invoke(main, ["run", str(config_file), "--fail-under", "val_acc"])
    assert result.exit_code == 2
    assert "expected METRIC=VALUE" in result.output


def test_smoke_shrinks_the_search_and_runs_for_real(config_file: Path, tmp_path: Path) -> None:
    config = smoke_config(parse_config({**CONFIG, "trials": 20, "epochs": 9, "data": {"samples": 2000}}))
    assert (config.name, config.trials, config.epochs, config.data.subset) == ("ci-smoke", 2, 1, 512)
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(config_file), "--smoke", "--run-dir", str(run_dir)])
    assert result.exit_code == 0, result.output
    info = json.loads((run_dir / "run.json").read_text())
    assert info["trials"] == {"completed": 2} and info["data"]["train"] == 240  # 300 samples: all kept
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert (saved["trials"], saved["epochs"], saved["data"]["subset"]) == (2, 1, 512)
    assert all(len((d / "metrics.jsonl").read_text().splitlines()) == 1 for d in (run_dir / "trials").iterdir())
    assert [line.split()[1] for line in result.output.splitlines() if line.startswith("trial ")] == ["0000", "0001"]


def test_fail_under_both_ways_and_the_json_summary(config_file: Path, tmp_path: Path) -> None:
    run_dir, summary = tmp_path / "run", tmp_path / "s.json"
    passing = CliRunner().invoke(main, ["run", str(config_file), "--run-dir", str(run_dir), "--fail-under", "val_acc=0.2",
                                        "--fail-under", "train_acc=0.99", "--json", str(summary)])
    assert passing.exit_code == 1
    assert re.search(r"threshold val_acc >= 0.2: passed \(best: 0\.\d{4}\)", passing.output)
    assert re.search(r"threshold train_acc >= 0.99: FAILED \(best: 0\.\d{4}\)", passing.output)
    doc = json.loads(summary.read_text())
    assert set(doc) == {"status", "run_dir", "seconds", "trials", "best", "thresholds", "passed", "stop_reason", "exit_code"}
    assert doc["status"] == "completed" and doc["exit_code"] == 1 and doc["passed"] is False
    assert doc["trials"] == {"planned": 3, "completed": 3, "not_run": 0}
    assert set(doc["best"]) == {"trial", "params", "metrics"} and set(doc["best"]["params"]) == {"lr"}
    assert 0.2 <= doc["best"]["metrics"]["val_acc"] <= 1
    assert [(t["metric"], t["passed"]) for t in doc["thresholds"]] == [("val_acc", True), ("train_acc", False)]
    best = json.loads((run_dir / "run.json").read_text())["best"]
    assert doc["best"]["metrics"]["val_acc"] == best["val_acc"] and doc["best"]["trial"] == best["trial"]

    # the same run folder, resumed (nothing left to do) with a threshold it meets: exit 0, JSON on stdout
    ok = CliRunner().invoke(main, ["resume", str(run_dir), "--fail-under", "val_acc=0.2", "--json", "-"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["passed"] is True


def test_max_time_stops_starting_trials_and_resume_finishes(tmp_path: Path) -> None:
    ticks = itertools.count(step=10.0)  # a clock that advances 10 s per reading
    run_dir = tmp_path / "run"
    config = parse_config(CONFIG)
    result = run_search(config, run_dir, max_seconds=25, clock=lambda: next(ticks))
    assert result.status == "stopped" and len(result.trials) == 2
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "stopped" and "--max-time 25.0s reached; 1 trial(s) not started" in info["stopped"]
    resumed = resume_search(run_dir)
    assert resumed.status == "completed" and [t.id for t, _ in resumed.trials] == [0, 1, 2]
    assert "stopped" not in json.loads((run_dir / "run.json").read_text())


def test_max_time_on_the_command_line(config_file: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", str(config_file), "--run-dir", str(tmp_path / "run"),
                                       "--max-time", "0.001s", "--json", "-"])
    assert result.exit_code == 1  # no trial had time to start, so none completed
    doc = json.loads(result.stdout)
    assert doc["status"] == "stopped" and doc["trials"]["not_run"] == 3 and "--max-time" in doc["stop_reason"]


def test_json_summary_is_written_even_when_the_config_is_bad(write_config, tmp_path):
    from click.testing import CliRunner

    from hpsearch.cli.main import main

    bad = write_config("trails: 2\n")
    result = CliRunner().invoke(main, ["run", str(bad), "--json", str(tmp_path / "s.json")])
    assert result.exit_code == 2
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["status"] == "error" and doc["exit_code"] == 2 and "trails: unknown key" in doc["error"]


def test_the_resume_summary_gives_its_own_time_and_the_whole_searchs(tmp_path: Path) -> None:
    ticks = itertools.count(step=10.0)
    run_dir = tmp_path / "run"
    run_search(parse_config(CONFIG), run_dir, max_seconds=25, clock=lambda: next(ticks))  # 2 of 3 trials
    result = CliRunner().invoke(main, ["resume", str(run_dir), "-q"])
    assert result.exit_code == 0, result.output
    total = sum(json.loads(p.read_text())["seconds"] for p in run_dir.glob("trials/*/result.json"))
    assert re.search(rf"3 trials in \d+\.\ds this resume, {total:.1f}s of training over the whole search \(3 completed\)",
                     result.output), result.output


def test_resuming_an_ended_search_says_there_is_nothing_to_resume(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_search(parse_config(CONFIG), run_dir)
    result = CliRunner().invoke(main, ["resume", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"nothing to resume: the search had ended (3 trials: 3 completed); results in {run_dir}")
