"""Terminal progress for ``hpsearch run``: tqdm bars over trials and epochs, a line per trial.

Bars are drawn only when both stdout and stderr are terminals. In a CI log or a pipe there are no
redraws, only whole lines, each flushed as it is written so the log follows the search live.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import click
from tqdm import tqdm

from hpsearch.formatting import format_params, pct, plural, signed_pct
from hpsearch.runs.records import EpochMetrics, TrialResult, TrialStatus
from hpsearch.search.observer import SearchObserver
from hpsearch.space.config import SearchConfig
from hpsearch.space.sampler import Trial


def trial_line(trial: Trial, result: TrialResult) -> str:
    return (f"trial {trial.id:04d}  {result.status:<11} val {pct(result.val_acc):>6}  train {pct(result.train_acc):>6}  "
            f"gap {signed_pct(result.gap):>6}  {result.seconds:6.1f}s  {format_params(trial.params)}"
            + (f"  ({result.error})" if result.error and result.status is not TrialStatus.COMPLETED else "")
            + (f"  ({stop_reason(result.decisions[-1])})" if result.status is TrialStatus.STOPPED and result.decisions else ""))


def stop_reason(decision: dict) -> str:
    """Why the scheduler stopped a trial, from its last rung decision."""
    return (f"stopped at rung {decision['rung']}: best val {pct(decision['value'])} < cutoff {pct(decision['cutoff'])}, "
            f"rank {decision['rank']} of {decision['competitors']}")


def fusion_note(config: SearchConfig) -> str:
    """``, fuse 32 (6 kinds of trials that fuse)``, or why fusing changes nothing; empty without ``fuse``."""
    if config.fuse == 1:
        return ""
    from hpsearch.space.sampler import sample_trials
    from hpsearch.training.fused.compat import describe_fusion, fusion_key

    return ", " + describe_fusion(config.fuse, [fusion_key(t.hyperparameters) for t in sample_trials(config)])


def interactive() -> bool:
    """True when a person watches a terminal: both streams are ttys (not a CI log, not a pipe)."""
    return sys.stdout.isatty() and sys.stderr.isatty()


class ProgressObserver(SearchObserver):
    """Lines go to ``out`` (stdout by default; stderr when stdout carries ``--json -``)."""

    def __init__(self, quiet: bool = False, bars: bool | None = None, out: TextIO | None = None) -> None:
        self.quiet = quiet
        self.out = out
        self.bars = (interactive() if bars is None else bars) and not quiet
        self.trial_bar: tqdm | None = None
        self.epoch_bar: tqdm | None = None
        self.epochs = 0
        self.epoch_bars = True

    def line(self, text: str) -> None:
        out = self.out or sys.stdout
        if self.bars:
            tqdm.write(text, file=out)
        else:
            click.echo(text, file=out)
        out.flush()

    def search_started(self, config: SearchConfig, run_dir: Path, device: object) -> None:
        self.epochs = config.epochs
        self.epoch_bars = config.workers == 1 and config.fuse == 1  # with several trials at once, one bar per epoch would mislead
        if not self.quiet:
            self.line(f"search {config.name}: {plural(config.trials, 'trial')} x {plural(config.epochs, 'epoch')} on {device}"
                      f"{fusion_note(config)}, writing {run_dir}")

    def trials_planned(self, done: int, pending: list[int]) -> None:
        if done and not self.quiet:
            self.line(f"resuming: {done} trial(s) kept, {len(pending)} to run")
        if self.bars:
            self.trial_bar = tqdm(total=len(pending), desc="trials", unit="trial", position=0)

    def trial_started(self, trial: Trial) -> None:
        if self.bars and self.epoch_bars:
            self.epoch_bar = tqdm(total=self.epochs, desc=f"trial {trial.id:04d}", unit="epoch", position=1, leave=False)

    def epoch_finished(self, trial: Trial, metrics: EpochMetrics) -> None:
        if self.epoch_bar is not None:
            self.epoch_bar.set_postfix_str(f"val {pct(metrics.val_acc)}")
            self.epoch_bar.update(1)

    def trial_finished(self, trial: Trial, result: TrialResult) -> None:
        if self.epoch_bar is not None:
            self.epoch_bar.close()
            self.epoch_bar = None
        if not self.quiet:
            self.line(trial_line(trial, result))
        if self.trial_bar is not None:
            self.trial_bar.update(1)

    def warning(self, message: str) -> None:
        click.echo(f"warning: {message}", err=True)

    def close(self) -> None:
        for bar in (self.epoch_bar, self.trial_bar):
            if bar is not None:
                bar.close()
        self.epoch_bar = self.trial_bar = None
