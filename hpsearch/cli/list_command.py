"""``hpsearch list``: the run folders under a runs root, one row each (standard library only, no torch)."""

from __future__ import annotations

from pathlib import Path

import click

from hpsearch.cli.group import handle_errors, main


@main.command(name="list")
@click.argument("runs_root", metavar="[RUNS_ROOT]", required=False, default="runs",
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="json: a list of objects with raw numbers (fractions, seconds, ISO times) for scripts.")
@handle_errors
def list_runs(runs_root: Path, fmt: str) -> None:
    """One row per run folder in RUNS_ROOT [default: runs]: its status (running with the trials at
    work, completed, stopped, interrupted, or killed when its process died), trials finished of
    planned, best val_acc, start time and wall time. Folders that hold no run are skipped."""
    from hpsearch.reports.runlist import list_runs as read_runs
    from hpsearch.reports.runlist import render_runs

    click.echo(render_runs(read_runs(runs_root), runs_root, fmt), nl=False)
