"""Executors: the ways trials can be trained. The search loop sees only ``Executor``.

``make_executor`` picks one for a search; a new way of running trials is a new subclass of
``Executor`` chosen here (or passed to ``run_search(..., executor=...)``), never a change of the loop.
"""

from __future__ import annotations

from collections.abc import Callable

from hpsearch.search.executors.base import Execution, Executor
from hpsearch.search.executors.inprocess import InProcessExecutor
from hpsearch.search.executors.processes import ProcessExecutor

ExecutorFactory = Callable[[Execution], Executor]


def make_executor(execution: Execution) -> Executor:
    """One trial at a time in this process, or ``workers`` spawned processes."""
    return InProcessExecutor(execution) if execution.workers == 1 else ProcessExecutor(execution)


__all__ = ["Execution", "Executor", "ExecutorFactory", "InProcessExecutor", "ProcessExecutor", "make_executor"]
