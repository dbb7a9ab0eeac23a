"""``hpsearch resume RUN_DIR --trials N`` grows a search as a fresh N-trial run would end, and
``hpsearch resume RUN_DIR --test`` tests the best trial after the fact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hpsearch.runs.store import RunStore
from tests.helpers import TINY, assert_same_run, invoke

pytestmark = pytest.mark.usefixtures("in_tmp")


def test_a_finished_search_extended_ends_file_for_file_as_a_fresh_run_of_that_many(write_config):
    config = write_config(TINY)  # 3 trials
    assert invoke("run", str(config), "--run-dir", "grown", "-q")[0] == 0
    code, out = invoke("resume", "grown", "--trials", "5", "-q")
    assert code == 0, out
    assert "5 trials in" in out
    assert invoke("run", str(config), "--trials", "5", "--run-dir", "fresh", "-q")[0] == 0
    assert_same_run(Path("grown"), Path("fresh"))  # config.yaml (trials: 5) and its sha256 included
    info = json.loads(Path("grown/run.json").read_text())
    assert info["resumed"][-1]["trials"] == [3, 5]
    assert "trials: 5\n" in Path("grown/config.yaml").read_text()


def test_after_an_extension_a_hand_edit_is_still_refused_and_fewer_trials_are_refused(write_config):
    config = write_config(TINY)
    assert invoke("run", str(config), "--run-dir", "run", "-q")[0] == 0
    code, out = invoke("resume", "run", "--trials", "2")
    assert code == 2 and "error: --trials 2 is below the 3 trials run planned" in out
    assert invoke("resume", "run", "--trials", "4", "-q")[0] == 0
    assert invoke("resume", "run", "--trials", "4", "-q")[0] == 0, "the same count again: nothing to do"
    path = Path("run/config.yaml")
    path.write_text(path.read_text() + "\n")
    code, out = invoke("resume", "run", "--trials", "6")
    assert code == 2 and "was edited after the search started" in out and "--trials N" in out


def test_an_extension_stopped_between_run_json_and_config_yaml_is_finished_by_the_next_resume(write_config, monkeypatch):
    """run.json is written first; a stop before config.yaml is rewritten leaves the previous file,
    which the next resume recognises (byte for byte, from run.json) rather than calling it edited."""
    config = write_config(TINY)
    assert invoke("run", str(config), "--run-dir", "grown", "-q")[0] == 0
    before = Path("grown/config.yaml").read_text()

    def stopped(self, config):
        raise KeyboardInterrupt  # Ctrl-C between the two writes

    with monkeypatch.context() as patch:
        patch.setattr(RunStore, "write_config", stopped)
        assert invoke("resume", "grown", "--trials", "5", "-q")[0] == 130
    assert Path("grown/config.yaml").read_text() == before, "the previous config.yaml is left"
    code, out = invoke("resume", "grown", "-q")
    assert code == 0, out
    assert invoke("run", str(config), "--trials", "5", "--run-dir", "fresh", "-q")[0] == 0
    assert_same_run(Path("grown"), Path("fresh"))


def file_config(write_config, tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    y = np.arange(300) % 2
    x = rng.normal(size=(300, 3)) + 3 * y[:, None]
    np.savez(tmp_path / "d.npz", x=x[:240], y=y[:240], x_test=x[240:], y_test=y[240:])
    return write_config({"trials": 2, "epochs": 2, "device": "cpu", "data": {"dataset": "file", "path": "d.npz"},
                         "fixed": {"batch_size": 16}})


def test_resume_test_evaluates_the_best_trial_of_a_finished_search_and_records_it(write_config, tmp_path):
    assert invoke("run", str(file_config(write_config, tmp_path)), "--run-dir", "run", "-q")[0] == 0
    assert "test" not in json.loads(Path("run/run.json").read_text())
    code, out = invoke("resume", "run", "--test", "-q")
    assert code == 0, out
    info = json.loads(Path("run/run.json").read_text())
    assert info["test"]["trial"] == info["best"]["trial"] and info["test"]["examples"] == 60
    assert info["status"] == "completed" and info["trials"] == {"completed": 2}
    assert f"test_acc {100 * info['test']['test_acc']:.1f}% on the 60 held-out test examples" in out
    assert "test: false" in Path("run/config.yaml").read_text(), "--test is for this invocation, not the config"


def test_resume_test_on_data_without_a_test_split_exits_2(write_config):
    assert invoke("run", str(write_config(TINY)), "--run-dir", "run", "-q")[0] == 0
    code, out = invoke("resume", "run", "--test")
    assert code == 2 and "has no test split" in out
