"""Shared fixtures: tiny configs written to tmp_path, so tests run in seconds on 2 cores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from tests.helpers import ASHA_CONFIG, TINY


@pytest.fixture
def write_config(tmp_path: Path):
    """Write a config (dict or raw YAML text) to tmp_path and return its path."""

    def write(content: dict[str, Any] | str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def tiny_config(write_config) -> Path:
    return write_config(TINY)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Every test trains with one torch thread, as trials do (``threads: 1``): at the default thread
    count a 2-core machine runs the trainer tests about 20x slower, and the figures differ by thread count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The stories (whole CLI runs in subprocesses, signals, kills) are slow: ``-m "not slow"`` skips them."""
    stories = Path(__file__).parent / "stories"
    for item in items:
        if stories in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test from its tmp folder (commands that write beside the working folder)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def asha_reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One unbroken ASHA search (tests/helpers.py ASHA_CONFIG), shared by a module's tests."""
    from hpsearch.search.run import run_search
    from hpsearch.space.config import parse_config

    run_dir = tmp_path_factory.mktemp("asha") / "run"
    run_search(parse_config(ASHA_CONFIG), run_dir)
    return run_dir
