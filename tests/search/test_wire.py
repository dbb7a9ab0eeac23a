"""The worker pipe's pickling: tensors come back equal, with their dtype and shape, as private
copies (not shared-memory segments, which cost ~2 ms a message), and anything a NumPy array cannot
hold still goes through."""

from __future__ import annotations

import multiprocessing as mp

import pytest
import torch

from hpsearch.runs.records import TrialStatus
from hpsearch.search.executors import wire
from hpsearch.training.segments import SegmentEnded

CASES = {
    "float32": torch.randn(4, 3),
    "float64": torch.randn(5, dtype=torch.float64),
    "int64 step": torch.tensor(7),
    "uint8 rng state": torch.get_rng_state(),
    "bool": torch.tensor([True, False]),
    "non-contiguous": torch.randn(3, 4).t(),
    "empty": torch.zeros(0, 5),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_tensor_comes_back_equal_and_private(name: str) -> None:
    tensor = CASES[name]
    back = wire.loads(wire.dumps(tensor))
    assert back.dtype == tensor.dtype and back.shape == tensor.shape
    assert torch.equal(back, tensor)
    assert not back.is_shared()


@pytest.mark.parametrize("tensor", [torch.randn(wire.SMALL_BYTES // 4 + 1), torch.randn(3).to(torch.bfloat16)],
                         ids=["over SMALL_BYTES", "bfloat16 (no NumPy dtype)"])
def test_a_large_tensor_or_one_numpy_cannot_hold_goes_by_shared_memory(tensor: torch.Tensor) -> None:
    back = wire.loads(wire.dumps(tensor))
    assert back.is_shared() and back.dtype == tensor.dtype and torch.equal(back, tensor)


@pytest.mark.filterwarnings("ignore:Sparse invariant checks")  # torch's own, from its shared-memory reduction
def test_a_sparse_tensor_goes_as_pickle_sends_it() -> None:
    sparse = torch.eye(3).to_sparse()
    assert torch.equal(wire.loads(wire.dumps(sparse)).to_dense(), torch.eye(3))


def test_a_tensor_that_requires_grad_keeps_it() -> None:
    weight = torch.nn.Parameter(torch.randn(2, 2))
    back = wire.loads(wire.dumps(weight))
    assert back.requires_grad and torch.equal(back.detach(), weight.detach())


def test_an_event_crosses_a_real_pipe_intact() -> None:
    weights = {"0.weight": torch.randn(8, 4), "0.bias": torch.randn(8)}
    event = SegmentEnded(3, TrialStatus.COMPLETED, 1.5, 40, best_weights=weights)
    sender, receiver = mp.Pipe()
    sender.send_bytes(wire.dumps(event))
    back = wire.loads(receiver.recv_bytes())
    assert (back.trial_id, back.status, back.seconds, back.num_parameters) == (3, TrialStatus.COMPLETED, 1.5, 40)
    assert back.best_weights.keys() == weights.keys()
    assert all(torch.equal(back.best_weights[k], weights[k]) for k in weights)
