"""atomic.save_atomic: torch.save into a file all at once, or not at all."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import pytest
import torch

from hpsearch.atomic import save_atomic


def test_save_atomic_writes_what_torch_loads(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "model.pt"
    save_atomic({"w": torch.arange(3)}, path, torch.save)
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.arange(3))
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    save_atomic({"w": torch.ones(2)}, path, torch.save)

    def half_then_fail(obj: Any, handle: IO[bytes]) -> None:
        handle.write(b"half a file")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        save_atomic({"w": torch.zeros(2)}, path, half_then_fail)
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]
