"""hpsearch: random hyperparameter search for PyTorch MLPs, from a YAML file to a runs folder.

The public API is imported lazily so that ``hpsearch --help`` does not pay for importing torch:

    >>> import hpsearch
    >>> config = hpsearch.load_config("configs/quickstart.yaml")     # doctest: +SKIP
    >>> trials = hpsearch.sample_trials(config, 3)                    # doctest: +SKIP
    >>> result = hpsearch.run_search(config, "runs/my-run")           # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load_config": "space.config",
    "parse_config": "space.config",
    "SearchConfig": "space.config",
    "sample_trials": "space.sampler",
    "sample_trial": "space.sampler",
    "build_mlp": "training.model",
    "run_search": "search.run",
    "resume_search": "search.run",
    "SearchResult": "runs.records",
    "RunRecord": "runs.readers",
    "load_model": "training.predictor",
    "ConfigError": "errors",
    "DataError": "errors",
    "HpsearchError": "errors",
}

__all__ = ["__version__", *_LAZY]


def __dir__() -> list[str]:
    """The public API, for ``dir(hpsearch)`` and tab completion (the lazy names are not attributes yet)."""
    return sorted(__all__)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'hpsearch' has no attribute {name!r}")
