"""Coarse and fine stages side by side: ``hpsearch compare COARSE FINE`` when FINE's config says
``refined_from: COARSE`` (written by ``hpsearch refine``).

One column per stage: trials, the best and the top trials' mean validation accuracy, the epochs
each stage spent, and every searched parameter's range, so the zoom and what it bought read at a glance.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

from hpsearch.formatting import pct
from hpsearch.reports.refine import describe_range, scored_trials
from hpsearch.reports.tables import render_table
from hpsearch.runs.readers import RunRecord

TOP_MEAN = 3  # the mean of the top three trials: less luck than the single best


def coarse_of(fine: RunRecord, runs: Sequence[RunRecord]) -> RunRecord | None:
    """The run among ``runs`` that ``fine`` was refined from (same folder, or else same folder name)."""
    source = fine.config.get("refined_from")
    if not isinstance(source, str):
        return None
    path = Path(source)
    for run in runs:
        if run is not fine and (run.root.resolve() == path.resolve() or run.root.name == path.name):
            return run
    return None


def epochs_spent(run: RunRecord) -> int:
    return sum(t.result.epochs_trained or 0 for t in run.trials if t.result is not None)


def stage_table(coarse: RunRecord, fine: RunRecord, markdown: bool = False) -> str:
    """The two stages as columns; rows: figures, then each searched parameter's range in declared order."""
    rows = []
    for label, cell in (("trials", _trials), ("best val acc", _best), (f"mean of top {TOP_MEAN}", _top_mean),
                        ("epochs trained", lambda r: str(epochs_spent(r)))):
        rows.append([label, cell(coarse), cell(fine)])
    spaces = [run.search_config().space for run in (coarse, fine)]
    names = list(spaces[0]) + [n for n in spaces[1] if n not in spaces[0]]
    for name in names:
        rows.append([name, *(describe_range(name, s[name]) if name in s else "-" for s in spaces)])
    ids = fine.config.get("refined_trials") or []
    title = (f"coarse to fine: {fine.root.name} was refined from {coarse.root.name} around its trials "
             f"{', '.join(f'{i:04d}' for i in ids)}")
    return title + "\n" + render_table(["", f"coarse: {coarse.root.name}", f"fine: {fine.root.name}"], rows, markdown=markdown)


def stages(runs: Sequence[RunRecord], markdown: bool = False) -> list[str]:
    """One table per refined run whose coarse run is also in ``runs``."""
    out = []
    for fine in runs:
        coarse = coarse_of(fine, runs)
        if coarse is not None:
            out += ["", stage_table(coarse, fine, markdown)]
    return out


def _trials(run: RunRecord) -> str:
    return f"{len(run.trials)} ({len(scored_trials(run))} completed)"


def _best(run: RunRecord) -> str:
    scored = scored_trials(run)
    return f"{pct(scored[0].result.val_acc)} (trial {scored[0].id:04d})" if scored and scored[0].result else "-"


def _top_mean(run: RunRecord) -> str:
    scored = scored_trials(run)[:TOP_MEAN]
    return pct(statistics.mean(t.result.val_acc for t in scored if t.result and t.result.val_acc is not None)) if scored else "-"
