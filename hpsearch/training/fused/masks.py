"""Dropout masks on CPU, the very ones ``nn.Dropout`` draws, two to three times faster.

On CPU ``noise.bernoulli_(keep, generator=g)`` (what ``nn.Dropout`` calls) takes, element by
element in row-major order, a 64-bit word from two Mersenne Twister outputs, turns its low 53 bits
into a double ``u`` in [0, 1) and keeps the unit when ``u < keep``: 25-40 ns an element, a third
of a fused step in measured searches. ``int64.random_(generator=g)`` takes the same words in the
same order (their low 63 bits) at about 11 ns an element, and ``u < keep`` is exactly ``low 53 bits
< ceil(keep * 2**53)`` (both sides scaled by a power of two), so the masks, and the generator's
state afterwards, are bit for bit ``bernoulli_``'s, and one long draw is the concatenation of the
shorter ones it replaces. ``exact()`` checks both once against ``bernoulli_`` itself; with a torch
that draws otherwise the trainer keeps ``bernoulli_``, step by step.
"""

from __future__ import annotations

import functools
import math

import torch

_LOW53 = (1 << 53) - 1


def keep_mask(shape: tuple[int, ...], keep: float, generator: torch.Generator) -> torch.Tensor:
    """A bool mask of ``shape``, True with probability ``keep``: what
    ``torch.empty(shape).bernoulli_(keep, generator=generator)`` draws (as 0 and 1), on CPU."""
    bits = torch.empty(shape, dtype=torch.int64).random_(generator=generator)
    return bits.bitwise_and_(_LOW53) < math.ceil(keep * 2.0**53)


@functools.cache
def exact() -> bool:
    """Whether ``keep_mask`` draws what ``bernoulli_`` draws with this torch (checked once)."""
    expected, generator = torch.Generator().manual_seed(12345), torch.Generator().manual_seed(12345)
    cases = (((30, 23), 0.7), ((17,), 0.25), ((64, 9), 1 - 0.3))
    reference = [torch.empty(shape).bernoulli_(keep, generator=expected) for shape, keep in cases]
    drawn = [keep_mask(shape, keep, generator).float() for shape, keep in cases]
    # many steps' masks drawn at once (fused/dropout.py) are the masks of drawing them step by step
    reference.append(torch.cat([torch.empty(64, 300).bernoulli_(0.8, generator=expected) for _ in range(32)]))
    drawn.append(keep_mask((32 * 64, 300), 0.8, generator).float())
    return all(torch.equal(a, b) for a, b in zip(reference, drawn, strict=True)) and torch.equal(
        generator.get_state(), expected.get_state())
