"""Comparing trials: one row per trial across runs, sorted, as a table, Markdown, CSV or JSON,
and each run's summary (how its trials split between bias and variance, and what to try next).

Reads run folders through ``readers.RunRecord`` and needs nothing heavier than the standard library
(no torch), so ``hpsearch compare`` starts fast.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hpsearch.errors import HpsearchError
from hpsearch.formatting import format_value, pct, plural, signed_pct
from hpsearch.reports.diagnosis import Diagnosis, advice, diagnose, summarize
from hpsearch.reports.ranges import edges
from hpsearch.reports.refine import MIN_COMPLETED
from hpsearch.reports.stages import stages
from hpsearch.reports.tables import render_table
from hpsearch.runs.readers import RunRecord, TrialRecord
from hpsearch.runs.records import BEST_STATUSES, STATUS_ORDER, TrialStatus, best_of

FORMATS = ("table", "markdown", "csv", "json")
DESCENDING = {"val_acc", "train_acc"}  # best first; every other sort key is smallest first
MAGNITUDE = {"gap", "variance"}  # by size: a gap of -3% (noise) is no better than +0.5%
FIGURES = ("train_acc", "val_acc", "gap", "status", "seconds")


@dataclass
class TrialRow:
    """One trial's figures, raw (fractions, seconds); the renderers format them."""

    run: str
    trial: int
    params: dict[str, Any]
    status: TrialStatus
    train_acc: float | None
    val_acc: float | None
    gap: float | None
    seconds: float | None
    best_epoch: int | None
    diagnosis: Diagnosis | None = field(default=None, repr=False)

    def value(self, key: str) -> Any:
        if key in self.params:
            return self.params[key]
        if key in ("avoidable_bias", "variance"):
            return getattr(self.diagnosis, key) if self.diagnosis else None
        return getattr(self, key, None)

    def to_dict(self, param_names: Sequence[str], with_run: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"run": self.run} if with_run else {}
        out["trial"] = self.trial
        out.update({name: self.params.get(name) for name in param_names})
        out.update({k: getattr(self, k) for k in FIGURES})
        out["status"] = self.status.value  # a plain string for json and csv
        out["best_epoch"] = self.best_epoch
        out.update(self.diagnosis.to_dict() if self.diagnosis else {"diagnosis": None, "avoidable_bias": None, "variance": None})
        return out


def trial_diagnosis(run: RunRecord, trial: TrialRecord, target_error: float) -> Diagnosis | None:
    result = trial.result
    if result is None or result.train_acc is None or result.val_acc is None:
        return None
    return diagnose(result.train_acc, result.val_acc, target_error, run.val_examples)


def target_of(run: RunRecord, override: float | None = None) -> float:
    """The target error to diagnose against: ``override`` (``--target-error``) or the config's."""
    if override is None:
        return run.search_config().target_error
    if not 0 <= override < 1:
        raise HpsearchError(f"target error must be in [0, 1) (0.05 is 5%), got {override}")
    return override


def trial_rows(run: RunRecord, target_error: float | None = None) -> list[TrialRow]:
    """Every trial folder of ``run`` as a row, in trial order; a trial still running has no figures.

    A row's params hold every hyperparameter the trial trained with, searched, fixed or default, so
    across runs a parameter one run fixes shows its value; ``-`` is left for one the trial's
    optimizer does not use (momentum with adam)."""
    target = target_of(run, target_error)
    rows = []
    for trial in run.trials:
        r = trial.result
        figures = (r.train_acc, r.val_acc, r.gap, r.seconds, r.best_epoch) if r else (None,) * 5
        rows.append(TrialRow(run.root.name, trial.id, {**trial.hyperparameters, **trial.params}, trial.status, *figures,
                             diagnosis=trial_diagnosis(run, trial, target)))
    return rows


def param_order(runs: Sequence[RunRecord]) -> list[str]:
    """Searched parameters in declared importance order; across runs, first appearance wins."""
    names: list[str] = []
    for run in runs:
        names += [n for n in run.param_names if n not in names]
    return names


def sort_keys(param_names: Sequence[str]) -> list[str]:
    return ["val_acc", "train_acc", "gap", "seconds", "trial", "avoidable_bias", "variance", *param_names]


def sort_rows(rows: list[TrialRow], key: str, param_names: Sequence[str]) -> list[TrialRow]:
    """Completed trials first (then stopped, diverged, interrupted, failed, running), each group by
    ``key``: accuracies best first, gap and variance smallest in size first (|value|), anything else
    smallest first; missing values last."""
    allowed = sort_keys(param_names)
    if key not in allowed:
        raise HpsearchError(f"cannot sort by {key!r}; choose one of {', '.join(allowed)}")

    def rank(row: TrialRow) -> tuple:
        status = STATUS_ORDER.index(row.status) if row.status in STATUS_ORDER else len(STATUS_ORDER)
        value = row.value(key)
        if value is None:
            order: tuple = (2, 0)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            order = (1, str(value))  # text values (choices) after numbers, alphabetically
        else:
            order = (0, -value if key in DESCENDING else abs(value) if key in MAGNITUDE else value)
        return (status, *order, row.run, row.trial)

    return sorted(rows, key=rank)


def _cells(row: TrialRow, param_names: Sequence[str], with_run: bool) -> list[str]:
    cells = [row.run] if with_run else []
    cells.append(f"{row.trial:04d}")
    cells += [format_value(n, row.params.get(n)) for n in param_names]
    seconds = "-" if row.seconds is None else f"{row.seconds:.1f}"
    cells += [pct(row.train_acc), pct(row.val_acc), signed_pct(row.gap), row.status, seconds]
    cells.append(row.diagnosis.label if row.diagnosis else "-")
    return cells


def render_rows(rows: Sequence[TrialRow], param_names: Sequence[str], fmt: str, with_run: bool) -> str:
    """``rows`` in one of FORMATS. JSON and CSV hold raw numbers (fractions, seconds) for scripts."""
    if fmt == "json":
        return json.dumps([r.to_dict(param_names, with_run) for r in rows], indent=2)
    if fmt == "csv":
        dicts = [r.to_dict(param_names, with_run) for r in rows]
        header = list(dicts[0]) if dicts else ["trial", *param_names, *FIGURES]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(dicts)
        return buffer.getvalue().rstrip("\n")
    header = (["run"] if with_run else []) + ["trial", *param_names, "train acc", "val acc", "gap", "status",
                                              "seconds", "diagnosis"]
    return render_table(header, [_cells(r, param_names, with_run) for r in rows], markdown=fmt == "markdown")


def run_summary(run: RunRecord, rows: Sequence[TrialRow], target_error: float | None = None) -> list[str]:
    """A few lines: trial counts, how the diagnoses split, the best trial's diagnosis and what to try next."""
    target = target_of(run, target_error)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    lines = [f"{run.root.name}: {len(rows)} trials ({', '.join(f'{n} {s}' for s, n in counts.items()) or 'none yet'}), "
             f"target error {pct(target)}"]
    if run.killed:
        lines.append(f"  the search was killed (run.json says running, but no process holds {run.root / 'run.lock'}); "
                     f"hpsearch resume {run.root} continues it")
    # stopped trials (early stopping) count: the best trial may be one, as in the search's own summary
    done = [r for r in rows if r.status in BEST_STATUSES and r.diagnosis is not None]
    if not done:
        return [*lines, "  no trial completed, so there is nothing to diagnose yet"]
    what = "completed" if all(r.status is TrialStatus.COMPLETED for r in done) else "completed or stopped"
    lines.append(f"  diagnosis of {plural(len(done), what + ' trial')}: {summarize([r.diagnosis for r in done if r.diagnosis])}")
    best = best_of(done, lambda r: r.val_acc, lambda r: r.trial)
    assert best is not None  # ``done`` holds diagnosed rows only, and those have a val_acc
    diagnosis = best.diagnosis or diagnose(0.0, 0.0)  # never None: ``done`` holds diagnosed rows only
    lines.append(f"  best trial {best.trial:04d} (val acc {pct(best.val_acc)}): {diagnosis.describe()}")
    trial = run.trial(best.trial)
    at = edges(run.search_config().space, trial.params)
    tips = advice(diagnosis, trial.hyperparameters, best.best_epoch, trial.result.epochs_trained if trial.result else None, at)
    lines.append("  try next: " + "; or ".join([*tips, *refine_tip(run, len(done), at)]))
    if target == 0:
        lines.append("  (target_error is 0, so all error counts as avoidable bias; set target_error in the config "
                     f"(or run hpsearch compare {run.root} --target-error X) to the error a person or the best known "
                     "model gets on this data)")
    return lines


def refine_tip(run: RunRecord, scored: int, at: dict[str, str | None]) -> list[str]:
    """``hpsearch refine RUN`` when it is the sensible next step: a space to zoom in on and enough
    completed trials for a top quarter to mean something; it names the ranges whose edge the best sits at."""
    if not at or scored < MIN_COMPLETED:
        return []
    crowded = [f"{name} ({'top' if where == 'high' else 'bottom'})" for name, where in at.items() if where]
    why = (f"widen the range: the best sits at an edge of {', '.join(crowded)}, which refine extends"
           if crowded else "the best sits inside every range: search around the top trials more densely")
    return [f"coarse to fine: hpsearch refine {run.root} ({why})"]


def compare(runs: Sequence[RunRecord], sort: str = "val_acc", top: int | None = None, fmt: str = "table",
            target_error: float | None = None) -> str:
    """The text ``hpsearch compare`` prints: the rows, then (for table and Markdown) each run's summary."""
    if fmt not in FORMATS:
        raise HpsearchError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    names = param_order(runs)
    per_run = [(run, trial_rows(run, target_error)) for run in runs]
    rows = sort_rows([row for _, run_rows in per_run for row in run_rows], sort, names)
    shown = rows[:top] if top is not None else rows
    text = render_rows(shown, names, fmt, with_run=len(runs) > 1)
    if fmt in ("json", "csv"):
        return text
    footer: list[str] = []
    if len(shown) < len(rows):
        footer.append(f"(top {len(shown)} of {len(rows)} trials by {sort})")
    for run, run_rows in per_run:
        footer += ["", *run_summary(run, run_rows, target_error)]
    footer += stages(runs, markdown=fmt == "markdown")
    return "\n".join([text, *footer])

