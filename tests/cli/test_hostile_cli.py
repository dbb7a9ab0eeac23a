"""What the CLI checks before it writes or trains (issue 18, points 6, 16b and 17): resume on a
mistyped path or a folder holding no run writes nothing; ``--json`` is checked before training and
never overwrites the config or the run's own files; a KeyboardInterrupt before the search exits 130."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hpsearch.cli.main import main
from hpsearch.search.run import run_search
from hpsearch.space import config as config_module
from hpsearch.space.config import parse_config
from tests.helpers import TINY


@pytest.mark.parametrize("make", ["missing", "empty", "other files"])
def test_resume_on_a_folder_holding_no_run_writes_nothing(tmp_path: Path, make: str) -> None:
    target = tmp_path / "runs" / "typo"
    if make != "missing":
        target.mkdir(parents=True)
    if make == "other files":
        (target / "notes.txt").write_text("mine")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = CliRunner().invoke(main, ["resume", str(target)])
    assert result.exit_code == 2
    assert ("is not a folder" if make == "missing" else "is not a run folder (no config.yaml or run.json)") in result.output
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # no .run.lock.guard, no folder made


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({**TINY, "trials": 1, "epochs": 1}))
    return path


def test_json_pointing_at_the_config_being_run_is_refused_before_training(tmp_path: Path, config_file: Path) -> None:
    before = config_file.read_text()
    result = CliRunner().invoke(main, ["run", str(config_file), "--run-dir", str(tmp_path / "run"), "--json", str(config_file)])
    assert result.exit_code == 2 and "would overwrite the config being run" in result.output
    assert config_file.read_text() == before and not (tmp_path / "run").exists()


def test_json_pointing_at_the_runs_own_run_json_is_refused(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_search(parse_config({**TINY, "trials": 1, "epochs": 1}), run_dir, max_seconds=1e-9)
    before = (run_dir / "run.json").read_text()
    result = CliRunner().invoke(main, ["resume", str(run_dir), "--json", str(run_dir / "run.json")])
    assert result.exit_code == 2 and "would overwrite the run folder's run.json" in result.output
    assert (run_dir / "run.json").read_text() == before


def test_an_unwritable_json_path_is_refused_before_training(tmp_path: Path, config_file: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = CliRunner().invoke(main, ["run", str(config_file), "--run-dir", str(tmp_path / "run"),
                                       "--json", str(blocker / "summary.json")])
    assert result.exit_code == 2 and "--json" in result.output and "cannot write" in result.output
    assert not (tmp_path / "run").exists()


def test_a_json_path_that_is_fine_still_gets_the_summary(tmp_path: Path, config_file: Path) -> None:
    out = tmp_path / "new" / "summary.json"
    result = CliRunner().invoke(main, ["run", str(config_file), "--run-dir", str(tmp_path / "run"), "--json", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["trials"]["completed"] == 1


def test_a_keyboard_interrupt_before_the_search_exits_130_not_aborted(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the config loads reaches click, which would print ``Aborted!`` and exit 1."""
    def interrupted(path: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(config_module, "read_yaml", interrupted)
    for command in ("run", "validate"):
        result = CliRunner().invoke(main, [command, str(config_file)])
        assert result.exit_code == 130 and "Aborted!" not in result.output and "interrupted" in result.output


def test_list_skips_a_run_whose_run_json_is_damaged_and_lists_the_rest(tmp_path: Path) -> None:
    for name in ("a", "b"):
        run_search(parse_config({**TINY, "trials": 1, "epochs": 1, "name": name}), tmp_path / name, max_seconds=1e-9)
    (tmp_path / "a" / "run.json").write_text("[1]")
    result = CliRunner().invoke(main, ["list", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = [line.split()[0] for line in result.output.splitlines()[1:] if line.strip()]
    assert rows == ["b"]


def test_predict_with_a_damaged_best_model_exits_2_with_one_line(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    run_dir = tmp_path / "run"
    run_search(parse_config({**TINY, "trials": 1, "epochs": 1}), run_dir)
    (run_dir / "best_model.pt").write_bytes(b"garbage, not a zip")
    inputs = tmp_path / "x.npz"
    np.savez(inputs, x=np.zeros((2, 40)))
    result = CliRunner().invoke(main, ["predict", str(run_dir), str(inputs)])
    assert result.exit_code == 2 and "best_model.pt cannot be read (damaged?" in result.output
    assert len(result.output.strip().splitlines()) == 1
