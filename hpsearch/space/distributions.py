"""Search distributions: small frozen objects that validate themselves and sample from a given RNG.

Bounds are inclusive at both ends everywhere (for continuous ones the ends have probability
zero but are legal values). Every ``sample`` takes a ``random.Random`` and returns a plain
Python number (or, for ``Choice``, one of the given values), so no global random state is used.

Examples (what a setting produces):
    LogUniform(1e-4, 1.0)            -> 1e-4 ... 1.0, each decade equally likely
    IntLogUniform(32, 512)           -> 32 ... 512, each octave (32-64, 64-128, ...) equally likely
    OneMinusLogUniform(0.9, 0.999)   -> 0.9 ... 0.999 with 1 - x log-uniform: 0.9-0.99 as
                                        likely as 0.99-0.999 (how momentum and beta2 are sampled)
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, ClassVar

Scalar = bool | int | float | str


INT_LIMIT = 2**63  # integers are 64-bit wherever they end up (torch, numpy, JSON readers)


def is_number(value: Any) -> bool:
    """A finite int or float (booleans are not numbers here, though Python says they are); an int
    beyond 64 bits is not one (``math.isfinite`` would overflow on it)."""
    return is_int(value) or (isinstance(value, float) and math.isfinite(value))


def is_int(value: Any) -> bool:
    """An int that is not a boolean, within 64 bits."""
    return isinstance(value, int) and not isinstance(value, bool) and -INT_LIMIT < value < INT_LIMIT


class DistributionError(ValueError):
    """A distribution's arguments break its invariant; ``field`` names the offending argument."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _with_dot(text: str) -> str:
    """``1e-4`` -> ``1.0e-4``, ``1.0e1`` -> ``1.0e+1``: YAML 1.1 reads a number only with a dot in
    the mantissa and a sign in the exponent."""
    mantissa, _, exponent = text.lower().partition("e")
    if not exponent:
        return text
    return f"{mantissa if '.' in mantissa else mantissa + '.0'}e{exponent if exponent[0] in '+-' else '+' + exponent}"


def _check_range(low: Any, high: Any, *, integer: bool = False) -> None:
    check = is_int if integer else is_number
    kind = "an integer" if integer else "a finite number"
    for name, value in (("low", low), ("high", high)):
        if not check(value):
            hint = ""
            if isinstance(value, str) and _looks_numeric(value):  # YAML 1.1 reads 1e-4 (no dot) as text
                how = "with a dot" if "." not in value.lower().partition("e")[0] else "with a signed exponent"
                hint = f"; YAML reads {value} as text: write it {how}, e.g. {_with_dot(value)}"
            raise DistributionError(f"{name} must be {kind}, but got {name}={value!r}{hint}", name)
    if not low < high:
        raise DistributionError(f"low < high must hold, but got (low={low}, high={high})", "low")
    if not math.isfinite(float(high) - float(low)):
        raise DistributionError(f"high - low must be a finite number, but got (low={low}, high={high})", "high")


class Distribution:
    """Base: subclasses set ``name`` (the YAML spelling) and implement ``sample``."""

    name: ClassVar[str]
    log_scale: ClassVar[bool] = False
    integer: ClassVar[bool] = False  # draws whole numbers (int_uniform, int_log_uniform)

    def sample(self, rng: random.Random) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        fields = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}
        return {"distribution": self.name, **fields}


@dataclass(frozen=True)
class Uniform(Distribution):
    """Real x in [low, high], uniform."""

    low: float
    high: float
    name: ClassVar[str] = "uniform"

    def __post_init__(self) -> None:
        _check_range(self.low, self.high)

    def sample(self, rng: random.Random) -> float:
        return min(max(rng.uniform(self.low, self.high), self.low), self.high)


@dataclass(frozen=True)
class LogUniform(Distribution):
    """Real x in [low, high] with log(x) uniform: each decade equally likely. Needs low > 0."""

    low: float
    high: float
    name: ClassVar[str] = "log_uniform"
    log_scale: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_range(self.low, self.high)
        if self.low <= 0:
            raise DistributionError(f"low > 0 must hold on a log scale, but got (low={self.low}, high={self.high})", "low")

    def sample(self, rng: random.Random) -> float:
        value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        return min(max(value, self.low), self.high)


@dataclass(frozen=True)
class IntUniform(Distribution):
    """Integer in [low, high], both ends included: IntUniform(2, 4) gives 2, 3 or 4."""

    low: int
    high: int
    name: ClassVar[str] = "int_uniform"
    integer: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_range(self.low, self.high, integer=True)

    def sample(self, rng: random.Random) -> int:
        return rng.randint(self.low, self.high)


@dataclass(frozen=True)
class IntLogUniform(Distribution):
    """Integer in [low, high], both included, log-uniform: IntLogUniform(32, 512) gives each octave
    equal weight. The range widens by half a step before the log so the end values get their share."""

    low: int
    high: int
    name: ClassVar[str] = "int_log_uniform"
    integer: ClassVar[bool] = True
    log_scale: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_range(self.low, self.high, integer=True)
        if self.low <= 0:
            raise DistributionError(f"low > 0 must hold on a log scale, but got (low={self.low}, high={self.high})", "low")

    def sample(self, rng: random.Random) -> int:
        x = math.exp(rng.uniform(math.log(self.low - 0.5), math.log(self.high + 0.5)))
        return min(max(math.floor(x + 0.5), self.low), self.high)


@dataclass(frozen=True)
class OneMinusLogUniform(Distribution):
    """Real x in [low, high) with log(1 - x) uniform, for momentum and Adam's betas: with
    (0.9, 0.999), x in 0.9-0.99 is as likely as in 0.99-0.999. Needs 0 < low < high < 1."""

    low: float
    high: float
    name: ClassVar[str] = "one_minus_log_uniform"
    log_scale: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_range(self.low, self.high)
        if not (self.low > 0 and self.high < 1):
            bad = "low" if self.low <= 0 else "high"
            raise DistributionError(f"0 < low < high < 1 must hold, but got (low={self.low}, high={self.high})", bad)

    def sample(self, rng: random.Random) -> float:
        log_gap = rng.uniform(math.log(1 - self.high), math.log(1 - self.low))
        return min(max(1 - math.exp(log_gap), self.low), self.high)


@dataclass(frozen=True)
class Choice(Distribution):
    """One of the listed values, each equally likely. Values are YAML scalars (booleans too)."""

    values: tuple[Scalar, ...]
    name: ClassVar[str] = "choice"

    def __post_init__(self) -> None:
        if not isinstance(self.values, tuple):
            object.__setattr__(self, "values", tuple(self.values))
        if not self.values:
            raise DistributionError("values must list at least one value, but got []", "values")
        bad = [v for v in self.values if not isinstance(v, Scalar)]
        if bad:
            raise DistributionError(f"values must be scalars (numbers, strings, booleans), but got {bad[0]!r}", "values")

    def sample(self, rng: random.Random) -> Scalar:
        return self.values[rng.randrange(len(self.values))]


DISTRIBUTIONS: dict[str, type[Distribution]] = {
    cls.name: cls for cls in (LogUniform, Uniform, IntUniform, IntLogUniform, Choice, OneMinusLogUniform)
}
