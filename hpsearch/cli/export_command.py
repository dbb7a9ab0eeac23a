"""``hpsearch export RUN_DIR --tensorboard DIR``: a run as TensorBoard event files (needs the
``tensorboard`` extra; no torch, no TensorFlow)."""

from __future__ import annotations

from pathlib import Path

import click

from hpsearch.cli.group import RUN_DIR, handle_errors, main


@main.command()
@click.argument("run_dir", type=RUN_DIR)
@click.option("--tensorboard", "tb_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Write TensorBoard event files here (a new or empty folder): one TensorBoard run per trial.")
@handle_errors
def export(run_dir: Path, tb_dir: Path) -> None:
    """Export RUN_DIR's trials for TensorBoard: per-epoch accuracy, loss and lr, and the HParams
    dashboard's table and parallel coordinates (needs: pip install -e ".[tensorboard]")."""
    from hpsearch.reports.tbexport import export_tensorboard
    from hpsearch.runs.readers import RunRecord

    result = export_tensorboard(RunRecord(run_dir), tb_dir)
    at_work = f" ({result.unfinished} unfinished, exported as they stand)" if result.unfinished else ""
    click.echo(f"wrote {result.trials} trials{at_work} to {tb_dir}; view them with: tensorboard --logdir {tb_dir}")
