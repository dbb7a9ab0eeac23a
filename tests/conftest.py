"""Shared fixtures: tiny configs written to tmp_path, so tests run in seconds on 2 cores."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "configs" / "quickstart.yaml"
# Real MNIST for the tests that need it: $HPSEARCH_TEST_DATA, else the team's ../shared/data beside
# the checkout; those tests skip, saying where they looked, when neither holds it.
SHARED_DATA = Path(os.environ.get("HPSEARCH_TEST_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")

TINY: dict[str, Any] = {
    "name": "tiny",
    "seed": 0,
    "trials": 3,
    "epochs": 2,
    "device": "cpu",
    "data": {"dataset": "synthetic", "samples": 600},
    "fixed": {"optimizer": "adam"},
    "space": {
        "lr": {"distribution": "log_uniform", "low": 1.0e-3, "high": 1.0e-2},
        "hidden_units": {"distribution": "int_log_uniform", "low": 16, "high": 64},
    },
}


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
