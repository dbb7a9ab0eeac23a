"""What goes through a worker's pipe: segments one way, events the other, pickled with CPU
tensors as plain arrays.

``Connection.send`` pickles with multiprocessing's ``ForkingPickler``, for which torch registers
reductions that move every CPU tensor into a shared-memory segment and pass its file descriptor
over a side channel: the right thing for a dataset, and about 2 ms a message for the few small
tensors of a trial's best weights (measured: 2.25 ms a send and receive of a 40-64-5 MLP's state
dict, 0.11 ms as arrays). That was most of a trial's overhead with worker processes. Here a dense
CPU tensor of up to ``SMALL_BYTES`` with a NumPy dtype pickles as its array (copied; tensors that
shared storage arrive as separate copies) and loads as a tensor again; anything else (a large
tensor, which shared memory still serves best, a CUDA or sparse tensor, bfloat16, a tensor that
requires grad) pickles as ``Connection.send`` pickles it.

>>> import torch
>>> loads(dumps({"w": torch.arange(3.0)}))["w"]
tensor([0., 1., 2.])
"""

from __future__ import annotations

import io
import pickle
from multiprocessing.reduction import ForkingPickler
from typing import Any

import torch

_NUMPY_DTYPES = {torch.float16, torch.float32, torch.float64, torch.int8, torch.int16, torch.int32, torch.int64,
                 torch.uint8, torch.bool}


SMALL_BYTES = 1 << 20  # 1 MiB: a trial's MLP weights are far below; a large model's state still goes by shared memory


class _Pickler(ForkingPickler):
    def reducer_override(self, obj: Any) -> Any:
        if (type(obj) is torch.Tensor and obj.device.type == "cpu" and obj.layout == torch.strided
                and obj.dtype in _NUMPY_DTYPES and not obj.requires_grad and obj.nbytes <= SMALL_BYTES):
            return torch.from_numpy, (obj.detach().contiguous().numpy(),)
        return NotImplemented


def dumps(obj: Any) -> bytes:
    """``obj`` pickled for ``Connection.send_bytes``."""
    buffer = io.BytesIO()
    _Pickler(buffer, pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    """What ``dumps`` pickled (``Connection.recv_bytes``'s bytes)."""
    return pickle.loads(data)
