"""Signals that stop a search: Ctrl-C (SIGINT) and SIGTERM (what `kill`, CI runners and container
stops send) both become KeyboardInterrupt, which the search loop turns into an ``interrupted`` run.

Python already maps SIGINT to KeyboardInterrupt, unless the process started with SIGINT ignored
(a background job of a non-interactive shell); SIGTERM by default kills the process before it can
record anything. Both handlers are restored on exit.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise KeyboardInterrupt (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
