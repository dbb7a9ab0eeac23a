"""Building a trial's model: the built-in MLP, or the user's function named by ``model:``.

User code is imported here only, by the commands that train (``run``, ``resume``) and by the
processes that train trials. A file reference is imported by path; when the file is missing on
this machine, or differs from the text read when the search started, the text that travelled with
the trial (``ModelRef.source``) is written to a private folder and imported from there, so a
worker process or a remote worker (Ray) trains exactly the code the search was started with.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import math
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hpsearch.errors import ConfigError, Problem
from hpsearch.space.config import SearchConfig, config_to_dict, parse_config
from hpsearch.space.hyperparams import model_params
from hpsearch.space.modelref import NO_LITERAL, ModelParameter, ModelRef
from hpsearch.training.model import build_from_hyperparameters

_LOADED: dict[tuple[str | None, str | None, str, str | None], Callable[..., Any]] = {}


class ModelImportError(Exception):
    """The model's file or module does not import, or lacks the function (message names file and line)."""


def load_function(ref: ModelRef) -> Callable[..., Any]:
    """The model function ``ref`` names, imported once per process."""
    key = (ref.path, ref.module, ref.function, ref.sha256)
    if key not in _LOADED:
        module = _import_file(ref) if ref.path is not None else _import_module(str(ref.module))
        function = getattr(module, ref.function, None)
        if not callable(function):
            where = ref.path or ref.module
            raise ModelImportError(f"{where} has no function {ref.function!r}" if function is None
                                   else f"{where}: {ref.function} is a {type(function).__name__}, not a function")
        _LOADED[key] = function
    return _LOADED[key]


def _import_file(ref: ModelRef) -> Any:
    path = Path(str(ref.path))
    if ref.source is not None and (not path.is_file() or path.read_text(encoding="utf-8") != ref.source):
        path = _shipped_copy(ref)  # this machine lacks the file, or it changed: use the text the search started with
    name = f"hpsearch_model_{path.stem}_{(ref.sha256 or '')[:12]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelImportError(f"{path} cannot be imported as a Python file")
    module = importlib.util.module_from_spec(spec)
    folder = str(Path(str(ref.path)).parent)
    if folder not in sys.path:
        sys.path.append(folder)  # its sibling modules import as they would when running the file
    sys.modules[name] = module  # pickling and dataclasses in the file need it registered
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise ModelImportError(_where_it_stopped(exc, str(path))) from exc
    return module


def _shipped_copy(ref: ModelRef) -> Path:
    folder = Path(tempfile.gettempdir()) / f"hpsearch-models-{(ref.sha256 or '')[:16]}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(str(ref.path)).name
    if not path.is_file() or path.read_text(encoding="utf-8") != ref.source:
        path.write_text(str(ref.source), encoding="utf-8")
    return path


def _import_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception as exc:
        raise ModelImportError(_where_it_stopped(exc, None, f"module {name}")) from exc


def _where_it_stopped(exc: BaseException, path: str | None, what: str | None = None) -> str:
    """``file:line: Error: message``: the innermost frame in the user's file (else the last frame)."""
    if isinstance(exc, SyntaxError):
        return f"{exc.filename}:{exc.lineno}: SyntaxError: {exc.msg}"
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if path is not None and f.filename == path]
    frame = (ours or frames or [None])[-1]
    at = f"{frame.filename}:{frame.lineno}" if frame is not None else (path or what or "?")
    return f"{at}: {type(exc).__name__}: {exc} (while importing {path or what})"


def checked_model(config: SearchConfig) -> SearchConfig:
    """Import the config's model function now, before anything is written, and check the config's
    names against its real signature. Raises ConfigError (exit 2) naming the file and the line."""
    ref = config.model
    if ref.builtin:
        return config
    try:
        function = load_function(ref)
    except ModelImportError as exc:
        raise ConfigError([Problem("model", str(exc))], config.source) from None
    real = dataclasses.replace(ref, **_real_signature(function, ref))
    if _shape(real) == _shape(ref):  # the source told the truth: the names were checked when the config was read
        return config
    return parse_config(config_to_dict(config), source=config.source, model=real)


def _shape(ref: ModelRef) -> tuple[Any, ...]:
    params = None if ref.parameters is None else tuple((p.name, p.required) for p in ref.parameters)
    return params, ref.var_keyword


def _real_signature(function: Callable[..., Any], ref: ModelRef) -> dict[str, Any]:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # no signature to read (a builtin): accept what the config says
        return {"parameters": None}
    params = list(signature.parameters.values())
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    positional = [p for p in params if p.kind in kinds]
    has_varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    if len(positional) < 2 and not has_varargs:
        raise ConfigError([Problem("model", f"{ref.reference}: {ref.function}{signature} must take (input_shape, "
                                            "num_classes, ...) as its first two parameters")])
    keyword = [p for p in params[2:] if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
    return {"parameters": tuple(ModelParameter(p.name, p.default is inspect.Parameter.empty,
                                               NO_LITERAL if p.default is inspect.Parameter.empty else p.default)
                                for p in keyword),
            "var_keyword": any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)}


def build_model(ref: ModelRef, hyperparameters: dict[str, Any], input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """The model a trial trains (call it under the trial's seed). A custom function that raises,
    returns something other than a module, or is missing, raises: ``run_segment`` fails the trial."""
    if ref.builtin:
        return build_from_hyperparameters(hyperparameters, math.prod(input_shape), num_classes)
    model = load_function(ref)(tuple(input_shape), num_classes, **model_params(hyperparameters))
    if not isinstance(model, nn.Module):
        raise TypeError(f"{ref.reference} returned a {type(model).__name__}, not a torch.nn.Module")
    return model


def check_output(model: nn.Module, ref: ModelRef, x: torch.Tensor, num_classes: int) -> None:
    """A custom model must map a batch of inputs to ``num_classes`` logits: checked on two
    validation examples in eval mode (no dropout draw, no batch-norm update)."""
    if ref.builtin:
        return
    model.eval()
    with torch.no_grad():
        out = model(x[:2])
    expected = (min(2, len(x)), num_classes)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"the model's output is {got}, expected {expected}: a batch of inputs of shape "
                         f"{tuple(x.shape[1:])} must map to {num_classes} class logits")
