"""A run folder read back as typed records: ``RunRecord`` (the run) and ``TrialRecord`` (a trial).

What reports, resume and ``hpsearch list`` read; the writer is ``store.RunStore``. Damaged files
are turned into messages by ``readback.py``, never tracebacks.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpsearch.errors import RunDirError
from hpsearch.runs.readback import read_config_yaml, read_metrics, read_record, read_run_info
from hpsearch.runs.records import BestTrial, DataSummary, EpochMetrics, TrialParams, TrialResult, TrialStatus
from hpsearch.runs.runlock import writer_alive

if TYPE_CHECKING:
    from hpsearch.space.config import SearchConfig


class TrialRecord:
    """One trial as read back from its folder, as typed records. A missing file reads as None: a
    trial in progress has no result.json yet. A file that cannot be read as its record (or a trial
    folder that is a file) also reads as None, and ``damage`` says what is wrong (see readback.py).
    ``orphaned``: the process that wrote the folder is gone (killed), so a trial without a result
    is not running."""

    def __init__(self, path: Path, orphaned: bool = False) -> None:
        self.path = path
        self.id = int(path.name)
        self.orphaned = orphaned
        self.params_record: TrialParams | None = None
        self.result: TrialResult | None = None
        self._epochs: list[EpochMetrics] = []
        self.damage: str | None = None if path.is_dir() else f"{path} is a file, not a trial folder"
        if self.damage is None:
            self.params_record, params_damage = read_record(path / "params.json", TrialParams.from_dict)
            self.result, result_damage = read_record(path / "result.json", TrialResult.from_dict)
            self._epochs, metrics_damage = read_metrics(path / "metrics.jsonl")
            self.damage = result_damage or params_damage or metrics_damage

    @property
    def params(self) -> dict[str, Any]:
        return self.params_record.params if self.params_record else {}

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return self.params_record.hyperparameters if self.params_record else {}

    @property
    def seed(self) -> int | None:
        return self.params_record.seed if self.params_record else None

    @property
    def status(self) -> TrialStatus:
        """result.json's status; without one ``running``, or ``interrupted`` when the search's process is
        gone (killed: ``hpsearch resume`` trains the trial again)."""
        if self.result:
            return self.result.status
        return TrialStatus.INTERRUPTED if self.orphaned else TrialStatus.RUNNING

    def metrics(self) -> list[EpochMetrics]:
        """metrics.jsonl, one record per finished epoch (none before the first epoch ends)."""
        return list(self._epochs)


class RunRecord:
    """A run folder read back: its config (as a dict), run.json, and its trials by id. ``trials``
    holds the readable ones; ``damaged`` those whose files cannot be read (reports skip them, each
    with one line; resume refuses to retrain or delete them). A damaged run.json or config.yaml
    raises RunDirError naming the file."""

    def __init__(self, root: Path | str) -> None:
        root = Path(root)
        if not (root / "run.json").exists():
            raise RunDirError(f"{root} is not a run folder (no run.json); give a folder under runs/")
        self.root = root
        self.info: dict[str, Any] = read_run_info(root)
        self.config: dict[str, Any] = read_config_yaml(root)
        trials_dir = root / "trials"
        if trials_dir.exists() and not trials_dir.is_dir():
            raise RunDirError(f"{trials_dir} is a file, not the folder of the run's trials; restore the folder")
        paths = sorted(p for p in trials_dir.iterdir() if p.name.isdigit()) if trials_dir.exists() else []
        records = [TrialRecord(p, self.killed) for p in paths]
        self.trials: list[TrialRecord] = [t for t in records if t.damage is None]
        self.damaged: list[TrialRecord] = [t for t in records if t.damage is not None]

    @property
    def name(self) -> str:
        return self.info.get("name", self.root.name)

    @property
    def status(self) -> str | None:
        """The search's status: running, completed, no_trial_completed, stopped or interrupted."""
        return self.info.get("status")

    @property
    def killed(self) -> bool:
        """run.json says ``running`` but no live process holds the folder's lock: the search was killed
        (``kill -9``, a crash, a lost machine) before it could close the folder."""
        return self.status == "running" and not writer_alive(self.root)

    @property
    def data(self) -> DataSummary:
        """The dataset and its split sizes, as the search loaded them."""
        return DataSummary.from_dict(self.info.get("data") or {})

    @property
    def best(self) -> BestTrial | None:
        """The best trial run.json records (None while no trial completed)."""
        best = self.info.get("best")
        return BestTrial.from_dict(best) if best else None

    @property
    def param_names(self) -> list[str]:
        """Searched parameter names in the declared importance order."""
        return list((self.config.get("space") or {}).keys())

    def search_config(self) -> SearchConfig:
        """config.yaml parsed into the typed config (distributions, target_error, data)."""
        from hpsearch.errors import ConfigError
        from hpsearch.space.config import parse_config  # here, not at the top: config does not need the store

        try:
            return parse_config(self.config, source=str(self.root / "config.yaml"), read_model=False)
        except ConfigError as exc:
            raise RunDirError(f"{self.root / 'config.yaml'} cannot be read back: {exc}") from None

    @property
    def val_examples(self) -> int | None:
        """Size of the validation split, from run.json (how noisy its accuracy is)."""
        return self.data.val

    def trial(self, trial_id: int) -> TrialRecord:
        for record in self.trials:
            if record.id == trial_id:
                return record
        for record in self.damaged:
            if record.id == trial_id:
                raise RunDirError(f"trial {trial_id} cannot be read: {record.damage}")
        planned = self.config.get("trials")
        if self.status == "running" and isinstance(planned, int) and 0 <= trial_id < planned:
            raise RunDirError(f"trial {trial_id} of {self.root} has not started yet (the search, still running, "
                              f"has started {len(self.trials)} of its {planned} trials)")
        have = f"{self.trials[0].id}-{self.trials[-1].id}" if self.trials else "none"
        raise RunDirError(f"{self.root} has no trial {trial_id} (trials: {have})")


def open_trial(path: Path) -> tuple[RunRecord, TrialRecord]:
    """A trial folder (``<run>/trials/0003``) read back with the run that holds it."""
    run_root = path.parent.parent
    if not (path.name.isdigit() and path.parent.name == "trials" and (run_root / "run.json").exists()):
        raise RunDirError(f"{path} is not a trial folder (expected <run>/trials/NNNN inside a run folder)")
    run = RunRecord(run_root)
    return run, run.trial(int(path.name))
