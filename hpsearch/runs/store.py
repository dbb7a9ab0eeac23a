"""The runs folder: where a search writes, and how its files are read back.

Layout (every file written atomically: a temporary file, then a rename, so a run killed at any
instant leaves either the old or the new file, never half of one):

    <run>/config.yaml                  the config as it ran (overrides applied)
    <run>/run.json                     seed, versions, device, data, times, status, best trial
    <run>/trials.csv                   one row per finished trial, rewritten after each trial
    <run>/trials/<NNNN>/params.json    the sampled parameters and the full hyperparameters
    <run>/trials/<NNNN>/metrics.jsonl  one JSON line per epoch
    <run>/trials/<NNNN>/result.json    status, best epoch and its accuracies, gap, seconds
    <run>/trials/<NNNN>/checkpoint.pt  with a scheduler, while a trial runs: its last rung's state (driver.py)
    <run>/run.lock                     while a process writes the folder: its pid (see runlock.py)

run.json records the sha256 of config.yaml, so ``hpsearch resume`` can refuse a hand-edited config.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import shutil
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from hpsearch.atomic import atomic_file
from hpsearch.errors import RunDirError
from hpsearch.runs.readback import read_config_yaml, read_metrics, read_record, read_run_info
from hpsearch.runs.records import BestTrial, DataSummary, EpochMetrics, TrialParams, TrialResult, TrialStatus
from hpsearch.runs.runlock import writer_alive

if TYPE_CHECKING:
    from hpsearch.space.config import SearchConfig


RUN_MARKERS = ("run.json", "config.yaml", "trials")


def write_text_atomic(path: Path, text: str, durable: bool = True) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and a rename."""
    with atomic_file(path, durable=durable) as handle:
        handle.write(text)


def _clean(value: Any) -> Any:
    """JSON has no NaN or Infinity: non-finite floats are written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def to_json(obj: Any) -> str:
    return json.dumps(_clean(obj), indent=2, allow_nan=False) + "\n"


def write_json_atomic(path: Path, obj: Any, durable: bool = True) -> None:
    write_text_atomic(path, to_json(obj), durable)


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def config_text(config: Mapping[str, Any]) -> str:
    """config.yaml's text for a config in the file's shape (``config_to_dict``)."""
    return yaml.safe_dump(dict(config), sort_keys=False)


def trial_dir_name(trial_id: int) -> str:
    return f"{trial_id:04d}"


def holds_run(path: Path) -> bool:
    return any((path / marker).exists() for marker in RUN_MARKERS)


def new_run_dir(name: str, runs_root: Path) -> Path:
    """``runs/<name>-<YYYYmmdd-HHMMSS>``, with a numeric suffix if that exists already."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = runs_root / f"{name}-{stamp}"
    suffix = 2
    while candidate.exists():
        candidate = runs_root / f"{name}-{stamp}-{suffix}"
        suffix += 1
    return candidate


class RunStore:
    """Writes one run folder. Create it with ``RunStore.create`` (refuses a folder holding a run)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def create(cls, run_dir: Path | None, name: str, runs_root: Path = Path("runs")) -> RunStore:
        if run_dir is None:
            run_dir = new_run_dir(name, runs_root)
        elif run_dir.exists():
            if not run_dir.is_dir():
                raise RunDirError(f"run folder {run_dir} exists and is not a folder")
            if holds_run(run_dir):
                raise RunDirError(f"run folder {run_dir} already holds a run; choose another --run-dir or remove it")
            if any(run_dir.iterdir()):
                raise RunDirError(f"run folder {run_dir} is not empty; give an empty or new folder")
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            probe = run_dir / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise RunDirError(f"cannot write the run folder {run_dir}: {exc.strerror or exc}") from None
        return cls(run_dir)

    def trial_dir(self, trial_id: int) -> Path:
        return self.root / "trials" / trial_dir_name(trial_id)

    def write_config(self, config: Mapping[str, Any]) -> str:
        """Write config.yaml; returns the sha256 of its text (kept in run.json to detect edits)."""
        text = config_text(config)
        write_text_atomic(self.root / "config.yaml", text)
        return text_sha256(text)

    def clear_trial(self, trial_id: int) -> None:
        """Remove what an interrupted or half-written attempt at a trial left, so it reruns from scratch."""
        path = self.trial_dir(trial_id)
        if path.exists():
            shutil.rmtree(path)

    def remove_temp_files(self) -> None:
        """Delete temporary files a killed writer left behind (only the lock holder may call this)."""
        for tmp in [*self.root.glob(".*.tmp"), *self.root.glob("trials/*/.*.tmp")]:
            tmp.unlink(missing_ok=True)

    def write_run_info(self, info: Mapping[str, Any]) -> None:
        write_json_atomic(self.root / "run.json", info)

    def write_params(self, trial_id: int, record: TrialParams | Mapping[str, Any]) -> None:
        write_json_atomic(self.trial_dir(trial_id) / "params.json", _as_dict(record), durable=False)

    def write_metrics(self, trial_id: int, epochs: Iterable[EpochMetrics | Mapping[str, Any]]) -> None:
        """Rewrite metrics.jsonl whole (it is small), so a kill never leaves a torn last line."""
        lines = "".join(json.dumps(_clean(_as_dict(e)), allow_nan=False) + "\n" for e in epochs)
        write_text_atomic(self.trial_dir(trial_id) / "metrics.jsonl", lines, durable=False)

    def write_result(self, trial_id: int, result: TrialResult | Mapping[str, Any]) -> None:
        write_json_atomic(self.trial_dir(trial_id) / "result.json", _as_dict(result))

    def write_trials_csv(self, header: list[str], rows: Iterable[Mapping[str, Any]]) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=header, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(_clean(dict(row)))
        write_text_atomic(self.root / "trials.csv", buffer.getvalue(), durable=False)


class TrialRecord:
    """One trial as read back from its folder, as typed records. A missing file reads as None: a
    trial in progress has no result.json yet. A file that cannot be read as its record (or a trial
    folder that is a file) also reads as None, and ``damage`` says what is wrong (see readback.py).
    ``orphaned``: the process that wrote the folder is gone (killed), so a trial without a result
    is not running."""

    def __init__(self, path: Path, orphaned: bool = False) -> None:
        self.path = path
        self.id = int(path.name)
        self.orphaned = orphaned
        self.params_record: TrialParams | None = None
        self.result: TrialResult | None = None
        self._epochs: list[EpochMetrics] = []
        self.damage: str | None = None if path.is_dir() else f"{path} is a file, not a trial folder"
        if self.damage is None:
            self.params_record, params_damage = read_record(path / "params.json", TrialParams.from_dict)
            self.result, result_damage = read_record(path / "result.json", TrialResult.from_dict)
            self._epochs, metrics_damage = read_metrics(path / "metrics.jsonl")
            self.damage = result_damage or params_damage or metrics_damage

    @property
    def params(self) -> dict[str, Any]:
        return self.params_record.params if self.params_record else {}

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return self.params_record.hyperparameters if self.params_record else {}

    @property
    def seed(self) -> int | None:
        return self.params_record.seed if self.params_record else None

    @property
    def status(self) -> TrialStatus:
        """result.json's status; without one ``running``, or ``interrupted`` when the search's process is
        gone (killed: ``hpsearch resume`` trains the trial again)."""
        if self.result:
            return self.result.status
        return TrialStatus.INTERRUPTED if self.orphaned else TrialStatus.RUNNING

    def metrics(self) -> list[EpochMetrics]:
        """metrics.jsonl, one record per finished epoch (none before the first epoch ends)."""
        return list(self._epochs)


class RunRecord:
    """A run folder read back: its config (as a dict), run.json, and its trials by id. ``trials``
    holds the readable ones; ``damaged`` those whose files cannot be read (reports skip them, each
    with one line; resume refuses to retrain or delete them). A damaged run.json or config.yaml
    raises RunDirError naming the file."""

    def __init__(self, root: Path | str) -> None:
        root = Path(root)
        if not (root / "run.json").exists():
            raise RunDirError(f"{root} is not a run folder (no run.json); give a folder under runs/")
        self.root = root
        self.info: dict[str, Any] = read_run_info(root)
        self.config: dict[str, Any] = read_config_yaml(root)
        trials_dir = root / "trials"
        if trials_dir.exists() and not trials_dir.is_dir():
            raise RunDirError(f"{trials_dir} is a file, not the folder of the run's trials; restore the folder")
        paths = sorted(p for p in trials_dir.iterdir() if p.name.isdigit()) if trials_dir.exists() else []
        records = [TrialRecord(p, self.killed) for p in paths]
        self.trials: list[TrialRecord] = [t for t in records if t.damage is None]
        self.damaged: list[TrialRecord] = [t for t in records if t.damage is not None]

    @property
    def name(self) -> str:
        return self.info.get("name", self.root.name)

    @property
    def status(self) -> str | None:
        """The search's status: running, completed, no_trial_completed, stopped or interrupted."""
        return self.info.get("status")

    @property
    def killed(self) -> bool:
        """run.json says ``running`` but no live process holds the folder's lock: the search was killed
        (``kill -9``, a crash, a lost machine) before it could close the folder."""
        return self.status == "running" and not writer_alive(self.root)

    @property
    def data(self) -> DataSummary:
        """The dataset and its split sizes, as the search loaded them."""
        return DataSummary.from_dict(self.info.get("data") or {})

    @property
    def best(self) -> BestTrial | None:
        """The best trial run.json records (None while no trial completed)."""
        best = self.info.get("best")
        return BestTrial.from_dict(best) if best else None

    @property
    def param_names(self) -> list[str]:
        """Searched parameter names in the declared importance order."""
        return list((self.config.get("space") or {}).keys())

    def search_config(self) -> SearchConfig:
        """config.yaml parsed into the typed config (distributions, target_error, data)."""
        from hpsearch.errors import ConfigError
        from hpsearch.space.config import parse_config  # here, not at the top: config does not need the store

        try:
            return parse_config(self.config, source=str(self.root / "config.yaml"), read_model=False)
        except ConfigError as exc:
            raise RunDirError(f"{self.root / 'config.yaml'} cannot be read back: {exc}") from None

    @property
    def val_examples(self) -> int | None:
        """Size of the validation split, from run.json (how noisy its accuracy is)."""
        return self.data.val

    def trial(self, trial_id: int) -> TrialRecord:
        for record in self.trials:
            if record.id == trial_id:
                return record
        for record in self.damaged:
            if record.id == trial_id:
                raise RunDirError(f"trial {trial_id} cannot be read: {record.damage}")
        planned = self.config.get("trials")
        if self.status == "running" and isinstance(planned, int) and 0 <= trial_id < planned:
            raise RunDirError(f"trial {trial_id} of {self.root} has not started yet (the search, still running, "
                              f"has started {len(self.trials)} of its {planned} trials)")
        have = f"{self.trials[0].id}-{self.trials[-1].id}" if self.trials else "none"
        raise RunDirError(f"{self.root} has no trial {trial_id} (trials: {have})")


def open_trial(path: Path) -> tuple[RunRecord, TrialRecord]:
    """A trial folder (``<run>/trials/0003``) read back with the run that holds it."""
    run_root = path.parent.parent
    if not (path.name.isdigit() and path.parent.name == "trials" and (run_root / "run.json").exists()):
        raise RunDirError(f"{path} is not a trial folder (expected <run>/trials/NNNN inside a run folder)")
    run = RunRecord(run_root)
    return run, run.trial(int(path.name))


def _as_dict(record: Any) -> dict[str, Any]:
    """A record (anything with ``to_dict``) or a mapping, as the dict its file holds."""
    return record.to_dict() if hasattr(record, "to_dict") else dict(record)
