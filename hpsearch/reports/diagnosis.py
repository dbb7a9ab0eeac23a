"""Bias and variance of a trial, after Andrew Ng's recipe, and what to try next.

With a target error (what a person, or the best known model, gets; ``target_error`` in the config):

    avoidable bias = train error - target error
    variance       = validation error - train error

Whichever is larger, by more than the validation set's noise, is the problem to work on: bias
calls for a bigger model or longer training; variance for more data, regularization or batch norm.

>>> d = diagnose(train_acc=0.80, val_acc=0.78, target_error=0.05)
>>> d.label, round(d.avoidable_bias, 2), round(d.variance, 2)
('high bias', 0.15, 0.02)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hpsearch.formatting import pct
from hpsearch.space.hyperparams import TRAINING

HIGH_BIAS = "high bias"
HIGH_VARIANCE = "high variance"
BALANCED = "balanced"
MIN_MARGIN = 0.01  # below one percentage point, neither side is called dominant


@dataclass(frozen=True)
class Diagnosis:
    """The figures of one trial (fractions in [0, 1]) and the label they lead to."""

    train_error: float
    val_error: float
    target_error: float
    avoidable_bias: float
    variance: float
    margin: float  # the difference between bias and variance must exceed this to name one
    label: str

    def describe(self) -> str:
        """``high bias: avoidable bias 15.0% (train error 20.0% - target 5.0%), variance 2.0%``"""
        return (f"{self.label}: avoidable bias {pct(self.avoidable_bias)} (train error {pct(self.train_error)} - "
                f"target {pct(self.target_error)}), variance {pct(self.variance)} "
                f"(val error {pct(self.val_error)} - train error)")

    def to_dict(self) -> dict[str, Any]:
        return {"diagnosis": self.label, "avoidable_bias": self.avoidable_bias, "variance": self.variance}


def noise_margin(val_error: float, val_examples: int | None) -> float:
    """Two standard errors of a validation error measured on ``val_examples`` (at least 1 point):
    a 600-example validation set cannot tell 20% from 21% error, so neither can the label."""
    if not val_examples:
        return MIN_MARGIN
    p = min(max(val_error, 0.01), 0.99)
    return max(MIN_MARGIN, 2 * math.sqrt(p * (1 - p) / val_examples))


def diagnose(train_acc: float, val_acc: float, target_error: float = 0.0, val_examples: int | None = None) -> Diagnosis:
    """Label a trial by which of avoidable bias and variance dominates (see the module docstring)."""
    train_error, val_error = 1 - train_acc, 1 - val_acc
    bias = train_error - target_error
    variance = val_error - train_error
    margin = noise_margin(val_error, val_examples)
    if bias - variance > margin:
        label = HIGH_BIAS
    elif variance - bias > margin:
        label = HIGH_VARIANCE
    else:
        label = BALANCED
    return Diagnosis(train_error, val_error, target_error, bias, variance, margin, label)


def bigger_model(hyperparameters: Mapping[str, Any], edges: Mapping[str, str | None] | None) -> str:
    """The "bigger model" tip. ``edges`` maps each searched parameter to the edge of its range the
    trial's value sits at (``ranges.edges``), None inside; "widen the range" only for a value at the top."""
    if "hidden_units" not in hyperparameters or "layers" not in hyperparameters:  # your own model (model:)
        at_top = [n for n, e in (edges or {}).items() if e == "high" and n not in TRAINING]
        where = f"; {' and '.join(at_top)} at the top of the searched range: widen the range upward" if at_top else ""
        return f"a bigger model (raise the model's size parameters{where})"
    now = f"hidden_units {hyperparameters.get('hidden_units', '?')}, layers {hyperparameters.get('layers', '?')} now"
    if edges is None:
        return f"a bigger model ({now})"
    names = ("hidden_units", "layers")
    at_top = [n for n in names if edges.get(n) == "high"]
    if at_top:
        return f"a bigger model ({now}; {' and '.join(at_top)} at the top of the searched range: widen the range upward)"
    unsearched = [n for n in names if n not in edges]
    if unsearched:
        return f"a bigger model ({now}; {' and '.join(unsearched)} not searched: raise or search {'it' if len(unsearched) == 1 else 'them'})"
    return f"a bigger model ({now}, inside the searched ranges)"


def advice(diagnosis: Diagnosis, hyperparameters: Mapping[str, Any], best_epoch: int | None,
           epochs_trained: int | None, edges: Mapping[str, str | None] | None = None) -> list[str]:
    """What to try next for a trial with this diagnosis, most promising first, skipping what the
    trial already does (no "add batch norm" when batch norm is on). ``edges``: see ``bigger_model``."""
    h = hyperparameters
    if diagnosis.label == HIGH_BIAS:
        tips = [bigger_model(h, edges)]
        if best_epoch is not None and best_epoch == epochs_trained:
            tips.append(f"train longer: the best epoch was the last ({best_epoch}), so accuracy was still rising")
        else:
            tips.append("train longer or tune lr and lr_decay (the optimizer may be stuck, not the model too small)")
        if h.get("weight_decay") or h.get("dropout"):
            tips.append("less regularization (weight_decay, dropout)")
        return tips
    if diagnosis.label == HIGH_VARIANCE:
        tips = ["more training data (data.subset, if set, is holding some back)"]
        if not h.get("dropout"):
            tips.append("dropout (search it, e.g. uniform 0.0 to 0.5)")
        if not h.get("weight_decay"):
            tips.append("weight_decay (search it, e.g. log_uniform 1e-6 to 1e-2)")
        if "batchnorm" in h and not h["batchnorm"]:  # the MLP's (your own model has its own, or none)
            tips.append("batch norm (batchnorm: true)")
        tips.append("a smaller model, or stopping at the best epoch")
        return tips
    if diagnosis.avoidable_bias <= diagnosis.margin and diagnosis.variance <= diagnosis.margin:
        return [f"nothing left to reduce: train and validation error are at the target ({pct(diagnosis.target_error)}) "
                f"within the validation noise ({pct(diagnosis.margin)}); prefer the smallest or fastest trial that "
                "gets here, or measure on a larger validation set to tell them apart"]
    return ["bias and variance are about equal: reduce both (a bigger model with regularization), or "
            "lower target_error if a better model is known to exist"]


def summarize(diagnoses: Sequence[Diagnosis]) -> str:
    """``8 high bias, 3 balanced, 1 high variance`` over the trials that completed."""
    counts: dict[str, int] = {}
    for d in diagnoses:
        counts[d.label] = counts.get(d.label, 0) + 1
    order = [HIGH_BIAS, HIGH_VARIANCE, BALANCED]
    return ", ".join(f"{counts[label]} {label}" for label in order if label in counts)
