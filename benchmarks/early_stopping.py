"""Plain random search (every trial all its epochs) against ASHA, each with 1 and 2 workers.

Same search space, same seeds, same trials (trial i's params depend on (seed, i) alone): only the
scheduler and the number of workers change. For each search it measures wall time, epochs trained,
the best validation accuracy reached, and the time until the best-so-far first reaches a target
accuracy (by default 99% of the mean best accuracy of full random search over the seeds).

    PYTHONPATH=. python benchmarks/early_stopping.py            # 3 seeds, a few minutes on 2 cores
    PYTHONPATH=. python benchmarks/early_stopping.py --seeds 0 1 --trials 9 --json out.json

Timings are noisy on a shared machine; epoch counts and accuracies are not (CPU, fixed threads).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hpsearch.search.run import SearchObserver, run_search
from hpsearch.space.config import parse_config

SPACE: dict[str, Any] = {
    "lr": {"distribution": "log_uniform", "low": 1.0e-4, "high": 1.0},
    "batch_size": {"distribution": "choice", "values": [32, 64, 128, 256]},
    "hidden_units": {"distribution": "int_log_uniform", "low": 16, "high": 256},
    "momentum": {"distribution": "one_minus_log_uniform", "low": 0.5, "high": 0.99},
    "layers": {"distribution": "int_uniform", "low": 1, "high": 3},
    "lr_decay": {"distribution": "log_uniform", "low": 1.0e-3, "high": 1.0},
}


def make_config(seed: int, trials: int, epochs: int, scheduler: str, workers: int, min_epochs: int = 1) -> dict[str, Any]:
    return {"name": f"bench-{scheduler}", "seed": seed, "trials": trials, "epochs": epochs, "device": "cpu",
            "data": {"dataset": "synthetic", "samples": 3000}, "fixed": {"optimizer": "sgd"}, "space": SPACE,
            "scheduler": {"name": scheduler, **({"min_epochs": min_epochs, "eta": 3} if scheduler != "none" else {})},
            "workers": workers}


@dataclass
class Trace(SearchObserver):
    """Every epoch's arrival time and validation accuracy, as the main process records them."""

    start: float = field(default_factory=time.monotonic)
    points: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, val_acc)

    def epoch_finished(self, trial: object, metrics: Any) -> None:
        self.points.append((time.monotonic() - self.start, metrics.val_acc))

    def time_to(self, target: float) -> float | None:
        return next((t for t, acc in self.points if acc >= target), None)


@dataclass
class Row:
    scheduler: str
    workers: int
    seed: int
    seconds: float
    epochs: int
    best_val_acc: float
    stopped: int
    points: list[tuple[float, float]]


def run_one(seed: int, trials: int, epochs: int, scheduler: str, workers: int, min_epochs: int = 1) -> Row:
    trace = Trace()
    config = parse_config(make_config(seed, trials, epochs, scheduler, workers, min_epochs))
    with tempfile.TemporaryDirectory() as tmp:
        result = run_search(config, Path(tmp) / "run", trace)
    best = result.best
    return Row(scheduler, workers, seed, result.seconds, len(trace.points), best[1].val_acc if best else float("nan"),
               result.counts().get("stopped", 0), trace.points)


def table(rows: list[Row], target: float, min_epochs: int = 1) -> str:
    """Markdown: one line per (scheduler, workers), means over seeds (and the per-seed best)."""
    lines = ["| search | workers | wall s | epochs trained | best val acc (per seed) | mean best | s to reach target |",
             "|---|---|---|---|---|---|---|"]
    for scheduler in ("none", "asha"):
        for workers in sorted({r.workers for r in rows}):
            group = [r for r in rows if r.scheduler == scheduler and r.workers == workers]
            if not group:
                continue
            reach = [Trace(points=r.points).time_to(target) for r in group]
            reached = [t for t in reach if t is not None]
            when = f"{statistics.mean(reached):.1f}" + ("" if len(reached) == len(group) else f" ({len(reached)}/{len(group)} reached)")
            name = "random, all epochs" if scheduler == "none" else f"ASHA (min {min_epochs}, eta 3)"
            lines.append(f"| {name} | {workers} | {statistics.mean(r.seconds for r in group):.1f} | "
                         f"{statistics.mean(r.epochs for r in group):.0f} | "
                         f"{', '.join(f'{r.best_val_acc:.3f}' for r in group)} | "
                         f"{statistics.mean(r.best_val_acc for r in group):.3f} | {when if reached else 'never'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--trials", type=int, default=18)
    parser.add_argument("--epochs", type=int, default=27)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--schedulers", nargs="+", choices=["none", "asha"], default=["none", "asha"])
    parser.add_argument("--min-epochs", type=int, default=1, help="ASHA's first rung [default: 1]")
    parser.add_argument("--target", type=float, help="accuracy to reach [default: 0.99 x mean best of full random search]")
    parser.add_argument("--json", type=Path, help="also write every row (with its epoch trace) here")
    args = parser.parse_args()
    rows = []
    for scheduler in args.schedulers:
        for workers in args.workers:
            for seed in args.seeds:
                row = run_one(seed, args.trials, args.epochs, scheduler, workers, args.min_epochs)
                print(f"{scheduler:<5} workers={workers} seed={seed}: {row.seconds:6.1f}s {row.epochs:4d} epochs "
                      f"best {row.best_val_acc:.3f} ({row.stopped} stopped)", flush=True)
                rows.append(row)
    full = [r.best_val_acc for r in rows if r.scheduler == "none"]
    if args.target is None and not full:
        parser.error("without the full random search (--schedulers none), give --target")
    target = args.target if args.target is not None else round(0.99 * statistics.mean(full), 4)
    print(f"\n{len(args.seeds)} seeds x {args.trials} trials x {args.epochs} epochs; target val acc {target:.4f}\n")
    print(table(rows, target, args.min_epochs))
    if args.json is not None:
        args.json.write_text(json.dumps({"target": target, "rows": [asdict(r) for r in rows]}, indent=1))


if __name__ == "__main__":
    main()
