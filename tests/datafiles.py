"""Writers of small data files in the real formats (IDX as in MNIST, CIFAR-10 python batches),
so the loaders are tested through the same code a real run uses, offline."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np

IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes: magic 0x0000 08 <ndim>, big-endian dims, then the data."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def learnable_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n 28x28 images whose class k (0..9) lights rows 2k..2k+1: easy for an MLP, not for chance."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
    for i, k in enumerate(labels):
        images[i, 2 * k : 2 * k + 2, 4:24] = 255
    return images, labels.astype(np.uint8)


def write_idx_dataset(folder: Path, n_train: int = 600, n_test: int = 200, gz: bool = True,
                      train_labels: np.ndarray | None = None) -> Path:
    """The four MNIST files in ``folder`` (e.g. <root>/MNIST/raw), .gz or plain. Returns folder."""
    folder.mkdir(parents=True, exist_ok=True)
    x_train, y_train = learnable_images(n_train, seed=1)
    x_test, y_test = learnable_images(n_test, seed=2)
    if train_labels is not None:
        y_train = train_labels
    for name, array in zip(IDX_NAMES, (x_train, y_train, x_test, y_test), strict=True):
        data = idx_bytes(array)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return folder


def write_cifar_dataset(root: Path, per_batch: int = 20) -> Path:
    """cifar-10-batches-py/ with data_batch_1..5 and test_batch as CIFAR-10 ships them: pickled dicts
    whose 'data' is uint8 [N, 3072] (R, G, B planes of 32x32) and 'labels' a list of ints.
    The planes have means near 200, 100 and 50, so per-channel normalization is visible."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        planes = [np.clip(rng.normal(mean, 20, size=(per_batch, 1024)), 0, 255) for mean in (200, 100, 50)]
        data = np.concatenate(planes, axis=1).astype(np.uint8)
        labels = [int(v) for v in np.arange(per_batch) % 10]
        batch = {"batch_label": f"{name} of 6", "labels": labels, "data": data,
                 "filenames": [f"img_{i}.png" for i in range(per_batch)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return folder
