"""Atomic file writes: a run killed at any instant leaves the old file or the new one, never half."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def _file_mode() -> int:
    """The mode a plain ``open`` would give a new file (0o666 less the umask); mkstemp gives 0o600."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()


@contextmanager
def atomic_file(path: Path, binary: bool = False, durable: bool = True) -> Iterator[IO[Any]]:
    """Yield a temporary file beside ``path`` (``.<name>.*.tmp``); once the block succeeds it is
    flushed, fsynced (when ``durable``) and renamed over ``path``. On any error the temporary file is
    removed. The rename alone makes the write atomic for a process killed at any instant; the fsync
    (a few ms) also carries it through a power loss, and is kept for files that end something.

    >>> with atomic_file(Path("/tmp/example.txt")) as handle:   # doctest: +SKIP
    ...     handle.write("all or nothing")
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)  # a runs folder is shared like any other files: readable by the group
        text_args: dict[str, Any] = {} if binary else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, "wb" if binary else "w", **text_args) as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc  # say which file could not be written
        raise


def save_atomic(obj: Any, path: Path, save: Callable[[Any, IO[bytes]], None]) -> None:
    """``save(obj, handle)`` into ``path`` through ``atomic_file``: never half a file. ``save`` is
    ``torch.save``, given by the caller, so this module (which runs/ uses) never imports torch.

    >>> save_atomic({"w": torch.zeros(3)}, run_dir / "best_model.pt", torch.save)   # doctest: +SKIP
    """
    buffer = io.BytesIO()
    save(obj, buffer)  # serialized first: a failing disk write then raises OSError (torch's zip writer would
    with atomic_file(path, binary=True) as handle:  # turn it into a RuntimeError from inline_container)
        handle.write(buffer.getbuffer())
