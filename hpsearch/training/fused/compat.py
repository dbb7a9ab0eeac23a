"""Which trials can train fused, as one batched model: the grouping rule, without torch.

Trials fuse when they share everything that fixes the shape of a training step: the optimizer
(one update rule per group), ``layers`` (depth), ``batch_size`` (steps per epoch and batch
shapes), ``batchnorm``, ``activation`` and the **width bucket** of ``hidden_units``. Everything
else is per trial inside a group: lr, momentum, beta1, beta2, eps, weight_decay, lr_decay,
dropout, and the true ``hidden_units`` (padded up to the bucket's width, padded units masked).

The bucket is a function of the trial's own width, never of its group-mates': the padded width a
trial trains at, and so every float operation it goes through, does not depend on which trials
share its group (on CPU its metrics are bit for bit the same in any group, or alone in one).
Buckets are half-octaves (32, 48, 64, 96, 128, 192, 256, ...), so padding at most adds half the
width (on average about 20%); a full octave would put more trials in each group but, for
log-uniform widths, double the hidden-layer work on average.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# the hyperparameters a fused group shares (besides the width bucket), in the order messages name them
SHARED = ("optimizer", "layers", "batch_size", "batchnorm", "activation")
PER_TRIAL = ("lr", "momentum", "beta1", "beta2", "eps", "weight_decay", "lr_decay", "dropout", "hidden_units")

FusionKey = tuple[Any, ...]


def bucket_width(hidden_units: int) -> int:
    """The padded width a trial of ``hidden_units`` trains at: the smallest of 2**k and 1.5 * 2**k
    (k >= 0) at least as large. ``bucket_width(33) == 48``, ``bucket_width(48) == 48``,
    ``bucket_width(200) == 256``; widths 1, 2 and 3 stay as they are."""
    if hidden_units <= 3:
        return hidden_units
    power = 2 ** math.floor(math.log2(hidden_units))
    if power == hidden_units:
        return power
    half_step = power + power // 2
    return half_step if hidden_units <= half_step else 2 * power


def fusion_key(hyperparameters: Mapping[str, Any]) -> FusionKey:
    """Trials with equal keys can train as one batched model (``Trial.hyperparameters``)."""
    h = hyperparameters
    width = bucket_width(int(h["hidden_units"])) if h["layers"] > 0 else 0
    return (*(h[name] for name in SHARED), width)


def describe_fusion(fuse: int, keys: list[FusionKey]) -> str:
    """The run line's word on fusion for a search whose trials have ``keys`` (in trial order):
    how many kinds of trials fuse, or why ``fuse`` changes nothing."""
    if fuse <= 1:
        return ""
    counts: dict[FusionKey, int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    fusing = [n for n in counts.values() if n > 1]
    if not fusing:
        return (f"fuse {fuse}: no two trials can fuse here (trials fuse only when they share "
                f"{', '.join(SHARED)} and the width bucket of hidden_units), so each trains alone")
    fused, kinds = sum(fusing), len(fusing)
    kind = "kind" if kinds == 1 else "kinds"
    if fused == len(keys):
        return f"fuse {fuse} (all {fused} trials fuse, {kinds} {kind})"
    return f"fuse {fuse} ({fused} of {len(keys)} trials fuse, {kinds} {kind}; the other {len(keys) - fused} train alone)"
