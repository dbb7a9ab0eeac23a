"""Which hyperparameter names a config may use with its model, and what their values must be.

With the built-in MLP: the names in ``hyperparams.HYPERPARAMETERS``. With a custom model: the
training hyperparameters (``hyperparams.TRAINING``: lr, batch_size, optimizer, ...) plus the model
function's keyword parameters, which the config may fix or search like any other. The MLP's own
settings (hidden_units, layers, ...) are refused unless the function takes them. A function
parameter named like a training hyperparameter is never passed: the name belongs to the trainer.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from hpsearch.space.distributions import is_int
from hpsearch.space.hyperparams import HYPERPARAMETERS, MLP_ONLY, TRAINING
from hpsearch.space.keys import Reader
from hpsearch.space.modelref import ModelParameter, ModelRef, ModelRefError, parse_reference, read_model


def _own(model: ModelRef) -> list[ModelParameter]:
    """The function's parameters a config can set (those not named like a training hyperparameter)."""
    return [p for p in model.parameters or () if p.name not in TRAINING]


def is_model_param(model: ModelRef, name: str) -> bool:
    """Whether ``name`` goes to the model function (not to the trainer)."""
    return not model.builtin and name not in TRAINING


def accepts(model: ModelRef, name: str) -> bool:
    """Whether a config with this model may fix or search ``name``."""
    if model.builtin:
        return name in HYPERPARAMETERS
    if name in TRAINING or model.parameters is None or model.var_keyword:  # unknown signature, **kwargs: any name
        return True
    return name in {p.name for p in _own(model)}


def unknown_message(model: ModelRef, name: str) -> str:
    """Why a custom model's config may not use ``name``, with "did you mean" against the function's parameters."""
    own = [p.name for p in _own(model)]
    close = difflib.get_close_matches(str(name), own, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    mlp = f"{name} is a setting of the built-in MLP, and {model.function} does not take it; " if name in MLP_ONLY else ""
    return (f"unknown key; {mlp}{hint}allowed: the training hyperparameters ({', '.join(TRAINING)}) and "
            f"{model.function}'s parameters ({', '.join(own) or 'none besides input_shape and num_classes'})")


def _plain(value: Any) -> bool:
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, bool | int | float | str)


def check_value(model: ModelRef, name: str, value: Any) -> str | None:
    """An error text for a fixed value (or a distribution's end value), or None. The function's
    parameters take any plain YAML value: the function itself says what it accepts."""
    if is_model_param(model, name):
        return None if _plain(value) else f"must be a number, string, boolean, null or a list of them, got {value!r}"
    return HYPERPARAMETERS[name].check(value)


def wants_integers(model: ModelRef, name: str) -> bool:
    """Whether ``name`` takes whole numbers: a built-in one with an int default, or a function
    parameter whose default is an int literal (``channels=32``)."""
    if is_model_param(model, name):
        default = next((p.default for p in _own(model) if p.name == name), None)
    else:
        default = HYPERPARAMETERS[name].default
    return is_int(default) and not isinstance(default, bool)


def missing_required(model: ModelRef, given: Collection[str]) -> list[str]:
    """Messages for function parameters without a default that the config neither fixes nor searches
    (or cannot set, being named like a training hyperparameter)."""
    out = []
    for p in model.parameters or ():
        if p.required and p.name in TRAINING:
            out.append(f"{model.function} takes {p.name} without a default, but {p.name} is a training "
                       "hyperparameter (the trainer's, never passed to the model); give it a default or rename it")
        elif p.required and p.name not in given:
            out.append(f"{model.function} takes {p.name} without a default: fix it (fixed.{p.name}) or search it "
                       f"(space.{p.name})")
    return out


class ModelReader(Reader):
    """The config reader's part for ``model:`` and the names ``fixed`` and ``space`` may use with it.

    ``model`` replaces reading the key (a training command passes the signature it imported);
    ``read_model=False`` keeps the reference without reading its file (a run folder read back by
    the reports, which never need the model's code).
    """

    def __init__(self, model: ModelRef | None = None, read_model: bool = True) -> None:
        super().__init__()
        self.given_model, self.read_model = model, read_model

    def model(self, raw: Mapping, source: str | None) -> ModelRef:
        """The model function, its file read (not imported) for its parameters: a path is relative
        to the config file's folder."""
        if self.given_model is not None:
            return self.given_model
        try:
            ref = parse_reference(raw.get("model", "mlp"), Path(source).parent if source else None)
            return read_model(ref) if self.read_model else ref
        except ModelRefError as exc:
            self.fail("model", str(exc), raw, "model")
            return ModelRef(str(raw.get("model")), "?", parameters=None)  # unknown: no follow-on errors about names

    def hyper_section(self, raw: Any, part: str, parent: Mapping, model: ModelRef) -> dict:
        """``fixed`` or ``space`` as a mapping, each name the model does not allow reported."""
        if model.builtin:
            return self.mapping(raw, part, list(HYPERPARAMETERS), parent, part)
        raw = self.mapping(raw, part, list(raw) if isinstance(raw, Mapping) else [], parent, part)
        for name in raw:
            if not accepts(model, name):
                self.fail(f"{part}.{name}", unknown_message(model, name), raw, name)
        return raw
