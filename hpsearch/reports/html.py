"""``hpsearch report``: one self-contained HTML file about one or more runs.

Everything is inline: the style sheet, the table-sorting script, the charts' data and specs, and the
Vega, Vega-Lite and vega-embed libraries (from vl-convert's bundle, about 0.9 MB), so the file opens
offline, from a CI artifact or an email, without a single request. Needs the ``report`` extra (Altair
to write the chart specs, vl-convert-python for the bundle); without it a typed error says how to
install it. The text (diagnosis, advice, importance) comes from compare.py, diagnosis.py and
importance.py, as ``hpsearch compare`` and ``hpsearch importance`` print it.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import importlib.util
import json
import os
from collections.abc import Sequence
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

from hpsearch import __version__
from hpsearch.errors import HpsearchError
from hpsearch.formatting import duration, format_value, pct, signed_pct
from hpsearch.reports import charts, htmlassets
from hpsearch.reports.importance import format_share, verdict
from hpsearch.reports.plots import MissingExtraError
from hpsearch.reports.reportdata import RunView, run_view
from hpsearch.runs.readers import RunRecord
from hpsearch.runs.store import write_text_atomic

EXTRA_MODULES = {"altair": "altair", "vl_convert": "vl-convert-python"}
INSTALL_HINT = 'pip install -e ".[report]" (from a checkout; or: pip install altair vl-convert-python)'
CHART_TITLES = {"importance": "Importance beside the declared order", "curves": "Learning curves of the top trials",
                "params": "Validation accuracy against each searched parameter", "parallel": "Parallel coordinates",
                "trainval": "Train against validation accuracy (bias and variance)",
                "stopping": "Early-stopping decisions"}


def require_extra() -> None:
    """Raise MissingExtraError naming what is missing and the pip line, before anything is written."""
    missing = [package for module, package in EXTRA_MODULES.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise MissingExtraError(f"hpsearch report needs {' and '.join(missing)}, which "
                                f"{'is' if len(missing) == 1 else 'are'} not installed: {INSTALL_HINT}")


@functools.cache
def vega_bundle() -> str:
    """Vega, Vega-Lite (the version Altair writes) and vega-embed as one script defining ``vegaEmbed``.

    vl-convert builds it in 2-5 s, so it is kept in ``$XDG_CACHE_HOME/hpsearch`` (default
    ``~/.cache/hpsearch``) under its versions; a cache that cannot be written is skipped."""
    import altair as alt
    import vl_convert

    version = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hpsearch"
    path = cache / f"vega-embed-bundle-vl{version}-vlconvert{importlib.metadata.version('vl-convert-python')}.js"
    if path.exists():
        return path.read_text(encoding="utf-8")
    bundle = vl_convert.javascript_bundle(vl_version=version)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, bundle)
    return bundle


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _facts(pairs: Sequence[tuple[str, Any]]) -> str:
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in pairs if v not in (None, ""))
    return f'<dl class="facts">{items}</dl>'


def summary_html(view: RunView) -> str:
    """Config, data, seed, versions, status and time of one run."""
    info, config = view.run.info, view.run.config
    data = info.get("data") or {}
    versions = info.get("versions") or {}
    counts = ", ".join(f"{n} {s}" for s, n in (info.get("trials") or {}).items())
    finished = sum(1 for t in view.trials if t.row.status != "running")
    seconds = info.get("seconds")
    scheduler = config.get("scheduler") or {"name": "none"}
    run_facts = [("folder", str(view.run.root)), ("status", view.status),
                 ("trials", f"{finished} finished of {config.get('trials', '?')} planned"
                  + (f" ({counts})" if counts else "")),
                 ("epochs per trial", config.get("epochs")), ("seed", info.get("seed", config.get("seed"))),
                 ("scheduler", ", ".join(f"{k} {v}" for k, v in scheduler.items())),
                 ("device", info.get("device")), ("started", info.get("started")), ("ended", info.get("ended")),
                 ("time", duration(seconds) if seconds is not None else None),
                 ("target error", pct(config.get("target_error", 0.0)))]
    data_facts = [("dataset", data.get("dataset")), ("about", data.get("description")),
                  ("examples", ", ".join(f"{data[k]} {k}" for k in ("train", "val", "test") if data.get(k) is not None)),
                  ("inputs", data.get("input_dim")), ("classes", data.get("num_classes"))]
    version_facts = [(k, v) for k, v in versions.items()]
    config_text = _config_text(view)
    return (f'<div class="cols"><div><h3>Run</h3>{_facts(run_facts)}</div><div><h3>Data</h3>{_facts(data_facts)}'
            f'<h3>Versions</h3>{_facts(version_facts)}</div></div>'
            f"<details><summary>config.yaml</summary><pre>{config_text}</pre></details>")


def _config_text(view: RunView) -> str:
    path = view.run.root / "config.yaml"
    return _e(path.read_text(encoding="utf-8")) if path.exists() else "(no config.yaml)"


def best_html(view: RunView) -> str:
    """The best trial, its parameters and figures, then compare.py's summary: the diagnoses, the best
    trial's diagnosis and what to try next."""
    lines = "".join(f"<li>{_e(line.strip())}</li>" for line in view.summary[1:])
    best = view.best
    if best is None:
        return f'<div class="best"><p>No trial has completed yet.</p><ul class="advice">{lines}</ul></div>'
    r = best.row
    params = [(n, format_value(n, r.params.get(n))) for n in view.space if n in r.params]
    figures = [("val acc", pct(r.val_acc)), ("train acc", pct(r.train_acc)), ("gap", signed_pct(r.gap)),
               ("best epoch", r.best_epoch), ("status", r.status), ("why", best.why)]
    return (f'<div class="best"><p><b>trial {best.label}</b> of {_e(view.name)}</p><div class="cols">'
            f"<div>{_facts(figures)}</div><div>{_facts(params)}</div></div><ul class=\"advice\">{lines}</ul></div>")


def _cell(text: str, sort: Any, cls: str = "") -> str:
    key = "" if sort is None else (int(sort) if isinstance(sort, bool) else sort)
    return f'<td{f" class={cls!r}" if cls else ""} data-sort="{_e(key)}">{_e(text)}</td>'


def _param_sort(value: Any) -> Any:
    return value if isinstance(value, int | float) or value is None else str(value)


def trial_table(view: RunView) -> str:
    """Every trial, sortable: params in declared order, train/val/gap, status, why it ended."""
    names = list(view.space)
    head = (["trial", *names, "train acc", "val acc", "gap", "status", "best epoch", "epochs", "seconds",
             "diagnosis", "why it ended"])
    text_columns = {"status", "diagnosis", "why it ended"}
    header = "".join(f'<th{" class=text" if h in text_columns else ""}>{_e(h)}</th>' for h in head)
    best = view.best.id if view.best else None
    body = []
    for t in view.trials:
        r = t.row
        cells = [_cell(t.label, r.trial)]
        cells += [_cell(format_value(n, r.params.get(n)), _param_sort(r.params.get(n))) for n in names]
        cells += [_cell(pct(r.train_acc), r.train_acc), _cell(pct(r.val_acc), r.val_acc), _cell(signed_pct(r.gap), r.gap),
                  _cell(r.status, r.status, "text"), _cell(r.best_epoch if r.best_epoch is not None else "-", r.best_epoch),
                  _cell(str(len(t.epochs)), len(t.epochs)),
                  _cell("-" if r.seconds is None else f"{r.seconds:.1f}", r.seconds),
                  _cell(r.diagnosis.label if r.diagnosis else "-", r.diagnosis.label if r.diagnosis else None, "text"),
                  _cell(t.why, t.why, "why")]
        body.append(f'<tr data-trial="{t.id}"{" class=best" if t.id == best else ""}>{"".join(cells)}</tr>')
    return (f'<p class="muted">{len(view.trials)} trials; click a header to sort (again to reverse).</p>'
            f'<div class="tablewrap"><table class="trials"><thead><tr>{header}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def importance_html(view: RunView) -> str:
    report = view.importance
    notes = "".join(f"<li>{_e(line)}</li>" for line in verdict(report, "val_acc"))
    if not report.enough:
        return f"<ul>{notes}</ul>"
    rows = "".join(f'<tr><td>{rank}</td><td class="text">{_e(p.name)}</td><td>{format_share(p.share)}</td>'
                   f"<td>{p.p_value:.3f}</td><td>{p.declared_rank}</td></tr>" for rank, p in enumerate(report.ranked, 1))
    table = ('<table class="small"><thead><tr><th>measured</th><th class="text">parameter</th><th>share</th><th>p</th>'
             f"<th>declared</th></tr></thead><tbody>{rows}</tbody></table>")
    return (f'<p class="muted">{_e(report.method)}, over {report.trials} trials; not explained by any one parameter: '
            f"{format_share(report.unexplained)}</p><ul>{notes}</ul>{table}")


def run_section(view: RunView, index: int, specs: dict[str, Any]) -> str:
    """One run's part of the page; its charts' specs are added to ``specs`` under their element ids."""
    status = _e(view.status)
    banner = ""
    if view.status == "running":
        banner = (f'<p class="banner">This run was still being written when the report was made: it shows the '
                  f"{sum(t.row.status != 'running' for t in view.trials)} trials finished so far and the epochs "
                  "of those still running.</p>")
    parts = [f'<section class="run" id="run-{index}"><h2>{_e(view.name)} <span class="badge {status}">{status}</span></h2>',
             banner, summary_html(view), "<h3>Best trial</h3>", best_html(view), "<h3>Trials</h3>", trial_table(view)]
    for key, build in charts.CHARTS:
        spec = build(view)
        if key == "importance":
            parts += [f"<h3>{CHART_TITLES[key]}</h3>", importance_html(view)]
        if spec is None:
            continue
        element = f"chart-{index}-{key}"
        spec.pop("$schema", None)  # a URL, never fetched; the embed script names the mode instead
        specs[element] = spec
        if key != "importance":
            parts.append(f"<h3>{CHART_TITLES[key]}</h3>")
        parts.append(f'<div class="chart" id="{element}" data-chart="{key}"></div>')
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


def render_report(runs: Sequence[RunRecord], bundle: str | None = None) -> str:
    """The whole page for ``runs``; ``bundle`` is the charting script (default: vl-convert's)."""
    require_extra()
    views = [run_view(run) for run in runs]
    specs: dict[str, Any] = {}
    sections = [run_section(view, i, specs) for i, view in enumerate(views)]
    title = views[0].name if len(views) == 1 else f"{len(views)} runs"
    nav = ""
    if len(views) > 1:
        items = "".join(f'<li><a href="#run-{i}">{_e(v.name)}</a>: {_e(v.status)}, best val acc '
                        f"{pct(v.best.row.val_acc if v.best else None)}</li>" for i, v in enumerate(views))
        nav = f"<nav><ul>{items}</ul></nav>"
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    data = json.dumps(specs).replace("</", "<\\/").replace("<!--", "<\\!--")
    script = (bundle if bundle is not None else vega_bundle()).replace("</script", "<\\/script")
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>hpsearch report: {_e(title)}</title><style>{htmlassets.STYLE}</style></head><body>",
        f'<h1>hpsearch report: {_e(title)}</h1><p class="muted">made {made} by hpsearch {__version__}; '
        "hover a point to see its trial</p>", nav, *sections,
        f'<script type="application/json" id="chart-specs">{data}</script>',
        f"<script>{script}</script>", f"<script>{htmlassets.SORT_SCRIPT}</script>",
        f"<script>{htmlassets.EMBED_SCRIPT}</script>", "</body></html>"])


def write_report(run_dirs: Sequence[Path | RunRecord], out: Path | None = None) -> Path:
    """Write the report of ``run_dirs`` (folders, or runs already read) to ``out`` (default:
    ``<run>/report.html`` for one run)."""
    require_extra()
    runs = [d if isinstance(d, RunRecord) else RunRecord(d) for d in run_dirs]
    if out is None:
        if len(runs) != 1:
            raise HpsearchError(f"{len(runs)} run folders give one report: say where with --out FILE")
        out = runs[0].root / "report.html"
    text = render_report(runs)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, text)
    return out
