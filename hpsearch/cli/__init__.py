"""The ``hpsearch`` command line: parses, calls the library, prints, sets the exit code.

Run as the program (the ``hpsearch`` script, ``python -m hpsearch``), it first defers Ctrl-C and
SIGTERM (``interrupts.defer_signals``), before importing click and the commands: a signal in the
first second then exits 130 once the command starts, not with a traceback or killed outright.
Imported as a library, it leaves the process's signal handlers alone.
"""

import sys
from pathlib import Path

from hpsearch.cli.interrupts import defer_signals

_program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
if _program.stem == "hpsearch" or (_program.name == "__main__.py" and _program.parent.name == "hpsearch"):
    defer_signals()

from hpsearch.cli.main import main  # noqa: E402  (after the signals are deferred)
from hpsearch.cli.program import program  # noqa: E402

__all__ = ["main", "program"]
