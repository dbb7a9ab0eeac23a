"""``hpsearch init``: a commented starter config that ``hpsearch run`` runs as it is.

The text is written by hand (not dumped from a SearchConfig) so that every line can carry the
comment a first-time user needs. For ``dataset: file`` with a CSV it reads the header (standard
library only) to name the label column, the columns to drop and the batch sizes the file allows;
an ``.npz`` or ``.pt`` file is not opened (that would need numpy or torch): its defaults (arrays
``x``/``X`` and ``y``/``Y``) are written with the keys to change them.

>>> text = starter_config("synthetic", None, Path("hpsearch.yaml"))
>>> text.splitlines()[3]
'name: hpsearch          # names the run folder: runs/<name>-<timestamp>/'
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

from hpsearch.errors import DataError
from hpsearch.space.config import DATASETS, FILE_SUFFIXES, VISION_DATASETS

LABEL_NAMES = ("label", "target", "class", "y")  # a CSV's label column, when one of these is a header (any case)
ID_NAMES = ("id", "index", "unnamed: 0")  # columns that number the rows rather than describe them
BATCH_SIZES = (32, 64, 128)

_HEADER = """\
# A starter search written by `hpsearch init`. Run it as it is with: hpsearch run {file}
# Then edit it: every key is in the README ("The config file"); `hpsearch validate {file}` checks an edit,
# `hpsearch sample {file}` lists the trials it would run.
name: {name}{pad}# names the run folder: runs/<name>-<timestamp>/
seed: 0                 # trial i's parameters depend on (seed, i) alone
trials: {trials}{tpad}# how many trials; grow a finished search with: hpsearch resume RUN_DIR --trials N
epochs: {epochs}{epad}# epochs per trial
device: auto            # auto (CUDA when available) | cpu | cuda | cuda:N | mps
{target_why}target_error: {target}{gpad}# the error you think reachable (a person's, or the best known model's): bias is measured from it
data:
"""

_SYNTHETIC = """\
  dataset: synthetic    # built in, no download: 5 classes, 40 features, 3,000 examples
  val_fraction: 0.2     # share held out for validation
"""

_VISION = """\
  dataset: {dataset}
  val_fraction: 0.1     # share of the training split held out for validation
  download: true        # fetch missing files on first use (no internet: see the README)
  # root: data          # where the files are (relative to this file); default $HPSEARCH_DATA, else ~/.cache/hpsearch/data
  # subset: 10000       # train on a stratified sample of this many examples, for a quicker first look
"""

_FILE = """\
  dataset: file
  path: {path}{ppad}# relative to this file's folder
  val_fraction: 0.2     # share held out for validation (stratified by class)
"""

_SPACE = """\
fixed:                  # held constant in every trial
  optimizer: adam
space:                  # searched, most important first; bounds are inclusive
  lr:           {{distribution: log_uniform, low: 1.0e-4, high: 1.0e-1}}
  batch_size:   {{distribution: choice, values: [{batches}]}}
  hidden_units: {{distribution: int_log_uniform, low: 32, high: 512}}
  layers:       {{distribution: int_uniform, low: 1, high: 3}}
  # dropout:      {{distribution: uniform, low: 0.0, high: 0.5}}
  # weight_decay: {{distribution: log_uniform, low: 1.0e-6, high: 1.0e-2}}
# scheduler: {{name: asha, min_epochs: 1, eta: 3}}   # stop hopeless trials early
# workers: 2                                        # trials trained at once, each in its own process
"""

# trials, epochs and target_error per kind of dataset: a first search that finishes in minutes on a CPU
_SIZES = {"synthetic": (10, 5, "0.10"), "vision": (8, 4, "0.0"), "file": (10, 10, "0.0")}
_TARGET_WHY = {"synthetic": "# synthetic's best possible error is about 10%: 7.5% of its labels are noise and its "
                            "feature noise costs ~3 points more (tests/data/test_synthetic_ceiling.py)\n"}


def starter_config(dataset: str, data_path: Path | None, file: Path) -> str:
    """The starter config's text for ``dataset`` (``file`` needs ``data_path``), to be written at ``file``.

    Raises DataError when ``data_path`` cannot be used (missing, wrong suffix, an unreadable CSV).
    """
    if dataset not in DATASETS:
        raise DataError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    kind = "vision" if dataset in VISION_DATASETS else dataset
    trials, epochs, target = _SIZES[kind]
    name = re.sub(r"[^\w.-]+", "-", file.stem).strip("-") or "search"
    batches = BATCH_SIZES
    if dataset == "file":
        if data_path is None:
            raise DataError("--dataset file needs --path DATA: a .npz, .pt or .csv file")
        data, batches = _file_section(data_path, file)
    elif dataset == "synthetic":
        data = _SYNTHETIC
    else:
        data = _VISION.format(dataset=dataset)
    header = _HEADER.format(file=file, name=name, pad=_pad("name: " + name), trials=trials, tpad=_pad(f"trials: {trials}"),
                            epochs=epochs, epad=_pad(f"epochs: {epochs}"), target=target, gpad=_pad(f"target_error: {target}"),
                            target_why=_TARGET_WHY.get(dataset, ""))
    return header + data + _SPACE.format(batches=", ".join(map(str, batches)))


def _pad(line: str, width: int = 24) -> str:
    """Spaces that put the comment after ``line`` in the comment column (at least one)."""
    return " " * max(1, width - len(line))


def _file_section(data_path: Path, file: Path) -> tuple[str, tuple[int, ...]]:
    """The ``data:`` lines for the user's file, its path written relative to the config's folder."""
    if not data_path.is_file():
        raise DataError(f"--path {data_path}: no such file; give a .npz, .pt or .csv file")
    if data_path.suffix.lower() not in FILE_SUFFIXES:
        raise DataError(f"--path {data_path}: must end in {', '.join(FILE_SUFFIXES)}")
    relative = Path(os.path.relpath(data_path.resolve(), file.resolve().parent)).as_posix()
    path = relative if not relative.startswith("../../../") else data_path.resolve().as_posix()
    lines = _FILE.format(path=_quoted(path), ppad=_pad(f"  path: {_quoted(path)}"))
    if data_path.suffix.lower() != ".csv":
        return lines + ("  # x_key: x             # the examples' array (default: x, else X)\n"
                        "  # y_key: y             # the labels' array (default: y, else Y)\n"), BATCH_SIZES
    header, rows, delimiter = _csv_header(data_path)
    target = next((h for h in header if h.lower() in LABEL_NAMES), header[-1])
    guessed = "" if target.lower() in LABEL_NAMES else " (guessed: the last column; check it)"
    lines += f"  target: {_quoted(target)}{_pad(f'  target: {_quoted(target)}')}# the label column{guessed}\n"
    drop = [h for h in header if h.lower() in ID_NAMES and h != target]
    if drop:
        shown = ", ".join(_quoted(d) for d in drop)
        lines += f"  drop: [{shown}]{_pad(f'  drop: [{shown}]')}# columns that are not features\n"
    else:
        lines += "  # drop: [id]          # columns that are not features\n"
    lines += f"  # delimiter: {_quoted(delimiter)}{_pad(f'  # delimiter: {_quoted(delimiter)}')}# detected when unset\n"
    train = int(rows * 0.8)
    fitting = tuple(b for b in BATCH_SIZES if b <= train) or (max(1, min(16, train)),)
    return lines, fitting


def _csv_header(path: Path) -> tuple[list[str], int, str]:
    """A CSV's column names, its number of data rows and its delimiter (as the loader detects it)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"--path {path}: cannot be read as CSV ({exc})") from None
    try:
        delimiter = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    rows = [r for r in csv.reader(text.splitlines(), delimiter=delimiter) if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise DataError(f"--path {path}: needs a header row and one row per example")
    return [h.strip() for h in rows[0]], len(rows) - 1, delimiter


def _quoted(text: str) -> str:
    """``text`` as a YAML scalar: plain when that reads back as the same string, else double-quoted."""
    plain = re.fullmatch(r"[A-Za-z_./][\w./-]*", text) and text.lower() not in ("true", "false", "null", "yes", "no", "on", "off")
    return text if plain else '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t") + '"'
