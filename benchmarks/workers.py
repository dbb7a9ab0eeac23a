"""Do workers pay off, and what does a trial cost outside its epochs?

Two measurements, each a ratio within one run, repeats interleaved so load drifts hit every variant:

1. ``speedup``: the README's 12 trials x 3 epochs MLP search on 12,000 MNIST training examples, with 1
   and with 2 workers (same trials, same results); wall time of the whole ``hpsearch run``, in a fresh
   process each time (so worker start-up, imports and data loading all count, as a user sees them).
2. ``overhead``: 100 one-epoch trials on 200 synthetic examples, 1 and 2 workers; run.json's ``time``
   split (training + evaluation + overhead over workers x wall) gives the overhead per trial.

    PYTHONPATH=. HPSEARCH_CACHE=/tmp/hpsearch-cache python benchmarks/workers.py --mnist-root ../shared/data
    PYTHONPATH=. python benchmarks/workers.py --skip-mnist --repeats 3 --json out.json

``--profile`` adds a cProfile of the one-worker overhead run (top functions by own time).
Timings are only meaningful on a quiet machine: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]


def mnist_config(root: str) -> dict[str, Any]:
    return {"name": "workers-mnist", "seed": 0, "trials": 12, "epochs": 3, "device": "cpu",
            "data": {"dataset": "mnist", "root": root, "subset": 12000},
            "fixed": {"optimizer": "adam", "batch_size": 128},
            "space": {"lr": {"distribution": "log_uniform", "low": 1.0e-4, "high": 1.0e-2},
                      "hidden_units": {"distribution": "int_log_uniform", "low": 64, "high": 256}}}


def small_config() -> dict[str, Any]:
    return {"name": "workers-small", "seed": 0, "trials": 100, "epochs": 1, "device": "cpu",
            "data": {"dataset": "synthetic", "samples": 250},
            "fixed": {"optimizer": "adam", "batch_size": 64},
            "space": {"lr": {"distribution": "log_uniform", "low": 1.0e-3, "high": 1.0e-1},
                      "hidden_units": {"distribution": "int_log_uniform", "low": 16, "high": 64}}}


def run_once(config: dict[str, Any], workers: int, folder: Path) -> dict[str, Any]:
    """``hpsearch run`` in a fresh process; returns its wall time and run.json's time split."""
    path = folder / f"{config['name']}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    run_dir = folder / f"run-{config['name']}-{workers}-{time.monotonic_ns()}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hpsearch", "run", str(path), "--workers", str(workers), "--run-dir",
                    str(run_dir), "-q"], env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - began
    info = json.loads((run_dir / "run.json").read_text())
    return {"process_wall": wall, **info["time"]}


def measure(config: dict[str, Any], repeats: int, folder: Path) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    for _ in range(repeats):
        for workers in (1, 2):
            out[workers].append(run_once(config, workers, folder))
    return out


def profile_overhead(folder: Path) -> str:
    """cProfile of the one-worker overhead search, in this process (top 20 by own time)."""
    import cProfile
    import io
    import pstats

    from hpsearch.search.run import run_search
    from hpsearch.space.config import parse_config

    profiler = cProfile.Profile()
    profiler.enable()
    run_search(parse_config(small_config()), folder / "profiled")
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(20)
    return text.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist-root", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--skip-mnist", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true", help="only the 12 x 3 MNIST search")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report: dict[str, Any] = {"load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if not args.skip_mnist:
            runs = measure(mnist_config(args.mnist_root), args.repeats, folder)
            one, two = (statistics.median(r["process_wall"] for r in runs[w]) for w in (1, 2))
            report["speedup"] = {"one_worker_s": one, "two_workers_s": two, "ratio": one / two, "runs": runs}
            print(f"12 x 3 MNIST search: 1 worker {one:.1f}s, 2 workers {two:.1f}s (median of {args.repeats}): "
                  f"2 workers {one / two:.2f}x as fast")
        if not args.skip_overhead:
            runs = measure(small_config(), args.repeats, folder)
            per_trial = {w: statistics.median(r["overhead_per_trial_ms"] for r in runs[w]) for w in (1, 2)}
            report["overhead"] = {"per_trial_ms": per_trial, "runs": runs}
            print(f"100 one-epoch trials: overhead {per_trial[1]:.1f} ms a trial with 1 worker, "
                  f"{per_trial[2]:.1f} ms with 2 (median of {args.repeats}; run.json time split)")
        if args.profile:
            report["profile"] = profile_overhead(folder)
            print(report["profile"])
    report["load_after"] = os.getloadavg()
    print(f"load average before {report['load_before'][0]:.2f}, after {report['load_after'][0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
