"""Plain-text tables for the terminal (and Markdown for reports), with no dependency."""

from __future__ import annotations

from collections.abc import Sequence


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool = False) -> str:
    """Columns padded to their widest cell; numbers-looking cells right-aligned.

    >>> print(render_table(["a", "b"], [["1", "xy"]]))
    a  b
    -  --
    1  xy
    """
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)] if rows else [len(h) for h in header]

    def numeric(cell: str) -> bool:
        return cell[:1].isdigit() or (cell[:1] in "+-." and cell[1:2].isdigit())

    def line(cells: Sequence[str]) -> str:
        padded = [c.rjust(w) if numeric(c) else c.ljust(w) for c, w in zip(cells, widths, strict=False)]
        return ("| " + " | ".join(padded) + " |") if markdown else "  ".join(padded).rstrip()

    rule = ["-" * w for w in widths]
    return "\n".join([line(header), line(rule), *(line([str(c) for c in row]) for row in rows)])
