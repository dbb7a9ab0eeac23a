"""``hpsearch report``: one self-contained HTML file about one or more run folders.

Needs the ``report`` extra (Altair and vl-convert-python); without it, exit 2 with the pip line.
No torch: the report reads the run folders only."""

from __future__ import annotations

from pathlib import Path

import click

from hpsearch.cli.group import RUN_DIR, handle_errors, main, read_run


@main.command()
@click.argument("run_dirs", metavar="RUN_DIR [RUN_DIR ...]", nargs=-1, required=True, type=RUN_DIR)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="The HTML file to write [default: RUN_DIR/report.html; required with several RUN_DIRs].")
@handle_errors
def report(run_dirs: tuple[Path, ...], out: Path | None) -> None:
    """Write one HTML file (scripts, styles and charts inline: it opens offline) with the run's summary,
    the best trial's diagnosis and advice, a sortable trial table, importance and interactive charts
    (needs: pip install -e ".[report]")."""
    from hpsearch.reports.html import write_report

    path = write_report([read_run(d) for d in run_dirs], out)
    click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
