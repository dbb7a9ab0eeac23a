"""Reading a run folder's files back without trusting them: a damaged file becomes a message.

A run folder is written atomically, but it can still be damaged afterwards: a disk error, a
half-copied folder, a hand edit, a file from another tool. The readers here never raise a
traceback on such a file. The run's own files (run.json, config.yaml) are needed to read anything
else, so damage there raises RunDirError naming the file; a trial's files only damage that trial,
which the reports skip with one line and ``hpsearch resume`` refuses to retrain or delete.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from hpsearch.errors import RunDirError
from hpsearch.runs.records import EpochMetrics

R = TypeVar("R")
INFO_SHAPE: dict[str, type | tuple[type, ...]] = {"data": dict, "best": dict, "versions": dict, "name": str,
                                                  "status": str, "resumed": list}


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _why(exc: Exception) -> str:
    """A damaged file's problem in a few words (never a multi-line parser message)."""
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, json.JSONDecodeError):
        return "empty" if not exc.doc.strip() else f"not JSON (line {exc.lineno}: {exc.msg}; cut short?)"
    if isinstance(exc, yaml.YAMLError):
        mark = getattr(exc, "problem_mark", None)
        return f"not YAML{f' (line {mark.line + 1})' if mark is not None else ''}"
    if isinstance(exc, IsADirectoryError):
        return "a folder, not a file"
    return " ".join(str(exc).split())


def read_run_info(root: Path) -> dict[str, Any]:
    """run.json as a mapping whose known keys have their shapes; RunDirError naming the file if not."""
    path = root / "run.json"
    try:
        info = read_json(path)
    except (OSError, ValueError) as exc:
        raise RunDirError(f"{path} is damaged ({_why(exc)}); restore it from a copy, or start a new search") from None
    if not isinstance(info, dict):
        raise RunDirError(f"{path} is damaged (it holds a JSON {type(info).__name__}, not a run's record); restore it")
    for key, kind in INFO_SHAPE.items():
        if info.get(key) is not None and not isinstance(info[key], kind):
            raise RunDirError(f"{path} is damaged (its {key!r} is a {type(info[key]).__name__}); restore it")
    return info


def read_config_yaml(root: Path) -> dict[str, Any]:
    """config.yaml as a mapping ({} when missing); RunDirError naming the file when it is damaged."""
    path = root / "config.yaml"
    if not path.exists():
        return {}
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise RunDirError(f"{path} is damaged ({_why(exc)}); restore it from a copy") from None
    if not isinstance(config, dict) or not isinstance(config.get("space") or {}, dict):
        raise RunDirError(f"{path} is damaged (not a config mapping with a space mapping); restore it from a copy")
    return config


def read_record(path: Path, parse: Callable[[dict[str, Any]], R]) -> tuple[R | None, str | None]:
    """``path`` read back as a record: (record, None); (None, None) when it is missing (not written
    yet); (None, what is wrong) when it cannot be read as such a record."""
    try:
        raw = read_json(path)
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as exc:
        return None, f"{path} is {_why(exc)}"
    if not isinstance(raw, dict):
        return None, f"{path} holds a JSON {type(raw).__name__}, not a record"
    try:
        return parse(raw), None
    except (KeyError, TypeError, ValueError) as exc:  # e.g. no status, or one this version does not know
        return None, f"{path} is not a record this hpsearch reads ({_missing_or(exc)})"


def _missing_or(exc: Exception) -> str:
    return f"no {exc}" if isinstance(exc, KeyError) else " ".join(str(exc).split())


def read_metrics(path: Path) -> tuple[list[EpochMetrics], str | None]:
    """metrics.jsonl: (epochs, None), or what is wrong with it (a torn or garbage line)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return [], None
    except (OSError, ValueError) as exc:
        return [], f"{path} is {_why(exc)}"
    epochs = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise TypeError(f"a JSON {type(record).__name__}")
            epochs.append(EpochMetrics.from_dict(record))
        except json.JSONDecodeError:
            return [], f"{path} line {number} is not JSON (torn or damaged)"
        except (ValueError, TypeError, KeyError) as exc:
            return [], f"{path} line {number} is not an epoch's metrics ({_missing_or(exc)})"
    return epochs, None
