"""torchvision datasets: ``mnist``, ``fashion_mnist``, ``kmnist`` and ``cifar10``, flattened for the MLP.

Files live in torchvision's layout under a root folder (``<root>/MNIST/raw/*-ubyte[.gz]``,
``<root>/cifar-10-batches-py/data_batch_1`` ...), so a folder torchvision filled works here and the
other way round. The root is ``data.root``, else ``$HPSEARCH_DATA``, else ``~/.cache/hpsearch/data``.
Missing files are fetched with torchvision's own URLs and MD5 checks (``download: true``); the
files are then read directly (see ``formats``), normalized with the training split's per-channel
mean and std, and cached (see ``cache``). The official test split is loaded but kept for ``--test``.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hpsearch.data.cache import TensorCache, cache_key, user_cache_dir
from hpsearch.data.checks import check_labels
from hpsearch.data.dataset import Dataset
from hpsearch.data.formats import read_cifar_batch, read_idx
from hpsearch.data.preprocessing import Preprocessing
from hpsearch.data.splits import finish, standardize
from hpsearch.errors import DataError
from hpsearch.space.config import DataConfig

ROOT_ENV = "HPSEARCH_DATA"
NORMALIZATION = "pixels/255, then per-channel (x - mean) / std with the training split's mean and std"
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
CIFAR_FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")


@dataclass(frozen=True)
class VisionSpec:
    """One dataset: where its files live under the root, how to read and fetch them, its classes."""

    name: str
    torchvision_class: str  # the torchvision.datasets class whose URLs and MD5s are used to download
    subdir: str  # the folder under the root that holds the files
    files: tuple[str, ...]
    channels: int
    shape: tuple[int, ...]  # one raw example, as the files hold it (channels first)
    classes: tuple[str, ...]
    read: Callable[[list[Path]], tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]
    fetch: Callable[[VisionSpec, Path, list[str]], None]
    by_hand: Callable[[VisionSpec, Path], str]


def resolve_root(configured: str | None) -> tuple[Path, str]:
    """The data root and what chose it (for messages and run.json)."""
    if configured is not None:
        return Path(configured).expanduser(), "data.root"
    if os.environ.get(ROOT_ENV):
        return Path(os.environ[ROOT_ENV]).expanduser(), f"${ROOT_ENV}"
    return user_cache_dir() / "data", f"the default (set data.root or ${ROOT_ENV} to change it)"


def _torchvision_class(spec: VisionSpec) -> Any:
    import torchvision.datasets

    return getattr(torchvision.datasets, spec.torchvision_class)


# ---- MNIST family: four IDX files in <root>/<Class>/raw/, plain or .gz ----

def _read_mnist(paths: list[Path]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    x_train, y_train, x_test, y_test = (read_idx(p) for p in paths)
    for images, labels, a, b in ((x_train, y_train, paths[0], paths[1]), (x_test, y_test, paths[2], paths[3])):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"{a} and {b} do not match: images of shape {tuple(images.shape)}, labels of shape {tuple(labels.shape)}")
    return x_train.reshape(len(x_train), -1), y_train.long(), x_test.reshape(len(x_test), -1), y_test.long()


def _fetch_idx(spec: VisionSpec, folder: Path, missing: list[str]) -> None:
    """Download each missing file from torchvision's mirrors, MD5-checked, into a temporary file first
    (so an interrupted download never leaves a half file that looks present)."""
    from torchvision.datasets.utils import download_url

    cls = _torchvision_class(spec)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{spec.name}: cannot create {folder} to download into ({exc}). {spec.by_hand(spec, folder)}") from None
    for filename, md5 in cls.resources:
        if filename.removesuffix(".gz") not in missing:
            continue
        errors = []
        for mirror in cls.mirrors:
            try:
                with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as tmp:
                    download_url(f"{mirror}{filename}", tmp, filename, md5)
                    os.replace(Path(tmp) / filename, folder / filename)
                break
            except Exception as exc:  # any network, disk or checksum failure: try the next mirror
                errors.append(f"{mirror}{filename}: {type(exc).__name__}: {exc}")
        else:
            raise DataError(f"{spec.name}: download failed: {'; '.join(errors)}. {spec.by_hand(spec, folder)}")


def _idx_by_hand(spec: VisionSpec, folder: Path) -> str:
    cls = _torchvision_class(spec)
    urls = ", ".join(f"{cls.mirrors[0]}{name}" for name, _ in cls.resources)
    return (f"With no internet, place the files by hand: on a machine that has it, download {urls} and copy them "
            f"(still .gz, or unpacked) into {folder}; or set data.root (or ${ROOT_ENV}) to a folder that already "
            f"holds {spec.subdir}")


# ---- CIFAR-10: python batches in <root>/cifar-10-batches-py/ ----

def _read_cifar(paths: list[Path]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    batches = [read_cifar_batch(p) for p in paths]
    x_train = torch.cat([x for x, _ in batches[:-1]])
    y_train = torch.cat([y for _, y in batches[:-1]])
    return x_train, y_train, *batches[-1]


def _fetch_cifar(spec: VisionSpec, folder: Path, missing: list[str]) -> None:
    from torchvision.datasets.utils import download_and_extract_archive

    cls = _torchvision_class(spec)
    try:
        download_and_extract_archive(cls.url, download_root=str(folder.parent), filename=cls.filename, md5=cls.tgz_md5)
    except Exception as exc:  # any network, disk or checksum failure becomes one clear message
        raise DataError(f"{spec.name}: download failed: {cls.url}: {type(exc).__name__}: {exc}. {spec.by_hand(spec, folder)}") from None


def _cifar_by_hand(spec: VisionSpec, folder: Path) -> str:
    cls = _torchvision_class(spec)
    return (f"With no internet, place the files by hand: on a machine that has it, download {cls.url}, then unpack "
            f"it with `tar xzf {cls.filename} -C {folder.parent}` so that {folder / 'data_batch_1'} exists; or set "
            f"data.root (or ${ROOT_ENV}) to a folder that already holds {spec.subdir}")


MNIST_CLASSES = tuple(str(d) for d in range(10))
SPECS: dict[str, VisionSpec] = {s.name: s for s in (
    VisionSpec("mnist", "MNIST", "MNIST/raw", IDX_FILES, 1, (28, 28), MNIST_CLASSES, _read_mnist, _fetch_idx, _idx_by_hand),
    VisionSpec("fashion_mnist", "FashionMNIST", "FashionMNIST/raw", IDX_FILES, 1, (28, 28),
               ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
               _read_mnist, _fetch_idx, _idx_by_hand),
    VisionSpec("kmnist", "KMNIST", "KMNIST/raw", IDX_FILES, 1, (28, 28), ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
               _read_mnist, _fetch_idx, _idx_by_hand),
    VisionSpec("cifar10", "CIFAR10", "cifar-10-batches-py", CIFAR_FILES, 3, (3, 32, 32),
               ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
               _read_cifar, _fetch_cifar, _cifar_by_hand),
)}


def locate(spec: VisionSpec, root: Path, chose: str, download: bool) -> list[Path]:
    """The raw files' paths (each plain or ``.gz``), downloading the missing ones if allowed."""
    folder = root / spec.subdir

    def find() -> tuple[list[Path], list[str]]:
        found, missing = [], []
        for name in spec.files:
            candidates = [folder / name, folder / f"{name}.gz"]
            hit = next((c for c in candidates if c.is_file()), None)
            found.append(hit) if hit is not None else missing.append(name)
        return found, missing

    found, missing = find()
    if missing:
        _check_not_misplaced(spec, root, chose)
    if missing and download:
        spec.fetch(spec, folder, missing)
        found, missing = find()
    if missing:
        why = "download: false is set" if not download else "the download did not produce them"
        raise DataError(f"{spec.name}: missing {', '.join(missing)} in {folder} (the root {root} comes from {chose}; "
                        f"each file may also end in .gz); {why}. {spec.by_hand(spec, folder)}")
    return found


def _check_not_misplaced(spec: VisionSpec, root: Path, chose: str) -> None:
    """The files are there, but the root names their own folder (``.../MNIST/raw``) or one between
    (``.../MNIST``), not the folder above ``MNIST/raw``: say where to point it (and do not download
    a second copy into ``.../MNIST/raw/MNIST/raw``)."""
    parts = Path(spec.subdir).parts
    for depth in range(len(parts), 0, -1):  # root = .../MNIST/raw, then root = .../MNIST
        if root.parts[-depth:] != parts[:depth]:
            continue
        folder = root.joinpath(*parts[depth:])
        if any((folder / name).is_file() or (folder / f"{name}.gz").is_file() for name in spec.files):
            parent = Path(*root.parts[:-depth])
            raise DataError(f"{spec.name}: the root {root} (from {chose}) is the folder that holds the files; the root "
                            f"is the folder above {spec.subdir}: point it at the parent, {parent}")


def decode(spec: VisionSpec, paths: list[Path]) -> dict[str, Any]:
    """Read the raw files, check the labels, scale to [0, 1] and normalize: the tensors to cache."""
    x_train, y_train, x_test, y_test = spec.read(paths)
    for labels, split in ((y_train, "training"), (y_test, "test")):
        check_labels(labels, len(spec.classes), f"{paths[0].parent} ({spec.name} {split} labels)")
    x_train, x_test = x_train.float().div_(255), x_test.float().div_(255)
    stats, x_train, x_test = standardize(x_train, x_test, spec.channels)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test,
            "mean": stats["mean"], "std": stats["std"]}


def load_vision(spec: VisionSpec, config: DataConfig) -> Dataset:
    started = time.perf_counter()
    root, chose = resolve_root(config.root)
    paths = locate(spec, root, chose, config.download)
    cache = TensorCache(spec.name, cache_key(spec.name, paths, NORMALIZATION), paths[0].parent)
    hit = cache.load()
    content, cache_path = hit if hit is not None else (decode(spec, paths), None)
    if hit is None:
        cache_path = cache.save(content)
    info = {"root": str(root), "files": str(paths[0].parent), "classes": list(spec.classes),
            "normalization": {"how": NORMALIZATION, "mean": [round(m, 6) for m in content["mean"].tolist()],
                              "std": [round(s, 6) for s in content["std"].tolist()],
                              "from": f"the training split ({len(content['y_train'])} examples), never the test split"},
            "cache": str(cache_path) if cache_path else None, "cache_hit": hit is not None}
    dataset = finish(spec.name, content["x_train"], content["y_train"], content["x_test"], content["y_test"],
                     len(spec.classes), config.val_fraction, info)
    dataset.info["load_seconds"] = round(time.perf_counter() - started, 3)
    dataset.preprocessing = Preprocessing(spec.shape, 1 / 255, content["mean"].float(), content["std"].float(), how=NORMALIZATION)
    return dataset


def loader(spec: VisionSpec) -> Callable[[DataConfig], Dataset]:
    return lambda config: load_vision(spec, config)

