"""build_mlp: the blocks, the shapes, and no hidden bias under batch norm."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hpsearch import build_mlp
from hpsearch.space.hyperparams import ACTIVATIONS
from hpsearch.training.model import ACTIVATION_LAYERS, count_parameters


@pytest.mark.parametrize("batchnorm", [False, True])
def test_shapes_and_blocks(batchnorm):
    model = build_mlp(20, 3, hidden_units=16, layers=3, batchnorm=batchnorm, activation="tanh", dropout=0.1)
    kinds = [type(m) for m in model]
    block = [nn.Linear, nn.BatchNorm1d, nn.Tanh, nn.Dropout] if batchnorm else [nn.Linear, nn.Tanh, nn.Dropout]
    assert kinds == block * 3 + [nn.Linear]
    assert model(torch.randn(8, 20)).shape == (8, 3)
    hidden = [m for m in model if isinstance(m, nn.Linear)][:-1]
    assert all((m.bias is None) == batchnorm for m in hidden)
    assert model[-1].bias is not None


def test_parameter_count_matches_the_architecture():
    plain = build_mlp(784, 10, hidden_units=256, layers=2)
    assert count_parameters(plain) == 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10
    bn = build_mlp(784, 10, hidden_units=256, layers=2, batchnorm=True)
    assert count_parameters(bn) == 784 * 256 + 2 * 256 + 256 * 256 + 2 * 256 + 256 * 10 + 10


def test_no_dropout_layer_when_dropout_is_zero_and_every_activation_builds():
    for activation in ("relu", "tanh", "sigmoid", "gelu"):
        model = build_mlp(4, 2, hidden_units=8, layers=1, activation=activation)
        assert not any(isinstance(m, nn.Dropout) for m in model)
    with pytest.raises(ValueError, match="activation must be one of relu, tanh, sigmoid, gelu, got 'swish'"):
        build_mlp(4, 2, activation="swish")


def test_every_activation_the_config_accepts_builds_a_layer_and_no_other():
    assert list(ACTIVATION_LAYERS) == list(ACTIVATIONS)
    for name in ACTIVATIONS:
        model = build_mlp(4, 2, hidden_units=3, layers=1, activation=name)
        assert isinstance(model[1], ACTIVATION_LAYERS[name])
