"""New examples to predict, read from a CSV, npz or pt file in the training data's format.

The model was trained behind a ``Preprocessing``; new data must be raw features as the training file
held them: a CSV with the training feature columns (by name, in any order; the label column may be
there and is ignored), or an npz/pt array of examples shaped like the training examples (or
flattened). Anything else raises DataError naming what differs, before anything is predicted.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hpsearch.data.checks import check_features, csv_number, features_tensor
from hpsearch.data.preprocessing import Preprocessing
from hpsearch.errors import DataError

SUFFIXES = (".csv", ".npz", ".pt")
ARRAY_NAMES = ("x", "X", "x_test", "X_test")  # the examples, in the spellings a training file may use


NUMERIC = "the feature columns"  # which columns of a CSV to predict on must be numbers


def read_inputs(path: Path, preprocessing: Preprocessing) -> torch.Tensor:
    """Raw examples from ``path`` as float32 [N, input_dim] (not yet preprocessed), checked against
    what the model was trained on. Raises DataError naming the file and what differs."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataError(f"{path}: cannot read {suffix or 'a file without a suffix'}; give a .csv, .npz or .pt file")
    if suffix == ".csv":
        x: Any = _read_csv(path, preprocessing)
    else:
        x = _read_array(path, suffix)
    check_shape(x, preprocessing, str(path))
    tensor = features_tensor(x, str(path))
    check_features(tensor, str(path))
    return tensor


def check_shape(x: Any, preprocessing: Preprocessing, where: str) -> None:
    """One example must have the training examples' shape, or be them flattened."""
    shape = tuple(np.shape(x))
    expected = tuple(preprocessing.input_shape)
    if len(shape) == 0 or shape[1:] not in (expected, (preprocessing.input_dim,)):
        flat = "" if len(expected) == 1 else f" (or flattened, [N, {preprocessing.input_dim}])"
        raise DataError(f"{where}: examples of shape {list(shape[1:]) if shape else 'a scalar'} (array {list(shape)}), "
                        f"but the model takes [N, {', '.join(map(str, expected))}]{flat}: the shape of the training examples")


def _read_array(path: Path, suffix: str) -> Any:
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                content: Any = {k: archive[k] for k in archive.files}
        else:
            content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # numpy and torch raise many types for a bad or unsafe file
        raise DataError(f"{path}: cannot be read as {suffix} ({type(exc).__name__}: {exc})") from None
    if isinstance(content, torch.Tensor | np.ndarray):
        return content
    if isinstance(content, tuple | list) and content:
        return content[0]
    if isinstance(content, dict):
        name = next((n for n in ARRAY_NAMES if n in content), None)
        if name is None and len(content) == 1:
            name = next(iter(content))
        if name is not None:
            return content[name]
        raise DataError(f"{path}: holds {', '.join(map(str, content)) or 'no arrays'}; name the examples x "
                        f"(or save a single array)")
    raise DataError(f"{path}: holds a {type(content).__name__}; save the examples as an array (or a dict with x)")


def _read_csv(path: Path, preprocessing: Preprocessing) -> np.ndarray:
    try:
        text = path.read_text(encoding="utf-8-sig")
        try:
            delimiter = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|").delimiter
        except csv.Error:  # one column, or too little to tell
            delimiter = ","
        rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot be read as CSV ({exc})") from None
    if not rows:
        raise DataError(f"{path}: is empty; it needs a header row and one row per example")
    header = [h.strip() for h in rows[0]]
    at = _feature_columns(header, preprocessing, path)
    x = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(f"{path}: line {line} has {len(row)} cells but the header has {len(header)}")
        x.append([csv_number(row[i], path, line, header[i], NUMERIC) for i in at])
    return np.array(x, dtype=np.float64).reshape(len(x), len(at))


def _feature_columns(header: list[str], preprocessing: Preprocessing, path: Path) -> list[int]:
    """Where each training feature column is in ``header``; the label column and the columns the
    training left out (``data.drop``), if there, are skipped."""
    columns, target, skipped = preprocessing.columns, preprocessing.target, {preprocessing.target, *preprocessing.dropped}
    if columns is None:  # trained on an array, not a CSV: the columns in order, however named
        kept = [i for i, h in enumerate(header) if h not in skipped]
        if len(kept) != preprocessing.input_dim:
            raise DataError(f"{path}: has {len(kept)} columns, but the model takes {preprocessing.input_dim} features "
                            f"(it was not trained on a CSV, so the columns are taken in order, whatever their names)")
        return kept
    missing = [c for c in columns if c not in header]
    extra = [h for h in header if h not in columns and h not in skipped]
    if missing or extra:
        what = [f"missing {', '.join(map(repr, missing))}"] if missing else []
        what += [f"not in the training data: {', '.join(map(repr, extra))}"] if extra else []
        raise DataError(f"{path}: its columns differ from the training data's ({'; '.join(what)}); the model takes "
                        f"{', '.join(columns)} (any order; the label column {target!r}"
                        f"{''.join(f', {c!r}' for c in preprocessing.dropped)} may be there and is ignored)")
    return [header.index(c) for c in columns]
