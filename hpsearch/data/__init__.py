"""Datasets as tensors: every loader returns the same ``Dataset`` so the trainer stays one loop."""

from __future__ import annotations

from hpsearch.data.dataset import Dataset
from hpsearch.data.load import load_data, prepare_data

__all__ = ["Dataset", "load_data", "prepare_data"]
