"""How an executor turns queued segments into units of work: groups of trials that train fused.

One place for every executor (in this process, worker processes, Ray): with ``fuse: N`` an
executor holds up to ``workers * N`` segments, and each worker takes a group from the queue with
``take_group`` and trains it with ``hpsearch.training.fused.run_segments`` (one segment: alone).
"""

from __future__ import annotations

from collections import deque

from hpsearch.training.fused.compat import fusion_key
from hpsearch.training.segments import Segment


def take_group(queue: deque[Segment], fuse: int) -> list[Segment]:
    """Pop the first queued segment and up to ``fuse - 1`` more that can fuse with it (equal
    ``fusion_key``), in queue order; the others stay queued, in order. Empty queue: []."""
    if not queue:
        return []
    first = queue.popleft()
    if fuse <= 1 or not first.trial.model.builtin:  # your own model trains alone (the config refuses fuse > 1 with it)
        return [first]
    group, rest = [first], deque[Segment]()
    key = fusion_key(first.trial.hyperparameters)
    while queue:
        segment = queue.popleft()
        if len(group) < fuse and fusion_key(segment.trial.hyperparameters) == key:
            group.append(segment)
        else:
            rest.append(segment)
    queue.extend(rest)
    return group
