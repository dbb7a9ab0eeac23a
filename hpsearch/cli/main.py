"""The ``hpsearch`` command: parses arguments, calls the library, prints, and sets the exit code.

Exit codes: 0 success; 1 the search ran but no trial completed, or a --fail-under threshold
failed; 2 bad usage, config, data or run folder (in use, edited config); 130 interrupted (Ctrl-C
or SIGTERM). Library errors become one line on stderr; ``--debug`` shows the traceback.
Torch is imported only by commands that train, so ``hpsearch --help`` starts fast.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from hpsearch import __version__
from hpsearch.cli.options import ci_options, parallel_options
from hpsearch.errors import HpsearchError
from hpsearch.formatting import format_params, format_value, pct, plural, signed_pct
from hpsearch.reports.tables import render_table
from hpsearch.space.config import load_config
from hpsearch.space.sampler import sample_trials

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

                _emit_json(kwargs["json_path"], to_json(error_summary(str(exc), EXIT_USAGE)))
            sys.exit(EXIT_USAGE)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hpsearch")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
def main(debug: bool) -> None:
    """Random hyperparameter search for PyTorch MLPs: a YAML file in, a runs/ folder out."""


@main.command()
@CONFIG_ARG
@click.option("--trials", type=click.IntRange(min=1), help="Override the config's number of trials.")
@click.option("--epochs", type=click.IntRange(min=1), help="Override the config's epochs per trial.")
@click.option("--seed", type=click.IntRange(min=0), help="Override the config's search seed.")
@click.option("--device", help="Override the config's device: auto, cpu, cuda or cuda:N.")
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write here instead of runs/<name>-<timestamp>/ (must be new or empty).")
@click.option("--smoke", is_flag=True, help="CI smoke test: 2 trials x 1 epoch (with a scheduler: up to its "
              "first rung and one epoch more) on a stratified subset of 512 training examples; everything else real.")
@click.option("--test", is_flag=True, help="After the search, evaluate the best trial (only) on the test split "
              "and record it in run.json [default: the config's test key, false].")
@parallel_options
@ci_options
@handle_errors
def run(config: Path, trials: int | None, epochs: int | None, seed: int | None, device: str | None,
        run_dir: Path | None, smoke: bool, test: bool, workers: int | None, devices: list[str] | None,
        max_time: float | None, thresholds: tuple[Any, ...], json_path: Path | None, quiet: bool) -> None:
    """Run the search described by CONFIG and write its runs folder."""
    cfg = load_config(config)
    if smoke:
        from hpsearch.reports.ci import smoke_config

        cfg = smoke_config(cfg)
    cfg = cfg.with_overrides(trials=trials, epochs=epochs, seed=seed, device=device, test=True if test else None,
                             workers=workers)

    def start(observer: Any) -> Any:
        from hpsearch.search.run import run_search  # imports torch: under the signal handlers, so Ctrl-C exits 130

        return run_search(cfg, run_dir, observer, max_seconds=max_time, devices=devices)

    _search(start, list(thresholds), json_path, quiet)


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@parallel_options
@ci_options
@handle_errors
def resume(run_dir: Path, workers: int | None, devices: list[str] | None, max_time: float | None,
           thresholds: tuple[Any, ...], json_path: Path | None, quiet: bool) -> None:
    """Continue the stopped, interrupted or killed search in RUN_DIR.

    Finished trials are kept; interrupted ones continue from their last rung checkpoint (with a
    scheduler) or run again from scratch; the rest are the trials an unbroken run draws. Refuses a
    folder whose config.yaml was edited.
    """

    def start(observer: Any) -> Any:
        from hpsearch.search.run import resume_search  # imports torch: under the signal handlers

        return resume_search(run_dir, observer, max_seconds=max_time, workers=workers, devices=devices)

    _search(start, list(thresholds), json_path, quiet)


def _search(start: Callable[[Any], Any], thresholds: list[Any], json_path: Path | None, quiet: bool) -> None:
    """Run a search under Ctrl-C/SIGTERM handling, print the summary and thresholds, set the exit code."""
    from hpsearch.cli.interrupts import signals_as_interrupt
    from hpsearch.cli.progress import ProgressObserver
    from hpsearch.errors import SearchInterrupted
    from hpsearch.reports.ci import check_thresholds

    to_stdout = json_path is not None and str(json_path) == "-"
    observer = ProgressObserver(quiet=quiet, out=sys.stderr if to_stdout else None)
    try:
        with signals_as_interrupt():
            result = start(observer)
    except (SearchInterrupted, KeyboardInterrupt) as exc:
        observer.close()
        click.echo(f"\ninterrupted: {exc if isinstance(exc, SearchInterrupted) else 'stopped by a signal'}", err=True)
        if isinstance(exc, SearchInterrupted) and exc.result is not None and json_path is not None:
            _write_json(json_path, exc.result, check_thresholds(thresholds, None), EXIT_INTERRUPTED)
        sys.exit(EXIT_INTERRUPTED)
    observer.close()
    _print_summary(result, to_stdout)
    checks = check_thresholds(thresholds, result.best[1] if result.best else None)
    for check in checks:
        figure = "no completed trial" if check.value is None else f"{check.value:.4f}"
        verdict = "passed" if check.passed else "FAILED"
        click.echo(f"threshold {check.threshold}: {verdict} (best: {figure})", err=to_stdout or not check.passed)
    code = EXIT_NO_TRIAL if result.best is None or not all(c.passed for c in checks) else 0
    if json_path is not None:
        _write_json(json_path, result, checks, code)
    sys.exit(code)


def _write_json(path: Path, result: Any, checks: list[Any], code: int) -> None:
    from hpsearch.reports.ci import summary
    from hpsearch.runs.store import to_json

    _emit_json(path, to_json(summary(result, checks, code)))


def _emit_json(path: Path, text: str) -> None:
    """``--json``: to stdout for ``-``, else written atomically to the file."""
    from hpsearch.runs.store import write_text_atomic

    if str(path) == "-":
        click.echo(text, nl=False)
    else:
        write_text_atomic(path, text)


def _print_summary(result: Any, err: bool = False) -> None:
    counts = ", ".join(f"{n} {status}" for status, n in result.counts().items())
    click.echo(f"\n{plural(len(result.trials), 'trial')} in {result.seconds:.1f}s ({counts}); results in {result.run_dir}", err=err)
    if result.stop_reason:
        click.echo(f"stopped: {result.stop_reason}", err=err)
    if result.best is None:
        click.echo("no trial completed: see the trials' result.json for why", err=True)
        return
    trial, best = result.best
    click.echo(f"best trial {trial.id:04d} (epoch {best.best_epoch}): val_acc {pct(best.val_acc)}, "
               f"train_acc {pct(best.train_acc)}, gap {signed_pct(best.gap)}", err=err)
    for name, value in trial.params.items():
        click.echo(f"  {name:<14} {format_value(name, value)}", err=err)
    if result.test is not None:
        test = result.test
        click.echo(f"test_acc {pct(test['test_acc'])} on the {test['examples']} held-out test examples (best trial "
                   f"{trial.id:04d} only, evaluated once after the search; recorded in run.json as test)"
                   if test.get("test_acc") is not None else f"test: not evaluated: {test['error']}", err=err)
    _print_diagnosis(result.run_dir, err)


def _print_diagnosis(run_dir: Path, err: bool = False) -> None:
    """The run's bias/variance summary and what to try next (the same lines ``compare`` ends with)."""
    from hpsearch.reports.compare import run_summary, trial_rows
    from hpsearch.runs.store import RunRecord

    record = RunRecord(run_dir)
    for line in run_summary(record, trial_rows(record))[1:]:
        click.echo(line.strip(), err=err)
    click.echo(f"compare all trials: hpsearch compare {run_dir}", err=err)


@main.command()
@CONFIG_ARG
@click.option("-n", "count", type=click.IntRange(min=1), help="How many trials to show [default: the config's trials].")
@click.option("--seed", type=click.IntRange(min=0), help="Override the config's search seed.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@handle_errors
def sample(config: Path, count: int | None, seed: int | None, fmt: str) -> None:
    """Print the trials CONFIG would run, without training."""
    cfg = load_config(config).with_overrides(seed=seed)
    trials = sample_trials(cfg, count)
    if fmt == "json":
        click.echo(json.dumps([{"trial": t.id, "params": t.params} for t in trials], indent=2))
        return
    names = list(cfg.space)
    rows = [[f"{t.id:04d}", *(format_value(n, t.params.get(n)) for n in names)] for t in trials]
    click.echo(render_table(["trial", *names], rows))
    if cfg.fixed:
        click.echo(f"fixed: {format_params(cfg.fixed)}")


@main.command()
@CONFIG_ARG
@handle_errors
def validate(config: Path) -> None:
    """Check CONFIG and print a one-line summary (exit 0 if valid, 2 if not)."""
    cfg = load_config(config)
    searched = ", ".join(cfg.space) or "nothing (seed-noise baseline)"
    sched = cfg.scheduler
    extra = "" if sched.name == "none" else f"; {sched.name} (min_epochs {sched.min_epochs}, eta {sched.eta})"
    extra += "" if cfg.workers == 1 else f"; {cfg.workers} workers"
    click.echo(f"{config}: ok: {cfg.name}, {cfg.trials} trials x {cfg.epochs} epochs on {cfg.data.dataset}, "
               f"searching {searched}{extra}")


# --- comparing trials (issue 4): standard library only at start-up, matplotlib only for `plot` ---

RUN_DIR = click.Path(exists=True, file_okay=False, path_type=Path)
TARGET_ERROR = click.option("--target-error", type=click.FloatRange(0, 1, max_open=True),
                            help="Diagnose against this error (0.05 = 5%) instead of the config's target_error.")


@main.command()
@click.argument("run_dirs", metavar="RUN_DIR [RUN_DIR ...]", nargs=-1, required=True, type=RUN_DIR)
@click.option("--sort", "sort_key", default="val_acc", show_default=True,
              help="Sort by val_acc, train_acc, gap, seconds, trial, avoidable_bias, variance or a parameter "
                   "(accuracies best first, the rest smallest first; completed trials before the others).")
@click.option("--top", type=click.IntRange(min=1), help="Show only the first K trials after sorting [default: all].")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "csv", "json"]), default="table", show_default=True,
              help="csv and json hold raw numbers (fractions, seconds) for scripts.")
@TARGET_ERROR
@handle_errors
def compare(run_dirs: tuple[Path, ...], sort_key: str, top: int | None, fmt: str, target_error: float | None) -> None:
    """One row per trial across the RUN_DIRs, best first, with each trial's bias/variance diagnosis
    and (for table and markdown) each run's summary of what to try next."""
    from hpsearch.reports.compare import compare as compare_runs
    from hpsearch.runs.store import RunRecord

    click.echo(compare_runs([RunRecord(d) for d in run_dirs], sort=sort_key, top=top, fmt=fmt, target_error=target_error))


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
    from hpsearch.runs.store import RunRecord

    run = RunRecord(run_dir)
    click.echo(render_importance(run_importance(run, seed=seed), run.root.name, fmt))


@main.command()
@click.argument("run_dir", type=RUN_DIR)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write the PNGs here instead of into RUN_DIR.")
@handle_errors
def plot(run_dir: Path, out_dir: Path | None) -> None:
    """Write PNG plots of RUN_DIR's trials into the run folder (needs: pip install 'hpsearch[plot]')."""
    from hpsearch.reports.plots import plot_run
    from hpsearch.runs.store import RunRecord

    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    result = plot_run(RunRecord(run_dir), out_dir)
    for path in result.written:
        click.echo(f"wrote {path}")
    for why in result.skipped:
        click.echo(f"skipped {why}")
