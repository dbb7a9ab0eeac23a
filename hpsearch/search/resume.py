"""What ``hpsearch resume`` continues: the run folder read back and checked, split into kept and pending.

A trial is kept when its result.json says completed, stopped (by the scheduler), diverged or
failed: those are final, and rerunning them would only spend time to reach the same record.
Anything else (no result.json, a result marked interrupted) is pending: it continues from its last
rung checkpoint when it has one (see checkpoints.py), else it runs again from scratch. The config comes from the
folder's config.yaml, checked against the sha256 run.json records, so a resumed search can only be
the search that was started.

``--trials N`` extends the search: trials ``planned..N-1`` are pending like any unstarted trial, and
since trial i depends on (seed, i) alone the folder ends as a fresh N-trial run would. The extension
is the one change to config.yaml resume makes: run.json records the new file's sha256 (and, in its
``resumed`` entry, the previous one) first, then config.yaml is rewritten (run.py). A hand edit
still fails the check; a kill between the two writes leaves the previous file, which the check
recognises byte for byte from that entry and extends again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpsearch import __version__
from hpsearch.errors import ConfigError, RunDirError
from hpsearch.runs.readers import RunRecord, TrialRecord
from hpsearch.runs.records import FINAL_STATUSES, TrialResult, TrialStatus
from hpsearch.runs.store import text_sha256
from hpsearch.space.config import SearchConfig, load_config
from hpsearch.space.sampler import Trial, sample_trial


@dataclass
class ResumeState:
    config: SearchConfig
    info: dict[str, Any]  # run.json as found
    done: list[tuple[Trial, TrialResult]]  # kept trials, by id
    pending: list[int]  # trial ids to (re)run, in order
    extension: dict[str, Any] = field(default_factory=dict)  # --trials N > planned: {"trials": [planned, N], ...}


def check_run_folder(root: Path) -> None:
    """Refuse a mistyped path or a folder that holds no run before anything is written there (the
    run lock would be): resume never creates or changes a folder it will not continue."""
    if not root.is_dir():
        raise RunDirError(f"{root} is not a folder; give a run folder such as runs/<name>-<timestamp>")
    if not (root / "config.yaml").is_file() and not (root / "run.json").is_file():
        raise RunDirError(f"{root} is not a run folder (no config.yaml or run.json); give a folder such as "
                          f"runs/<name>-<timestamp>")


def load_resumable(root: Path, trials: int | None = None) -> ResumeState:
    """Read and check ``root``; ``trials`` (at least the planned count) extends the search.
    Raises RunDirError naming the file and what to do."""
    check_run_folder(root)
    if (root / "config.yaml").exists() and not (root / "run.json").exists():
        return _never_started(root)
    record = RunRecord(root)
    _check_version(root, record.info)
    config, extension = _checked_config(root, record.info)
    if trials is not None and trials < config.trials:
        raise RunDirError(f"--trials {trials} is below the {config.trials} trials {root} planned; resume can only "
                          f"extend a search (its trials 0..{trials - 1} are those of a {trials}-trial search already)")
    if trials is not None and trials > config.trials:
        extension = {"trials": [extension.get("trials", [config.trials])[0], trials],
                     "previous_config_sha256": extension.get("previous_config_sha256", record.info["config_sha256"])}
        config = config.with_overrides(trials=trials)
    for found in record.damaged:
        _refuse_damaged(found)
    by_id = {t.id: t for t in record.trials}
    done: list[tuple[Trial, TrialResult]] = []
    pending: list[int] = []
    for trial_id in range(config.trials):
        trial = sample_trial(config, trial_id)
        found = by_id.get(trial_id)
        if found is not None and found.status in FINAL_STATUSES and found.result is not None:
            _check_same_draw(trial, found)
            done.append((trial, found.result))
        else:
            pending.append(trial_id)
    return ResumeState(config, record.info, done, pending, extension)


def _never_started(root: Path) -> ResumeState:
    """Killed between config.yaml and run.json (both written before any trial): no trial ran, so the
    search starts from the beginning with the config it was given (resume writes run.json anew)."""
    try:
        config = load_config(root / "config.yaml")
    except ConfigError as exc:
        raise RunDirError(f"{root / 'config.yaml'} cannot be resumed: {exc}") from None
    return ResumeState(config, {}, [], list(range(config.trials)))


def _check_version(root: Path, info: dict[str, Any]) -> None:
    """A folder written by a newer hpsearch may hold what this one does not understand: refuse it."""
    theirs = str((info.get("versions") or {}).get("hpsearch", "0"))
    if _version_tuple(theirs) > _version_tuple(__version__):
        raise RunDirError(f"{root / 'run.json'} was written by hpsearch {theirs}, newer than this {__version__}; "
                          f"resume it with hpsearch {theirs} or later")


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def _refuse_damaged(found: TrialRecord) -> None:
    """Never delete what cannot be read: a trial file that is not a record this version knows (an
    unknown status, a damaged file, a folder replaced by a file) stops the resume instead of
    sending the trial to be retrained (which would delete its folder)."""
    path, what = found.path / "result.json", found.damage
    try:
        status = json.loads(path.read_text(encoding="utf-8")).get("status")
        if isinstance(status, str) and status not in {s.value for s in TrialStatus}:
            what = f"{path} holds a trial status this hpsearch does not know ({status!r})"
    except (OSError, ValueError, AttributeError):
        if found.damage and found.damage.startswith(str(path)):
            what = f"{path} holds something that is not a trial result (damaged?): {found.damage}"
    raise RunDirError(f"{what}; resume refuses to retrain or delete it: resume with the hpsearch version that "
                      f"wrote the folder, or move trial {found.id}'s folder away to run it again")


def _checked_config(root: Path, info: dict[str, Any]) -> tuple[SearchConfig, dict[str, Any]]:
    """config.yaml, checked against run.json's sha256; and the extension a kill cut short, if any."""
    path = root / "config.yaml"
    if not path.exists():
        raise RunDirError(f"{path} is missing; the run cannot be resumed without the config it started with")
    expected = info.get("config_sha256")
    if expected is None:
        raise RunDirError(f"{root / 'run.json'} records no config_sha256 (written by an older hpsearch), so "
                          f"{path} cannot be checked; start a new search with: hpsearch run {path}")
    actual = text_sha256(path.read_text(encoding="utf-8"))
    last = (info.get("resumed") or [{}])[-1]
    unfinished = actual != expected and "trials" in last and actual == last.get("previous_config_sha256")
    if actual != expected and not unfinished:
        raise RunDirError(f"{path} was edited after the search started (its sha256 no longer matches run.json); "
                          f"resume continues only the search as it began (to run more trials: hpsearch resume "
                          f"{root} --trials N): restore the file, or start a new search with: hpsearch run {path}")
    try:
        config = load_config(path)
    except ConfigError as exc:  # valid when written, or its model file moved or changed since
        raise RunDirError(f"{path} no longer validates:\n{exc}") from None
    started_with = (info.get("model") or {}).get("sha256")
    if started_with is not None and config.model.sha256 not in (None, started_with):
        raise RunDirError(f"{config.model.path} was edited after the search started (its sha256 no longer matches "
                          f"run.json's model.sha256); resume continues only the search as it began: restore the "
                          f"file, or start a new search with: hpsearch run {path}")
    if not unfinished:
        return config, {}
    extension = {"trials": last["trials"], "previous_config_sha256": actual}
    return config.with_overrides(trials=last["trials"][1]), extension


def _check_same_draw(trial: Trial, found: TrialRecord) -> None:
    """A kept trial must hold the parameters (seed, id) draws now, or the folder would mix two searches."""
    drawn = json.loads(json.dumps(trial.params))
    if found.params_record is None:
        raise RunDirError(f"{found.path / 'params.json'} is missing, so trial {trial.id}'s finished result cannot be "
                          f"checked against the parameters it was trained with; restore the file, or move trial "
                          f"{trial.id}'s folder away to run it again")
    if found.params != drawn or found.seed != trial.seed:
        raise RunDirError(f"{found.path / 'params.json'} holds parameters other than those trial {trial.id} draws "
                          f"from the config's seed; resume it with the hpsearch version that started it "
                          f"(run.json versions.hpsearch)")
