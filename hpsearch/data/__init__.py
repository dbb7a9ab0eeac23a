"""Datasets as tensors: every loader returns the same ``Dataset`` so the trainer stays one loop."""

from __future__ import annotations

from .dataset import Dataset, load_data
from .prepare import prepare_data

__all__ = ["Dataset", "load_data", "prepare_data"]
