"""Fused training on a GPU (skipped without one; benchmarks/device_check.sh runs these with `-k cuda`).

On CUDA the dropout masks of a fused trial come from its own generator but are not nn.Dropout's
(its fused kernel draws differently) and matmuls use TF32, so a fused trial ends close to, not
equal to, the same trial trained alone."""

from __future__ import annotations

import pytest
import torch

from hpsearch.data import prepare_data
from hpsearch.runs.records import TrialStatus
from hpsearch.space.config import parse_config
from hpsearch.space.sampler import sample_trials
from hpsearch.training.fused import run_segments
from hpsearch.training.segments import EpochEnded, Segment, SegmentEnded
from hpsearch.training.trainer import DeviceData, run_segment

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; none here")


def test_cuda_fused_group_ends_near_each_trial_alone_and_checkpoints_on_the_cpu() -> None:
    config = parse_config({"name": "cuda", "seed": 4, "trials": 6, "epochs": 3, "device": "cuda",
                           "data": {"dataset": "synthetic", "samples": 1000},
                           "fixed": {"optimizer": "adam", "batch_size": 64, "layers": 2, "batchnorm": True},
                           "space": {"lr": {"distribution": "log_uniform", "low": 1e-3, "high": 1e-2},
                                     "hidden_units": {"distribution": "int_log_uniform", "low": 65, "high": 96}}})
    data = DeviceData.from_dataset(prepare_data(config), torch.device("cuda"))
    segments = [Segment(t, 3, keep_state=True) for t in sample_trials(config)]
    fused: dict[int, list] = {}
    for event in run_segments(segments, data):
        fused.setdefault(event.trial_id, []).append(event)
    for segment in segments:
        alone = list(run_segment(segment, data))
        end = fused[segment.trial.id][-1]
        assert isinstance(end, SegmentEnded) and end.status is TrialStatus.COMPLETED
        assert all(t.device.type == "cpu" for t in end.state.model.values()) and end.state.device_type == "cuda"
        val_fused = [e.metrics.val_acc for e in fused[segment.trial.id] if isinstance(e, EpochEnded)]
        val_alone = [e.metrics.val_acc for e in alone if isinstance(e, EpochEnded)]
        assert val_fused[-1] == pytest.approx(val_alone[-1], abs=0.03)
        continued = list(run_segment(Segment(segment.trial, 4, start=end.state), data))  # a fused checkpoint goes on alone
        assert continued[-1].status is TrialStatus.COMPLETED
