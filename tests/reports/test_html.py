"""``hpsearch report`` without a browser: what the HTML file holds, where it goes, and bad input.
The browser checks (no JavaScript error, no request, every chart drawn, sorting) are in
test_html_browser.py."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from hpsearch.cli.main import main
from tests.helpers import FakeTrial, make_run

pytest.importorskip("altair", reason="the report extra (altair) is not installed")
pytest.importorskip("vl_convert", reason="the report extra (vl-convert-python) is not installed")

SPACE = {
    "lr": {"distribution": "log_uniform", "low": 1.0e-4, "high": 1.0},
    "batch_size": {"distribution": "choice", "values": [32, 64, 128]},
    "momentum": {"distribution": "one_minus_log_uniform", "low": 0.9, "high": 0.999},
    "layers": {"distribution": "int_uniform", "low": 1, "high": 3},
}
CHARTS = {"importance", "curves", "params", "parallel", "trainval"}


def trials(n: int = 12) -> list[FakeTrial]:
    return [FakeTrial({"lr": 10 ** (-4 + i / 3), "batch_size": [32, 64, 128][i % 3], "momentum": 0.9 + i / 150,
                       "layers": 1 + i % 3}, [(0.5 + 0.03 * i, 0.5 + 0.02 * i), (0.55 + 0.03 * i, 0.52 + 0.02 * i)])
            for i in range(n)]


def asha_trials() -> list[FakeTrial]:
    """Four trials judged at rung 1: two go on to epoch 3, two stop there."""
    out = []
    for i, t in enumerate(trials(4)):
        promoted = i >= 2
        t.decisions = [{"rung": 1, "value": t.curve[0][1], "cutoff": 0.54, "rank": 4 - i, "competitors": 4,
                        "promoted": promoted}]
        if promoted:
            t.curve = [*t.curve, (0.6 + 0.03 * i, 0.56 + 0.02 * i)]
        else:
            t.curve, t.status = t.curve[:1], "stopped"
        out.append(t)
    return out


def specs(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="chart-specs">(.*?)</script>', html, re.S).group(1))


def report(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["report", *args])
    return result.exit_code, result.output


def test_report_is_one_self_contained_file_with_every_part(tmp_path):
    root = make_run(tmp_path / "run", trials(), space=SPACE, fixed={"optimizer": "sgd"})
    code, output = report([str(root)])
    assert code == 0, output
    path = root / "report.html"
    assert f"wrote {path}" in output
    html = path.read_text(encoding="utf-8")
    # nothing is fetched: no external script, style, image or link (the only URLs are inside the bundle's code)
    markup = re.sub(r"<script>.*?</script>", "<script></script>", html, flags=re.S)  # the page less the scripts' code
    assert not re.search(r'<(script|img|iframe)[^>]*\ssrc=|<link\b|@import|url\(|https?:', markup)
    assert "vegaEmbed" in html and html.count("<script") == 4
    for heading in ("Run", "Data", "Versions", "Best trial", "Trials", "Importance beside the declared order",
                    "Learning curves of the top trials", "Validation accuracy against each searched parameter",
                    "Parallel coordinates", "Train against validation accuracy (bias and variance)"):
        assert f"<h3>{heading}</h3>" in html, heading
    assert "Early-stopping decisions" not in html  # no scheduler ran
    assert {key.split("-", 2)[2] for key in specs(html)} == CHARTS
    # the best trial, its diagnosis and advice as compare prints them
    assert "<b>trial 0011</b>" in html and "best trial 0011 (val acc 74.0%): balanced: avoidable bias 12.0%" in html
    assert "try next: bias and variance are about equal" in html
    # the table: every trial once, params in declared order, then the figures
    header = re.search(r'<table class="trials"><thead><tr>(.*?)</tr>', html).group(1)
    assert re.findall(r">([^<]+)</th>", header)[:8] == ["trial", "lr", "batch_size", "momentum", "layers", "train acc",
                                                        "val acc", "gap"]
    assert sorted(int(t) for t in re.findall(r'<tr data-trial="(\d+)"', html)) == list(range(12))


def test_log_scale_parameters_get_log_axes(tmp_path):
    root = make_run(tmp_path / "run", trials(), space=SPACE, fixed={"optimizer": "sgd"})
    assert report([str(root)])[0] == 0
    panels = specs((root / "report.html").read_text())["chart-0-params"]["concat"]
    scales = {p["encoding"]["x"]["title"]: p["encoding"]["x"].get("scale", {}).get("type") for p in panels}
    assert scales == {"lr (log)": "log", "batch_size": None, "momentum (log scale of 1 - momentum)": "log",
                      "layers": None}


def test_early_stopping_chart_when_a_scheduler_ran(tmp_path):
    root = make_run(tmp_path / "run", asha_trials(), space=SPACE, fixed={"optimizer": "sgd"},
                    scheduler={"name": "asha", "min_epochs": 1, "eta": 2})
    assert report([str(root)])[0] == 0
    html = (root / "report.html").read_text()
    assert "<h3>Early-stopping decisions</h3>" in html and "chart-0-stopping" in specs(html)
    assert "stopped at rung 1: 50.0% &lt; cutoff 54.0%, rank 4/4" in html
    assert "ran all 3 epochs" in html


def test_several_runs_need_out_and_go_in_one_file(tmp_path):
    a = make_run(tmp_path / "a", trials(), space=SPACE, fixed={"optimizer": "sgd"})
    b = make_run(tmp_path / "b", trials(5), space=SPACE, fixed={"optimizer": "sgd"})
    code, output = report([str(a), str(b)])
    assert code == 2 and "2 run folders give one report: say where with --out FILE" in output
    out = tmp_path / "both" / "report.html"
    code, output = report([str(a), str(b), "--out", str(out)])
    assert code == 0, output
    html = out.read_text()
    assert 'href="#run-0"' in html and 'href="#run-1"' in html
    assert len(re.findall(r'<tr data-trial="', html)) == 17
    assert "chart-1-curves" in specs(html)


def test_a_folder_that_is_not_a_run_exits_2(tmp_path):
    code, output = report([str(tmp_path)])
    assert code == 2 and f"error: {tmp_path} is not a run folder (no run.json)" in output
    assert not (tmp_path / "report.html").exists()


def test_a_run_still_being_written_is_reported_as_it_stands(tmp_path):
    planted = [*trials(3), FakeTrial({"lr": 0.01, "batch_size": 32, "momentum": 0.95, "layers": 2}, [(0.6, 0.58)],
                                     status="running")]
    root = make_run(tmp_path / "run", planted, space=SPACE, fixed={"optimizer": "sgd"}, run_status="running")
    (root / "trials" / "0004").mkdir()  # a trial just started: no params.json, no metrics yet
    (root / "trials" / "0005").mkdir()
    (root / "trials" / "0005" / "params.json").write_text((root / "trials" / "0000" / "params.json").read_text())
    (root / "trials" / "0005" / "metrics.jsonl").write_text("")
    code, output = report([str(root)])
    assert code == 0, output
    html = (root / "report.html").read_text()
    assert '<span class="badge running">running</span>' in html
    assert "This run was still being written" in html
    assert "running: 1 epoch so far" in html and "running: 0 epochs so far" in html
    assert len(re.findall(r'<tr data-trial="', html)) == 6


def test_a_run_with_no_finished_trial(tmp_path):
    root = make_run(tmp_path / "run", [FakeTrial({"lr": 0.01, "batch_size": 32, "momentum": 0.95, "layers": 2},
                                                 status="running")], space=SPACE, fixed={"optimizer": "sgd"},
                    run_status="running")
    code, output = report([str(root)])
    assert code == 0, output
    html = (root / "report.html").read_text()
    assert "No trial has completed yet." in html and specs(html) == {}


def test_without_the_extra_the_command_says_how_to_install(tmp_path, monkeypatch):
    root = make_run(tmp_path / "run", trials(), space=SPACE, fixed={"optimizer": "sgd"})
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vl_convert" else real(name, *a))
    code, output = report([str(root)])
    assert code == 2
    assert 'hpsearch report needs vl-convert-python, which is not installed: pip install -e ".[report]"' in output
    assert not (root / "report.html").exists()


def test_plot_still_works_without_the_report_extra(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    root = make_run(tmp_path / "run", trials(), space=SPACE, fixed={"optimizer": "sgd"})
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("altair", "vl_convert") else real(name, *a))
    result = CliRunner().invoke(main, ["plot", str(root)])
    assert result.exit_code == 0, result.output
    assert (root / "metric_vs_params.png").exists()


def test_the_report_is_written_to_out_and_the_run_folder_is_left_alone(tmp_path):
    root = make_run(tmp_path / "run", trials(), space=SPACE, fixed={"optimizer": "sgd"})
    before = sorted(p.name for p in root.rglob("*"))
    out = tmp_path / "artifacts" / "r.html"
    assert report([str(root), "--out", str(out)])[0] == 0
    assert out.exists() and sorted(p.name for p in root.rglob("*")) == before
    shutil.rmtree(root)
    assert out.read_text().startswith("<!DOCTYPE html>")  # nothing in it points back at the run folder's files


def test_report_does_not_import_torch(tmp_path):
    import subprocess
    import sys

    from tests.helpers import ROOT

    root = make_run(tmp_path / "run", trials(), space=SPACE, fixed={"optimizer": "sgd"})
    code = ("import sys\nfrom hpsearch.cli.main import main\n"
            f"main(['report', {str(root)!r}], standalone_mode=False)\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "", "HOME": str(Path.home())}, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("NO-TORCH")
