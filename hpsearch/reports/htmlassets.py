"""The report page's own style sheet and scripts, inlined into every report (no file, no URL).

``SORT_SCRIPT`` sorts a trial table on a header click (numbers by their ``data-sort`` value, missing
values last, a second click reverses). ``EMBED_SCRIPT`` draws every chart with vega-embed as SVG and
marks the page ``data-charts="ready"`` (or ``"failed"``) when done, which the browser tests wait for.
"""

from __future__ import annotations

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0 auto;
       max-width: 1280px; padding: 0 24px 48px; }
h1 { font-size: 22px; margin: 20px 0 4px; } h2 { font-size: 19px; margin-top: 36px; border-bottom: 2px solid #ddd; }
h3 { font-size: 16px; margin: 26px 0 8px; }
.muted { color: #666; } code, pre { font: 12px/1.4 ui-monospace, Menlo, Consolas, monospace; }
pre { background: #f6f6f6; padding: 8px 10px; overflow-x: auto; }
.cols { display: flex; flex-wrap: wrap; gap: 28px; align-items: flex-start; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 2px 14px; margin: 0; }
dl.facts dt { color: #666; } dl.facts dd { margin: 0; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; color: #fff;
         background: #4c78a8; vertical-align: middle; }
.badge.running { background: #f58518; } .badge.interrupted, .badge.stopped { background: #bab0ac; }
.badge.no_trial_completed { background: #e45756; }
.banner { background: #fff4e5; border-left: 4px solid #f58518; padding: 8px 12px; margin: 10px 0; }
.best { background: #f3f7fb; border-left: 4px solid #4c78a8; padding: 8px 14px; }
.advice li { margin: 2px 0; }
table.trials, table.small { border-collapse: collapse; font-size: 12.5px; }
table.trials th, table.trials td, table.small th, table.small td { padding: 3px 6px; border-bottom: 1px solid #e5e5e5;
  text-align: right; white-space: nowrap; }
table.trials td.text, table.trials th.text, table.small td.text, table.small th.text { text-align: left; }
table.trials td.why { white-space: normal; min-width: 150px; max-width: 240px; text-align: left; }
table.trials th { cursor: pointer; background: #fafafa; position: sticky; top: 0; user-select: none; }
table.trials th[aria-sort="ascending"]::after { content: " \\25B2"; }
table.trials th[aria-sort="descending"]::after { content: " \\25BC"; }
table.trials tr.best td { background: #fff8d6; }
table.trials tr:hover td { background: #eef4fb; }
.tablewrap { max-height: 560px; overflow: auto; border: 1px solid #e5e5e5; }
.chart { margin: 6px 0 14px; min-height: 40px; }
.chart-error { color: #b00; }
nav ul { padding-left: 18px; }
"""

SORT_SCRIPT = """
document.querySelectorAll("table.trials").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, column) {
    th.title = "sort by " + th.textContent;
    th.addEventListener("click", function () {
      var descending = th.getAttribute("aria-sort") === "ascending";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      function key(row) {
        var cell = row.cells[column], raw = cell.getAttribute("data-sort");
        if (raw === null || raw === "") { return null; }
        var number = Number(raw);
        return isNaN(number) ? raw : number;
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === null || y === null) { return (x === null) - (y === null); }
        var order = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === "number" ? -1 : 1);
        return descending ? -order : order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""

EMBED_SCRIPT = """
(function () {
  var specs = JSON.parse(document.getElementById("chart-specs").textContent);
  var drawn = Object.keys(specs).map(function (id) {
    return vegaEmbed("#" + id, specs[id], {mode: "vega-lite", renderer: "svg", actions: false}).catch(function (error) {
      document.getElementById(id).innerHTML = '<p class="chart-error">chart failed: ' + error + '</p>';
      console.error("chart " + id + " failed: " + error);
      throw error;
    });
  });
  Promise.all(drawn).then(function () { document.body.setAttribute("data-charts", "ready"); },
                          function () { document.body.setAttribute("data-charts", "failed"); });
})();
"""
