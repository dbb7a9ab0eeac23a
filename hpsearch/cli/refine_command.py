"""``hpsearch refine``: a config that searches densely around a finished run's best trials.

Standard library and PyYAML only (no torch): it reads the run folder and writes one YAML file."""

from __future__ import annotations

from pathlib import Path

import click

from hpsearch.cli.group import RUN_DIR, handle_errors, main, read_run


@main.command()
@click.argument("run_dir", type=RUN_DIR)
@click.option("--top", type=click.IntRange(min=1),
              help="Follow the K best trials by validation accuracy [default: the top quarter of the completed "
                   "trials, at least 3; the run then needs 6 or more].")
@click.option("--trials", type=click.IntRange(min=1), help="Trials of the refined search [default: the run's].")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the config here; - prints it [default: RUN_DIR/<name>-refined.yaml].")
@handle_errors
def refine(run_dir: Path, top: int | None, trials: int | None, out: Path | None) -> None:
    """Write a config whose space zooms in on the best trials of RUN_DIR (coarse to fine).

    Log-scale ranges narrow on their log scale; a range whose best value lies in its outer tenth
    extends past that edge; a choice keeps the values the top trials used. Prints each searched
    parameter's range old -> new with the reason. Run the result with: hpsearch run FILE
    """
    from hpsearch.errors import RunDirError
    from hpsearch.reports.refine import default_out, refine_run
    from hpsearch.runs.store import write_text_atomic

    refinement = refine_run(read_run(run_dir), top=top, trials=trials)
    to_stdout = out is not None and str(out) == "-"
    click.echo(refinement.summary(), err=to_stdout)
    for change in refinement.changes:
        click.echo(f"  {change.describe()}", err=to_stdout)
    if to_stdout:
        click.echo(refinement.to_yaml(), nl=False)
        return
    path = out if out is not None else default_out(refinement)
    try:
        write_text_atomic(path, refinement.to_yaml())
    except OSError as exc:
        raise RunDirError(f"cannot write {path}: {exc.strerror or exc}") from None
    click.echo(f"wrote {path} ({refinement.config.trials} trials x {refinement.config.epochs} epochs); "
               f"run it: hpsearch run {path}")
