"""Terminal progress for ``hpsearch run``: tqdm bars over trials and epochs, a line per trial.

When stderr is not a terminal (a CI log, a pipe) there are no bar redraws, only the lines.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from tqdm import tqdm

from .config import SearchConfig
from .formatting import format_params, pct, signed_pct
from .sampler import Trial
from .search import SearchObserver
from .trainer import EpochMetrics, TrialResult


def trial_line(trial: Trial, result: TrialResult) -> str:
    return (f"trial {trial.id:04d}  {result.status:<11} val {pct(result.val_acc):>6}  train {pct(result.train_acc):>6}  "
            f"gap {signed_pct(result.gap):>6}  {result.seconds:6.1f}s  {format_params(trial.params)}"
            + (f"  ({result.error})" if result.error and result.status != "completed" else ""))


class ProgressObserver(SearchObserver):
    def __init__(self, quiet: bool = False, bars: bool | None = None) -> None:
        self.quiet = quiet
        self.bars = (sys.stderr.isatty() if bars is None else bars) and not quiet
        self.trial_bar: tqdm | None = None
        self.epoch_bar: tqdm | None = None
        self.epochs = 0

    def search_started(self, config: SearchConfig, run_dir: Path, device: object) -> None:
        self.epochs = config.epochs
        if not self.quiet:
            click.echo(f"search {config.name}: {config.trials} trials x {config.epochs} epochs on {device}, writing {run_dir}")
        if self.bars:
            self.trial_bar = tqdm(total=config.trials, desc="trials", unit="trial", position=0)

    def trial_started(self, trial: Trial) -> None:
        if self.bars:
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
            tqdm.write(trial_line(trial, result), file=sys.stdout)
        if self.trial_bar is not None:
            self.trial_bar.update(1)

    def close(self) -> None:
        for bar in (self.epoch_bar, self.trial_bar):
            if bar is not None:
                bar.close()
