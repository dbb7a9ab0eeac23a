"""Options that ``hpsearch run`` and ``hpsearch resume`` share, with their click types.

Each type parses with the library's own parser (ci.py, config.py) and turns its ValueError into a
click usage error (exit 2) that names the option.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from hpsearch.errors import HpsearchError

RUN_FILES = ("run.json", "config.yaml", "trials.csv", "best_model.pt", "run.lock", "trials")  # a run folder's own


class DurationType(click.ParamType):
    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        from hpsearch.reports.ci import parse_duration

        try:
            return value if isinstance(value, float) else parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class ThresholdType(click.ParamType):
    name = "METRIC=VALUE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from hpsearch.reports.ci import Threshold, parse_threshold

        try:
            return value if isinstance(value, Threshold) else parse_threshold(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def ci_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options ``run`` and ``resume`` share: time limit, thresholds, JSON summary, quiet."""
    options = [
        click.option("--max-time", type=DurationType(), help="Start no trial after this long (e.g. 90s, 10m, 1h30m); "
                     "the run ends 'stopped' and `hpsearch resume` finishes it. [default: no limit]"),
        click.option("--fail-under", "thresholds", type=ThresholdType(), multiple=True,
                     help="Exit 1 if the best trial's METRIC (val_acc, train_acc) is below VALUE, e.g. val_acc=0.9. Repeatable."),
        click.option("--json", "json_path", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
                     help="Write a JSON summary (status, trials, best, thresholds, seconds) to this file, or - for stdout."),
        click.option("--quiet", "-q", is_flag=True, help="Print only the final summary."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


class DevicesType(click.ParamType):
    name = "DEVICE[,DEVICE...]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> list[str]:
        from hpsearch.space.config import DEVICE_NAMES, DEVICE_PATTERN

        names = value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]
        bad = [n for n in names if not DEVICE_PATTERN.match(n) or n == "auto"]
        if bad:
            self.fail(f"{', '.join(map(repr, bad))}: expected a comma-separated list of {DEVICE_NAMES}", param, ctx)
        return names


class RayAddressType(click.ParamType):
    name = "ADDRESS"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from hpsearch.space.config import RAY_ADDRESS, RAY_ADDRESSES

        if not RAY_ADDRESS.match(str(value)):
            self.fail(f"{value!r}: expected {RAY_ADDRESSES}", param, ctx)
        return str(value)


def parallel_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--workers``, ``--fuse``, ``--devices`` and ``--ray``, shared by ``run`` and ``resume``."""
    command = click.option("--fuse", type=click.IntRange(min=1), help="Each worker trains up to this many compatible "
                           "trials at once, as one batched model (see the README's Fused trials). [default: the "
                           "config's fuse, 1]")(command)
    command = click.option("--ray", "ray", type=RayAddressType(), help="Train the trials on this Ray cluster: auto "
                           "(the one running here), HOST:PORT, ray://HOST:PORT, or local (start one for this search). "
                           'Needs pip install "hpsearch[ray]". [default: the config\'s ray, else this machine]')(command)
    command = click.option("--devices", type=DevicesType(), help="Spread the workers over these devices, round-robin, "
                           "e.g. cuda:0,cuda:1 (several workers may share one). [default: the config's device]")(command)
    return click.option("--workers", type=click.IntRange(min=1), help="Train this many trials at once, each in its "
                        "own process. [default: the config's workers, else 1; on Ray, as many as the cluster holds]")(command)


class JsonPathError(HpsearchError):
    """``--json`` names a file that must not or cannot be written (no summary goes there either)."""

    summary_to_json = False


def check_json_path(json_path: Path | None, config: Path | None, run_dir: Path | None) -> None:
    """``--json`` checked before any training: a file that could not be written would fail only
    after the whole search, and one that is the config being run or one of the run folder's own
    files (run.json...) would be overwritten. Nothing is written here (the folder's permission,
    or a read-only disk, is asked of the OS)."""
    if json_path is None or str(json_path) == "-":
        return
    target = json_path.expanduser().resolve()
    own = {config.resolve(): "the config being run"} if config is not None else {}
    for name in RUN_FILES if run_dir is not None else ():
        own[(run_dir / name).resolve()] = f"the run folder's {name}"
    for path, what in own.items():
        if target == path or path in target.parents:
            raise JsonPathError(f"--json {json_path} would overwrite {what}; write the summary elsewhere")
    if target.is_dir():
        raise JsonPathError(f"--json {json_path} is a folder; give a file path")
    folder = next(p for p in target.parents if p.exists())
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise JsonPathError(f"--json {json_path}: cannot write in {folder} (no permission, or a read-only disk); "
                            f"choose another path")
