"""``hpsearch init``: write a commented starter config to begin a project's search from.

The text comes from ``hpsearch.space.starter`` (no torch, so ``init`` starts fast); this module only
parses the options and writes the file, never over an existing one.
"""

from __future__ import annotations

from pathlib import Path

import click

from hpsearch.cli.group import handle_errors, main
from hpsearch.errors import HpsearchError
from hpsearch.space.config import DATASETS


class FileExistsAlready(HpsearchError):
    """``hpsearch init`` never overwrites (exit 2)."""


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), default="hpsearch.yaml")
@click.option("--dataset", type=click.Choice(DATASETS), help="The dataset to search on "
              "[default: synthetic, or file with --path].")
@click.option("--path", "data_path", type=click.Path(dir_okay=False, path_type=Path),
              help="With --dataset file: your .npz, .pt or .csv file (written relative to FILE's folder).")
@handle_errors
def init(file: Path, dataset: str | None, data_path: Path | None) -> None:
    """Write a commented starter config to FILE [default: hpsearch.yaml] that `hpsearch run FILE` runs
    as it is; it never overwrites a file."""
    from hpsearch.space.starter import starter_config

    dataset = dataset or ("file" if data_path is not None else "synthetic")
    if data_path is not None and dataset != "file":
        raise click.UsageError(f"--path is for --dataset file, not --dataset {dataset}")
    if file.exists():
        raise FileExistsAlready(f"{file} exists; hpsearch init never overwrites a file: give another FILE or remove it")
    text = starter_config(dataset, data_path, file)
    file.parent.mkdir(parents=True, exist_ok=True)
    try:
        with file.open("x", encoding="utf-8") as handle:  # "x": fails rather than overwrite one made meanwhile
            handle.write(text)
    except FileExistsError:
        raise FileExistsAlready(f"{file} exists; hpsearch init never overwrites a file") from None
    click.echo(f"wrote {file}: a starter search on {dataset}; run it with: hpsearch run {file}")
