"""Coarse to fine against one random search of the same budget.

For each dataset and seed: (a) 32 random trials; (b) 16 random trials, then ``hpsearch refine``
(its default top quarter: the best 4) and 16 trials in the refined space. Same space, epochs and
data; only how the 32 trials are placed differs. Reports the best validation accuracy per seed,
its mean and spread over seeds, and the epochs each way trained (the same, as no scheduler runs).

    PYTHONPATH=. HPSEARCH_CACHE=/tmp/hpsearch-cache python benchmarks/coarse_to_fine.py \\
        --mnist-root /work/shared/data --json out.json       # a few minutes on 2 CPU cores

Accuracies and epochs are deterministic (CPU, one thread per trial); wall times are not.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.early_stopping import SPACE  # the same six-parameter space as the early-stopping benchmark
from hpsearch.reports.refine import refine_run
from hpsearch.runs.readers import RunRecord
from hpsearch.search.run import SearchObserver, run_search
from hpsearch.space.config import config_to_dict, parse_config


def data_section(dataset: str, mnist_root: str | None, subset: int) -> dict[str, Any]:
    if dataset == "synthetic":
        return {"dataset": "synthetic", "samples": 3000}
    return {"dataset": "mnist", "root": mnist_root, "subset": subset, "val_fraction": 0.05, "download": False}


@dataclass
class Row:
    dataset: str
    way: str  # "random 32" or "coarse 16 + fine 16"
    seed: int
    best_val_acc: float
    coarse_best: float | None  # the coarse stage's best alone (coarse to fine only)
    epochs: int
    seconds: float


def search(raw: dict[str, Any], folder: Path) -> RunRecord:
    run_search(parse_config(raw), folder, SearchObserver())
    return RunRecord(folder)


def best_and_epochs(*runs: RunRecord) -> tuple[float, int]:
    accs = [t.result.val_acc for r in runs for t in r.trials if t.result is not None]
    epochs = sum(t.result.epochs_trained or 0 for r in runs for t in r.trials if t.result is not None)
    return max(a for a in accs if a is not None), epochs


def run_seed(dataset: str, seed: int, epochs: int, data: dict[str, Any], tmp: Path) -> list[Row]:
    base = {"name": f"c2f-{dataset}", "seed": seed, "epochs": epochs, "device": "cpu", "data": data,
            "fixed": {"optimizer": "sgd"}, "space": SPACE}
    start = time.monotonic()
    random_run = search({**base, "trials": 32}, tmp / f"{dataset}-{seed}-random")
    random_seconds = time.monotonic() - start
    start = time.monotonic()
    coarse = search({**base, "trials": 16}, tmp / f"{dataset}-{seed}-coarse")
    fine_config = refine_run(coarse, trials=16).config
    fine = search(config_to_dict(fine_config), tmp / f"{dataset}-{seed}-fine")
    c2f_seconds = time.monotonic() - start
    r_best, r_epochs = best_and_epochs(random_run)
    c_best, c_epochs = best_and_epochs(coarse, fine)
    return [Row(dataset, "random 32", seed, r_best, None, r_epochs, random_seconds),
            Row(dataset, "coarse 16 + fine 16", seed, c_best, best_and_epochs(coarse)[0], c_epochs, c2f_seconds)]


def table(rows: list[Row]) -> str:
    lines = ["| dataset | search | best val acc (per seed) | mean | spread (sd) | epochs | wall s |", "|---|---|---|---|---|---|---|"]
    for dataset in dict.fromkeys(r.dataset for r in rows):
        for way in ("random 32", "coarse 16 + fine 16"):
            group = [r for r in rows if r.dataset == dataset and r.way == way]
            accs = [r.best_val_acc for r in group]
            sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
            lines.append(f"| {dataset} | {way} | {', '.join(f'{a:.3f}' for a in accs)} | {statistics.mean(accs):.4f} | "
                         f"{sd:.4f} | {statistics.mean(r.epochs for r in group):.0f} | "
                         f"{statistics.mean(r.seconds for r in group):.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--datasets", nargs="+", choices=["synthetic", "mnist"], default=["synthetic", "mnist"])
    parser.add_argument("--epochs", type=int, default=4, help="epochs per trial [default: 4]")
    parser.add_argument("--mnist-root", default="../shared/data", help="folder holding MNIST/raw [default: ../shared/data]")
    parser.add_argument("--mnist-subset", type=int, default=5000, help="MNIST training examples kept [default: 5000]")
    parser.add_argument("--json", type=Path, help="also write every row here")
    args = parser.parse_args()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in args.datasets:
            data = data_section(dataset, str(Path(args.mnist_root).resolve()), args.mnist_subset)
            for seed in args.seeds:
                pair = run_seed(dataset, seed, args.epochs, data, Path(tmp))
                for row in pair:
                    print(f"{dataset:<9} seed {seed} {row.way:<20} best {row.best_val_acc:.3f}"
                          + (f" (coarse alone {row.coarse_best:.3f})" if row.coarse_best is not None else "")
                          + f" {row.epochs} epochs {row.seconds:.1f}s", flush=True)
                rows += pair
    print()
    print(table(rows))
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))


if __name__ == "__main__":
    main()
