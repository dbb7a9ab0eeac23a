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
        except (HpsearchError, OSError) as exc:  # OSError: a disk full, read-only or gone under a command
            if click.get_current_context().find_root().params.get("debug"):
                raise
            click.echo(f"error: {exc if isinstance(exc, HpsearchError) else _os_error(exc)}", err=True)
            if kwargs.get("json_path") is not None and getattr(exc, "summary_to_json", True):  # CI reads the summary
                from hpsearch.reports.ci import error_summary
                from hpsearch.runs.store import to_json

                emit_json(kwargs["json_path"], to_json(error_summary(str(exc), EXIT_USAGE)))
            sys.exit(EXIT_USAGE)

    return wrapper


def _os_error(exc: OSError) -> str:
    """``cannot use runs/x/plot.png: Read-only file system``: the file and the reason, one line."""
    return f"cannot use {exc.filename}: {exc.strerror or exc}" if exc.filename else str(exc.strerror or exc)


class HpsearchGroup(click.Group):
    """The group, with Ctrl-C and SIGTERM at any instant exiting 130 (README), never click's
    ``Aborted!`` (exit 1): SIGINT and SIGTERM raise KeyboardInterrupt while a command runs (one
    remembered while the program started is raised first, see ``interrupts.defer_signals``), and a
    KeyboardInterrupt that reaches click (while a config loads, before a search's own handling)
    ends the process here. A usage error (``--workers 0``, a missing argument) is one ``error:``
    line with the command to ask for help, like every other error; the rest is click's handling."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        from hpsearch.cli.interrupts import signals_as_interrupt

        try:
            with signals_as_interrupt():  # raises a signal that arrived while the program started
                code = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.Abort as exc:
            if not isinstance(exc.__cause__, KeyboardInterrupt):
                click.echo("Aborted!", err=True)
                sys.exit(1)
            click.echo("interrupted: stopped by a signal", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except KeyboardInterrupt:
            click.echo("interrupted: stopped by a signal", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except click.exceptions.NoArgsIsHelpError as exc:  # a group or command given nothing: its help
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:  # one line, as every other error: the option, the value, what is allowed
            command = exc.ctx.command_path if exc.ctx is not None else "hpsearch"
            click.echo(f"error: {exc.format_message()} (see {command} --help)", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=HpsearchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hpsearch")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
def main(debug: bool) -> None:
    """Random hyperparameter search for PyTorch MLPs: a YAML file in, a runs/ folder out."""


RUN_DIR = click.Path(exists=True, file_okay=False, path_type=Path)
TARGET_ERROR = click.option("--target-error", type=click.FloatRange(0, 1, max_open=True),
                            help="Diagnose against this error (0.05 = 5%) instead of the config's target_error.")


def read_run(path: Path) -> Any:
    """``path`` read back as a RunRecord; each damaged trial is reported on stderr in one line (the
    reports skip it, the rest still prints)."""
    from hpsearch.runs.readers import RunRecord

    run = RunRecord(path)
    for trial in run.damaged:
        click.echo(f"warning: skipped trial {trial.id:04d} of {path}: {trial.damage}", err=True)
    return run


def emit_json(path: Path, text: str) -> None:
    """``--json``: to stdout for ``-``, else written atomically to the file."""
    from hpsearch.runs.store import write_text_atomic

    if str(path) == "-":
        click.echo(text, nl=False)
    else:
        write_text_atomic(path, text)
