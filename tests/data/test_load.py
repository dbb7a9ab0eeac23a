"""The loader table and the config's list of dataset names are one list: the config's (it cannot import data)."""

from __future__ import annotations

from hpsearch.data import vision
from hpsearch.data.load import LOADERS
from hpsearch.space.config import DATASETS, VISION_DATASETS


def test_every_dataset_the_config_accepts_has_a_loader_and_no_loader_is_unreachable():
    assert list(LOADERS) == list(DATASETS)


def test_the_torchvision_datasets_the_config_scopes_keys_to_are_the_vision_loaders():
    assert list(vision.SPECS) == list(VISION_DATASETS)
