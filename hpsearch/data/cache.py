"""The tensor cache: decoded, normalized splits saved once, so the next run loads them in a blink.

A cache file is named by a key over everything it depends on (the raw files' paths, sizes and
modification times, the normalization, the format version): change any of them and the old file is
simply not found. It lives beside the raw files (``<folder>/hpsearch-cache/``), or, when that folder
is read-only (a shared data folder), in a per-user folder (``$HPSEARCH_CACHE``, default
``~/.cache/hpsearch/tensors``). Files are written atomically and read with ``weights_only=True``,
so a cache file can hold tensors and plain values but never run code; an unreadable one is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from hpsearch.atomic import save_atomic

FORMAT = 1
CACHE_ENV = "HPSEARCH_CACHE"


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/hpsearch`` or ``~/.cache/hpsearch``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hpsearch"


def fallback_dir() -> Path:
    return Path(os.environ[CACHE_ENV]) if os.environ.get(CACHE_ENV) else user_cache_dir() / "tensors"


def cache_key(name: str, files: Iterable[Path], normalization: str) -> str:
    """Hex digest over the inputs the cached tensors depend on."""
    parts: list[Any] = [FORMAT, name, normalization]
    for path in files:
        stat = path.stat()
        parts.append([str(path.resolve()), stat.st_size, stat.st_mtime_ns])
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:20]


def _writable(folder: Path) -> bool:
    """Whether we may write in ``folder`` (or create it): its nearest existing ancestor must be
    writable and not marked read-only (a root user passes ``os.access`` on a read-only share, but a
    folder without write bits was made read-only on purpose and is respected)."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return os.access(probe, os.W_OK) and bool(probe.stat().st_mode & 0o222)


class TensorCache:
    """The cache file for one dataset version: ``load`` returns its tensors or None; ``save`` stores them."""

    def __init__(self, name: str, key: str, beside: Path) -> None:
        # the prefix names the data folder too, so two copies of a dataset sharing the per-user
        # folder do not evict each other's files
        folder_id = hashlib.sha256(str(beside.resolve()).encode()).hexdigest()[:8]
        self.prefix = f"{name}-{folder_id}"
        self.key = key
        self.dirs = [beside / "hpsearch-cache", fallback_dir()]

    def filename(self) -> str:
        return f"{self.prefix}-{self.key}.pt"

    def load(self) -> tuple[dict[str, Any], Path] | None:
        for folder in self.dirs:
            path = folder / self.filename()
            if not path.is_file():
                continue
            try:
                content = torch.load(path, map_location="cpu", weights_only=True)
            except Exception:  # a torn or foreign file is a cache miss, rebuilt below
                continue
            if isinstance(content, dict) and content.get("format") == FORMAT and content.get("key") == self.key:
                return content, path
        return None

    def save(self, tensors: dict[str, Any]) -> Path | None:
        """Write to the first writable folder; None when none is (the run goes on uncached)."""
        content = {"format": FORMAT, "key": self.key, **tensors}
        for folder in self.dirs:
            if not _writable(folder):
                continue
            try:
                save_atomic(content, folder / self.filename(), torch.save)
            except OSError:
                continue
            self._remove_stale(folder)
            return folder / self.filename()
        return None

    def _remove_stale(self, folder: Path) -> None:
        """Older versions of this dataset's cache (other keys) are dead weight: remove them."""
        for old in folder.glob(f"{self.prefix}-*.pt"):
            if old.name != self.filename():
                old.unlink(missing_ok=True)
