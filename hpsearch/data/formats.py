"""Readers for the raw files torchvision downloads: IDX (MNIST family) and CIFAR-10 batches.

Read directly rather than through ``torchvision.datasets.MNIST``: that class extracts the ``.gz``
files into ``raw/`` first (impossible in a read-only data folder) and decodes images one by one.
Here a whole split is one ``gzip`` read and one ``torch.frombuffer``.
"""

from __future__ import annotations

import gzip
import math
import pickle
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hpsearch.errors import DataError

IDX_UBYTE = 0x08


def _damaged(path: Path, why: str) -> DataError:
    return DataError(f"{path}: {why}; the file is damaged or not what its name says: delete it (with download: true "
                     f"it is fetched again) or replace it with the original")


def read_idx(path: Path) -> torch.Tensor:
    """An IDX file of unsigned bytes (``.gz`` or plain) as a uint8 tensor of the shape its header gives."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                data = bytearray(handle.read())
        else:
            data = bytearray(path.read_bytes())
    except (OSError, EOFError, zlib.error) as exc:
        raise _damaged(path, f"cannot be read ({exc})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != IDX_UBYTE or data[3] == 0:
        raise _damaged(path, "not an IDX file of unsigned bytes (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise _damaged(path, "its IDX header is cut short")
    dims = struct.unpack(f">{ndim}I", bytes(data[4:header]))
    if len(data) - header != math.prod(dims):
        raise _damaged(path, f"the header promises {math.prod(dims)} bytes of shape {dims}, but {len(data) - header} follow")
    return torch.frombuffer(data, dtype=torch.uint8, offset=header).view(*dims)


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays, lists, dicts and strings only: a CIFAR batch is a pickle, and a pickle
    from elsewhere must not be able to run code."""

    ALLOWED = frozenset({
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),
    })

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR batch")


def read_cifar_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """One CIFAR-10 python batch: (uint8 [N, 3072] as R, G, B planes of 32x32, int64 labels [N])."""
    try:
        with path.open("rb") as handle:
            batch = _ArrayUnpickler(handle, encoding="latin1").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError) as exc:
        raise _damaged(path, f"cannot be read as a CIFAR-10 batch ({exc})") from None
    if not isinstance(batch, dict):
        raise _damaged(path, "a CIFAR-10 batch is a dict with 'data' and 'labels'")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise _damaged(path, "its 'data' must be a uint8 array of shape [N, 3072]")
    if labels is None or len(labels) != len(data):
        raise _damaged(path, f"its 'labels' must hold one label per image ({len(data)})")
    return torch.from_numpy(np.ascontiguousarray(data)), torch.as_tensor(np.asarray(labels), dtype=torch.int64)
