"""The commands that read run folders: ``compare``, ``show``, ``importance`` and ``plot``.

Standard library only at start-up (no torch); matplotlib only for ``plot``."""

from __future__ import annotations

from pathlib import Path

import click

from hpsearch.cli.group import RUN_DIR, TARGET_ERROR, handle_errors, main, read_run


@main.command()
@click.argument("run_dirs", metavar="RUN_DIR [RUN_DIR ...]", nargs=-1, required=True, type=RUN_DIR)
@click.option("--sort", "sort_key", default="val_acc", show_default=True,
              help="Sort by val_acc, train_acc, gap, seconds, trial, avoidable_bias, variance or a parameter "
                   "(accuracies best first; gap and variance smallest in size first, as a negative gap is noise; "
                   "the rest smallest first; completed trials before the others).")
@click.option("--top", type=click.IntRange(min=1), help="Show only the first K trials after sorting [default: all].")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "csv", "json"]), default="table", show_default=True,
              help="csv and json hold raw numbers (fractions, seconds) for scripts.")
@TARGET_ERROR
@handle_errors
def compare(run_dirs: tuple[Path, ...], sort_key: str, top: int | None, fmt: str, target_error: float | None) -> None:
    """One row per trial across the RUN_DIRs, best first, with each trial's bias/variance diagnosis
    and (for table and markdown) each run's summary of what to try next."""
    from hpsearch.reports.compare import compare as compare_runs

    click.echo(compare_runs([read_run(d) for d in run_dirs], sort=sort_key, top=top, fmt=fmt, target_error=target_error))


@main.command()
@click.argument("path", metavar="TRIAL_DIR|RUN_DIR", type=RUN_DIR)
@click.argument("trial_id", metavar="[TRIAL_ID]", required=False)
@TARGET_ERROR
@handle_errors
def show(path: Path, trial_id: str | None, target_error: float | None) -> None:
    """One trial: its parameters, model, diagnosis and learning curve epoch by epoch."""
    from hpsearch.reports.show import resolve_trial, show_trial

    click.echo(show_trial(*resolve_trial(path, trial_id), target_error=target_error))


@main.command()
@click.argument("run_dir", type=RUN_DIR)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the permutation test.")
@handle_errors
def importance(run_dir: Path, fmt: str, seed: int) -> None:
    """How much each searched parameter explains of the spread in validation accuracy, measured,
    beside the order the config declares."""
    from hpsearch.reports.importance import render_importance, run_importance

    run = read_run(run_dir)
    click.echo(render_importance(run_importance(run, seed=seed), run.root.name, fmt))


@main.command()
@click.argument("run_dir", type=RUN_DIR)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write the PNGs here instead of into RUN_DIR.")
@handle_errors
def plot(run_dir: Path, out_dir: Path | None) -> None:
    """Write PNG plots of RUN_DIR's trials into the run folder (needs: pip install 'hpsearch[plot]')."""
    from hpsearch.errors import RunDirError
    from hpsearch.reports.plots import plot_run

    run = read_run(run_dir)
    try:
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
        result = plot_run(run, out_dir)
    except OSError as exc:  # a read-only or full disk
        raise RunDirError(f"cannot write {exc.filename or out_dir or run_dir}: {exc.strerror or exc}; "
                          f"give --out DIR on a writable disk") from None
    for path in result.written:
        click.echo(f"wrote {path}")
    for why in result.skipped:
        click.echo(f"skipped {why}")
