"""A fused group's dropout multipliers on CPU, drawn a run of steps at a time instead of per step.

Trial k's masks come from its own generator in the order its unfused training draws them (step by
step, hidden layer by hidden layer, each a ``[batch, width_k]`` block, row-major), and nothing else
draws from that generator during an epoch, so its draws for the next several steps are one
contiguous run of the same stream: one ``masks.keep_mask`` call gives them all, bit for bit the
masks of step-by-step drawing (``masks.exact`` checks that too). Per step that leaves one view
per hidden layer instead of five tensor ops per trial and layer, the larger part of a small group
step's overhead. A run holds as many steps as fit in ``BUFFER_ELEMENTS`` multipliers (at least one).
"""

from __future__ import annotations

from collections import deque

import torch

from hpsearch.training.fused import masks

BUFFER_ELEMENTS = 4_000_000  # multipliers held at once (16 MB in float32): a few steps of a big group


class ChunkedDropout:
    """One epoch's multipliers ``[N, batch, padded]``, per step (``batches``: the epoch's batch sizes)
    and hidden layer, for a group whose trial k has dropout ``dropouts[k]`` on its first
    ``widths[k]`` units, drawn from ``generators[k]``. ``FusedMLP.forward`` calls it as its ``noise``."""

    def __init__(self, generators: list[torch.Generator], dropouts: list[float], widths: list[int], padded: int,
                 layers: int, dtype: torch.dtype, batches: list[int]) -> None:
        self.generators, self.dropouts, self.widths = generators, dropouts, widths
        self.padded, self.layers, self.dtype = padded, layers, dtype
        keep = torch.tensor([1 - p for p in dropouts], dtype=dtype)
        self.scale = (1 / keep).view(-1, 1, 1)  # nn.Dropout divides its 0/1 mask by 1 - p: 1 * (1 / keep) is that quotient
        self.batches = deque(batches)  # batch sizes of this epoch's steps not yet begun (masks drawn for exactly these)
        self.chunk = torch.empty(0)  # [N, rows, padded]: the drawn steps' (step, layer, row) rows
        self.offsets: deque[int] = deque()  # per drawn step not yet begun: its first row in the chunk
        self.current: list[torch.Tensor] = []  # this step's multipliers, per hidden layer

    def advance(self) -> None:
        """Begin the next step: its multipliers become what ``self(layer, x)`` returns."""
        if not self.offsets:
            self.current, self.chunk = [], torch.empty(0)  # the spent run goes before the next is drawn
            self._draw()
        begin, batch = self.offsets.popleft(), self.batches.popleft()
        self.current = [self.chunk[:, begin + layer * batch : begin + (layer + 1) * batch] for layer in range(self.layers)]

    def __call__(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        """The current step's multipliers for hidden layer ``layer`` (``x``: its activations, ``[N, batch, padded]``)."""
        return self.current[layer]

    def _draw(self) -> None:
        """Draw the masks of the next steps (at least one) that fit in ``BUFFER_ELEMENTS``."""
        row_elements = len(self.widths) * self.padded
        rows = 0
        for batch in self.batches:
            if self.offsets and (rows + batch * self.layers) * row_elements > BUFFER_ELEMENTS:
                break
            self.offsets.append(rows)
            rows += batch * self.layers
        keeps = torch.ones(len(self.widths), rows, self.padded, dtype=torch.bool)  # p = 0: multiplier 1
        for k, (p, width) in enumerate(zip(self.dropouts, self.widths, strict=True)):
            if p > 0:  # (padded units are zero whatever they are multiplied by)
                keeps[k, :, :width] = masks.keep_mask((rows, width), 1 - p, self.generators[k])
        self.chunk = keeps.to(self.dtype).mul_(self.scale)
