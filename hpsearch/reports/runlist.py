"""``hpsearch list``: one row per run folder under a runs root, with what state it is in.

A run's status comes from its run.json, except while run.json still says ``running``: then the
lock file tells whether a writer is at work (``running``, with the trials in progress and their
epoch) or died without closing the folder (``killed``: its lock names a process of this host that
no longer exists, or there is no lock at all). Folders that hold no run.json are skipped. Reading
never fails on a trial half-written by a live search: a trial without result.json is in progress.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from hpsearch.errors import RunDirError
from hpsearch.formatting import duration, pct
from hpsearch.runs.readers import RunRecord, TrialRecord
from hpsearch.runs.records import TrialStatus, best_of
from hpsearch.runs.runlock import is_stale, read_lock

KILLED = "killed"


@dataclass
class RunRow:
    """One run folder as ``hpsearch list`` shows it (``--format json`` writes these fields)."""

    name: str  # the folder's name
    path: str
    status: str  # completed | no_trial_completed | stopped | interrupted | running | killed
    progress: str | None  # running only: the trials at work and their epoch, e.g. "trial 0002 epoch 1/5"
    finished: int  # trials with a final status (completed, stopped, diverged, failed)
    planned: int | None  # the config's trials
    best_val_acc: float | None
    best_trial: int | None
    started: str | None  # ISO 8601 with its UTC offset, as run.json records it
    seconds: float | None  # wall time of every invocation; running: so far; killed: until its last write

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_runs(runs_root: Path, now: float | None = None) -> list[RunRow]:
    """A row per run folder directly under ``runs_root``, oldest start first.

    Raises RunDirError when ``runs_root`` does not exist or is not a folder."""
    if not runs_root.is_dir():
        what = "does not exist" if not runs_root.exists() else "is not a folder"
        raise RunDirError(f"runs folder {runs_root} {what}; give the folder that holds your run folders (default runs/)")
    now = time.time() if now is None else now
    rows = [run_row(run, now) for run in map(_read_run, sorted(runs_root.iterdir())) if run is not None]
    return sorted(rows, key=lambda row: (row.started or "", row.name))


def _read_run(path: Path) -> RunRecord | None:
    """The run in ``path``, or None for a folder that holds no readable run (skipped)."""
    if not (path.is_dir() and (path / "run.json").is_file()):
        return None
    try:
        run = RunRecord(path)
    except (OSError, ValueError, yaml.YAMLError, RunDirError):  # a damaged run.json or config.yaml
        return None
    return run if isinstance(run.info, dict) and isinstance(run.config, dict) else None


def run_row(run: RunRecord, now: float) -> RunRow:
    status = run.status or TrialStatus.RUNNING.value
    progress = None
    if status == TrialStatus.RUNNING.value:
        if _writer_alive(run.root):
            progress = _progress(run)
        else:
            status = KILLED
    best = best_of([t for t in run.trials if t.status.may_be_best], _val_acc, lambda t: t.id)
    planned = run.config.get("trials")
    return RunRow(
        name=run.root.name, path=str(run.root), status=status, progress=progress,
        finished=sum(t.status.final for t in run.trials), planned=planned if isinstance(planned, int) else None,
        best_val_acc=_val_acc(best) if best else None, best_trial=best.id if best else None,
        started=run.info.get("started"), seconds=_seconds(run, status, now))


def _val_acc(trial: TrialRecord) -> float | None:
    return trial.result.val_acc if trial.result else None


def _writer_alive(root: Path) -> bool:
    """A search writes the folder: its lock exists and does not name a dead process of this host."""
    owner = read_lock(root)
    return owner is not None and not is_stale(owner)


def _progress(run: RunRecord) -> str | None:
    """``trial 0002 epoch 1/5`` for each trial at work (started, no result yet)."""
    epochs = run.config.get("epochs")
    at_work = [t for t in run.trials if t.result is None and t.params_record is not None]
    parts = [f"trial {t.id:04d} epoch {len(t.metrics())}/{epochs if isinstance(epochs, int) else '?'}" for t in at_work]
    return ", ".join(parts) or None


def _seconds(run: RunRecord, status: str, now: float) -> float | None:
    """run.json's ``seconds`` (every closed invocation) plus, for an open one, the time since it began:
    until now while it runs; until the folder's last write when its writer was killed."""
    recorded = run.info.get("seconds")
    if status not in (TrialStatus.RUNNING.value, KILLED):
        return recorded
    began = _timestamp((run.info.get("resumed") or [{}])[-1].get("at") or run.info.get("started"))
    if began is None:
        return recorded
    until = now if status != KILLED else max(p.stat().st_mtime for p in [run.root, *run.root.rglob("*")] if p.exists())
    return round((recorded or 0.0) + max(0.0, until - began), 3)


def _timestamp(iso: str | None) -> float | None:
    try:
        return datetime.fromisoformat(iso).timestamp() if iso else None
    except ValueError:
        return None


def render_runs(rows: list[RunRow], runs_root: Path, fmt: str = "table") -> str:
    """``table`` for people (local start times, percentages) or ``json`` for scripts (raw numbers)."""
    if fmt == "json":
        return json.dumps([row.to_dict() for row in rows], indent=2) + "\n"
    if not rows:
        return f"no runs in {runs_root}\n"
    header = ("run", "status", "trials", "best val_acc", "started", "time")
    table = [header, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in table]
    killed = [row for row in rows if row.status == KILLED]
    if len(killed) == 1:
        lines.append(f"{killed[0].name}: its process ended without closing the folder; "
                     f"continue it with: hpsearch resume {killed[0].path}")
    elif killed:
        lines.append(f"{len(killed)} killed runs: their processes ended without closing the folders; "
                     "continue each with: hpsearch resume RUN_DIR")
    return "\n".join(lines) + "\n"


def _cells(row: RunRow) -> tuple[str, ...]:
    status = f"{row.status} ({row.progress})" if row.progress else row.status
    trials = f"{row.finished}/{row.planned if row.planned is not None else '?'}"
    best = pct(row.best_val_acc) + (f" (trial {row.best_trial:04d})" if row.best_trial is not None else "")
    seconds = duration(row.seconds) if row.seconds is not None else "-"
    return row.name, status, trials, best, _local_time(row.started), seconds


def _local_time(iso: str | None) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S") if iso else "-"
    except ValueError:
        return iso or "-"
