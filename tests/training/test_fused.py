"""Fused training equals training alone: same initial weights and batches, per-trial losses and
weights within 1e-9 in float64 (within a stated tolerance in float32), padding that stays zero,
results that do not depend on the group, divergence that stays in its trial, checkpoints that
continue alone."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from hpsearch.data import prepare_data
from hpsearch.runs.records import TrialStatus
from hpsearch.space.config import parse_config
from hpsearch.space.sampler import Trial, sample_trials
from hpsearch.training import fused as fused_package
from hpsearch.training.fused import FusedGroup, bucket_width, fusion_key, run_segments
from hpsearch.training.segments import EpochEnded, Segment, SegmentEnded
from hpsearch.training.trainer import DeviceData, run_segment

# float32: rounding differs from the unfused kernels in a few reductions (a bias gradient summed over
# a padded width, Adam's update order), about one unit in the last place (1e-7 relative) per step;
# training amplifies it (Adam divides by sqrt of second moments that can be tiny). After 3 epochs
# (45 steps) the largest difference measured was 1.1e-4 (AdamW, batch norm, sigmoid): 1e-3 bounds it
# with room, while a wrong batch, mask or hyperparameter moves weights by 1e-2 or more.
FLOAT32_WEIGHTS = 1e-3
FLOAT64_WEIGHTS = 1e-9
METRICS = 1e-6  # evaluation sums losses in float32 in both trainers


def _config(optimizer: str, batchnorm: bool, activation: str, seed: int = 1, trials: int = 5) -> Any:
    space: dict[str, Any] = {
        "lr": {"distribution": "log_uniform", "low": 1e-3, "high": 0.1},
        "hidden_units": {"distribution": "int_log_uniform", "low": 33, "high": 48},  # one width bucket
        "dropout": {"distribution": "choice", "values": [0.0, 0.3]},
        "weight_decay": {"distribution": "choice", "values": [0.0, 0.01]},
        "lr_decay": {"distribution": "uniform", "low": 0.0, "high": 0.5},
    }
    if optimizer == "sgd":
        space["momentum"] = {"distribution": "uniform", "low": 0.5, "high": 0.95}
    else:
        space["beta1"] = {"distribution": "uniform", "low": 0.8, "high": 0.95}
    return parse_config({"name": "t", "seed": seed, "trials": trials, "epochs": 3, "device": "cpu",
                         "data": {"dataset": "synthetic", "samples": 600},
                         "fixed": {"optimizer": optimizer, "batch_size": 32, "batchnorm": batchnorm,
                                   "activation": activation, "layers": 2},
                         "space": space})


def _data(config: Any, dtype: torch.dtype) -> DeviceData:
    d = DeviceData.from_dataset(prepare_data(config), torch.device("cpu"))
    return DeviceData(d.x_train.to(dtype), d.y_train, d.x_val.to(dtype), d.y_val, d.train_eval_idx, d.input_shape, d.num_classes)


def _by_trial(events: Any) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    for event in events:
        out.setdefault(event.trial_id, []).append(event)
    return out


def _strip(event: Any) -> Any:
    if isinstance(event, EpochEnded):
        return {k: v for k, v in event.metrics.to_dict().items() if not k.endswith("seconds")}
    return (event.status, event.num_parameters, event.error)


def _max_difference(a: Any, b: Any) -> float:
    if isinstance(a, torch.Tensor):
        assert a.shape == b.shape and a.dtype == b.dtype
        return (a.double() - b.double()).abs().max().item() if a.numel() else 0.0
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        return max((_max_difference(a[k], b[k]) for k in a), default=0.0)
    assert a == b, (a, b)
    return 0.0


@pytest.mark.parametrize(("dtype", "tolerance"), [(torch.float64, FLOAT64_WEIGHTS), (torch.float32, FLOAT32_WEIGHTS)])
@pytest.mark.parametrize(("optimizer", "batchnorm", "activation"),
                         [("sgd", True, "relu"), ("sgd", False, "sigmoid"), ("adam", False, "tanh"), ("adamw", True, "gelu")])
def test_a_fused_group_trains_each_trial_as_it_trains_alone(dtype: torch.dtype, tolerance: float, optimizer: str,
                                                            batchnorm: bool, activation: str) -> None:
    config = _config(optimizer, batchnorm, activation)
    data = _data(config, dtype)
    segments = [Segment(t, 3, keep_state=True) for t in sample_trials(config)]
    assert len({t.trial.hyperparameters["hidden_units"] for t in segments}) > 1  # different widths, one group
    alone = {s.trial.id: list(run_segment(s, data)) for s in segments}
    fused = _by_trial(run_segments(segments, data))
    for trial_id, events in alone.items():
        together = fused[trial_id]
        assert [type(e) for e in together] == [type(e) for e in events]
        for a, b in zip(events[:-1], together[:-1], strict=True):
            for key, value in _strip(a).items():
                assert _strip(b)[key] == pytest.approx(value, abs=METRICS), (trial_id, key)
        end, fused_end = events[-1], together[-1]
        assert _strip(end) == _strip(fused_end)
        state, fused_state = end.state, fused_end.state
        assert _max_difference(state.model, fused_state.model) <= tolerance
        assert _max_difference(state.optimizer, fused_state.optimizer) <= tolerance  # param_groups exactly
        assert torch.equal(state.generator, fused_state.generator)  # the same batches were drawn
        assert torch.equal(state.torch_rng, fused_state.torch_rng)  # the same dropout masks were drawn
        assert _max_difference(end.best_weights, fused_end.best_weights) <= tolerance


def test_initial_weights_are_each_trials_own_bit_for_bit() -> None:
    config = _config("adam", True, "relu")
    data = _data(config, torch.float32)
    segments = [Segment(t, 0, keep_state=True) for t in sample_trials(config)]
    fused = _by_trial(run_segments(segments, data))
    for segment in segments:
        alone = list(run_segment(segment, data))[-1].state
        assert all(torch.equal(alone.model[k], v) for k, v in fused[segment.trial.id][-1].state.model.items())


def test_padded_weights_stay_zero() -> None:
    config = _config("adamw", False, "sigmoid")  # sigmoid(0) = 0.5: only the mask keeps padding out
    data = _data(config, torch.float32)
    group = FusedGroup([Segment(t, 2) for t in sample_trials(config)], data)
    list(group.train())  # every trial ends: the group is empty, so check on a fresh one after a step
    group = FusedGroup([Segment(t, 3) for t in sample_trials(config)], data)
    events = group.train()
    while not isinstance(next(events), EpochEnded):
        pass
    for slot in group.model.params:
        for k in range(group.model.size):
            padded = slot.tensor[k].detach().clone()
            corner = slot.region(k)
            assert corner.abs().sum() > 0
            if padded.dim() == corner.dim():
                padded[tuple(slice(0, s) for s in corner.shape)] = 0
            else:
                padded[(slice(0, 1), *(slice(0, s) for s in corner.shape))] = 0
            assert torch.count_nonzero(padded) == 0


def test_a_trials_results_do_not_depend_on_its_group() -> None:
    """Bit for bit on CPU: its padded width is its own bucket's, and no batched op mixes trials."""
    config = _config("sgd", True, "relu", trials=6)
    data = _data(config, torch.float32)
    trials = sample_trials(config)
    first = _by_trial(run_segments([Segment(t, 2) for t in trials[:3]], data))
    second = _by_trial(run_segments([Segment(t, 2) for t in [trials[0], *trials[3:]]], data))
    assert [_strip(e) for e in first[trials[0].id]] == [_strip(e) for e in second[trials[0].id]]
    assert all(torch.equal(v, second[trials[0].id][-1].best_weights[k]) for k, v in first[trials[0].id][-1].best_weights.items())


def test_a_diverging_trial_leaves_and_its_group_mates_train_on_unchanged() -> None:
    config = _config("sgd", False, "relu", trials=3)
    data = _data(config, torch.float32)
    trials = sample_trials(config)
    h = {**trials[0].hyperparameters, "lr": 1e6, "momentum": 0.99}
    doomed = Trial(99, trials[0].seed, {}, h)
    with_it = _by_trial(run_segments([Segment(t, 3) for t in [trials[0], doomed, trials[1], trials[2]]], data))
    without = _by_trial(run_segments([Segment(t, 3) for t in trials], data))
    assert with_it[99][-1].status is TrialStatus.DIVERGED and "training loss became" in with_it[99][-1].error
    assert len([e for e in with_it[99] if isinstance(e, EpochEnded)]) < 3
    for t in trials:
        assert [_strip(e) for e in with_it[t.id]] == [_strip(e) for e in without[t.id]]
        assert without[t.id][-1].status is TrialStatus.COMPLETED


def test_a_fused_rung_checkpoint_continues_alone_as_an_unbroken_run() -> None:
    config = _config("adam", True, "relu", trials=3)
    data = _data(config, torch.float64)
    trials = sample_trials(config)
    rung = _by_trial(run_segments([Segment(t, 1, keep_state=True) for t in trials], data))
    for t in trials:
        unbroken = list(run_segment(Segment(t, 3, keep_state=True), data))
        state = rung[t.id][-1].state
        assert state is not None and state.epoch == 1
        continued = list(run_segment(Segment(t, 3, start=state, keep_state=True), data))
        assert _max_difference(unbroken[-1].state.model, continued[-1].state.model) <= FLOAT64_WEIGHTS
        assert [_strip(e)["val_acc"] for e in continued[:-1]] == [_strip(e)["val_acc"] for e in unbroken[1:-1]]


def test_trials_at_different_epochs_fuse() -> None:
    """A promoted trial (from its rung state) and a fresh one train in one group, each to its own end."""
    config = _config("sgd", False, "relu", trials=2)
    data = _data(config, torch.float64)
    a, b = sample_trials(config)
    rung = list(run_segment(Segment(a, 1, keep_state=True), data))[-1].state
    fused = _by_trial(run_segments([Segment(a, 3, start=rung), Segment(b, 1)], data))
    assert [e.metrics.epoch for e in fused[a.id][:-1]] == [2, 3] and [e.metrics.epoch for e in fused[b.id][:-1]] == [1]
    alone = list(run_segment(Segment(a, 3, start=rung, keep_state=True), data))
    assert [_strip(e)["val_acc"] for e in alone[:-1]] == [_strip(e)["val_acc"] for e in fused[a.id][:-1]]


def test_out_of_memory_splits_the_group_and_every_trial_still_trains(monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config("sgd", True, "relu", trials=4)
    data = _data(config, torch.float32)
    segments = [Segment(t, 2) for t in sample_trials(config)]
    expected = _by_trial(run_segments(segments, data))
    real = FusedGroup.__init__

    def small_memory(self: FusedGroup, group: list[Segment], d: DeviceData) -> None:
        if len(group) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        real(self, group, d)

    monkeypatch.setattr(fused_package.FusedGroup, "__init__", small_memory)
    split = _by_trial(run_segments(segments, data))
    assert {k: [_strip(e) for e in v] for k, v in split.items()} == {k: [_strip(e) for e in v] for k, v in expected.items()}
    assert all(isinstance(v[-1], SegmentEnded) and sum(isinstance(e, SegmentEnded) for e in v) == 1 for v in split.values())


def test_buckets_and_keys() -> None:
    assert [bucket_width(w) for w in (1, 3, 4, 5, 32, 33, 48, 49, 64, 200, 256, 257)] == [1, 3, 4, 6, 32, 48, 48, 64, 64, 256, 256, 384]
    h = {"optimizer": "sgd", "layers": 2, "batch_size": 64, "batchnorm": False, "activation": "relu", "hidden_units": 40}
    assert fusion_key(h) == fusion_key({**h, "hidden_units": 48, "lr": 0.5})
    assert fusion_key(h) != fusion_key({**h, "hidden_units": 49})
    assert fusion_key({**h, "layers": 0}) == fusion_key({**h, "layers": 0, "hidden_units": 500})


def test_float32_sgd_without_batch_norm_is_bit_for_bit_the_trial_alone() -> None:
    """Dropout, weight decay, momentum, lr decay and padded widths included (torch's fused SGD kernel
    reproduced with its scalar tail; every matmul is the unfused one per trial)."""
    config = _config("sgd", False, "relu")
    data = _data(config, torch.float32)
    segments = [Segment(t, 3, keep_state=True) for t in sample_trials(config)]
    assert {t.trial.hyperparameters["dropout"] for t in segments} == {0.0, 0.3}
    fused = _by_trial(run_segments(segments, data, fused=True))
    for segment in segments:
        alone = list(run_segment(segment, data))
        assert _max_difference(alone[-1].state.model, fused[segment.trial.id][-1].state.model) == 0
        assert [_strip(e)["val_acc"] for e in alone[:-1]] == [_strip(e)["val_acc"] for e in fused[segment.trial.id][:-1]]
