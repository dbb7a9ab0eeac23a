"""The ``hpsearch`` program: the command, then an exit that skips tearing torch down.

A Python process that imported torch spends a noticeable time at exit freeing its modules
(measured here: ``python -c "import torch"`` 1.8-1.9 s, 1.45-1.7 s ending with ``os._exit``; 0.8 s
more when ``torch._dynamo`` was loaded too, as it was before ``training/optimizers.py``), added to
every ``hpsearch run``, a real share of a CI smoke search. So once a command that
loaded torch has finished, the program runs the exit handlers Python would run (Ray's shutdown,
multiprocessing's), flushes stdout and stderr, and ends with ``os._exit`` and the command's exit
code. It exits the ordinary way when torch was never imported (nothing to gain), a non-daemon
thread is still running (Python would wait for it), or a profiler, tracer or debugger is attached
(``python -m cProfile -o out.prof -m hpsearch run ...`` writes its stats after the command). Only
the program does this: ``main``, as click's ``CliRunner`` and library users call it, exits as before.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import Any

from hpsearch.cli.main import main


def program() -> None:
    """The console script and ``python -m hpsearch``."""
    sys.stdout, sys.stderr = _ReaderMayLeave.wrap(sys.stdout), _ReaderMayLeave.wrap(sys.stderr)
    try:
        main()
    except SystemExit as done:
        if "torch" not in sys.modules or _threads_running() or sys.getprofile() or sys.gettrace():
            raise
        code = done.code
        if not isinstance(code, int):  # None: success; a message: printed, exit 1 (as Python does)
            if code is not None:
                print(code, file=sys.stderr)
            code = 0 if code is None else 1
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except ValueError:  # a closed stream (a reader that left is _ReaderMayLeave's): nothing to say there
                pass
            except OSError:  # a full disk under > file: what Python's own exit reports, 120
                code = code or 120
        os._exit(code)


def _threads_running() -> bool:
    main_thread = threading.main_thread()
    return any(t is not main_thread and not t.daemon and t.is_alive() for t in threading.enumerate())


class _ReaderMayLeave:
    """An output stream whose reader may go (``hpsearch run config.yaml | head -3``): from then on
    what is written goes to /dev/null, and the command carries on to its own end and exit code.
    Python ignores SIGPIPE, so without this the first line written after ``head`` exits raises
    BrokenPipeError in the middle of the search, which then stops as if its folder had failed."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    @classmethod
    def wrap(cls, stream: Any) -> Any:
        return stream if stream is None or isinstance(stream, cls) else cls(stream)

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_devnull()

    def _to_devnull(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        finally:
            os.close(devnull)
        with contextlib.suppress(OSError, ValueError):  # what was buffered for the reader goes to /dev/null
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, encoding, fileno, buffer...: the stream's own
        return getattr(self._stream, name)
