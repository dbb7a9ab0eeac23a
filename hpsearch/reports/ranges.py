"""Where a value sits in a searched range, on the range's own scale, and whether that is an edge.

A log-scale range is judged on its log scale: in ``log_uniform(1e-4, 1.0)`` the value 0.1 lies at
3/4 of the range (three of its four decades below), not at 1/10. ``one_minus_log_uniform`` is
judged on -log(1 - x), so 0.99 lies halfway in (0.9, 0.999). ``hpsearch refine`` narrows and
extends ranges on this scale, and the ``try next`` advice says "widen the range" only for a best
value in an edge's outer part (``EDGE_SHARE``).

>>> from hpsearch.space.distributions import LogUniform
>>> round(position(LogUniform(1e-4, 1.0), 0.1), 2), edge(LogUniform(1e-4, 1.0), 0.5)
(0.75, 'high')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from hpsearch.space.distributions import Choice, Distribution, OneMinusLogUniform, is_number

EDGE_SHARE = 0.1  # a best value in the outer tenth of a range (on its scale) sits at that edge
LOW, HIGH = "low", "high"


def scale(dist: Distribution) -> tuple[Callable[[float], float], Callable[[float], float]]:
    """(to, back): the increasing map onto the scale the distribution samples uniformly, and its inverse."""
    if isinstance(dist, OneMinusLogUniform):
        return (lambda x: -math.log(1 - x)), (lambda t: 1 - math.exp(-t))
    if dist.log_scale:
        return math.log, math.exp
    return float, float


def position(dist: Distribution, value: float) -> float:
    """Where ``value`` lies between the range's low (0.0) and high (1.0) ends, on its scale."""
    to, _ = scale(dist)
    low, high = to(dist.low), to(dist.high)  # type: ignore[attr-defined]
    return (to(value) - low) / (high - low)


def edge(dist: Distribution, value: Any) -> str | None:
    """``"low"`` or ``"high"`` when ``value`` lies in that end's outer ``EDGE_SHARE`` of the range;
    None inside it, and always for a ``choice`` (its values have no order to widen)."""
    if isinstance(dist, Choice) or not is_number(value):
        return None
    where = position(dist, value)
    if where <= EDGE_SHARE:
        return LOW
    if where >= 1 - EDGE_SHARE:
        return HIGH
    return None


def edges(space: Mapping[str, Distribution], params: Mapping[str, Any]) -> dict[str, str | None]:
    """For every searched parameter ``params`` holds: the edge its value sits at, or None inside."""
    return {name: edge(dist, params[name]) for name, dist in space.items() if name in params}
