"""One writer per run folder: a lock file holding the owner's pid, taken over when its owner is dead.

The lock file is created whole (written to a temporary file, then hard-linked into place, which
fails if the lock exists), so a reader never sees an empty one. A lock left by a process that no
longer exists (``kill -9``, a crash, a lost machine) is stale: the next writer takes it over and
says so. A pid alone does not say that: after a reboot or a container restart the same pid (often
1, in a container) belongs to another process. So the lock also records the process's identity,
the kernel's boot id and the process's start time (Linux ``/proc``), and a live pid whose identity
differs is stale too. A lock from another host cannot be checked and is always respected; an
empty or unreadable lock is not ours to judge, and is refused with what to do.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from hpsearch.errors import RunDirError

LOCK_NAME = "run.lock"
GUARD_NAME = ".run.lock.guard"


def process_identity(pid: int) -> str | None:
    """``<boot id>:<start time>`` of process ``pid`` (Linux), None where that cannot be read: two
    processes with the same pid, across a reboot or a container restart, never share it."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return f"{boot}:{stat.rsplit(')', 1)[1].split()[19]}"  # field 22, starttime (after "pid (comm)")
    except (OSError, IndexError):
        return None


def is_stale(owner: dict[str, object]) -> bool:
    """True when the lock's ``owner`` is a process of this host that no longer exists, or whose pid
    now belongs to another process (its recorded identity differs). A lock from another host, or one
    without a pid, is never stale."""
    pid, recorded = owner.get("pid"), owner.get("process")
    if not isinstance(pid, int) or owner.get("host") != socket.gethostname():
        return False
    if not pid_alive(pid):
        return True
    now = process_identity(pid)
    return isinstance(recorded, str) and now is not None and now != recorded


def pid_alive(pid: int) -> bool:
    """True when a process with ``pid`` exists on this host (or we cannot tell: Windows)."""
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def read_lock(root: Path) -> dict[str, object] | None:
    """The owner recorded in ``root/run.lock`` (``{"pid": ..., "host": ...}``), ``{}`` when the file
    cannot be read, None when there is no lock (nobody writes the folder)."""
    return RunLock(root)._read()


def writer_alive(root: Path) -> bool:
    """Whether a process still writes ``root``: its lock exists and is not stale. False after the
    writer was killed (``kill -9``, a crash) or closed the folder."""
    owner = read_lock(root)
    return owner is not None and not is_stale(owner)


class RunLock:
    """``with RunLock(run_dir) as lock:`` holds ``run_dir/run.lock``; ``lock.took_over`` names the
    dead pid whose stale lock was replaced, or is None."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.path = self.root / LOCK_NAME
        self.took_over: int | None = None
        self.held = False

    def acquire(self) -> RunLock:
        try:
            with self._guard():  # two processes taking over one stale lock must not both succeed
                return self._acquire()
        except OSError as exc:  # a read-only or full disk: one line, not a traceback
            raise RunDirError(f"cannot write the run folder {self.root} ({exc.filename or self.path}): "
                              f"{exc.strerror or exc}; it must be writable to be run or resumed") from None

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Serialize acquisitions of this folder's lock with an OS lock on ``.run.lock.guard``
        (released by the OS if the holder dies); where ``fcntl`` is missing (Windows), no guard."""
        if fcntl is None:
            yield
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / GUARD_NAME, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _acquire(self) -> RunLock:
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "process": process_identity(os.getpid())}
        for _ in range(3):
            if self._link(owner):
                self.held = True
                return self
            other = self._read()
            if other is None:  # released between our attempt and the read: try again
                continue
            pid, host = other.get("pid"), other.get("host")
            if not isinstance(pid, int):
                raise RunDirError(f"the lock file {self.path} names no process (empty or not a lock hpsearch wrote); "
                                  f"if no hpsearch process is writing {self.root}, delete {self.path} and try again")
            if not is_stale(other):
                raise RunDirError(
                    f"run folder {self.root} is in use by process {pid} on {host} (lock file {self.path}); "
                    f"wait for it to finish, or delete {self.path} if that process is gone")
            self.took_over = pid
            self.path.unlink(missing_ok=True)
        raise RunDirError(f"could not take the lock {self.path}: another process keeps taking it")

    def _link(self, owner: dict[str, object]) -> bool:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".run.lock.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(owner, handle)
            os.link(tmp, self.path)
            return True
        except FileExistsError:
            return False
        finally:
            Path(tmp).unlink(missing_ok=True)

    def _read(self) -> dict[str, object] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False



def active_writer(root: Path) -> str | None:
    """Who is writing ``root`` now (``process 123 on host``), or None when nobody is: no lock, or a
    stale one whose process no longer runs. A lock from another host counts as held, as in ``acquire``."""
    lock = RunLock(root)
    owner = lock._read()
    if owner is None:
        return None
    if is_stale(owner):
        return None
    pid, host = owner.get("pid"), owner.get("host")
    return f"process {pid} on {host}" if isinstance(pid, int) else f"an unreadable lock file ({lock.path})"
