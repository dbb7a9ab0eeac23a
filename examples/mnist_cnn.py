"""A small CNN for 28x28 images (MNIST, Fashion-MNIST, KMNIST): hpsearch searches its parameters.

``configs/mnist_cnn.yaml`` names it as ``model: "../examples/mnist_cnn.py:build"``. hpsearch calls
``build(input_shape, num_classes, **params)`` once per trial, under the trial's seed; ``channels``
and ``dropout`` below are hyperparameters the config fixes or searches like ``lr``.
"""

from __future__ import annotations

from torch import nn


def build(input_shape: tuple[int, ...], num_classes: int, channels: int = 16, dropout: float = 0.25,
          hidden: int = 128, batchnorm: bool = True) -> nn.Module:
    """Two 3x3 conv blocks (``channels``, then twice as many; each BatchNorm2d when ``batchnorm``,
    ReLU and 2x2 max-pool), then a hidden Linear layer with dropout before and after, then the
    class logits.

    ``input_shape`` is one example's shape, channels first: (1, 28, 28) for MNIST.
    """
    in_channels, height, width = input_shape

    def block(c_in: int, c_out: int) -> list[nn.Module]:
        norm = [nn.BatchNorm2d(c_out)] if batchnorm else []
        return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=not batchnorm), *norm, nn.ReLU(), nn.MaxPool2d(2)]

    flat = 2 * channels * (height // 4) * (width // 4)
    return nn.Sequential(
        *block(in_channels, channels), *block(channels, 2 * channels),
        nn.Flatten(), nn.Dropout(dropout),
        nn.Linear(flat, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, num_classes),
    )
