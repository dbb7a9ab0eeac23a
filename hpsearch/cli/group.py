"""The ``hpsearch`` command: parses arguments, calls the library, prints, and sets the exit code.

Exit codes: 0 success; 1 the search ran but no trial completed, or a --fail-under threshold
failed; 2 bad usage, config, data or run folder (in use, edited config); 130 interrupted (Ctrl-C
or SIGTERM). Library errors become one line on stderr; ``--debug`` shows the traceback.
Torch is imported only by commands that train, so ``hpsearch --help`` starts fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from hpsearch import __version__
from hpsearch.errors import HpsearchError

EXIT_NO_TRIAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

CONFIG_ARG = click.argument("config", type=click.Path(dir_okay=False, path_type=Path))


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into a clear message and exit 2 (a traceback only with --debug)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except HpsearchError as exc:
            if click.get_current_context().find_root().params.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            if kwargs.get("json_path") is not None:  # CI reads the summary file: it exists, saying why
                from hpsearch.reports.ci import error_summary
                from hpsearch.runs.store import to_json

                emit_json(kwargs["json_path"], to_json(error_summary(str(exc), EXIT_USAGE)))
            sys.exit(EXIT_USAGE)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hpsearch")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
def main(debug: bool) -> None:
    """Random hyperparameter search for PyTorch MLPs: a YAML file in, a runs/ folder out."""


RUN_DIR = click.Path(exists=True, file_okay=False, path_type=Path)
TARGET_ERROR = click.option("--target-error", type=click.FloatRange(0, 1, max_open=True),
                            help="Diagnose against this error (0.05 = 5%) instead of the config's target_error.")


def emit_json(path: Path, text: str) -> None:
    """``--json``: to stdout for ``-``, else written atomically to the file."""
    from hpsearch.runs.store import write_text_atomic

    if str(path) == "-":
        click.echo(text, nl=False)
    else:
        write_text_atomic(path, text)
