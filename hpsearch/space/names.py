"""The allowed name a mistyped one most likely meant: case, dashes and underscores aside first
(``MNIST``, ``fashion-mnist``, ``Adam``, ``ReLU``), then by spelling (``sgdd``).

>>> closest("fashion-mnist", ["mnist", "fashion_mnist"])
'fashion_mnist'
>>> closest("Adam", ["sgd", "adam", "adamw"])
'adam'
>>> closest("xyz", ["sgd", "adam"]) is None
True
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any


def _plain(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "").replace(" ", "")


def closest(value: Any, allowed: Sequence[str]) -> str | None:
    """The allowed name ``value`` most likely meant, or None when nothing is close."""
    if not isinstance(value, str):
        return None
    same = [name for name in allowed if _plain(name) == _plain(value)]
    if same:
        return same[0]
    close = difflib.get_close_matches(value.lower(), [name.lower() for name in allowed], n=1)
    return next(name for name in allowed if name.lower() == close[0]) if close else None


def did_you_mean(value: Any, allowed: Sequence[str]) -> str:
    """``" (did you mean 'adam'?)"`` when an allowed name is close to ``value``, else ``""``."""
    found = closest(value, allowed)
    return f" (did you mean {found!r}?)" if found is not None and found != value else ""
