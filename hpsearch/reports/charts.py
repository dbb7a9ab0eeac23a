"""The HTML report's charts as Vega-Lite specifications, built with Altair (the ``report`` extra).

Each function takes a ``RunView`` and returns a spec (a plain dict) that ``html.py`` embeds with
vega-embed, rendered as SVG; every point carries a tooltip naming its trial. Data goes in inline
(``alt.Data(values=...)``), so the page needs no file or URL. Altair is imported lazily by the caller
having checked the extra is installed (see ``html.require_extra``).
"""

from __future__ import annotations

from typing import Any

from hpsearch.formatting import format_value
from hpsearch.reports.reportdata import RunView, TrialView, axis_ends, axis_position
from hpsearch.space.distributions import Choice, OneMinusLogUniform

STATUS_COLORS = {"completed": "#4c78a8", "stopped": "#9ecae9", "diverged": "#e45756", "failed": "#b279a2",
                 "interrupted": "#bab0ac", "running": "#f58518"}
WIDTH = 240  # one small panel; the metric-vs-parameter panels come three to a row


def _alt() -> Any:
    import altair as alt

    return alt


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 2)


def trial_point(t: TrialView, names: list[str], best: int | None) -> dict[str, Any]:
    """A trial's fields as every chart's tooltip shows them (accuracies in percent)."""
    point: dict[str, Any] = {"trial": t.label, "status": str(t.row.status), "val acc %": _pct(t.row.val_acc),
                             "train acc %": _pct(t.row.train_acc), "gap %": _pct(t.row.gap),
                             "diagnosis": t.row.diagnosis.label if t.row.diagnosis else "-",
                             "best": "best trial" if t.id == best else "other trials"}
    point.update({f"param {n}": format_value(n, t.row.params.get(n)) for n in names if n in t.row.params})
    return point


def _tooltip(names: list[str], extra: tuple[str, ...] = ()) -> list[str]:
    fields = ["trial:N", "status:N", "val acc %:Q", "train acc %:Q", "gap %:Q", "diagnosis:N", *extra]
    return fields + [f"param {n}:N" for n in names]


def _status_color(alt: Any, statuses: set[str]) -> Any:
    """Status colours, the legend listing only the statuses present."""
    present = [s for s in STATUS_COLORS if s in statuses]
    return alt.Color("status:N", scale=alt.Scale(domain=present, range=[STATUS_COLORS[s] for s in present]),
                     legend=alt.Legend(title="status"))


def _best_marks(alt: Any, big: int, small: int) -> dict[str, Any]:
    """The best trial as a large diamond, every other trial a dot."""
    best = alt.datum.best == "best trial"
    return {"shape": alt.Shape("best:N", scale=alt.Scale(domain=["best trial", "other trials"], range=["diamond", "circle"]),
                               legend=alt.Legend(title="")),
            "size": alt.condition(best, alt.value(big), alt.value(small))}


def _best_id(view: RunView) -> int | None:
    return view.best.id if view.best else None


def learning_curves(view: RunView) -> dict[str, Any] | None:
    """Train (dashed) and validation (solid) accuracy per epoch of the top trials."""
    alt = _alt()
    rows = [{"trial": t.label, "epoch": e["epoch"], "split": split, "accuracy %": _pct(e.get(key))}
            for t in view.top() for e in t.epochs for split, key in (("validation", "val_acc"), ("train", "train_acc"))
            if e.get(key) is not None]
    if not rows:
        return None
    chart = alt.Chart(alt.Data(values=rows)).mark_line(point=True).encode(
        x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("accuracy %:Q", scale=alt.Scale(zero=False)),
        color=alt.Color("trial:N", legend=alt.Legend(title="trial")),
        strokeDash=alt.StrokeDash("split:N", sort=["validation", "train"], legend=None),
        tooltip=["trial:N", "epoch:Q", "split:N", "accuracy %:Q"],
    )
    title = alt.TitleParams("", subtitle=f"the {len(view.top())} trials with the best validation accuracy; "
                                         "solid: validation, dashed: train")
    return chart.properties(width=520, height=300, title=title).to_dict()


def _param_axis(alt: Any, name: str, view: RunView, values: list[Any]) -> tuple[Any, str]:
    """The x encoding of one parameter's panel and the field it reads."""
    dist = view.space.get(name)
    if isinstance(dist, Choice) or any(isinstance(v, bool | str) for v in values):
        levels = [format_value(name, v) for v in (dist.values if isinstance(dist, Choice) else sorted(set(values), key=str))]
        return alt.X("x:N", sort=levels, title=name, axis=alt.Axis(labelAngle=0)), "choice"
    if isinstance(dist, OneMinusLogUniform):  # 1 - x on a log axis, reversed, labelled with x itself
        axis = alt.Axis(labelExpr="format(1 - datum.value, '.5~f')", labelOverlap="greedy", tickCount=4, grid=False)
        scale = alt.Scale(type="log", domain=[1 - dist.high, 1 - dist.low], nice=False, reverse=True)  # x grows rightward
        return alt.X("x:Q", scale=scale, axis=axis, title=f"{name} (log scale of 1 - {name})"), "one_minus"
    integer = all(isinstance(v, int) for v in values)
    if dist is not None and dist.log_scale:
        axis = alt.Axis(format="d" if integer else "~e", labelOverlap="greedy", tickCount=5, grid=False)
        domain = [dist.low, dist.high] if hasattr(dist, "low") else alt.Undefined
        return alt.X("x:Q", scale=alt.Scale(type="log", domain=domain, nice=False), axis=axis,
                     title=f"{name} (log)"), "value"
    axis = alt.Axis(format="d", tickMinStep=1) if integer else alt.Axis(format="~g")
    return alt.X("x:Q", scale=alt.Scale(zero=False), axis=axis, title=name), "value"


def metric_vs_params(view: RunView) -> dict[str, Any] | None:
    """Validation accuracy against each searched parameter, one panel each, in declared order."""
    alt = _alt()
    names = list(view.space)
    scored = [t for t in view.trials if t.scored]
    if not names or not scored:
        return None
    panels = []
    for name in names:
        used = [t for t in scored if name in t.row.params]
        values = [t.row.params[name] for t in used]
        x, kind = _param_axis(alt, name, view, values)
        rows = []
        for t, v in zip(used, values, strict=True):
            point = trial_point(t, names, _best_id(view))
            point["x"] = format_value(name, v) if kind == "choice" else (1 - v if kind == "one_minus" else v)
            point["jitter"] = (t.id % 5) - 2
            rows.append(point)
        encoding = {"x": x, "y": alt.Y("val acc %:Q", scale=alt.Scale(zero=False)),
                    "color": _status_color(alt, {str(t.row.status) for t in scored}), **_best_marks(alt, 160, 50),
                    "tooltip": _tooltip(names)}
        if kind == "choice":
            encoding["xOffset"] = alt.XOffset("jitter:Q", scale=alt.Scale(domain=[-3, 3]))
        panels.append(alt.Chart(alt.Data(values=rows)).mark_point(filled=True, opacity=0.8)
                      .encode(**encoding).properties(width=WIDTH, height=180))
    title = alt.TitleParams("", subtitle="one point per trial (diamond: the best); log axes where the distribution is log-scale")
    return alt.concat(*panels, columns=3).properties(title=title).to_dict()


def parallel_coordinates(view: RunView) -> dict[str, Any] | None:
    """One line per trial across the searched parameters (declared order), coloured by validation
    accuracy; each axis runs from the distribution's low (bottom) to its high (top), log where it is."""
    alt = _alt()
    names = list(view.space)
    scored = [t for t in view.trials if t.scored]
    if len(names) < 2 or not scored:
        return None
    lines, ends = [], []
    for name in names:
        values = [t.row.params.get(name) for t in scored]
        present = [v for v in values if v is not None]
        for t, v in zip(scored, values, strict=True):
            pos = axis_position(view.space.get(name), present, v)
            if pos is not None:
                lines.append({**trial_point(t, names, _best_id(view)), "param": name, "pos": pos, "value": format_value(name, v)})
        low, high = axis_ends(name, view.space.get(name), present)
        ends += [{"param": name, "pos": -0.07, "text": low}, {"param": name, "pos": 1.07, "text": high}]
    x = alt.X("param:N", sort=names, title=None,
              axis=alt.Axis(labelAngle=0, domain=False, ticks=False, labelFontSize=12, labelFontWeight="bold"))
    y = alt.Y("pos:Q", scale=alt.Scale(domain=[-0.12, 1.12], nice=False), axis=None)
    base = alt.Chart(alt.Data(values=lines))
    color = alt.Color("val acc %:Q", scale=alt.Scale(scheme="viridis"), legend=alt.Legend(title="val acc %"))
    axes = alt.Chart(alt.Data(values=[{"param": n, "low": 0, "high": 1} for n in names])).mark_rule(color="#999").encode(
        x=x, y=alt.Y("low:Q", scale=alt.Scale(domain=[-0.12, 1.12], nice=False), axis=None), y2="high:Q")
    drawn = base.mark_line(opacity=0.6, strokeWidth=1.5).encode(x=x, y=y, color=color, detail="trial:N",
                                                                 order=alt.Order("index:Q"))
    points = base.mark_circle(size=30).encode(x=x, y=y, color=color, tooltip=["param:N", "value:N", *_tooltip(names)])
    text = alt.Chart(alt.Data(values=ends)).mark_text(fontSize=11, color="#333").encode(x=x, y=y, text="text:N")
    return (alt.layer(axes, drawn, points, text)
            .transform_calculate(index=f"indexof({names!r}, datum.param)")
            .properties(width=max(360, 120 * len(names)), height=300,
                        title=alt.TitleParams("", subtitle="one line per trial, coloured by validation accuracy; each "
                                              "axis runs from the low end of its range (bottom) to the high end (top)"))
            .to_dict())


def train_vs_val(view: RunView) -> dict[str, Any] | None:
    """Train against validation accuracy: below the diagonal is variance, left of the target is bias."""
    alt = _alt()
    names = list(view.space)
    scored = [t for t in view.trials if t.scored and t.row.train_acc is not None]
    if not scored:
        return None
    target = 100 * (1 - view.run.search_config().target_error)
    rows = [trial_point(t, names, _best_id(view)) for t in scored]
    figures = [r[k] for r in rows for k in ("val acc %", "train acc %")]
    low, high = min(figures) - 2, max([target, *figures]) + 1
    scale = alt.Scale(domain=[low, high])
    xt, yt = "train accuracy %", "validation accuracy %"
    points = alt.Chart(alt.Data(values=rows)).mark_point(filled=True, opacity=0.85).encode(
        x=alt.X("train acc %:Q", scale=scale, title=xt), y=alt.Y("val acc %:Q", scale=scale, title=yt),
        color=alt.Color("diagnosis:N", legend=alt.Legend(title="diagnosis")), **_best_marks(alt, 180, 60),
        tooltip=_tooltip(names))
    diagonal = alt.Chart(alt.Data(values=[{"a": low}, {"a": high}])).mark_line(color="grey", strokeDash=[2, 3]).encode(
        x=alt.X("a:Q", scale=scale, title=xt), y=alt.Y("a:Q", scale=scale, title=yt))
    rule = alt.Chart(alt.Data(values=[{"target": target}])).mark_rule(color="#54a24b", strokeDash=[6, 3]).encode(
        x=alt.X("target:Q", scale=scale, title=xt), tooltip=[alt.Tooltip("target:Q", title="target accuracy %")])
    title = alt.TitleParams("",
                            subtitle=["dotted: val = train (no variance); dashed: target "
                                      f"{target:.1f}% (no avoidable bias)",
                                      "bias: distance left of the target; variance: distance below the diagonal"])
    return alt.layer(diagonal, rule, points).properties(width=380, height=380, title=title).to_dict()


def early_stopping(view: RunView) -> dict[str, Any] | None:
    """Each trial's validation accuracy per epoch, and the scheduler's decision at each rung:
    continued or stopped, with the cutoff it had to reach. None when no scheduler decided anything."""
    alt = _alt()
    decided = [t for t in view.trials if t.decisions]
    if not decided:
        return None
    curves = [{"trial": t.label, "epoch": e["epoch"], "val acc %": _pct(e.get("val_acc"))}
              for t in view.trials for e in t.epochs if e.get("val_acc") is not None]
    marks = [{"trial": t.label, "rung": d["rung"], "val acc %": _pct(d["value"]), "cutoff %": _pct(d["cutoff"]),
              "rank": f"{d['rank']} of {d['competitors']}", "decision": "continued" if d["promoted"] else "stopped"}
             for t in decided for d in t.decisions]
    lines = alt.Chart(alt.Data(values=curves)).mark_line(color="#bbb", strokeWidth=1).encode(
        x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1, format="d"), title="epoch"),
        y=alt.Y("val acc %:Q", scale=alt.Scale(zero=False)), detail="trial:N", tooltip=["trial:N", "epoch:Q", "val acc %:Q"])
    color = alt.Color("decision:N", scale=alt.Scale(domain=["continued", "stopped"], range=["#54a24b", "#e45756"]))
    points = alt.Chart(alt.Data(values=marks)).mark_point(filled=True, size=70).encode(
        x=alt.X("rung:Q", title="epoch"), y="val acc %:Q", color=color,
        tooltip=["trial:N", "rung:Q", "val acc %:Q", "cutoff %:Q", "rank:N", "decision:N"])
    cutoffs = alt.Chart(alt.Data(values=marks)).mark_point(shape="stroke", color="black", strokeWidth=2.5, size=500).encode(
        x=alt.X("rung:Q", title="epoch"), y=alt.Y("max(cutoff %):Q", title="val acc %"), tooltip=["rung:Q", alt.Tooltip("max(cutoff %):Q", title="highest cutoff %")])
    title = alt.TitleParams("", subtitle=[f"{view.scheduler}: each trial's validation accuracy per epoch (grey), and the "
                                          "decision at each rung", "green: went on; red: stopped there; black tick: the "
                                          "highest cutoff at that rung"])
    return alt.layer(lines, points, cutoffs).properties(width=560, height=300, title=title).to_dict()


def importance_bars(view: RunView) -> dict[str, Any] | None:
    """Each parameter's measured share of the spread, in declared order (top: declared first)."""
    alt = _alt()
    report = view.importance
    if not report.enough:
        return None
    measured = {p.name: rank for rank, p in enumerate(report.ranked, start=1)}
    rows = [{"parameter": p.name, "share %": round(100 * p.share, 1), "p": round(p.p_value, 3),
             "declared": p.declared_rank, "measured": measured[p.name],
             "stands out": "yes" if report.significant(p) else "no (noise)"} for p in report.params]
    bars = alt.Chart(alt.Data(values=rows)).mark_bar().encode(
        y=alt.Y("parameter:N", sort=[p.name for p in report.params], title="parameter (declared order)"),
        x=alt.X("share %:Q", title="share of the spread in val acc (%)"),
        color=alt.Color("stands out:N", scale=alt.Scale(domain=["yes", "no (noise)"], range=["#4c78a8", "#c7c7c7"])),
        tooltip=["parameter:N", "share %:Q", "p:Q", "declared:Q", "measured:Q", "stands out:N"])
    title = alt.TitleParams("", subtitle="measured share of the spread in validation accuracy, parameters in declared order")
    return bars.properties(width=360, height=max(80, 26 * len(rows)), title=title).to_dict()


CHARTS = (("importance", importance_bars), ("curves", learning_curves), ("params", metric_vs_params),
          ("parallel", parallel_coordinates), ("trainval", train_vs_val), ("stopping", early_stopping))
