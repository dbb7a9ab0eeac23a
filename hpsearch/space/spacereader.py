"""Reading the hyperparameters of a config: ``fixed:`` values and ``space:`` distributions.

Every value a distribution can draw must be valid for its hyperparameter (or the model's
parameter); optimizer-specific hyperparameters must apply to an optimizer the search can use; a
name is fixed or searched, not both. Legal but likely mistakes (``uniform`` over decades of a
log-scale hyperparameter) become warnings, printed by ``run`` and ``validate``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from hpsearch.errors import Problem
from hpsearch.space.distributions import DISTRIBUTIONS, Choice, Distribution, DistributionError, Uniform
from hpsearch.space.hyperparams import HYPERPARAMETERS, OPTIMIZERS
from hpsearch.space.keys import suggest
from hpsearch.space.modelref import ModelRef
from hpsearch.space.modelspace import (
    ModelReader,
    accepts,
    check_value,
    is_model_param,
    missing_required,
    wants_integers,
)
from hpsearch.space.yamlio import line_of

LOG_SCALE = ("lr", "lr_decay", "eps", "weight_decay")


class SpaceReader(ModelReader):
    """The ``fixed`` and ``space`` sections (problems collected, warnings kept apart)."""

    def __init__(self, model: ModelRef | None = None, read_model: bool = True) -> None:
        super().__init__(model, read_model)
        self.warnings: list[Problem] = []

    def fixed(self, raw: Any, parent: Mapping, model: ModelRef) -> dict[str, Any]:
        raw = self.hyper_section(raw, "fixed", parent, model)
        fixed: dict[str, Any] = {}
        for name, value in raw.items():
            if not accepts(model, name):
                continue
            error = check_value(model, name, value)
            if error:
                self.fail(f"fixed.{name}", error, raw, name)
            else:
                fixed[name] = value
        return fixed

    def space(self, raw: Any, parent: Mapping, fixed: dict[str, Any], model: ModelRef) -> dict[str, Distribution]:
        section = self.hyper_section(raw, "space", parent, model)
        space: dict[str, Distribution] = {}
        for name, spec in section.items():
            if accepts(model, name):
                dist = self.distribution(spec, f"space.{name}", section, name)
                if dist is not None and self.distribution_fits(dist, name, section, model):
                    space[name] = dist
                    self.warn_linear(dist, name, section)
        self.cross_check(fixed, space, parent, model)
        return space

    def distribution(self, spec: Any, path: str, parent: Mapping, key: str) -> Distribution | None:
        kinds = list(DISTRIBUTIONS)
        if not isinstance(spec, Mapping) or "distribution" not in spec:
            self.fail(path, f"must be a mapping with a 'distribution' key ({', '.join(kinds)}), e.g. {{distribution: log_uniform, low: 1.0e-4, high: 1.0}}", parent, key)
            return None
        kind = spec["distribution"]
        if not isinstance(kind, str) or kind not in DISTRIBUTIONS:
            self.fail(f"{path}.distribution", f"unknown distribution {kind!r}; {suggest(kind, kinds)}", spec, "distribution")
            return None
        cls = DISTRIBUTIONS[kind]
        arg_names = [f.name for f in dataclasses.fields(cls)]
        self.mapping(spec, path, ["distribution", *arg_names])
        missing = [a for a in arg_names if a not in spec]
        if missing:
            self.fail(path, f"{kind} needs {' and '.join(arg_names)}; missing {', '.join(missing)}", parent, key)
            return None
        args = {a: spec[a] for a in arg_names}
        if cls is Choice and not isinstance(args["values"], list):
            self.fail(f"{path}.values", f"must be a list, got {args['values']!r}", spec, "values")
            return None
        try:
            return cls(**args)
        except DistributionError as exc:
            self.fail(f"{path}.{exc.field}", str(exc), spec, exc.field)
            return None

    def distribution_fits(self, dist: Distribution, name: str, parent: Mapping, model: ModelRef) -> bool:
        """Every value the distribution can produce must be valid for the hyperparameter."""
        if wants_integers(model, name) and not (isinstance(dist, Choice) or dist.integer):
            self.fail(f"space.{name}.distribution", f"{name} takes whole numbers, but {dist.name} draws reals; "
                      "use int_uniform, int_log_uniform or choice", parent.get(name), "distribution")
            return False
        ends = dist.values if isinstance(dist, Choice) else (dist.low, dist.high)  # type: ignore[attr-defined]
        for value in ends:
            error = check_value(model, name, value)
            if error:
                self.fail(f"space.{name}", f"{dist.name} can produce {value!r}, but {name} {error}", parent, name)
                return False
        return True

    def warn_linear(self, dist: Distribution, name: str, section: Mapping) -> None:
        """``uniform`` over a decade or more of a log-scale hyperparameter: legal, rarely meant."""
        if name not in LOG_SCALE or not isinstance(dist, Uniform) or dist.high < 10 * max(dist.low, 0):
            return
        top = (dist.high - dist.high / 10) / (dist.high - dist.low)
        self.warnings.append(Problem(f"space.{name}", f"uniform draws {top:.0%} of its values from the top decade "
                                     f"({dist.high / 10:g} to {dist.high:g}); log_uniform draws each decade equally, which is "
                                     f"what a range of {name} needs (uniform is fine within one decade)", line_of(section, name)))

    def cross_check(self, fixed: dict[str, Any], space: dict[str, Distribution], raw: Mapping, model: ModelRef) -> None:
        for message in missing_required(model, fixed.keys() | space.keys()):
            self.fail("model", message, raw, "model")
        for name in fixed.keys() & space.keys():
            self.fail(f"space.{name}", f"{name} is both fixed and searched; keep it in one of fixed or space", raw.get("space"), name)
        if "optimizer" in fixed:
            possible, why = {fixed["optimizer"]}, f"optimizer is fixed to {fixed['optimizer']}"
        elif "optimizer" in space:
            opt = space["optimizer"]
            possible = set(opt.values) if isinstance(opt, Choice) else set(OPTIMIZERS)
            why = f"the searched optimizers are {', '.join(sorted(possible))}"
        else:
            default = HYPERPARAMETERS["optimizer"].default
            possible, why = {default}, f"optimizer is {default} by default (set fixed.optimizer)"
        for part, names in (("fixed", fixed), ("space", space)):
            for name in names:
                if is_model_param(model, name):
                    continue
                h = HYPERPARAMETERS[name]
                if h.optimizers is not None and not possible & set(h.optimizers):
                    self.fail(f"{part}.{name}", f"{name} applies only to {', '.join(h.optimizers)}, but {why}", raw.get(part), name)
