"""Config keys declared once: each key's default, check and doc live on its dataclass field.

Like scikit-learn's ``_parameter_constraints``, one declaration feeds everything else: the config
dataclasses' defaults, the generic reader (``Reader.keys``: unknown keys with "did you mean",
"must be ..." messages with the line), the writer of a run folder's ``config.yaml`` (``written``)
and the README check (tests/test_readme.py).

**Adding a key** is one line in its section's dataclass in ``config.py`` (``SearchConfig`` for the
top level, ``DataConfig`` for ``data:``, ``SchedulerConfig`` for ``scheduler:``), placed where it
should be read and written (keys are read, reported and written in field order), plus its row in
that section's README table (the test fails until the row is there, with the same default)::

    ray_gpus_per_trial: float = key(0.0, number_at_least(0), "GPUs Ray gives each trial", convert=float)
    refined_from: str | None = key(None, optional(text("a run folder")), "the run this search refines")
    delimiter: str = key(",", text("a single character"), "the .csv field separator")

``key(default, check, doc)``: ``check`` is a ``Check`` (its ``need`` completes "must be ..."; the
helpers below cover most keys); ``shown=`` is the README's default cell where that is not the
default itself; ``convert=`` normalises a valid value. A ``None`` value is left out of config.yaml,
so a key that defaults to ``None`` leaves the config.yaml of existing configs byte-identical; any
new key reads as its default from an older run folder's config.yaml, so those still resume.

What depends on other keys stays explicit code next to its section's reader in ``config.py``: data
keys that apply to some datasets only (add the key to ``DATA_KEY_SCOPE``), scheduler keys for some
schedulers only (``SCHEDULER_KEY_SCOPE``), optimizer-specific hyperparameters, fixed vs space.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hpsearch.errors import Problem
from hpsearch.space.distributions import INT_LIMIT, is_int, is_number
from hpsearch.space.hyperparams import ALIASES
from hpsearch.space.names import closest, did_you_mean
from hpsearch.space.yamlio import line_of


@dataclass(frozen=True)
class Check:
    """A test a value must pass and what it must be, completing "must be {need}, got {value!r}".

    ``most`` is the largest value allowed, where one is declared: a number above it is told
    ``most_why`` (what the bound protects), a number below the minimum still gets ``need``."""

    test: Callable[[Any], Any]
    need: str
    choices: tuple[str, ...] = ()  # the allowed names, for "did you mean" (MNIST -> mnist)
    most: int | None = None
    most_why: str = ""

    def __call__(self, value: Any) -> bool:
        return bool(self.test(value))

    def need_for(self, value: Any) -> str:
        """What ``value`` must be: ``need``, or the maximum for a number above it."""
        if self.most is not None and isinstance(value, int | float) and not isinstance(value, bool) and value > self.most:
            return f"at most {self.most}{f' ({self.most_why})' if self.most_why else ''}"
        return self.need


def integer_at_least(low: int, most: int | None = None, why: str = "") -> Check:
    """An integer >= ``low`` (and <= ``most``: every count has a ceiling, so no config can ask for
    unbounded memory or time before training starts)."""
    ceiling = most if most is not None else INT_LIMIT - 1
    return Check(lambda v: is_int(v) and low <= v <= ceiling, f"an integer >= {low}", most=most, most_why=why)


def number_at_least(low: float) -> Check:
    return Check(lambda v: is_number(v) and v >= low, f"a number >= {low}")


def one_of(names: tuple[str, ...]) -> Check:
    return Check(lambda v: v in names, f"one of {', '.join(names)}", names)


def matches(pattern: re.Pattern[str], need: str) -> Check:
    """A string ``pattern.match``es (anchor it: ``^...$`` or ``...\\Z``)."""
    return Check(lambda v: isinstance(v, str) and pattern.match(v), need)


def text(need: str) -> Check:
    """A non-empty string."""
    return Check(lambda v: isinstance(v, str) and v != "", need)


def strings(need: str) -> Check:
    """A list of non-empty strings (``[id, name]``)."""
    return Check(lambda v: isinstance(v, list) and all(isinstance(c, str) and c for c in v), need)


def optional(check: Check) -> Check:
    """``check`` or null (the key's default ``None``: unset)."""
    return dataclasses.replace(check, test=lambda v: v is None or check(v))


BOOLEAN = Check(lambda v: isinstance(v, bool), "true or false")


@dataclass(frozen=True)
class Key:
    """One config key: its default, the check its value must pass, and what it means.

    ``shown`` is the README's default cell where that is not the default itself (``the file's
    name``); ``convert`` normalises a valid value (``float`` makes ``target_error: 0`` a float).
    A section (``data``, ``fixed``, ``space``, ``scheduler``) has no check: its own reader reads it.
    """

    name: str
    default: Any
    check: Check | None
    doc: str
    shown: str | None = None
    convert: Callable[[Any], Any] | None = None

    @property
    def is_section(self) -> bool:
        return self.check is None

    def readme_default(self) -> str:
        """The default as the README's table shows it: `0`, `false`, `{}`, none (unset)..."""
        if self.shown is not None:
            return self.shown
        if self.default is None:
            return "none"
        return f"`{str(self.default).lower() if isinstance(self.default, bool) else self.default}`"


_META = "hpsearch.key"
REQUIRED: Any = dataclasses.MISSING  # a key without a default (the reader supplies one, e.g. the file's name)


def key(default: Any, check: Check, doc: str, *, shown: str | None = None,
        convert: Callable[[Any], Any] | None = None) -> Any:
    """Declare a dataclass field as a config key (see the module docstring)."""
    meta = {_META: Key("", default, check, doc, shown, convert)}
    return dataclasses.field(default=default, metadata=meta)


def section(factory: Callable[[], Any], doc: str, shown: str) -> Any:
    """Declare a dataclass field as a nested section, read and written by its own code."""
    return dataclasses.field(default_factory=factory, metadata={_META: Key("", None, None, doc, shown)})


def keys_of(cls: type) -> dict[str, Key]:
    """The config keys a dataclass declares, in reading (and writing) order; other fields are not keys."""
    return {f.name: dataclasses.replace(f.metadata[_META], name=f.name)
            for f in dataclasses.fields(cls) if _META in f.metadata}


def written(obj: Any, applies: Callable[[str], bool] = lambda name: True,
            sections: Mapping[str, Callable[[Any], Any]] | None = None) -> dict[str, Any]:
    """``obj``'s keys in the file's shape and declaration order, unset (``None``) ones and those that
    do not ``apply`` left out; a section is written by ``sections[name](value)``."""
    out = {}
    for name, k in keys_of(type(obj)).items():
        value = getattr(obj, name)
        if k.check is None:
            section_value = (sections or {})[name](value)
            if section_value is not None:  # a section that writes None is left out (model: mlp)
                out[name] = section_value
        elif value is not None and applies(name):
            out[name] = value
    return out


def shown(value: Any) -> str:
    """``repr(value)``, with an integer of hundreds of digits or a long string shown by its length,
    so the message stays one readable line."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**20:
        return f"an integer of {len(str(abs(value)))} digits"
    if isinstance(value, str) and len(value) > 60:
        return f"{value[:40]!r}... ({len(value)} characters)"
    return repr(value)


def suggest(key: Any, allowed: list[str]) -> str:
    """"did you mean 'seed'? allowed: ..." for an unknown key (hyperparameters' usual aliases too)."""
    alias = ALIASES.get(str(key).lower())
    close = alias if alias in allowed else closest(str(key), allowed)
    hint = f"did you mean {close!r}? " if close else ""
    return f"{hint}allowed: {', '.join(allowed)}"


class Reader:
    """Walks a raw mapping, collecting problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str, mapping: Any = None, key: str | None = None) -> None:
        line = line_of(mapping, key) if key is not None else None
        self.problems.append(Problem(path, message, line))

    def mapping(self, raw: Any, path: str, allowed: list[str], parent: Any = None, key: str | None = None) -> dict:
        """``raw`` if it is a mapping of allowed keys (unknown ones reported), else ``{}``."""
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            self.fail(path, f"must be a mapping of keys to values, got {type(raw).__name__}", parent, key)
            return {}
        for k in raw:
            if k not in allowed:
                where = f"{path}.{k}" if path else str(k)
                self.fail(where, f"unknown key; {suggest(k, allowed)}", raw, k)
        return raw

    def keys(self, raw: Mapping[str, Any], cls: type, prefix: str, defaults: Mapping[str, Any] | None = None,
             sections: Mapping[str, Callable[[dict[str, Any]], Any]] | None = None) -> dict[str, Any]:
        """``cls``'s keys read from ``raw`` in declaration order: checked, converted, defaulted.

        A missing key gets its default (``defaults`` overrides it); a bad one is reported as
        ``{prefix}{key}: must be {need}, got {value!r}`` with its line and gets its default, so
        reading goes on and every problem is found. A section is read by ``sections[name](values
        read so far)``, in its place in the order.
        """
        values: dict[str, Any] = {}
        for name, k in keys_of(cls).items():
            if k.check is None:
                values[name] = (sections or {})[name](values)
                continue
            value = (defaults or {}).get(name, k.default)
            if name in raw:
                if k.check(raw[name]):
                    value = raw[name]
                else:
                    self.fail(f"{prefix}{name}", f"must be {k.check.need_for(raw[name])}, got {shown(raw[name])}"
                              f"{did_you_mean(raw[name], k.check.choices)}", raw, name)
            values[name] = k.convert(value) if k.convert is not None and value is not None else value
        return values
