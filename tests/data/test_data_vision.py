"""torchvision datasets loaded from real-format files in tmp_path, through the code a real run uses."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from hpsearch.data import load_data
from hpsearch.data.formats import read_cifar_batch
from hpsearch.errors import DataError
from hpsearch.space.config import DataConfig
from tests.helpers import learnable_images, write_cifar_dataset, write_idx_dataset

FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "kmnist": "KMNIST"}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """The per-user cache folder points into tmp_path: tests never touch ~/.cache."""
    monkeypatch.setenv("HPSEARCH_CACHE", str(tmp_path / "user-cache"))
    monkeypatch.delenv("HPSEARCH_DATA", raising=False)


@pytest.mark.parametrize("name", list(FOLDERS))
@pytest.mark.parametrize("gz", [True, False])
def test_idx_datasets_load_split_and_normalize(tmp_path, name, gz):
    write_idx_dataset(tmp_path / "data" / FOLDERS[name] / "raw", gz=gz)
    data = load_data(DataConfig(dataset=name, root=str(tmp_path / "data"), download=False, val_fraction=0.2))
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (480, 120, 200)
    assert data.input_dim == 784 and data.num_classes == 10 and data.x_train.dtype == torch.float32
    assert torch.bincount(data.y_val).tolist() == [12] * 10, "validation carved per class from the training split"
    x_all = torch.cat([data.x_train, data.x_val])
    assert abs(float(x_all.mean())) < 1e-4 and abs(float(x_all.std(correction=0)) - 1) < 1e-3
    _, labels = learnable_images(200, seed=2)
    assert data.y_test.tolist() == labels.tolist(), "the official test split is kept whole and in order"
    assert len(data.info["classes"]) == 10 and data.info["cache_hit"] is False


def test_second_load_comes_from_the_cache_beside_the_files_and_is_identical(tmp_path):
    raw = write_idx_dataset(tmp_path / "MNIST" / "raw")
    config = DataConfig(dataset="mnist", root=str(tmp_path), download=False)
    first, second = load_data(config), load_data(config)
    assert first.info["cache_hit"] is False and second.info["cache_hit"] is True
    assert second.info["cache"].startswith(str(raw / "hpsearch-cache"))
    assert torch.equal(first.x_train, second.x_train) and torch.equal(first.x_test, second.x_test)
    assert torch.equal(first.y_val, second.y_val)


def test_cache_is_rebuilt_when_a_raw_file_changes(tmp_path):
    raw = write_idx_dataset(tmp_path / "MNIST" / "raw")
    config = DataConfig(dataset="mnist", root=str(tmp_path), download=False)
    load_data(config)
    write_idx_dataset(raw, n_test=100)  # same names, new content
    data = load_data(config)
    assert data.info["cache_hit"] is False and len(data.y_test) == 100
    assert len(list((raw / "hpsearch-cache").glob("*.pt"))) == 1, "the stale cache file is removed"


def test_read_only_data_folder_caches_in_the_per_user_folder(tmp_path):
    raw = write_idx_dataset(tmp_path / "MNIST" / "raw")
    os.chmod(raw, 0o555)
    try:
        config = DataConfig(dataset="mnist", root=str(tmp_path), download=False)
        first, second = load_data(config), load_data(config)
        assert not (raw / "hpsearch-cache").exists()
        assert second.info["cache_hit"] and second.info["cache"].startswith(str(tmp_path / "user-cache"))
        assert torch.equal(first.x_train, second.x_train)
    finally:
        os.chmod(raw, 0o755)


def test_a_damaged_cache_file_is_ignored_and_rebuilt(tmp_path):
    raw = write_idx_dataset(tmp_path / "MNIST" / "raw")
    config = DataConfig(dataset="mnist", root=str(tmp_path), download=False)
    load_data(config)
    (cache_file,) = (raw / "hpsearch-cache").glob("*.pt")
    cache_file.write_bytes(b"not a torch file")
    data = load_data(config)
    assert data.info["cache_hit"] is False and len(data.y_train) == 480


def test_cifar10_batches_load_flattened_with_per_channel_normalization(tmp_path):
    write_cifar_dataset(tmp_path)
    data = load_data(DataConfig(dataset="cifar10", root=str(tmp_path), download=False, val_fraction=0.2))
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (80, 20, 20)
    assert data.input_dim == 3072 and data.info["classes"][0] == "airplane"
    mean = data.info["normalization"]["mean"]
    assert mean[0] > 0.7 and 0.3 < mean[1] < 0.5 and mean[2] < 0.3, "R, G, B planes have their own statistics"
    planes = torch.cat([data.x_train, data.x_val]).view(-1, 3, 1024)
    assert torch.allclose(planes.mean(dim=(0, 2)), torch.zeros(3), atol=1e-4)
    assert torch.allclose(planes.std(dim=(0, 2), correction=0), torch.ones(3), atol=1e-3)


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({"data": Evil(), "labels": [0]}))
    with pytest.raises(DataError, match="not allowed"):
        read_cifar_batch(path)


@pytest.mark.parametrize("damage, match", [
    (lambda b: b[:100], "cannot be read"),
    (lambda b: b"\x1f\x8b" + b"garbage" * 10, "cannot be read"),
])
def test_damaged_raw_files_say_which_file_and_what_to_do(tmp_path, damage, match):
    raw = write_idx_dataset(tmp_path / "MNIST" / "raw")
    target = raw / "train-images-idx3-ubyte.gz"
    target.write_bytes(damage(target.read_bytes()))
    with pytest.raises(DataError, match=f"train-images-idx3-ubyte.gz: {match}.*delete it"):
        load_data(DataConfig(dataset="mnist", root=str(tmp_path), download=False))


def test_idx_with_a_wrong_magic_number_is_rejected(tmp_path):
    raw = write_idx_dataset(tmp_path / "MNIST" / "raw", gz=False)
    (raw / "t10k-labels-idx1-ubyte").write_bytes(np.arange(20, dtype=np.uint8).tobytes())
    with pytest.raises(DataError, match="bad magic number"):
        load_data(DataConfig(dataset="mnist", root=str(tmp_path), download=False))


@pytest.mark.parametrize("below", ["MNIST/raw", "MNIST"])
def test_a_root_that_names_the_files_own_folder_says_point_at_the_parent(tmp_path, below):
    write_idx_dataset(tmp_path / "data" / "MNIST" / "raw", n_train=100, n_test=20)
    with pytest.raises(DataError, match=rf"the root {tmp_path / 'data' / below} \(from data.root\) is the folder that holds "
                                        rf"the files; .* point it at the parent, {tmp_path / 'data'}$"):
        load_data(DataConfig(dataset="mnist", root=str(tmp_path / "data" / below), download=True))
    assert not (tmp_path / "data" / "MNIST" / "raw" / "MNIST").exists(), "no second copy downloaded"
