"""The search config: YAML parsed once, at the edge, into typed, validated objects.

Every problem in a file is reported at once, each with its key path (``space.lr.low``) and line.
Inside the package nothing reads raw dicts: it works on ``SearchConfig`` and ``DataConfig``.
Each key is declared once, as a ``key(default, check, doc)`` field of its section's dataclass below;
the generic reader and writer come from that (see keys.py for how to add a key).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpsearch.errors import ConfigError
from hpsearch.space.distributions import (
    Distribution,
    is_int,
    is_number,
)
from hpsearch.space.keys import (
    BOOLEAN,
    REQUIRED,
    Check,
    integer_at_least,
    key,
    keys_of,
    matches,
    one_of,
    optional,
    section,
    strings,
    text,
    written,
)
from hpsearch.space.modelref import MLP, ModelRef
from hpsearch.space.spacereader import SpaceReader
from hpsearch.space.yamlio import read_yaml

DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda|cuda:\d{1,4}|mps)$")  # cuda:N up to 4 digits (torch parses N as an int)
DEVICE_NAMES = "cpu, cuda, cuda:N or mps"  # the devices messages and help list (mps: Apple GPUs)
NAME_MAX = 200  # the run folder is <name>-<timestamp>, and a file name is at most 255 bytes
NAME_PATTERN = re.compile(rf"[\w.-]{{1,{NAME_MAX}}}\Z")
DATASETS = ("synthetic", "mnist", "fashion_mnist", "kmnist", "cifar10", "file")  # hpsearch.data.load.LOADERS' keys
VISION_DATASETS = ("mnist", "fashion_mnist", "kmnist", "cifar10")
FILE_SUFFIXES = (".npz", ".pt", ".csv")
SCHEDULERS = ("none", "asha", "hyperband")  # what hpsearch.search.schedulers.make_scheduler builds
MAX_TRIALS = 1_000_000  # each trial is a folder; a search this size is already weeks of training
MAX_EPOCHS = 1_000_000
TRIAL_IDS = Check(lambda v: isinstance(v, list) and bool(v) and all(is_int(t) and 0 <= t < MAX_TRIALS for t in v),
                  "a non-empty list of trial ids (integers >= 0)")
# hyperparameters whose useful values span decades: ``uniform`` over a decade or more draws nearly all
# of them from the top decade, so it is accepted with a warning (log_uniform is what was meant)


_VISION_WHO = f"the torchvision datasets ({', '.join(VISION_DATASETS)})"
_CSV = (lambda d, p: d == "file" and (p is None or p.lower().endswith(".csv")), "dataset: file with a .csv path")
_ARRAYS = (lambda d, p: d == "file" and (p is None or p.lower().endswith((".npz", ".pt"))), "dataset: file with a .npz or .pt path")
# data keys that apply to some datasets only: key -> (applies(dataset, path), who it applies to)
DATA_KEY_SCOPE: dict[str, tuple[Callable[[str, str | None], bool], str]] = {
    "root": (lambda d, p: d in VISION_DATASETS, _VISION_WHO),
    "download": (lambda d, p: d in VISION_DATASETS, _VISION_WHO),
    "path": (lambda d, p: d == "file", "dataset: file"),
    "target": _CSV, "drop": _CSV, "delimiter": _CSV,
    "x_key": _ARRAYS, "y_key": _ARRAYS,
}
# scheduler keys that apply to some schedulers only (written into config.yaml only for those)
SCHEDULER_KEY_SCOPE: dict[str, tuple[str, ...]] = {
    "min_epochs": ("asha", "hyperband"), "eta": ("asha", "hyperband"), "brackets": ("hyperband",),
}
# Where a Ray cluster is (``ray:``, ``--ray``): auto, HOST:PORT, ray://HOST:PORT, or local (start one here)
RAY_ADDRESS = re.compile(r"^(auto|local|(ray://)?[^\s:/]+:\d{1,5})$")
RAY_ADDRESSES = "auto, local, HOST:PORT or ray://HOST:PORT"
# Keys that say where a search runs, not what it is: read from the user's file, never written into the
# run folder's config.yaml (a cluster's address changes; resume runs here unless given --ray)
PLACEMENT_KEYS = ("ray",)


@dataclass(frozen=True)
class SchedulerConfig:
    """Early stopping (see schedulers.py): ``none`` trains every trial all its epochs; ``asha``
    judges trials at min_epochs * eta**k epochs and lets only the top 1/eta go on; ``hyperband``
    runs ``brackets`` ASHA brackets (None: one per rung, plus one that never stops)."""

    name: str = key("none", one_of(SCHEDULERS), "none (every trial all its epochs), asha or hyperband")
    min_epochs: int = key(1, integer_at_least(1, MAX_EPOCHS, "the most epochs a trial can have"), "epochs before the first rung (rungs at min_epochs * eta**k)")
    eta: int = key(3, integer_at_least(2, 1000, "a rung keeps the top 1/eta"), "the top 1/eta of a rung's trials go on")
    brackets: int | None = key(None, optional(integer_at_least(1, 100, "one bracket per rung is the most that differ")), "hyperband only: ASHA brackets (none: one per rung + 1)")

    def to_dict(self) -> dict[str, Any]:
        return written(self, lambda k: self.name in SCHEDULER_KEY_SCOPE.get(k, SCHEDULERS))


@dataclass(frozen=True)
class DataConfig:
    """Where the examples come from. ``val_fraction`` of the training split is held out."""

    dataset: str = key("synthetic", one_of(DATASETS), "which loader reads the examples")
    val_fraction: float = key(0.2, Check(lambda v: is_number(v) and 0 < v < 1, "a number strictly between 0 and 1"),
                              "share of the training split held out for validation", convert=float)
    samples: int = key(3000, integer_at_least(10, 10_000_000, "40 float32 features each: 1.6 GB"), "synthetic only: examples generated (train + validation)")
    subset: int | None = key(None, optional(integer_at_least(2, 10**12, "more examples than any file holds")), "keep a stratified sample of this many training examples")
    root: str | None = key(None, optional(text("a folder path")), "torchvision datasets: folder holding <root>/MNIST/raw etc.",
                           shown="`$HPSEARCH_DATA`, else `~/.cache/hpsearch/data`")
    download: bool = key(True, BOOLEAN, "torchvision datasets: fetch missing files (with torchvision's URLs and MD5s)")
    path: str | None = key(None, Check(lambda v: isinstance(v, str) and v.lower().endswith(FILE_SUFFIXES),
                                       f"a file path ending in {', '.join(FILE_SUFFIXES)}"),
                           "dataset: file: a .npz, .pt or .csv (relative to the config file's folder)")
    target: str = key("label", text("a column name"), "dataset: file with a .csv: the label column")
    drop: list[str] | None = key(None, optional(strings("a list of column names")), "dataset: file with a .csv: columns to leave out (e.g. [id])")
    delimiter: str | None = key(None, optional(Check(lambda v: isinstance(v, str) and len(v) == 1, "a single character")),
                                "dataset: file with a .csv: the field separator (none: detected)")
    x_key: str | None = key(None, optional(text("an array name")), "dataset: file with a .npz or .pt: the examples' array (none: x or X)")
    y_key: str | None = key(None, optional(text("an array name")), "dataset: file with a .npz or .pt: the labels' array (none: y or Y)")


@dataclass(frozen=True)
class SearchConfig:
    """One search. ``space`` keeps the file's order: the declared importance order."""

    name: str = key(REQUIRED, matches(NAME_PATTERN, f"a name of letters, digits, '_', '-' or '.' (at most {NAME_MAX})"),
                    "names the run folder", shown="the file's name")
    seed: int = key(0, integer_at_least(0, 2**63 - 1, "a 64-bit integer"), "the search seed: trial i's draws depend on (seed, i) alone")
    trials: int = key(10, integer_at_least(1, MAX_TRIALS, "each trial writes a folder"), "how many trials to sample and train")
    epochs: int = key(5, integer_at_least(1, MAX_EPOCHS), "epochs per trial")
    device: str = key("auto", matches(DEVICE_PATTERN, f"auto, {DEVICE_NAMES}"), "where trials train (auto: CUDA if there)")
    target_error: float = key(0.0, Check(lambda v: is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
                              "the error a person (Bayes) would get; avoidable bias is measured from it", convert=float)
    test: bool = key(False, BOOLEAN, "after the search, evaluate the best trial (only) on the held-out test split")
    # read by ModelReader.model (a file's signature read with ast, see modelref.py); written only when not mlp
    model: ModelRef = section(lambda: MLP, "mlp, or your own: \"file.py:function\" or \"package.module:function\"",
                              shown="`mlp`")
    data: DataConfig = section(DataConfig, "where the examples come from", shown="see below")
    fixed: dict[str, Any] = section(dict, "hyperparameters held constant in every trial", shown="`{}`")
    space: dict[str, Distribution] = section(dict, "searched hyperparameters, in declared importance order", shown="`{}`")
    scheduler: SchedulerConfig = section(SchedulerConfig, "early stopping", shown="`{name: none}`")
    workers: int | None = key(None, optional(integer_at_least(1, 1024, "each worker is a process")), "trials trained at once, each in its own process; "
                              "with Ray, unset means as many as the cluster holds", shown="`1`")
    threads: int = key(1, integer_at_least(1, 1024, "torch threads per trial"), "torch CPU threads per trial: fixed, so metrics do not depend on workers")
    fuse: int = key(1, integer_at_least(1, 4096, "one batched model of that many trials"), "compatible trials each worker trains at once, as one batched model")
    ray: str | None = key(None, optional(matches(RAY_ADDRESS, RAY_ADDRESSES)), "train on the Ray cluster at this "
                          "address (--ray overrides; not kept in the run folder's config.yaml)")
    ray_gpus_per_trial: float | None = key(None, optional(Check(lambda v: is_number(v) and v > 0 and (v <= 1 or is_int(v)),
                                                                "a number in (0, 1] or a whole number of GPUs")),
                                           "CUDA trials on Ray: GPUs each trial asks for; 0.25 trains 4 per GPU",
                                           shown="`1`", convert=float)
    # written by ``hpsearch refine``; both copied into the new run's run.json
    refined_from: str | None = key(None, optional(text("a run folder path")), "the run folder this config was refined from")
    refined_trials: list[int] | None = key(None, optional(TRIAL_IDS), "the top trials of refined_from whose values the ranges follow")
    source: str | None = None  # not a key: the file it was read from, for messages
    warnings: tuple[str, ...] = ()  # not a key: legal but likely mistakes (uniform on lr), each "file:line: key: why"

    def with_absolute_paths(self, base: Path | None = None) -> SearchConfig:
        """A copy whose data ``path`` and ``root`` are absolute, read relative to ``base`` (``load_config``
        passes the config file's folder; else the working folder), so the run folder's config.yaml
        names the same files when ``hpsearch resume`` is started from another folder."""
        absolute = {k: str(((base or Path.cwd()) / Path(v).expanduser()).resolve()) for k in ("path", "root")
                    if isinstance(v := getattr(self.data, k), str)}
        return dataclasses.replace(self, data=dataclasses.replace(self.data, **absolute)) if absolute else self

    def with_overrides(self, **overrides: Any) -> SearchConfig:
        """A copy with command-line overrides (None values ignored), validated like the file."""
        updates = {k: v for k, v in overrides.items() if v is not None}
        raw = config_to_dict(self)
        raw.update(updates)
        return parse_config(raw, source=self.source, model=self.model)


def config_to_dict(config: SearchConfig) -> dict[str, Any]:
    """Plain dict in the file's shape and order (what ``config.yaml`` in a run folder holds)."""
    return written(config, sections={
        "model": lambda model: None if model.builtin else model.written,  # None: left out, as before the key existed
        "data": data_to_dict,
        "fixed": dict,
        "space": lambda space: {name: dist.to_dict() for name, dist in space.items()},
        "scheduler": SchedulerConfig.to_dict,
    })


def recorded_config(config: SearchConfig) -> dict[str, Any]:
    """What a run folder's config.yaml holds: the search, without where it ran (``PLACEMENT_KEYS``)."""
    return {k: v for k, v in config_to_dict(config).items() if k not in PLACEMENT_KEYS}


def data_to_dict(data: DataConfig) -> dict[str, Any]:
    """The data section in the file's shape: unset keys and keys foreign to the dataset left out."""
    return written(data, lambda k: k not in DATA_KEY_SCOPE or DATA_KEY_SCOPE[k][0](data.dataset, data.path))


def load_config(path: str | Path) -> SearchConfig:
    """Read and validate a YAML config. Raises ConfigError listing every problem with its line.

    Relative ``data.path`` and ``data.root`` are read from the file's folder and made absolute.

    >>> from pathlib import Path
    >>> cfg = load_config(Path(__file__).parents[2] / "configs" / "quickstart.yaml")
    >>> list(cfg.space)[0]
    'lr'
    """
    path = Path(path)
    raw = read_yaml(path)
    default_name = re.sub(r"[^\w.-]+", "-", path.stem).strip("-")[:NAME_MAX] or "search"  # "my config (v2)" -> "my-config-v2"
    # relative data paths are read from the config file's folder, not the shell's: ``hpsearch run ../data/csv.yaml``
    return parse_config(raw, source=str(path), default_name=default_name).with_absolute_paths(path.parent)


def parse_config(raw: Any, source: str | None = None, default_name: str = "search", model: ModelRef | None = None,
                 read_model: bool = True) -> SearchConfig:
    """Validate an already-parsed mapping (from YAML or Python) into a SearchConfig (``model`` and
    ``read_model``: see ``modelspace.ModelReader``)."""
    reader = _Reader(model, read_model)
    config = reader.search(raw, default_name, source)
    if reader.problems:
        raise ConfigError(reader.problems, source)
    assert config is not None
    warned = tuple(w.render(source) for w in reader.warnings)
    return dataclasses.replace(config, warnings=warned) if warned else config


class _Reader(SpaceReader):
    """The search config's sections; what the declarations cannot say (keys that depend on other
    keys) is explicit code here; the hyperparameters (fixed, space) are read in spacereader.py, the
    model's in modelspace.py."""

    def search(self, raw: Any, default_name: str, source: str | None) -> SearchConfig | None:
        if raw is None or not isinstance(raw, Mapping):
            self.fail("", "the file must hold a mapping with keys such as name, trials, epochs, space")
            return None
        raw = self.mapping(raw, "", list(keys_of(SearchConfig)))
        values = self.keys(raw, SearchConfig, "", {"name": default_name}, sections={
            "model": lambda read: self.model(raw, source),
            "data": lambda read: self.data(raw.get("data"), raw),
            "fixed": lambda read: self.fixed(raw.get("fixed"), raw, read["model"]),
            "space": lambda read: self.space(raw.get("space"), raw, read["fixed"], read["model"]),
            "scheduler": lambda read: self.scheduler(raw.get("scheduler"), raw),
        })
        model = values["model"]
        if values["fuse"] > 1 and not model.builtin:
            self.fail("fuse", f"fuses the built-in MLP only (its trials stack into one batched network); your own model "
                      f"({model.reference}) trains one trial at a time: set fuse: 1, and use workers for parallel trials",
                      raw, "fuse")
        return SearchConfig(**values, source=source)

    def scheduler(self, raw: Any, parent: Mapping) -> SchedulerConfig:
        if isinstance(raw, str):  # ``scheduler: asha`` is short for ``scheduler: {name: asha}``
            raw = {"name": raw}
        raw = self.mapping(raw, "scheduler", list(keys_of(SchedulerConfig)), parent, "scheduler")
        values = self.keys(raw, SchedulerConfig, "scheduler.")
        if values["name"] == "none" and raw.keys() - {"name"}:
            self.fail("scheduler", f"{', '.join(sorted(raw.keys() - {'name'}))} apply only to asha and hyperband; "
                      "set scheduler.name", parent, "scheduler")
        if values["name"] == "asha" and "brackets" in raw:
            self.fail("scheduler.brackets", "applies only to name: hyperband (asha is one bracket)", raw, "brackets")
        return SchedulerConfig(**values)

    def data(self, raw: Any, parent: Mapping) -> DataConfig:
        raw = self.mapping(raw, "data", list(keys_of(DataConfig)), parent, "data")
        values = self.keys(raw, DataConfig, "data.")
        self.data_keys_apply(raw, values["dataset"], values["path"])
        return DataConfig(**values)

    def data_keys_apply(self, raw: Mapping, dataset: str, path: str | None) -> None:
        """Keys that mean nothing for the chosen dataset are mistakes, not silently ignored."""
        if dataset == "file" and "path" not in raw:
            self.fail("data.path", "dataset: file needs path: a .npz (arrays x, y), .pt (dict or tuple of tensors) or .csv file", raw, "dataset")
        for name, (applies, who) in DATA_KEY_SCOPE.items():
            if name in raw and not applies(dataset, path):
                self.fail(f"data.{name}", f"applies only to {who}, not to dataset {dataset!r}", raw, name)
