"""The warm-up changes nothing a trial computes (tests/stories/test_warmup_imports.py: what it is for)."""

from __future__ import annotations

import torch

from hpsearch.data.synthetic import load_synthetic
from hpsearch.space.config import DataConfig
from hpsearch.space.hyperparams import resolve
from hpsearch.space.sampler import Trial
from hpsearch.training.trainer import DeviceData, train_trial
from hpsearch.training.warmup import warm_up


def test_warm_up_leaves_the_rng_and_the_trials_unchanged():
    data = DeviceData.from_dataset(load_synthetic(DataConfig(samples=200)), torch.device("cpu"))
    trial = Trial(0, 7, {}, resolve({"optimizer": "adam", "hidden_units": 16}))
    before = train_trial(trial, data, 2)
    state = torch.get_rng_state()
    assert warm_up(data) >= 0
    assert torch.equal(state, torch.get_rng_state())
    after = train_trial(trial, data, 2)
    assert [e.val_acc for e in after.epochs] == [e.val_acc for e in before.epochs]
    assert [e.train_loss for e in after.epochs] == [e.train_loss for e in before.epochs]
