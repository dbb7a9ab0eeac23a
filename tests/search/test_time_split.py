"""The overhead accounting: run.json's ``time`` splits the wall time the same way for every executor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hpsearch.cli.main import main
from hpsearch.runs.records import TimeSplit
from hpsearch.search.run import run_search
from hpsearch.space.config import parse_config
from tests.helpers import TINY


@pytest.mark.parametrize("workers", [1, 2])
def test_time_adds_up_to_the_epochs_recorded_and_the_rest_is_overhead(tmp_path: Path, workers: int) -> None:
    result = run_search(parse_config({**TINY, "workers": workers}), tmp_path / "run")
    time = json.loads((tmp_path / "run" / "run.json").read_text())["time"]
    epochs = [json.loads(line) for p in sorted((tmp_path / "run").glob("trials/*/metrics.jsonl"))
              for line in p.read_text().splitlines()]
    assert time["training"] == pytest.approx(sum(e["seconds"] - e["eval_seconds"] for e in epochs), abs=2e-3)
    assert time["evaluation"] == pytest.approx(sum(e["eval_seconds"] for e in epochs), abs=2e-3)
    assert (time["workers"], time["trials"]) == (workers, 3)
    assert 0 <= time["startup"] <= time["wall"] <= result.seconds + 1e-3  # run.json rounds to ms
    assert time["overhead"] == pytest.approx((time["wall"] - time["startup"]) * workers - time["training"]
                                             - time["evaluation"], abs=5e-3)


def test_the_run_command_prints_the_split_in_one_line(tiny_config: Path, tmp_path: Path) -> None:
    out = CliRunner().invoke(main, ["run", str(tiny_config), "--run-dir", str(tmp_path / "run"), "-q"]).output
    lines = [line for line in out.splitlines() if line.startswith("time: ")]
    assert len(lines) == 1 and "start-up" in lines[0] and "training" in lines[0] and "ms a trial" in lines[0]


def test_overhead_is_the_workers_time_left_after_the_epochs() -> None:
    split = TimeSplit(wall=10.0, startup=2.0, training=10.0, evaluation=2.0, workers=2, trials=40)
    assert split.overhead == pytest.approx(4.0) and split.per_trial_ms() == pytest.approx(100.0)
    assert TimeSplit(1.0, 0.0, 5.0, 0.0, 1, 1).overhead == 0.0  # clock skew never reads as negative


@pytest.mark.parametrize(("workers", "expected"), [
    (1, "time: 19.8s = 2.1s start-up + 17.7s trials (11.4s training, 2.0s evaluation, 4.3s overhead; 43 ms a trial)"),
    (2, "time: 6.0s = 2.0s start-up + 4.0s trials on 2 workers (8.0s of worker time: 5.0s training, 1.0s evaluation, "
        "2.0s overhead; 50 ms a trial)"),
])
def test_the_time_line_adds_up_and_says_when_its_parts_are_worker_time(workers: int, expected: str) -> None:
    split = TimeSplit(19.8, 2.1, 11.4, 2.0, 1, 100) if workers == 1 else TimeSplit(6.0, 2.0, 5.0, 1.0, 2, 40)
    assert split.line() == expected
