"""A process's one-time costs, paid once per search before any trial's clock starts.

The first forward, backward, fused step and evaluation on a device load kernels and allocators
(on CUDA, the context: the larger part); without a warm-up that lands in trial 0's ``seconds`` and
skews ``compare --sort seconds``. (It once held the first optimizer's ``torch._dynamo`` import,
1-2 s, 6.3 s against 0.4 s for trial 0's neighbours in one quickstart; ``training/optimizers.py``
no longer imports it: on CPU the first trial now pays about 5 ms more than the next.) Executors call
``warm_up`` once per process, after the data is on the device and before they take work.
"""

from __future__ import annotations

import time

import torch

from hpsearch.space.hyperparams import OPTIMIZERS, resolve
from hpsearch.space.sampler import Trial
from hpsearch.training.fused import masks
from hpsearch.training.segments import Segment
from hpsearch.training.trainer import DeviceData, run_segment

EXAMPLES = 64  # enough for two batches and an evaluation; the cost is the first call, not the size
WARM_UP_ID = -1  # not a trial of the search: nothing it does is recorded


def warm_up(data: DeviceData) -> float:
    """Train a tiny model on a slice of ``data`` for one epoch with each optimizer (batch norm on, so
    its kernels load too) and evaluate it; returns the seconds it took. Nothing is written and the
    caller's RNG is untouched (``run_segment`` forks it). A failure here is ignored: the trial that
    meets the same problem reports it."""
    began = time.perf_counter()
    n = min(EXAMPLES, len(data.y_train), len(data.y_val))
    flat = (data.input_dim,)  # the MLP warms up flat, also when your own model takes shaped examples
    small = DeviceData(data.x_train[:n].reshape(n, -1), data.y_train[:n], data.x_val[:n].reshape(n, -1), data.y_val[:n],
                       torch.arange(n, device=data.x_train.device), flat, data.num_classes)
    for optimizer in OPTIMIZERS:
        h = resolve({"optimizer": optimizer, "hidden_units": 8, "layers": 1, "batchnorm": True,
                     "batch_size": max(2, n // 2)})
        for _ in run_segment(Segment(Trial(WARM_UP_ID, 0, {}, h), until=1), small):
            pass
    if data.x_train.device.type == "cpu":
        masks.exact()  # fused dropout's one-time check of its mask draws (about 20 ms), outside any trial's clock
    return time.perf_counter() - began
