"""Trials per hour with ``fuse`` against one trial at a time, and how close each trial ends.

For each setting the same search (same seed, same trials) runs in this process unfused (``fuse:
1``) and fused (``fuse: T``, every trial at once), ``--repeats`` times each, interleaved (this
machine's speed drifts by 20-60% within minutes; every repeat must give the same accuracies),
after a one-trial search that warms up what only the first search in a process pays (the data's
first load, the first kernels), and the script reports trials per hour (median wall time of the
whole ``run_search``, data loading and run folder included), their ratio, the
ratio of process CPU time (the fair figure on a machine shared with other jobs: one torch thread), and
per trial the difference of the final validation accuracy (last epoch) between the two runs.

    PYTHONPATH=. python benchmarks/fused.py                        # CPU, settings a, b, c (a few minutes)
    PYTHONPATH=. python benchmarks/fused.py --settings a --trials 32 64
    PYTHONPATH=. python benchmarks/fused.py --device cuda --trials 64 128 --settings a b c

Settings: (a) synthetic data, lr, momentum, lr_decay, dropout and hidden_units 32-256 searched,
batch size 64 and 2 layers fixed; (b) the same with batch size (32, 64, 128) and layers (1-3)
searched too; (c) MNIST (``--mnist-root``, a stratified ``--mnist-subset``) with hidden_units
32-256. MNIST's decoded tensors are cached under $HPSEARCH_CACHE when the data folder is read-only.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from hpsearch.search.run import run_search
from hpsearch.space.config import parse_config

SGD_SPACE: dict[str, Any] = {
    "lr": {"distribution": "log_uniform", "low": 1.0e-3, "high": 0.3},
    "momentum": {"distribution": "one_minus_log_uniform", "low": 0.5, "high": 0.99},
    "lr_decay": {"distribution": "log_uniform", "low": 1.0e-3, "high": 1.0},
    "dropout": {"distribution": "uniform", "low": 0.0, "high": 0.5},
    "hidden_units": {"distribution": "int_log_uniform", "low": 32, "high": 256},
}
SETTINGS: dict[str, dict[str, Any]] = {
    "a": {"data": {"dataset": "synthetic"}, "fixed": {"optimizer": "sgd", "batch_size": 64, "layers": 2}, "space": SGD_SPACE},
    "b": {"data": {"dataset": "synthetic"}, "fixed": {"optimizer": "sgd"},
          "space": {**SGD_SPACE, "batch_size": {"distribution": "choice", "values": [32, 64, 128]},
                    "layers": {"distribution": "int_uniform", "low": 1, "high": 3}}},
    "c": {"data": {"dataset": "mnist"}, "fixed": {"optimizer": "adam", "batch_size": 128, "layers": 2},
          "space": {"lr": {"distribution": "log_uniform", "low": 1.0e-4, "high": 1.0e-2},
                    "hidden_units": {"distribution": "int_log_uniform", "low": 32, "high": 256}}},
}


def measure(setting: str, trials: int, args: argparse.Namespace) -> dict[str, Any]:
    raw = {"name": f"fused-{setting}", "seed": args.seed, "trials": trials, "epochs": args.epochs, "device": args.device,
           **SETTINGS[setting]}
    if setting == "c":
        raw["data"] = {**raw["data"], "root": str(args.mnist_root), "download": False, "subset": args.mnist_subset}
    row: dict[str, Any] = {"setting": setting, "trials": trials, "epochs": args.epochs, "device": args.device}
    finals: dict[int, dict[int, float]] = {}
    with tempfile.TemporaryDirectory() as folder:  # warm up: the data's first load, the first kernels
        run_search(parse_config({**raw, "trials": 1, "epochs": 1}), Path(folder) / "run")
    seconds: dict[int, list[float]] = {1: [], trials: []}
    cpu: dict[int, list[float]] = {1: [], trials: []}
    for _ in range(args.repeats):  # interleaved, so a slow spell of the machine hits both
        for fuse in (1, trials):
            with tempfile.TemporaryDirectory() as folder:
                began, cpu_began = time.perf_counter(), time.process_time()
                result = run_search(parse_config({**raw, "fuse": fuse}), Path(folder) / "run")
                seconds[fuse].append(time.perf_counter() - began)
                cpu[fuse].append(time.process_time() - cpu_began)
            last = {t.id: (r.epochs[-1].val_acc if r.epochs else float("nan")) for t, r in result.trials}
            if any(a != b and not math.isnan(a) for a, b in zip(finals.setdefault(fuse, last).values(), last.values(), strict=True)):
                raise SystemExit(f"setting {setting}, fuse {fuse}: a repeat gave other accuracies (not deterministic)")
    for fuse in (1, trials):
        row[f"seconds_fuse{'' if fuse == 1 else '_all'}"] = statistics.median(seconds[fuse])
        row[f"cpu_seconds_fuse{'' if fuse == 1 else '_all'}"] = statistics.median(cpu[fuse])
    row["trials_per_hour_unfused"] = trials / row["seconds_fuse"] * 3600
    row["trials_per_hour_fused"] = trials / row["seconds_fuse_all"] * 3600
    row["speedup"] = row["seconds_fuse"] / row["seconds_fuse_all"]
    row["cpu_speedup"] = row["cpu_seconds_fuse"] / row["cpu_seconds_fuse_all"]  # robust to other jobs on the machine
    differences = [finals[trials][i] - finals[1][i] for i in finals[1]]
    row["max_abs_val_acc_difference"] = max(abs(d) for d in differences)
    row["mean_val_acc_difference"] = statistics.fmean(differences)
    row["mean_val_acc_unfused"] = statistics.fmean(finals[1].values())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", nargs="+", choices=sorted(SETTINGS), default=["a", "b", "c"])
    parser.add_argument("--trials", type=int, nargs="+", default=[32, 64], help="trials per search (fused: all at once)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, interleaved; the medians are reported")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--mnist-root", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--mnist-subset", type=int, default=6000, help="training examples of MNIST (c)")
    parser.add_argument("--mnist-trials", type=int, nargs="+", default=[32], help="trials per search in (c)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    rows = []
    header = (f"{'setting':<8}{'trials':>7}{'unfused s':>11}{'fused s':>9}{'trials/h unfused':>18}{'trials/h fused':>16}"
              f"{'speed-up':>10}{'cpu speed-up':>14}{'max |dval|':>12}{'mean dval':>11}")
    print(header, flush=True)
    for setting in args.settings:
        if setting == "c" and not (args.mnist_root / "MNIST" / "raw").is_dir():
            print(f"c       skipped: no MNIST/raw under {args.mnist_root} (--mnist-root)", flush=True)
            continue
        for trials in args.mnist_trials if setting == "c" else args.trials:
            row = measure(setting, trials, args)
            rows.append(row)
            print(f"{setting:<8}{trials:>7}{row['seconds_fuse']:>11.1f}{row['seconds_fuse_all']:>9.1f}"
                  f"{row['trials_per_hour_unfused']:>18.0f}{row['trials_per_hour_fused']:>16.0f}{row['speedup']:>9.2f}x"
                  f"{row['cpu_speedup']:>13.2f}x"
                  f"{row['max_abs_val_acc_difference']:>12.4f}{row['mean_val_acc_difference']:>+11.4f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
