"""Where a fused group's time goes: the training of one search's groups, fused and one at a time.

Samples the trials of a ``benchmarks/fused.py`` setting, groups them as an executor with ``fuse:
T`` would (``take_group``), and times (process CPU time, one torch thread) training every group
fused against every trial alone, without the search's files. ``--cprofile`` prints the functions
that took longest in the fused run; ``--torch-profile`` the operators (torch.profiler).

    PYTHONPATH=. python benchmarks/profile_fused.py --setting a --trials 32
    PYTHONPATH=. python benchmarks/profile_fused.py --setting c --trials 32 --cprofile 25
    PYTHONPATH=. python benchmarks/profile_fused.py --setting a --trials 32 --hidden-units 64 --no-dropout
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fused import SETTINGS

from hpsearch.data import prepare_data
from hpsearch.search.executors.grouping import take_group
from hpsearch.space.config import parse_config
from hpsearch.space.sampler import sample_trials
from hpsearch.training.fused import run_segments
from hpsearch.training.segments import Segment
from hpsearch.training.trainer import DeviceData, run_segment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setting", choices=sorted(SETTINGS), default="a")
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--mnist-root", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--mnist-subset", type=int, default=6000)
    parser.add_argument("--cprofile", type=int, default=0, help="print this many functions of the fused run")
    parser.add_argument("--torch-profile", type=int, default=0, help="print this many operators of the fused run")
    parser.add_argument("--skip-alone", action="store_true", help="time the fused run only")
    parser.add_argument("--hidden-units", type=int, help="fix hidden_units (every trial in one group) instead of searching it")
    parser.add_argument("--no-dropout", action="store_true", help="leave dropout out of the space")
    parser.add_argument("--ceiling", action="store_true", help="the speed-up fusion could reach at most here: the "
                        "trials alone against the fused run's matrix products and dropout draws only (torch.profiler)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    raw = {"name": "profile", "seed": 0, "trials": args.trials, "epochs": args.epochs, "device": "cpu", **SETTINGS[args.setting]}
    if args.hidden_units:  # one width: every trial in one group, where fusing gains most
        raw["space"] = {k: v for k, v in raw["space"].items() if k != "hidden_units"}
        raw["fixed"] = {**raw["fixed"], "hidden_units": args.hidden_units}
    if args.no_dropout:
        raw["space"] = {k: v for k, v in raw["space"].items() if k != "dropout"}
    if args.setting == "c":
        raw["data"] = {**raw["data"], "root": str(args.mnist_root), "download": False, "subset": args.mnist_subset}
    config = parse_config(raw)
    data = DeviceData.from_dataset(prepare_data(config), torch.device("cpu"))
    queue = deque(Segment(t, args.epochs) for t in sample_trials(config))
    for _ in run_segment(Segment(queue[0].trial, 1), data):  # warm up: the first kernels
        pass
    groups = []
    while queue:
        groups.append(take_group(queue, args.trials))
    print(f"setting {args.setting}: {args.trials} trials in groups of {[len(g) for g in groups]}")

    def fused() -> None:
        for group in groups:
            for _ in run_segments(group, data, fused=True):
                pass

    def alone() -> None:
        for group in groups:
            for segment in group:
                for _ in run_segment(segment, data):
                    pass

    seconds = {}
    for name, run in (("fused", fused), *(() if args.skip_alone else (("alone", alone),))):
        began = time.process_time()
        run()
        seconds[name] = time.process_time() - began
        print(f"{name:>6}: {seconds[name]:6.2f} s CPU")
    if args.ceiling and "alone" in seconds:
        print_ceiling(fused, seconds["alone"])
    if args.cprofile:
        profile = cProfile.Profile()
        profile.runcall(fused)
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.cprofile)
    if args.torch_profile:
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            fused()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.torch_profile))


# what no fused implementation can skip: the batched matrix products (the same FLOPs as the trials
# alone, plus the padding) and the dropout masks' Mersenne Twister draws (each trial's own, as alone)
IRREDUCIBLE = ("aten::bmm", "aten::baddbmm", "aten::mm", "aten::addmm", "aten::random_", "aten::bernoulli_")
# and the element-wise passes a step makes over its activations, logits and parameters, also each once
# at the least: activations and their gradients, dropout's products and masks, the loss, the optimizer
ELEMENTWISE = ("aten::clamp_min", "aten::relu", "aten::threshold_backward", "aten::sigmoid", "aten::sigmoid_backward",
               "aten::tanh", "aten::tanh_backward", "aten::gelu", "aten::gelu_backward", "aten::native_batch_norm",
               "aten::native_batch_norm_backward", "aten::mul",
               "aten::bitwise_and_", "aten::lt", "aten::_log_softmax", "aten::_log_softmax_backward_data",
               "aten::nll_loss_forward", "aten::nll_loss_backward", "aten::addcmul_", "aten::mul_", "aten::add_",
               "aten::lerp_", "aten::_fused_adam_", "aten::_fused_adamw_")


def print_ceiling(fused: Callable[[], None], alone_seconds: float) -> None:
    """The fused run's time in its irreducible operators, and the speed-up over training the
    trials alone it would give if everything else (element-wise ops, autograd, Python) cost nothing;
    then the same with the element-wise passes counted too (if only autograd and Python were free)."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        fused()
    totals = {e.key: e.self_cpu_time_total / 1e6 for e in prof.key_averages()}
    spent = {k: v for k, v in totals.items() if k in IRREDUCIBLE}
    floor = sum(spent.values())
    print("ceiling: " + ", ".join(f"{k.removeprefix('aten::')} {v:.2f} s" for k, v in sorted(spent.items())) +
          f" = {floor:.2f} s; at most {alone_seconds / floor:.2f}x the trials alone (training only, no run folder)")
    elementwise = sum(v for k, v in totals.items() if k in ELEMENTWISE)
    print(f"  with the element-wise passes ({elementwise:.2f} s): {floor + elementwise:.2f} s; at most "
          f"{alone_seconds / (floor + elementwise):.2f}x (only autograd, op dispatch and Python free)")


if __name__ == "__main__":
    main()
