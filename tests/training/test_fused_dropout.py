"""A fused group's dropout masks drawn several steps at a time are, bit for bit, the masks each trial
draws step by step when it trains alone (nn.Dropout's bernoulli_ on its own stream), whatever the
run length: exact trials can leave or join a group at any epoch."""

from __future__ import annotations

import pytest
import torch

from hpsearch.training.fused import dropout, masks
from hpsearch.training.fused.dropout import ChunkedDropout

WIDTHS, PADDED, LAYERS = [5, 8, 3], 8, 2
DROPOUTS = [0.3, 0.0, 0.5]
BATCHES = [4, 4, 4, 3]  # a short last batch


def step_by_step(seeds: list[int]) -> tuple[list[list[torch.Tensor]], list[torch.Generator]]:
    """What nn.Dropout draws for each trial alone, placed as the group's ``[N, batch, padded]``
    multipliers, and the trials' streams afterwards."""
    generators = [torch.Generator().manual_seed(s) for s in seeds]
    steps = []
    for batch in BATCHES:
        layers = []
        for _ in range(LAYERS):
            noise = torch.zeros(len(WIDTHS), batch, PADDED)
            for k, (p, width) in enumerate(zip(DROPOUTS, WIDTHS, strict=True)):
                if p == 0:
                    noise[k] = 1
                    continue
                noise[k, :, :width] = torch.empty(batch, width).bernoulli_(1 - p, generator=generators[k]).div_(1 - p)
            layers.append(noise)
        steps.append(layers)
    return steps, generators


@pytest.mark.parametrize("buffer", [1, 400, 10_000])  # one step per draw, two, the whole epoch at once
def test_masks_drawn_ahead_are_the_step_by_step_masks(monkeypatch, buffer):
    assert masks.exact()
    monkeypatch.setattr(dropout, "BUFFER_ELEMENTS", buffer)
    seeds = [11, 12, 13]
    expected, streams_after = step_by_step(seeds)
    generators = [torch.Generator().manual_seed(s) for s in seeds]
    drawn = ChunkedDropout(generators, DROPOUTS, WIDTHS, PADDED, LAYERS, torch.float32, BATCHES)
    x = torch.zeros(1)
    for step, batch in enumerate(BATCHES):
        drawn.advance()
        for layer in range(LAYERS):
            got = drawn(layer, x)
            assert got.shape == (len(WIDTHS), batch, PADDED)
            for k, width in enumerate(WIDTHS):  # padded units multiply zeros: only the true width counts
                assert torch.equal(got[k, :, :width], expected[step][layer][k, :, :width]), (step, layer, k)
    assert all(torch.equal(a.get_state(), b.get_state()) for a, b in zip(generators, streams_after, strict=True))
