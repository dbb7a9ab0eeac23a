"""The trainer's fast path keeps its promises: same trial and seed, same metrics; evaluation timed
as part of the epoch; train accuracy measured on a sample sized to the validation set."""

from __future__ import annotations

import torch

from hpsearch.data import load_data
from hpsearch.space.config import DataConfig
from hpsearch.space.hyperparams import resolve
from hpsearch.space.sampler import Trial
from hpsearch.training.optimizers import make_optimizer
from hpsearch.training.trainer import TRAIN_EVAL_MIN, DeviceData, train_trial


def small_data(samples: int = 600) -> DeviceData:
    return DeviceData.from_dataset(load_data(DataConfig(samples=samples)), torch.device("cpu"))


def trial(**params) -> Trial:
    return Trial(0, 123, params, resolve({"batch_size": 32, "hidden_units": 16, **params}))


def metrics_of(result) -> list[tuple]:
    return [(m.train_loss, m.train_acc, m.val_loss, m.val_acc) for m in result.epochs]


def test_same_trial_same_seed_same_metrics_on_cpu():
    data = small_data()
    for params in ({"optimizer": "adam", "batchnorm": True}, {"optimizer": "sgd", "lr": 0.05}, {"optimizer": "adamw"}):
        first, second = train_trial(trial(**params), data, 2), train_trial(trial(**params), data, 2)
        assert first.status == "completed"
        assert metrics_of(first) == metrics_of(second)


def test_eval_seconds_is_part_of_each_epoch():
    result = train_trial(trial(), small_data(), 2)
    assert all(0 < m.eval_seconds <= m.seconds for m in result.epochs)
    assert "eval_seconds" in result.epochs[0].to_dict()


def test_train_accuracy_sample_follows_validation_size():
    data = small_data(3000)  # 2400 train, 600 validation: the sample takes the 2000 minimum
    assert len(data.y_train_eval) == TRAIN_EVAL_MIN
    assert torch.equal(data.x_train_eval, data.x_train[data.train_eval_idx])
    tiny = small_data(600)  # 480 train: the whole training split
    assert len(tiny.y_train_eval) == len(tiny.y_train)


def test_optimizers_use_fused_kernels_where_available():
    params = [torch.nn.Parameter(torch.zeros(3))]
    for name in ("sgd", "adam", "adamw"):
        optimizer = make_optimizer(params, resolve({"optimizer": name}))
        assert optimizer.defaults.get("fused") or optimizer.defaults.get("foreach")
