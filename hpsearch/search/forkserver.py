"""Where worker processes come from: a fork server that imported torch once (no torch here).

Importing torch costs a process 1.4-2.3 s on a small CPU. Workers forked from a server that did
it once start in milliseconds. The server can be started before this process imports torch itself
(``hpsearch run`` does it as it starts), so its import overlaps ours and the data loading. Where
there is no fork server (Windows, macOS by default) workers are spawned. This module imports no
torch, so the CLI can call it first.
"""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

PRELOAD = ["torch", "hpsearch.search.executors.processes"]  # what the fork server imports once


def worker_context() -> Any:
    """The fork server where the platform has one (torch preloaded), else spawn."""
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    context = mp.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def start_workers_early() -> None:
    """Start the fork server now (it imports torch in the background) so that workers made later
    start at once. A no-op where workers are spawned; starting it twice is harmless."""
    if "forkserver" in mp.get_all_start_methods():
        worker_context()
        from multiprocessing import forkserver

        forkserver.ensure_running()
