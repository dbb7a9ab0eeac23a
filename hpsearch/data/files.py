"""``dataset: file``: the user's own examples from a ``.npz``, ``.pt`` or ``.csv`` file.

- ``.npz``: arrays ``x`` (examples, any shape [N, ...]) and ``y`` (labels [N]), or ``X`` and ``Y``
  (scikit-learn's spelling), or the names ``x_key`` and ``y_key`` give; optionally the same names
  with ``_test`` (``x_test``, ``X_test``), a held-out test split for ``--test``.
- ``.pt``: the same as a dict of tensors, or a tuple ``(x, y)`` / ``(x, y, x_test, y_test)``;
  read with ``weights_only=True``, so loading a file can never run code.
- ``.csv``: a header row, the label column named by ``target`` (default ``label``), the columns in
  ``drop`` left out, every other column numeric; the delimiter is ``delimiter`` or detected
  (``csv.Sniffer``: comma, semicolon, tab or bar).

Labels are integers 0..C-1 as given; any other labels (strings, or integers such as 1..3 or -1/1)
are mapped to 0..C-1 in sorted order, and the mapping is recorded in run.json as ``classes``.
Features are flattened and standardized per feature with the training split's mean and std; the
validation split is carved from the training split.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import re
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hpsearch.data.checks import (
    available_memory,
    check_array,
    check_features,
    check_labels,
    check_same_length,
    csv_number,
    encode_labels,
    features_tensor,
    infer_num_classes,
)
from hpsearch.data.dataset import Dataset
from hpsearch.data.preprocessing import Preprocessing
from hpsearch.data.splits import finish, standardize
from hpsearch.errors import DataError
from hpsearch.space.config import DataConfig

Arrays = dict[str, Any]  # x, y and optionally x_test, y_test


NUMERIC = "every column but the label column (target)"  # which columns a CSV of this kind must hold as numbers


def _read_npz(path: Path, config: DataConfig) -> Arrays:
    with path.open("rb") as handle:
        magic = handle.read(6)
    if magic == b"\x93NUMPY":
        raise DataError(f"{path}: is one .npy array named .npz; save x and y together: np.savez(path, x=x, y=y)")
    if not magic.startswith(b"PK"):
        raise DataError(f"{path}: is not a .npz file (no zip archive: damaged, or another format); save it with "
                        f"np.savez(path, x=x, y=y)")
    try:
        _check_npz_sizes(path)
        with np.load(path, allow_pickle=False) as archive:
            return {k: archive[k] for k in archive.files}
    except DataError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DataError(f"{path}: holds object arrays, which would need pickle to load (unsafe); save labels as "
                            f"a string or integer array (np.array(labels, dtype=str))") from None
        raise DataError(f"{path}: cannot be read as .npz ({_one_line(exc)})") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path}: cannot be read as .npz, damaged or cut short ({_one_line(exc)})") from None


def _check_npz_sizes(path: Path) -> None:
    """Each array's size from its .npy header, before anything is allocated: a header claiming more
    bytes than its member holds is damage, and arrays larger than the memory available (a zip bomb:
    gigabytes of zeros in megabytes) are refused, not allocated."""
    total = 0
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            if not member.filename.endswith(".npy"):
                continue
            with archive.open(member) as handle:
                version = np.lib.format.read_magic(handle)
                read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, dtype = read_header(handle, max_header_size=10_000)
                size = math.prod(shape) * dtype.itemsize
                if dtype.kind != "O" and size > member.file_size:
                    raise DataError(f"{path}: array {member.filename[:-4]!r} claims shape {shape} ({_gb(size)}) but "
                                    f"holds {member.file_size} bytes; the file is damaged")
                total += size
    memory = available_memory()
    if memory is not None and 2 * total > memory:
        raise DataError(f"{path}: its arrays take {_gb(total)} unpacked, and loading needs about twice that; only "
                        f"{_gb(memory)} of memory is available")


def _gb(size: int) -> str:
    return f"{size / 1e9:.1f} GB" if size < 1e12 else f"{size / 2**40:.1f} TiB"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _torch_reason(exc: Exception) -> str:
    """torch.load's reason in one line, without its advice to load unsafely or to file an issue."""
    text = " ".join(str(exc).split())
    found = re.search(r"WeightsUnpickler error:\s*(.*?)(?:\s*Please use|\s*Check the documentation|$)", text)
    return (found.group(1).rstrip(".") if found else text)[:300]


def _read_pt(path: Path, config: DataConfig) -> Arrays:
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad or unsafe file
        raise DataError(f"{path}: cannot be read with torch.load(weights_only=True), which loads only tensors, dicts, "
                        f"lists and tuples ({_torch_reason(exc)})") from None
    if isinstance(content, dict):
        return {str(k): v for k, v in content.items()}
    if isinstance(content, tuple | list) and len(content) in (2, 4):
        return dict(zip(("x", "y", "x_test", "y_test"), content, strict=False))
    raise DataError(f"{path}: must hold a dict with keys x and y (and optionally x_test, y_test) or a tuple "
                    f"(x, y) or (x, y, x_test, y_test); got {type(content).__name__}")


def _delimiter(path: Path, config: DataConfig, sample: str) -> str:
    """``data.delimiter``, else what ``csv.Sniffer`` finds in the first lines, else a comma."""
    if config.delimiter is not None:
        return config.delimiter
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:  # one column, or too little to tell
        return ","


def _read_csv(path: Path, config: DataConfig) -> Arrays:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            text = handle.read()
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(path, config, text[:65536])))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot be read as CSV ({exc})") from None
    if not rows:
        raise DataError(f"{path}: is empty; it needs a header row and one row per example")
    header, body = [h.strip() for h in rows[0]], [r for r in rows[1:] if any(c.strip() for c in r)]
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise DataError(f"{path}: column {twice[0]!r} appears more than once in the header; give each column its own name")
    if config.target not in header:
        raise DataError(f"{path}: no label column {config.target!r} (data.target); the columns are {', '.join(header)}"
                        + ("" if len(header) > 1 else "; if they are not separated by commas, set data.delimiter"))
    dropped = config.drop or []
    unknown = [c for c in dropped if c not in header or c == config.target]
    if unknown:
        raise DataError(f"{path}: data.drop names {', '.join(map(repr, unknown))}, not a feature column; the columns "
                        f"are {', '.join(header)} (label: {config.target!r})")
    label_at = header.index(config.target)
    features = [i for i in range(len(header)) if i != label_at and header[i] not in dropped]
    if not features:
        raise DataError(f"{path}: has only the label column; it needs at least one feature column")
    x, y = [], []
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataError(f"{path}: line {line} has {len(row)} cells but the header has {len(header)}")
        y.append(row[label_at].strip())
        if not y[-1]:
            raise DataError(f"{path}: line {line}: the label (column {config.target!r}) is empty; every example needs one")
        x.append([csv_number(row[i], path, line, header[i], NUMERIC) for i in features])
    labels: Any = np.array(y, dtype=str)  # strings, mapped to classes, unless all are numbers
    with contextlib.suppress(ValueError):
        labels = np.array([float(v) for v in y])
    return {"x": np.array(x, dtype=np.float64).reshape(len(x), len(features)), "y": labels,
            "columns": [header[i] for i in features]}


_LABELS = {(True, False): "strings mapped to 0..C-1 in sorted order",  # (mapped, were integers)
           (True, True): "integers mapped to 0..C-1 in increasing order", (False, True): "integers 0..C-1 as given"}
READERS = {".npz": _read_npz, ".pt": _read_pt, ".csv": _read_csv}


def _names(arrays: Arrays, config: DataConfig, path: Path) -> tuple[str, str]:
    """The examples' and labels' array names: ``x_key``/``y_key``, else ``x``/``y``, else ``X``/``Y``."""
    names = []
    for key, given in (("x", config.x_key), ("y", config.y_key)):
        name = given or next((n for n in (key, key.upper()) if n in arrays), key)
        if name not in arrays:
            what = f"data.{key}_key is {given!r}, but" if given else f"needs {key} or {key.upper()} (or data.{key}_key);"
            raise DataError(f"{path}: {what} the arrays are {', '.join(arrays) or 'none'}")
        names.append(name)
    return names[0], names[1]


def _split(arrays: Arrays, path: Path, xk: str, yk: str) -> tuple[torch.Tensor, torch.Tensor, list[str] | None] | None:
    if xk not in arrays and yk not in arrays:
        return None
    for key in (xk, yk):
        if key not in arrays:
            raise DataError(f"{path}: has {xk if key == yk else yk} but no {key}; give both (found: {', '.join(arrays)})")
    where = f"{path} ({xk}, {yk})"
    check_array(arrays[xk], f"{path} ({xk})", "examples")
    check_array(arrays[yk], f"{path} ({yk})", "labels")
    check_same_length(arrays[xk], arrays[yk], where)
    x = features_tensor(arrays[xk], where)
    check_features(x, where)
    y, classes = encode_labels(arrays[yk], where)
    return x, y, classes


def _named(split: tuple | None) -> tuple | None:
    """A split whose integer labels become names ("1", "2", "3"), to be mapped as strings are."""
    if split is None or split[2] is not None:
        return split
    values = sorted(set(split[1].tolist()))
    index = {v: i for i, v in enumerate(values)}
    return split[0], torch.tensor([index[v] for v in split[1].tolist()], dtype=torch.int64), [str(v) for v in values]


def _labels_together(train: tuple, test: tuple | None, path: Path) -> tuple[torch.Tensor, torch.Tensor | None, list[str] | None]:
    """Map the labels of both splits with one table, when they are names.

    Integer labels stay as they are when the training labels are exactly 0..C-1 (the test labels are
    then checked against that range); otherwise they are mapped in increasing order, as names
    (1, 2, 3 -> 0, 1, 2 with classes "1", "2", "3"), and strings in sorted order.
    """
    if test is not None and (train[2] is None) != (test[2] is None):
        raise DataError(f"{path}: y is {'integers' if train[2] is None else 'strings'} but y_test is not; give both the same kind")
    numeric = train[2] is None
    if numeric and torch.unique(train[1]).tolist() == list(range(len(torch.unique(train[1])))):
        return train[1], None if test is None else test[1], None
    train, test = _named(train), _named(test)
    names = sorted(set(train[2]) | set(test[2] if test is not None else []), key=int if numeric else None)
    remap = {name: i for i, name in enumerate(names)}
    y_train = torch.tensor([remap[train[2][i]] for i in train[1].tolist()], dtype=torch.int64)
    y_test = None if test is None else torch.tensor([remap[test[2][i]] for i in test[1].tolist()], dtype=torch.int64)
    return y_train, y_test, names


def load_file(config: DataConfig) -> Dataset:
    started = time.perf_counter()
    path = Path(str(config.path)).expanduser()
    if path.is_dir():
        raise DataError(f"file dataset: {path.resolve()} is a folder (data.path is {config.path!r}); give the path of "
                        f"a .npz, .pt or .csv file")
    if not path.is_file():
        looked = path.resolve()
        raise DataError(f"file dataset: {looked} does not exist (data.path; a relative path is read from the config "
                        f"file's folder); give the path of a .npz, .pt or .csv file")
    arrays = READERS[path.suffix.lower()](path, config)
    xk, yk = _names(arrays, config, path)
    train, test = _split(arrays, path, xk, yk), _split(arrays, path, f"{xk}_test", f"{yk}_test")
    y_train, y_test, classes = _labels_together(train, test, path)
    num_classes = len(classes) if classes is not None else infer_num_classes(y_train, f"{path} (y)")
    if y_test is not None:
        check_labels(y_test, num_classes, f"{path} (y_test)")
        if test[0].shape[1] != train[0].shape[1]:
            raise DataError(f"{path}: x has {train[0].shape[1]} features per example but x_test has {test[0].shape[1]}")
    x_train, x_test = train[0], None if test is None else test[0]
    stats, x_train, x_test = standardize(x_train, x_test, x_train.shape[1])  # per-feature: in best_model.pt, not run.json
    info: dict[str, Any] = {"path": str(path.resolve()), "classes": classes or [str(c) for c in range(num_classes)],
                            "labels": _LABELS[(classes is not None, train[2] is None)],
                            "normalization": "per feature (x - mean) / std with the training split's mean and std"}
    dataset = finish("file", x_train, y_train, x_test, y_test, num_classes, config.val_fraction, info)
    dataset.info["load_seconds"] = round(time.perf_counter() - started, 3)
    csv_file = path.suffix.lower() == ".csv"
    dataset.preprocessing = Preprocessing(tuple(np.shape(arrays[xk]))[1:], 1.0, stats["mean"], stats["std"],
                                          arrays.get("columns") if csv_file else None, config.target if csv_file else None,
                                          info["normalization"], list(config.drop or []) if csv_file else [])
    return dataset
