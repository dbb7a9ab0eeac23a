"""Checks on examples and labels, shared by every loader, so bad data fails the same clear way.

Each check raises DataError naming where the data came from (``where``: a file or a dataset) and
what is allowed, before the search writes anything.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hpsearch.errors import DataError


def encode_labels(values: Any, where: str) -> tuple[torch.Tensor, list[str] | None]:
    """Labels as int64, plus the class names when they were strings (sorted: index = label).

    Integers (or integral floats such as 3.0) are kept as they are; strings are mapped to 0..C-1
    in sorted order, e.g. ``["dog", "cat", "dog"]`` -> ``[1, 0, 1]`` with classes ``["cat", "dog"]``.
    """
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.ndim != 1:
        raise DataError(f"{where}: labels must be one label per example (1-D), got shape {tuple(array.shape)}")
    if array.dtype.kind in "USO":
        strings = [str(v) for v in array.tolist()]
        classes = sorted(set(strings))
        index = {name: i for i, name in enumerate(classes)}
        return torch.tensor([index[s] for s in strings], dtype=torch.int64), classes
    if array.dtype.kind == "b" or array.dtype.kind in "iu":
        return torch.from_numpy(array.astype(np.int64)), None
    if array.dtype.kind == "f":
        if not np.isfinite(array).all() or not (array == np.round(array)).all():
            bad = array[~np.isfinite(array) | (array != np.round(array))][0]
            raise DataError(f"{where}: labels must be integers 0..C-1 or strings (this tool classifies), got {bad!r}")
        return torch.from_numpy(array.astype(np.int64)), None
    raise DataError(f"{where}: labels must be integers or strings, got values of type {array.dtype}")


def available_memory() -> int | None:
    """Bytes of memory this machine can still give (Linux MemAvailable), None where unknown."""
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_array(value: Any, where: str, what: str) -> None:
    """``value`` is an array of ``what`` (one per row): a dense tensor or a numpy array, not a scalar,
    a string, None, or a sparse or meta tensor (which hold no plain values to train on)."""
    if isinstance(value, torch.Tensor):
        if value.is_meta or value.layout != torch.strided:
            kind = "meta (no data)" if value.is_meta else f"sparse ({value.layout})"
            raise DataError(f"{where}: is a {kind} tensor; save a dense tensor of its values (x.to_dense())")
    elif not isinstance(value, np.ndarray):
        raise DataError(f"{where}: is a {type(value).__name__}, not an array or tensor of {what}")
    if value.ndim == 0:
        raise DataError(f"{where}: is a single value (0-d), not one row per example")


def features_tensor(values: Any, where: str) -> torch.Tensor:
    """Examples as float32 [N, D]: any input shape [N, ...] is flattened. Numbers only."""
    if isinstance(values, torch.Tensor):
        tensor = values.detach().cpu()
    else:
        array = np.asarray(values)
        if array.dtype.kind not in "biuf":
            raise DataError(f"{where}: features must be numbers, got values of type {array.dtype}")
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.is_complex():
        raise DataError(f"{where}: features must be real numbers, got {tensor.dtype}")
    if tensor.ndim == 0 or len(tensor) == 0:
        raise DataError(f"{where}: no examples (features of shape {tuple(tensor.shape)})")
    if math.prod(tensor.shape[1:]) == 0:
        raise DataError(f"{where}: the examples have no features (shape {tuple(tensor.shape)})")
    return tensor.reshape(len(tensor), -1).to(torch.float32).contiguous()


def check_features(x: torch.Tensor, where: str) -> None:
    """Every feature finite: a NaN would turn every trial's loss into NaN and look like divergence."""
    bad = ~torch.isfinite(x)
    if bad.any():
        example, feature = (int(i) for i in torch.nonzero(bad)[0])
        raise DataError(f"{where}: features contain {int(bad.sum())} NaN or infinite value(s), the first in example "
                        f"{example} (0-based), feature {feature}; remove or impute them before the search")


def check_labels(y: torch.Tensor, num_classes: int, where: str) -> None:
    """Labels must lie in 0..num_classes-1 (cross-entropy indexes its logits with them)."""
    if len(y) == 0:
        return
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= num_classes:
        raise DataError(f"{where}: labels out of range: found {low}..{high}, but labels must be integers 0..{num_classes - 1} "
                        f"({num_classes} classes); shift them to start at 0, or give them as strings to have them mapped")


def infer_num_classes(y_train: torch.Tensor, where: str) -> int:
    """C for integer labels 0..C-1: every class up to the largest label must occur in training."""
    low = int(y_train.min())
    if low < 0:
        raise DataError(f"{where}: labels out of range: found {low}; labels must be integers 0..C-1 "
                        f"(or strings, which are mapped to 0..C-1)")
    present = torch.unique(y_train).tolist()  # sorted; never range(C), which a label of 2**40 would make huge
    num_classes = present[-1] + 1
    if len(present) != num_classes:
        missing = _first_missing(present, 6)
        shown = ", ".join(str(m) for m in missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise DataError(f"{where}: labels out of range: labels must be 0..C-1 with every class present, but the labels "
                        f"run 0..{num_classes - 1} and class(es) {shown} never occur; renumber them from 0, or give "
                        f"them as strings to have them mapped")
    return num_classes


def _first_missing(present: list[int], count: int) -> list[int]:
    """The first ``count`` integers from 0 absent from the sorted list ``present``."""
    missing: list[int] = []
    expected = 0
    for value in present:
        while expected < value and len(missing) < count:
            missing.append(expected)
            expected += 1
        expected = value + 1
        if len(missing) >= count:
            break
    return missing


def check_classes(y_train: torch.Tensor, where: str) -> None:
    """At least two classes: with one, every model is 100% accurate and the search means nothing."""
    present = torch.unique(y_train)
    if len(present) < 2:
        found = "no labels" if len(present) == 0 else f"only class {int(present[0])}"
        raise DataError(f"{where}: the training split has {found}; classification needs at least 2 classes")


def check_same_length(x: Sequence[Any] | torch.Tensor, y: Sequence[Any] | torch.Tensor, where: str) -> None:
    if len(x) != len(y):
        raise DataError(f"{where}: {len(x)} examples but {len(y)} labels; they must match one to one")


MISSING_CELLS = {"", "nan", "na", "n/a", "null"}  # CSV cells read as missing (NaN), then reported with their place


def csv_number(cell: str, path: Path, row: int, column: str, numeric: str) -> float:
    """One CSV feature cell as a float; a missing cell is NaN (the NaN check reports it with its
    position), text is a DataError naming the line and column; ``numeric`` says which columns must be numbers."""
    if cell.strip().lower() in MISSING_CELLS:
        return math.nan
    try:
        return float(cell)
    except ValueError:
        raise DataError(f"{path}: line {row}, column {column!r}: {cell!r} is not a number; {numeric} "
                        f"must be numeric") from None
