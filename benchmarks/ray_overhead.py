"""What Ray costs per trial, and what a second node buys, on a real (local) Ray cluster.

1. Per-trial overhead: N short trials, one at a time, in this process, on one worker process, and on
   a Ray actor; overhead = (wall time minus the trials' own training seconds) / N, timed from the
   first trial's end to the last one's (starting workers and actors is a per-search cost). Ray Tune's figure to beat is about 0.23 s a trial
   (ray-project/ray#11004: 100 trivial trials in 22.7 s).
2. Throughput: trials of a few seconds each on a cluster with one one-CPU worker node, then with two
   (``ray.cluster_utils.Cluster`` on this machine: the head holds no CPU, so trials train only on the
   worker nodes), as trials per hour and their ratio.

    PYTHONPATH=. python benchmarks/ray_overhead.py                  # about 3 minutes on 2 cores
    PYTHONPATH=. python benchmarks/ray_overhead.py --trials 100 --json out.json

Figures from one run on one machine: compare the ratios, not the seconds, across machines.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from hpsearch.search.executors import Execution, ProcessExecutor
from hpsearch.search.run import SearchObserver, run_search
from hpsearch.space.config import parse_config

RAY_TUNE_S = 0.23  # per trial, ray-project/ray#11004


def config(name: str, trials: int, epochs: int, samples: int, **extra: Any) -> dict[str, Any]:
    return {"name": name, "seed": 0, "trials": trials, "epochs": epochs, "device": "cpu",
            "data": {"dataset": "synthetic", "samples": samples}, "fixed": {"optimizer": "adam", "batch_size": 64},
            "space": {"lr": {"distribution": "log_uniform", "low": 1.0e-3, "high": 1.0e-2},
                      "hidden_units": {"distribution": "int_log_uniform", "low": 16, "high": 64}}, **extra}


class Clock(SearchObserver):
    """When each trial ended and how long it trained. Timing starts at the first trial's end, so that
    starting workers or actors (a per-search cost, paid while the first trial waits) is left out."""

    def __init__(self) -> None:
        self.ends: list[tuple[float, float]] = []  # (time it ended, its training seconds)

    def trial_finished(self, trial: Any, result: Any) -> None:
        self.ends.append((time.perf_counter(), result.seconds))


def timed(raw: dict[str, Any], executor: Any = None) -> dict[str, float]:
    clock = Clock()
    with tempfile.TemporaryDirectory() as folder:
        result = run_search(parse_config(raw), Path(folder) / "run", clock, executor=executor)
    assert result.status == "completed", result.status
    counted = clock.ends[1:]  # the trials after the first one
    wall = counted[-1][0] - clock.ends[0][0]
    training = sum(seconds for _, seconds in counted)
    slots = raw.get("workers") or 1
    return {"trials": len(counted), "wall_s": wall, "training_s": training,
            "overhead_per_trial_s": (wall - training / slots) / len(counted),
            "trials_per_hour": 3600 * len(counted) / wall}


def one_worker_process(execution: Execution) -> ProcessExecutor:
    """A single spawned worker process (``workers: 1`` would train in this process)."""
    execution.workers = 1
    return ProcessExecutor(execution)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=40, help="short trials for the overhead [40]")
    parser.add_argument("--long-trials", type=int, default=9, help="trials of a few seconds for the throughput [9]")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    from ray.cluster_utils import Cluster

    short = config("short", args.trials, 1, 200, workers=1)
    long = config("long", args.long_trials, 4, 12000)
    figures: dict[str, Any] = {"in_process": timed(short), "worker_process": timed(short, one_worker_process)}
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        figures["ray"] = timed({**short, "ray": cluster.address})
        figures["ray_1_node"] = timed({**long, "ray": cluster.address})
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        figures["ray_2_nodes"] = timed({**long, "ray": cluster.address})
    finally:
        cluster.shutdown()  # only the processes this benchmark started
    report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


def report(figures: dict[str, Any]) -> None:
    ray = figures["ray"]["overhead_per_trial_s"]
    print(f"per-trial overhead over {figures['ray']['trials']} trials of 1 epoch, one at a time (wall - training) / N:")
    for name in ("in_process", "worker_process", "ray"):
        print(f"  {name:<15} {figures[name]['overhead_per_trial_s'] * 1000:7.1f} ms")
    print(f"  Ray / worker process: {ray / max(figures['worker_process']['overhead_per_trial_s'], 1e-9):.2f}x; "
          f"Ray Tune's {RAY_TUNE_S * 1000:.0f} ms / ours: {RAY_TUNE_S / max(ray, 1e-9):.1f}x")
    one, two = figures["ray_1_node"], figures["ray_2_nodes"]
    print(f"throughput, {one['trials']} trials (after the first) of {one['training_s'] / one['trials']:.1f} s on Ray: "
          f"1 node {one['trials_per_hour']:.0f}/h, 2 nodes {two['trials_per_hour']:.0f}/h "
          f"({two['trials_per_hour'] / one['trials_per_hour']:.2f}x)")


if __name__ == "__main__":
    main()
