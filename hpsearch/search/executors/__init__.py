"""Executors: the ways trials can be trained. The search loop sees only ``Executor``.

``make_executor`` picks one for a search; a new way of running trials is a new subclass of
``Executor`` chosen here (or passed to ``run_search(..., executor=...)``), never a change of the loop.
Ray is imported only when a search asks for it (``ray_executor.py`` and its ``ray_cluster.py``, the only
modules that import it).
"""

from __future__ import annotations

from collections.abc import Callable

from hpsearch.search.executors.base import Execution, Executor, RayTarget
from hpsearch.search.executors.inprocess import InProcessExecutor
from hpsearch.search.executors.processes import ProcessExecutor

ExecutorFactory = Callable[[Execution], Executor]


def make_executor(execution: Execution) -> Executor:
    """On the Ray cluster ``execution.ray`` names; else one trial at a time in this process, or
    ``workers`` spawned processes."""
    if execution.ray is not None:
        from hpsearch.search.executors.ray_executor import RayExecutor

        return RayExecutor(execution)
    workers = execution.workers or 1
    return InProcessExecutor(execution) if workers == 1 else ProcessExecutor(execution)


__all__ = ["Execution", "Executor", "ExecutorFactory", "InProcessExecutor", "ProcessExecutor", "RayTarget",
           "make_executor"]
