"""How numbers are shown to people: lr as 3.2e-03, accuracies as percentages with one decimal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SCIENTIFIC = {"lr", "eps", "weight_decay", "lr_decay"}  # values spanning decades


def format_value(name: str, value: Any) -> str:
    """``format_value("lr", 0.0032) == "3.2e-03"``; ``format_value("momentum", 0.98765) == "0.9877"``."""
    if value is None:
        return "-"
    if isinstance(value, bool | int | str):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if name in SCIENTIFIC:
        return f"{value:.1e}"
    if name in ("momentum", "beta1", "beta2"):
        return f"{value:.4f}"
    return f"{value:.3g}"


def format_params(params: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={format_value(k, v)}" for k, v in params.items())


def plural(count: int, word: str) -> str:
    """``plural(1, "trial") == "1 trial"``; ``plural(3, "epoch") == "3 epochs"``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def pct(value: float | None) -> str:
    """``pct(0.8312) == "83.1%"``; None (no figure) shows as '-'."""
    return "-" if value is None else f"{100 * value:.1f}%"


def signed_pct(value: float | None) -> str:
    """A gap: ``signed_pct(0.021) == "+2.1%"``."""
    return "-" if value is None else f"{100 * value:+.1f}%"


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
