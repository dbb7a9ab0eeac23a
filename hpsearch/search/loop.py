"""The search loop: submit work to an executor, consume the events that come back, repeat.

Trials start in order, as slots free up, until the time limit; a trial promoted at a rung goes
on before any new trial starts (with one slot that is exactly the trial order, so decisions are
reproducible). What each event means for the run folder is the bookkeeper's business; how a
segment is trained is the executor's. Ctrl-C is handled by the caller, once (run.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from hpsearch.runs.summary import TimeLimit
from hpsearch.search.bookkeeper import Bookkeeper
from hpsearch.search.executors.base import Executor
from hpsearch.training.segments import EpochEnded, Segment


def run_loop(book: Bookkeeper, executor: Executor, pending: Sequence[int], limit: TimeLimit) -> int:
    """Train trials ``pending`` through ``executor``; returns how many never started (time limit)."""
    waiting = deque(pending)  # trials not started yet
    promoted: deque[Segment] = deque()  # next segments of trials that passed a rung
    in_flight = 0
    while True:
        while in_flight < executor.slots and (promoted or (waiting and not limit.reached())):
            executor.submit(promoted.popleft() if promoted else book.start(waiting.popleft()))
            in_flight += 1
        if in_flight == 0:
            return len(waiting)
        for event in executor.events():
            if isinstance(event, EpochEnded):
                book.epoch(event)
                continue
            in_flight -= 1
            follow_up = book.segment_ended(event)
            if follow_up is not None:
                promoted.append(follow_up)
