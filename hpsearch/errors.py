"""Typed errors raised by the library; the CLI maps each to a message and an exit code.

The library never prints or exits: it raises one of these, and ``cli.py`` turns it into one
clear line on stderr and the exit code users' scripts rely on (2 for bad input).
"""

from __future__ import annotations

from dataclasses import dataclass


class HpsearchError(Exception):
    """Base class of every error hpsearch raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a config file: where (key path, line) and what."""

    path: str
    message: str
    line: int | None = None

    def render(self, source: str | None) -> str:
        where = source or "<config>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        key = f"{self.path}: " if self.path else ""
        return f"{where}: {key}{self.message}"


class ConfigError(HpsearchError, ValueError):
    """A config (file or object) is invalid. Holds every problem found, not just the first."""

    def __init__(self, problems: list[Problem] | str, source: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        self.problems = list(problems)
        self.source = source
        super().__init__("\n".join(p.render(source) for p in self.problems))


class DataError(HpsearchError, ValueError):
    """The dataset cannot be found, downloaded or used as given."""


class RunDirError(HpsearchError):
    """The run folder cannot be used (it already holds a run, is locked, or is not a run)."""


class MissingExtraError(HpsearchError):
    """An optional dependency a command needs is not installed; the message gives the pip line."""


class ExecutorError(HpsearchError):
    """Trials cannot be trained where asked: Ray is not installed, no cluster answers at the address,
    or the cluster lacks the resources a trial needs. Raised before anything is written."""


class ExecutorLost(HpsearchError):
    """Whatever trained the trials went away mid-search (a whole Ray cluster): the search stops as
    ``interrupted`` with this message, and ``hpsearch resume`` finishes it."""


class SearchInterrupted(HpsearchError):
    """SIGINT or SIGTERM (or, with ``reason``, the loss of a cluster) stopped the search; the run
    folder was closed with status ``interrupted``.

    ``hpsearch resume`` continues it. The CLI maps this to exit code 130.
    """

    def __init__(self, run_dir: object, result: object = None, reason: str | None = None) -> None:
        why = f"{reason}; " if reason else ""
        super().__init__(f"{why}search interrupted; partial results in {run_dir}; continue with: hpsearch resume {run_dir}")
        self.run_dir = run_dir
        self.result = result  # the runrecord.SearchResult so far (status interrupted)
