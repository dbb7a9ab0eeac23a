"""MNIST for the benchmark: the real files when present, a generated set of the same shape otherwise.

Both ways of training read the same examples: hpsearch gets normalized float tensors, the DataLoader
loop gets a torchvision ``MNIST`` folder (a temporary copy, since the shared data folder is
read-only; torchvision checks the md5 of the copied archives and extracts them without a network).
"""

from __future__ import annotations

import gzip
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
MEAN, STD = 0.1307, 0.3081  # the official PyTorch MNIST example's Normalize
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data"


@dataclass
class Images:
    """uint8 images [N, 28, 28] and int64 labels, as the idx files hold them."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    source: str  # "real MNIST (<path>)" or "generated"


def mnist_raw_dir(root: Path) -> Path | None:
    """``root/MNIST/raw`` when all four archives are there, else None."""
    raw = root / "MNIST" / "raw"
    return raw if all((raw / f"{name}.gz").is_file() for name in FILES.values()) else None


def read_idx_gz(path: Path) -> torch.Tensor:
    """An idx archive (magic, dims, then uint8 data) as a tensor of its shape."""
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    return torch.from_numpy(np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape).copy())


def load_real(raw: Path) -> Images:
    t = {key: read_idx_gz(raw / f"{name}.gz") for key, name in FILES.items()}
    return Images(t["x_train"], t["y_train"].long(), t["x_test"], t["y_test"].long(), f"real MNIST ({raw})")


def generate(n_train: int = 60_000, n_test: int = 10_000, seed: int = 0) -> Images:
    """Ten classes of 28x28 uint8 images: a fixed random stroke pattern per class plus pixel noise,
    so the MLP has something to learn (accuracy well above chance) and timings match MNIST's shape."""
    g = torch.Generator().manual_seed(seed)
    templates = (torch.rand(10, 28, 28, generator=g) > 0.75).float() * 200

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, 10, (n,), generator=g)
        x = templates[y] * (torch.rand(n, 1, 1, generator=g) * 0.4 + 0.1) + torch.rand(n, 28, 28, generator=g) * 200
        return x.clamp(0, 255).to(torch.uint8), y

    x_train, y_train = draw(n_train)
    x_test, y_test = draw(n_test)
    return Images(x_train, y_train, x_test, y_test, "generated (real MNIST not found)")


def normalized(x: torch.Tensor) -> torch.Tensor:
    """What ToTensor() then Normalize((0.1307,), (0.3081,)) give, flattened: float32 [N, 784]."""
    return ((x.reshape(len(x), -1).float() / 255.0) - MEAN) / STD


def write_torchvision_folder(images: Images, raw_source: Path | None, root: Path) -> None:
    """Lay out ``root/MNIST/raw`` for ``torchvision.datasets.MNIST(root, download=True)``: the real
    archives copied (torchvision verifies and extracts them), or the generated set as idx files."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    if raw_source is not None:
        for name in FILES.values():
            shutil.copy(raw_source / f"{name}.gz", raw / f"{name}.gz")
        return
    for key, name in FILES.items():
        tensor = getattr(images, key).to(torch.uint8)
        header = struct.pack(">I", 0x800 + tensor.dim()) + struct.pack(f">{tensor.dim()}I", *tensor.shape)
        (raw / name).write_bytes(header + tensor.numpy().tobytes())
