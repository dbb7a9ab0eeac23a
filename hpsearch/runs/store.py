"""The runs folder: where a search writes (its files are read back by ``readers.py``).

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
from hpsearch.runs.records import EpochMetrics, TrialParams, TrialResult

if TYPE_CHECKING:
    pass


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


def _as_dict(record: Any) -> dict[str, Any]:
    """A record (anything with ``to_dict``) or a mapping, as the dict its file holds."""
    return record.to_dict() if hasattr(record, "to_dict") else dict(record)
