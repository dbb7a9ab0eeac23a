"""``hpsearch predict``: the run's best model on new examples (imports torch only when it runs)."""

from __future__ import annotations

from pathlib import Path

import click

from hpsearch.cli.group import RUN_DIR, handle_errors, main
from hpsearch.runs.store import write_text_atomic


@main.command()
@click.argument("run_dir", type=RUN_DIR)
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the predictions (CSV) to this file. [default: stdout]")
@click.option("--proba", is_flag=True, help="Add a prob_<class> column per class: the predicted probabilities.")
@handle_errors
def predict(run_dir: Path, input_path: Path, out: Path | None, proba: bool) -> None:
    """Predict the class of each example in INPUT with RUN_DIR's best model (best_model.pt).

    INPUT holds raw features in the training data's format: a CSV with the training feature
    columns (any order; the label column may be there), or an npz/pt array of examples shaped like
    the training examples. The model applies the training preprocessing itself. Prints a CSV
    (row, class, and with --proba a prob_<class> column per class).
    """
    from hpsearch.training.predictor import predict_file  # imports torch

    text, count = predict_file(run_dir, input_path, proba)
    if out is None:
        click.echo(text, nl=False)
        return
    write_text_atomic(out, text)
    click.echo(f"wrote {count} prediction(s) to {out}")
