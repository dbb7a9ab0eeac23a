"""Loading a search's data: the loader each dataset name maps to, then the checks a search needs.

The table below is the one list of loaders (no registration by import side effect), so the data
package has no import cycle: loaders import ``dataset`` and ``splits``; only this module imports them.
"""

from __future__ import annotations

from collections.abc import Callable

from hpsearch.data import files, synthetic, vision
from hpsearch.data.checks import check_classes
from hpsearch.data.dataset import Dataset, take_subset
from hpsearch.errors import DataError
from hpsearch.space.config import DataConfig, SearchConfig
from hpsearch.space.distributions import Choice
from hpsearch.space.hyperparams import HYPERPARAMETERS

Loader = Callable[[DataConfig], Dataset]
# one loader per name in hpsearch.space.config.DATASETS, the list the config accepts, in its order (tests check)
LOADERS: dict[str, Loader] = {
    "synthetic": synthetic.load_synthetic,
    **{name: vision.loader(spec) for name, spec in vision.SPECS.items()},
    "file": files.load_file,
}


def load_data(config: DataConfig) -> Dataset:
    """Load the dataset named by ``config.dataset``. Raises DataError with a clear message."""
    if config.dataset not in LOADERS:
        raise DataError(f"unknown dataset {config.dataset!r}; known: {', '.join(sorted(LOADERS))}")
    dataset = LOADERS[config.dataset](config)
    if config.subset is not None:
        dataset = take_subset(dataset, config.subset)
    check_classes(dataset.y_train, dataset.name)  # once, on the training split the search will use
    return dataset


def largest_batch(config: SearchConfig) -> tuple[int, str]:
    """The largest batch_size a trial of this search can use, and the key that sets it."""
    if "batch_size" in config.fixed:
        return int(config.fixed["batch_size"]), "fixed.batch_size"
    dist = config.space.get("batch_size")
    if dist is None:
        return int(HYPERPARAMETERS["batch_size"].default), "the default batch_size"
    high = max(dist.values) if isinstance(dist, Choice) else dist.high  # type: ignore[attr-defined]
    return int(high), "space.batch_size"


def model_input_shape(dataset: Dataset, name: str) -> tuple[int, ...]:
    """One example's shape for your own model: images channels first ((1, 28, 28) for MNIST,
    (3, 32, 32) for CIFAR-10), a file's ``x`` as it was saved, a table's ``(features,)``."""
    shape = tuple(dataset.preprocessing.input_shape) if dataset.preprocessing is not None else dataset.input_shape
    if name in vision.SPECS:
        return (vision.SPECS[name].channels, *shape[-2:])
    return shape


def prepare_data(config: SearchConfig) -> Dataset:
    """Load the config's data and check that the search can use it (raises DataError if not).
    For a custom model (``model:``), examples keep their natural shape (images (C, H, W))."""
    dataset = load_data(config.data)
    if not config.model.builtin:
        dataset.unflatten(model_input_shape(dataset, config.data.dataset))
    batch, key = largest_batch(config)
    n_train = len(dataset.y_train)
    if n_train < batch:
        raise DataError(f"{dataset.name}: the training split has {n_train} examples, fewer than one batch "
                        f"({key} is up to {batch}); lower the batch size or use more data")
    if config.test and dataset.y_test is None:
        raise DataError(f"{dataset.name}: test evaluation was asked for (--test or test: true) but this dataset has no "
                        f"test split (for dataset: file, give x_test and y_test in the file)")
    return dataset
