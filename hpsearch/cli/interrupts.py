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


_pending: list[int] = []  # signals received while deferred, oldest first
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _remember(signum: int, frame: FrameType | None) -> None:
    _pending.append(signum)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def defer_signals() -> None:
    """From here on SIGINT and SIGTERM are remembered, not acted on, until ``signals_as_interrupt``
    (the command starts) or the end of a ``deferred`` block raises them: called as the program
    starts, so a signal in its first second exits 130 and never tears an import in half."""
    if _main_thread():
        for sig in _SIGNALS:
            signal.signal(sig, _remember)


def raise_pending() -> None:
    """Raise KeyboardInterrupt for a signal remembered while deferred, if any."""
    if _pending:
        name = signal.Signals(_pending[0]).name
        _pending.clear()
        raise KeyboardInterrupt(name)


@contextmanager
def deferred() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM are remembered and raised as KeyboardInterrupt once it
    ends. For importing torch and numpy: a KeyboardInterrupt halfway through their import leaves
    them half-initialised (``cannot load module more than once``), or is swallowed by them."""
    if not _main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _remember) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    raise_pending()


@contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise KeyboardInterrupt (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _raise_interrupt) for sig in _SIGNALS}
    try:
        raise_pending()  # one that arrived while signals were deferred
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
