"""What ``hpsearch resume`` continues: the run folder read back and checked, split into kept and pending.

A trial is kept when its result.json says completed, stopped (by the scheduler), diverged or
failed: those are final, and rerunning them would only spend time to reach the same record.
Anything else (no result.json, a result marked interrupted) is pending: it continues from its last
rung checkpoint when it has one (see driver.py), else it runs again from scratch. The config comes from the
folder's config.yaml, checked against the sha256 run.json recorded when the run began, so a
resumed search can only be the search that was started.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpsearch.errors import ConfigError, RunDirError
from hpsearch.runs.records import FINAL_STATUSES, TrialResult
from hpsearch.runs.store import RunRecord, TrialRecord, text_sha256
from hpsearch.space.config import SearchConfig, load_config
from hpsearch.space.sampler import Trial, sample_trial


@dataclass
class ResumeState:
    config: SearchConfig
    info: dict[str, Any]  # run.json as found
    done: list[tuple[Trial, TrialResult]]  # kept trials, by id
    pending: list[int]  # trial ids to (re)run, in order


def load_resumable(root: Path) -> ResumeState:
    """Read and check ``root``. Raises RunDirError naming the file and what to do."""
    if not root.is_dir():
        raise RunDirError(f"{root} is not a folder; give a run folder such as runs/<name>-<timestamp>")
    if (root / "config.yaml").exists() and not (root / "run.json").exists():
        raise RunDirError(f"{root} was stopped before its run.json was written, so no trial ran; remove the "
                          f"folder and start the search again with: hpsearch run {root / 'config.yaml'}")
    record = RunRecord(root)
    config = _checked_config(root, record.info)
    trials = {t.id: t for t in record.trials}
    done: list[tuple[Trial, TrialResult]] = []
    pending: list[int] = []
    for trial_id in range(config.trials):
        trial = sample_trial(config, trial_id)
        found = trials.get(trial_id)
        if found is not None and found.status in FINAL_STATUSES and found.result is not None:
            _check_same_draw(trial, found)
            done.append((trial, found.result))
        else:
            pending.append(trial_id)
    return ResumeState(config, record.info, done, pending)


def _checked_config(root: Path, info: dict[str, Any]) -> SearchConfig:
    path = root / "config.yaml"
    if not path.exists():
        raise RunDirError(f"{path} is missing; the run cannot be resumed without the config it started with")
    expected = info.get("config_sha256")
    if expected is None:
        raise RunDirError(f"{root / 'run.json'} records no config_sha256 (written by an older hpsearch), so "
                          f"{path} cannot be checked; start a new search with: hpsearch run {path}")
    if text_sha256(path.read_text(encoding="utf-8")) != expected:
        raise RunDirError(f"{path} was edited after the search started (its sha256 no longer matches run.json); "
                          f"resume continues only the search as it began: restore the file, or start a new "
                          f"search with: hpsearch run {path}")
    try:
        return load_config(path)
    except ConfigError as exc:  # valid when written: this hpsearch version reads it differently
        raise RunDirError(f"{path} no longer validates with this hpsearch version:\n{exc}") from None


def _check_same_draw(trial: Trial, found: TrialRecord) -> None:
    """A kept trial must hold the parameters (seed, id) draws now, or the folder would mix two searches."""
    drawn = json.loads(json.dumps(trial.params))
    if found.params != drawn or found.seed != trial.seed:
        raise RunDirError(f"{found.path / 'params.json'} holds parameters other than those trial {trial.id} draws "
                          f"from the config's seed; resume it with the hpsearch version that started it "
                          f"(run.json versions.hpsearch)")
