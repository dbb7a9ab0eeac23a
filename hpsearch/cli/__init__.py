"""The ``hpsearch`` command line: parses, calls the library, prints, sets the exit code."""

from hpsearch.cli.main import main

__all__ = ["main"]
