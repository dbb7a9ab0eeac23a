"""Random sampling of trials, reproducible per trial.

Trial i's parameters depend on (seed, i) alone, and each parameter draws from its own stream
(seed, i, name): a resumed, reordered or parallel search draws the same trials, and adding a
parameter to the space leaves the values drawn for the others unchanged.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from hpsearch.space.config import SearchConfig
from hpsearch.space.hyperparams import resolve
from hpsearch.space.modelref import MLP, ModelRef


def stream(seed: int, trial: int, name: str) -> random.Random:
    """An independent generator for (seed, trial, name), stable across Python versions and runs."""
    digest = hashlib.sha256(f"hpsearch:{seed}:{trial}:{name}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass(frozen=True)
class Trial:
    """One sampled configuration: ``params`` holds the searched, active values in space order;
    ``hyperparameters`` the complete set the trainer uses (fixed and defaults included; for a
    custom model, the function's parameters the config sets, beside the training ones). ``model``
    travels with the trial (a file's source included), so whatever trains it can build it."""

    id: int
    seed: int  # the training seed (weight init, batch order, dropout)
    params: dict[str, Any]
    hyperparameters: dict[str, Any]
    model: ModelRef = MLP


def sample_trial(config: SearchConfig, trial_id: int) -> Trial:
    """Draw trial ``trial_id`` of the search; the same (seed, id) always gives the same trial."""
    drawn = {name: dist.sample(stream(config.seed, trial_id, name)) for name, dist in config.space.items()}
    hyperparameters = resolve({**config.fixed, **drawn}, mlp=config.model.builtin)
    params = {name: value for name, value in drawn.items() if name in hyperparameters}
    train_seed = stream(config.seed, trial_id, "__train_seed__").getrandbits(31)
    return Trial(trial_id, train_seed, params, hyperparameters, config.model)


def sample_trials(config: SearchConfig, n: int | None = None, start: int = 0) -> list[Trial]:
    """Trials ``start`` .. ``start + n - 1`` (n defaults to ``config.trials``)."""
    count = config.trials if n is None else n
    return [sample_trial(config, i) for i in range(start, start + count)]
