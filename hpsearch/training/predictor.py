"""The best model of a run, ready for new data: ``hpsearch.load_model`` and ``hpsearch predict``.

best_model.pt holds the network and the preprocessing it was trained behind (see bestmodel.py);
``TrainedModel`` puts the two together, so it takes raw examples, shaped like the training data,
and knows its class names:

    >>> model = hpsearch.load_model("runs/quickstart-20261128-230208")    # doctest: +SKIP
    >>> model.predict(x)          # class names, one per example          # doctest: +SKIP
    ['3', '0', ...]
    >>> model(x).softmax(dim=1)   # an nn.Module: logits of raw examples  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hpsearch.data.inputs import check_shape, read_inputs
from hpsearch.data.preprocessing import Preprocessing
from hpsearch.errors import RunDirError
from hpsearch.training.bestmodel import BEST_MODEL, build_saved_model


class TrainedModel(nn.Module):
    """The best trial's network with its preprocessing in front. ``forward`` takes raw examples
    ([N, *input_shape] or flattened) and returns class logits; ``classes[i]`` names class i."""

    def __init__(self, net: nn.Module, preprocessing: Preprocessing, classes: list[str], record: dict[str, Any]) -> None:
        super().__init__()
        self.net = net
        self.preprocessing = preprocessing
        self.classes = list(classes)
        self.trial: int = record["trial"]
        self.hyperparameters: dict[str, Any] = dict(record["hyperparameters"])
        self.model_shape = tuple(record.get("input_shape") or ())  # your own model takes shaped examples, the MLP flat ones

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One raw example's shape, as in the training data (e.g. (28, 28) for MNIST)."""
        return tuple(self.preprocessing.input_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_shape(x, self.preprocessing, "input")
        x = self.preprocessing.apply(x)
        return self.net(x.view(len(x), *self.model_shape) if len(self.model_shape) > 1 else x)

    @torch.inference_mode()
    def predict_proba(self, x: torch.Tensor, batch: int = 8192) -> torch.Tensor:
        """Class probabilities [N, C] (in eval mode, in batches of ``batch``)."""
        self.eval()
        check_shape(x, self.preprocessing, "input")
        device = next(self.net.parameters()).device
        parts = [self(x[i : i + batch].to(device)).softmax(dim=1).cpu() for i in range(0, len(x), batch)]
        return torch.cat(parts) if parts else torch.zeros(0, len(self.classes))

    def predict(self, x: torch.Tensor) -> list[str]:
        """The predicted class name of each example."""
        return [self.classes[i] for i in self.predict_proba(x).argmax(dim=1).tolist()]


def load_model(run_dir: str | Path, device: torch.device | str = "cpu") -> TrainedModel:
    """The run's best model (best_model.pt), in eval mode on ``device``, taking raw examples.

    Raises RunDirError when the folder has no best model yet, or one saved by an hpsearch that did
    not record the preprocessing (train the search again to use it on new data).
    """
    path = Path(run_dir) / BEST_MODEL
    if not path.is_file():
        raise RunDirError(f"{path} does not exist: no trial of {run_dir} has completed yet (or it is not a run folder)")
    try:
        record = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file; its message runs to several lines
        reason = " ".join(str(exc).split())[:200]
        raise RunDirError(f"{path} cannot be read (damaged? {type(exc).__name__}: {reason}); run the search again "
                          f"to get a model") from None
    if not isinstance(record, dict) or "state_dict" not in record:
        raise RunDirError(f"{path} is not a model hpsearch saved (no state_dict); run the search again to get one")
    if "preprocessing" not in record:
        raise RunDirError(f"{path} was saved by an older hpsearch and does not record the preprocessing its model "
                          f"was trained behind, so it cannot take raw data; run the search again to use it")
    net = build_saved_model(record).to(device).eval()
    return TrainedModel(net, Preprocessing.from_dict(record["preprocessing"]), record["classes"], record).eval()


def predict_file(run_dir: Path, input_path: Path, proba: bool = False) -> tuple[str, int]:
    """``hpsearch predict``: the CSV of predictions for the examples in ``input_path`` and their count.

    Columns: ``row`` (0-based, the example's position in the input), ``class`` (its predicted name)
    and, with ``proba``, ``prob_<class>`` per class.
    """
    model = load_model(run_dir)
    x = read_inputs(input_path, model.preprocessing)
    probs = model.predict_proba(x)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["row", "class", *([f"prob_{c}" for c in model.classes] if proba else [])])
    for row, (label, p) in enumerate(zip(probs.argmax(dim=1).tolist(), probs.tolist(), strict=True)):
        writer.writerow([row, model.classes[label], *([f"{v:.6g}" for v in p] if proba else [])])
    return buffer.getvalue(), len(probs)
