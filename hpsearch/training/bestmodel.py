"""The best trial's model, kept in the run folder, and its single evaluation on the test split.

The search keeps the weights of each trial's best epoch (the epoch its reported ``val_acc`` comes
from), and whenever a trial becomes the best so far it writes them atomically to
``<run>/best_model.pt``, so the file always matches run.json's ``best`` and survives a resumed run.
With ``--test`` (or ``test: true``), that one model is evaluated once, after the search, on the
held-out test split: the search never sees the test split, so the figure is an unbiased estimate
for the chosen configuration, which the best validation accuracy (the maximum over many trials) is not.

The file is self-contained, so the model can be used on new data without the run's config or data:
besides the weights (``state_dict``) and ``hyperparameters`` it holds ``input_dim``, ``num_classes``,
``classes`` (names by label), ``dataset`` and ``preprocessing`` (``data.preprocessing.Preprocessing``:
the raw example's shape, the CSV columns, and the training split's mean and std). ``build_saved_model``
is the one place a model is rebuilt from such a record; ``hpsearch.training.predictor`` wraps it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from hpsearch.atomic import save_atomic
from hpsearch.data import Dataset
from hpsearch.data.preprocessing import Preprocessing
from hpsearch.space.hyperparams import model_params
from hpsearch.space.modelref import MLP, ModelRef, parse_reference
from hpsearch.space.sampler import Trial
from hpsearch.training.trainer import evaluate
from hpsearch.training.usermodel import build_model

BEST_MODEL = "best_model.pt"


class BestModelKeeper:
    """Writes the best trial's best-epoch weights to ``best_model.pt`` as each trial finishes.

    ``trial_finished`` is called with the search's best (trial, result) so far and the finished
    trial's best-epoch weights (CPU tensors, from its last segment), and saves when that trial is the best.
    """

    def __init__(self, run_dir: Path, dataset: Dataset) -> None:
        self.path = run_dir / BEST_MODEL
        self.input_dim = dataset.input_dim
        self.input_shape = list(dataset.input_shape)  # what the model takes: flat for the MLP, shaped for your own
        self.num_classes = dataset.num_classes
        preprocessing = dataset.preprocessing or Preprocessing((dataset.input_dim,), how="unknown: as the loader fed it")
        self.data = {"dataset": dataset.name, "classes": dataset.classes, "preprocessing": preprocessing.to_dict()}

    def trial_finished(self, trial: Trial, result: Any, best: tuple[Trial, Any] | None,
                       weights: dict[str, torch.Tensor] | None) -> None:
        if weights is None or best is None or best[0].id != trial.id:
            return
        record = {"trial": trial.id, "hyperparameters": dict(trial.hyperparameters), "input_dim": self.input_dim,
                  "input_shape": self.input_shape, "num_classes": self.num_classes, "best_epoch": result.best_epoch,
                  "val_acc": result.val_acc, "state_dict": weights, **self.data}
        if not trial.model.builtin:  # the reference, its parameters and the code itself: rebuilt even if the file moves
            record["model"] = {**trial.model.describe(), "source": trial.model.source,
                               "params": model_params(trial.hyperparameters)}
        save_atomic(record, self.path, torch.save)


def load_best_model(run_dir: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """The saved best model, rebuilt from its hyperparameters, in eval mode; and its record."""
    record = torch.load(Path(run_dir) / BEST_MODEL, map_location=device, weights_only=True)
    return build_saved_model(record).to(device).eval(), record


def build_saved_model(record: dict[str, Any]) -> nn.Module:
    """The network a best_model.pt record describes, with its weights (the one place it is rebuilt).

    Your own model (``model:``) is rebuilt by calling its function again, from the source text the
    record keeps (a file reference) or the installed module, with ``record["model"]["params"]``.
    """
    shape = tuple(record.get("input_shape") or (record["input_dim"],))
    model = build_model(_model_ref(record.get("model")), record["hyperparameters"], shape, record["num_classes"])
    model.load_state_dict(record["state_dict"])
    return model


def _model_ref(saved: dict[str, Any] | None) -> ModelRef:
    if saved is None:
        return MLP
    ref = parse_reference(saved["reference"], None)
    return ModelRef(ref.reference, ref.function, path=ref.path, module=ref.module, source=saved.get("source"), parameters=None)


def evaluate_on_test(run_dir: Path, dataset: Dataset, device: torch.device, best_trial: int) -> dict[str, Any]:
    """Accuracy and mean loss of the saved best model on the test split (the one use of that split).

    If ``best_model.pt`` is missing or holds another trial (a run killed between a trial's
    result.json and the model file), the figure is not made up: ``test_acc`` is None with the reason.
    """
    if dataset.x_test is None or dataset.y_test is None:
        raise ValueError("the dataset has no test split")
    path = run_dir / BEST_MODEL
    if not path.is_file():
        return {"test_acc": None, "trial": best_trial, "error": f"{path} is missing"}
    model, record = load_best_model(run_dir, device)
    if record["trial"] != best_trial:
        return {"test_acc": None, "trial": best_trial, "error": f"{path} holds trial {record['trial']}, not the best "
                f"trial {best_trial} (the run was stopped between writing the two); retrain trial {best_trial} to test it"}
    test_loss, test_acc = evaluate(model, dataset.x_test.to(device), dataset.y_test.to(device))
    return {"test_acc": test_acc, "test_loss": test_loss, "examples": len(dataset.y_test), "trial": record["trial"],
            "best_epoch": record["best_epoch"], "val_acc": record["val_acc"],
            "note": "the best trial by validation accuracy, evaluated once on the held-out test split after the "
                    "search; the test split chose nothing"}
