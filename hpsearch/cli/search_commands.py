"""The commands that read a config and train: ``run`` and ``resume`` (under Ctrl-C/SIGTERM handling,
with the CI options), and the two that only read it: ``sample`` and ``validate`` (no torch)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from hpsearch.cli.group import CONFIG_ARG, EXIT_INTERRUPTED, EXIT_NO_TRIAL, emit_json, handle_errors, main
from hpsearch.cli.options import check_json_path, ci_options, parallel_options
from hpsearch.errors import ConfigError
from hpsearch.formatting import format_params, format_value, pct, plural, signed_pct
from hpsearch.reports.tables import render_table
from hpsearch.space.config import DEVICE_NAMES, load_config
from hpsearch.space.sampler import sample_trials


@main.command()
@CONFIG_ARG
@click.option("--trials", type=click.IntRange(min=1), help="Override the config's number of trials.")
@click.option("--epochs", type=click.IntRange(min=1), help="Override the config's epochs per trial.")
@click.option("--seed", type=click.IntRange(min=0), help="Override the config's search seed.")
@click.option("--device", help=f"Override the config's device: auto, {DEVICE_NAMES}.")
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
        run_dir: Path | None, smoke: bool, test: bool, workers: int | None, fuse: int | None, devices: list[str] | None,
        ray: str | None,
        max_time: float | None, thresholds: tuple[Any, ...], json_path: Path | None, quiet: bool) -> None:
    """Run the search described by CONFIG and write its runs folder."""
    cfg = load_config(config)
    if smoke:
        from hpsearch.reports.ci import smoke_config

        cfg = smoke_config(cfg)
    cfg = cfg.with_overrides(trials=trials, epochs=epochs, seed=seed, device=device, test=True if test else None,
                             workers=workers, ray=ray, fuse=fuse)
    _warn(cfg)
    check_json_path(json_path, config, run_dir)

    _start_workers_early(cfg.workers, cfg.ray)

    def start(observer: Any) -> Any:
        from hpsearch.search.run import run_search  # imports torch: under the signal handlers, so Ctrl-C exits 130

        try:
            return run_search(cfg, run_dir, observer, max_seconds=max_time, devices=devices)
        except ConfigError as exc:  # --device cuda on a machine without: the option's fault, not the file's
            if device is not None and not devices and [p.path for p in exc.problems] == ["device"]:
                message = exc.problems[0].message.replace("use device: ", "use --device ")  # the option's words
                raise click.BadParameter(message, param_hint="'--device'") from None
            raise

    _search(start, list(thresholds), json_path, quiet)


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--trials", type=click.IntRange(min=1), help="Extend the search to N trials (at least the planned "
              "count): trials 0..N-1 end as in a fresh N-trial run. [default: the planned count]")
@click.option("--test", is_flag=True, help="Once the search is complete (also one that already was), evaluate the "
              "best trial on the test split and record it in run.json.")
@parallel_options
@ci_options
@handle_errors
def resume(run_dir: Path, trials: int | None, test: bool, workers: int | None, fuse: int | None,
           devices: list[str] | None, ray: str | None, max_time: float | None, thresholds: tuple[Any, ...], json_path: Path | None, quiet: bool) -> None:
    """Continue the stopped, interrupted or killed search in RUN_DIR, or extend a finished one.

    Finished trials are kept; interrupted ones continue from their last rung checkpoint (with a
    scheduler) or run again from scratch; the rest are the trials an unbroken run draws. Refuses a
    folder whose config.yaml was edited (--trials is the one change it makes itself). Runs here unless
    given --ray (a config's ray key is not kept in the run folder).
    """

    check_json_path(json_path, None, run_dir)
    _start_workers_early(workers, ray)  # a run's own config's workers: started later, by resume_search

    def start(observer: Any) -> Any:
        from hpsearch.search.run import resume_search  # imports torch: under the signal handlers

        return resume_search(run_dir, observer, max_seconds=max_time, workers=workers, devices=devices,
                             trials=trials, test=test, ray=ray, fuse=fuse)

    _search(start, list(thresholds), json_path, quiet, resumed=True)


def _start_workers_early(workers: int | None, ray: str | None) -> None:
    """With worker processes, start their fork server before ``_search`` imports torch: it imports
    torch while this process does (about 2 s sooner than after)."""
    if (workers or 1) > 1 and ray is None:
        from hpsearch.search.forkserver import start_workers_early

        start_workers_early()


def _warn(cfg: Any) -> None:
    """The config's legal but likely mistakes (uniform on lr), one ``warning:`` line each on stderr."""
    for warning in cfg.warnings:
        click.echo(f"warning: {warning}", err=True)


def _search(start: Callable[[Any], Any], thresholds: list[Any], json_path: Path | None, quiet: bool,
            resumed: bool = False) -> None:
    """Run a search under Ctrl-C/SIGTERM handling, print the summary and thresholds, set the exit code."""
    from hpsearch.cli.interrupts import deferred, signals_as_interrupt

    with deferred():  # torch and numpy: a KeyboardInterrupt halfway through their import breaks them
        import hpsearch.search.run  # noqa: F401
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
    _print_summary(result, to_stdout, resumed, quiet)
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

    emit_json(path, to_json(summary(result, checks, code)))


def _print_summary(result: Any, err: bool = False, resumed: bool = False, quiet: bool = False) -> None:
    counts = ", ".join(f"{n} {status}" for status, n in result.counts().items())
    if resumed and result.time is None:  # the search had ended and nothing was asked of it: nothing trained now
        click.echo(f"nothing to resume: the search had ended ({plural(len(result.trials), 'trial')}: {counts}); "
                   f"results in {result.run_dir} (--trials N extends it)", err=err)
    else:
        took = f"{result.seconds:.1f}s"
        if resumed:  # this invocation's wall time, and what all the trials took, whichever invocation trained them
            took += f" this resume, {sum(r.seconds for _, r in result.trials):.1f}s of training over the whole search"
        gap = "" if quiet else "\n"  # a blank line after the trials' lines; with --quiet there are none
        click.echo(f"{gap}{plural(len(result.trials), 'trial')} in {took} ({counts}); results in {result.run_dir}", err=err)
    if result.time is not None:
        click.echo(result.time.line(), err=err)
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
    from hpsearch.runs.readers import RunRecord

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
    _warn(cfg)
    searched = ", ".join(cfg.space) or "nothing (seed-noise baseline)"
    sched = cfg.scheduler
    extra = "" if sched.name == "none" else f"; {sched.name} (min_epochs {sched.min_epochs}, eta {sched.eta})"
    extra += "" if cfg.workers in (None, 1) else f"; {cfg.workers} workers"
    extra += f"; on Ray at {cfg.ray}" if cfg.ray else ""
    extra += "" if cfg.fuse == 1 else f"; fuse {cfg.fuse}"
    model = "" if cfg.model.builtin else f" with model {cfg.model.reference}"
    click.echo(f"{config}: ok: {cfg.name}, {cfg.trials} trials x {cfg.epochs} epochs on {cfg.data.dataset}{model}, "
               f"searching {searched}{extra}")


# --- comparing trials (issue 4): standard library only at start-up, matplotlib only for `plot` ---
