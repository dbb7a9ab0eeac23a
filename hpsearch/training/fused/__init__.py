"""Many trials in one model: compatible trials (``compat.fusion_key``) train as one batched MLP.

``run_segments(segments, data)`` is what a worker calls with the group an executor gave it: one
segment trains alone (``run_segment``), several train fused, with the same events per trial.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from hpsearch.training.fused.compat import bucket_width, describe_fusion, fusion_key
from hpsearch.training.fused.trainer import FusedGroup
from hpsearch.training.segments import Event, Segment, SegmentEnded
from hpsearch.training.trainer import DeviceData, run_segment


def run_segments(segments: list[Segment], data: DeviceData, fused: bool | None = None) -> Iterator[Event]:
    """Train ``segments`` (of trials with equal ``fusion_key``) on ``data``: each trial's
    ``EpochEnded`` events and exactly one ``SegmentEnded`` per segment, as ``run_segment`` gives.

    ``fused`` (default: more than one segment) trains them as one batched model, even a group of
    one: with ``fuse`` on, a trial then goes through the same float operations whichever trials
    share its group, alone included, so its results do not depend on the grouping (on CPU).

    Out of memory (on a GPU, or a failed allocation on CPU), the group splits in two and each half
    starts again from its segments' starts (the epochs already sent are sent again, identical on
    CPU; the bookkeeper keeps the first); a single trial out of memory fails like an unfused one.
    Any other error in the fused code trains the unfinished trials alone, so a trial's own error
    is reported as its own.
    """
    if len(segments) == 1 and _exact_alone(segments[0], data):
        fused = False  # bit for bit the same either way, and the unfused step is cheaper for one trial
    if not (len(segments) > 1 if fused is None else fused):
        for segment in segments:
            yield from run_segment(segment, data)
        return
    ended: set[int] = set()
    try:
        for event in FusedGroup(segments, data).train():
            if isinstance(event, SegmentEnded):
                ended.add(event.trial_id)
            yield event
    except Exception as exc:
        remaining = [s for s in segments if s.trial.id not in ended]
        if _out_of_memory(exc):
            if data.x_train.device.type == "cuda":
                torch.cuda.empty_cache()
            half = (len(remaining) + 1) // 2
            for part in (remaining[:half], remaining[half:]):
                if part:
                    yield from run_segments(part, data, fused=len(part) > 1)
            return
        for segment in remaining:
            yield from run_segment(segment, data)


def _exact_alone(segment: Segment, data: DeviceData) -> bool:
    """Trials whose fused training is bit for bit their unfused training (tests/training/test_fused.py):
    SGD without batch norm, on CPU."""
    h = segment.trial.hyperparameters
    return data.x_train.device.type == "cpu" and h["optimizer"] == "sgd" and not (h["batchnorm"] and h["layers"])


def _out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, torch.OutOfMemoryError) or (isinstance(exc, RuntimeError) and (
        "out of memory" in str(exc) or "can't allocate memory" in str(exc)))


__all__ = ["FusedGroup", "bucket_width", "describe_fusion", "fusion_key", "run_segments"]
