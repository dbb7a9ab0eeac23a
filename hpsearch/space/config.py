"""The search config: YAML parsed once, at the edge, into typed, validated objects.

Every problem in a file is reported at once, each with its key path (``space.lr.low``) and line.
Inside the package nothing reads raw dicts: it works on ``SearchConfig`` and ``DataConfig``.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpsearch.errors import ConfigError, Problem
from hpsearch.space.distributions import DISTRIBUTIONS, Choice, Distribution, DistributionError, is_int, is_number
from hpsearch.space.hyperparams import ALIASES, HYPERPARAMETERS, OPTIMIZERS
from hpsearch.space.yamlio import line_of, read_yaml

DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda|cuda:\d+|mps)$")
DATASETS = ("synthetic", "mnist", "fashion_mnist", "kmnist", "cifar10", "file")
VISION_DATASETS = ("mnist", "fashion_mnist", "kmnist", "cifar10")
FILE_SUFFIXES = (".npz", ".pt", ".csv")


_VISION_WHO = f"the torchvision datasets ({', '.join(VISION_DATASETS)})"
# data keys that apply to some datasets only: key -> (applies(dataset, path), who it applies to)
DATA_KEY_SCOPE: dict[str, tuple[Callable[[str, str | None], bool], str]] = {
    "root": (lambda d, p: d in VISION_DATASETS, _VISION_WHO),
    "download": (lambda d, p: d in VISION_DATASETS, _VISION_WHO),
    "path": (lambda d, p: d == "file", "dataset: file"),
    "target": (lambda d, p: d == "file" and (p is None or p.lower().endswith(".csv")), "dataset: file with a .csv path"),
}
SCHEDULERS = ("none", "asha", "hyperband")


@dataclass(frozen=True)
class SchedulerConfig:
    """Early stopping (see schedulers.py): ``none`` trains every trial all its epochs; ``asha``
    judges trials at min_epochs * eta**k epochs and lets only the top 1/eta go on; ``hyperband``
    runs ``brackets`` ASHA brackets (None: one per rung, plus one that never stops)."""

    name: str = "none"
    min_epochs: int = 1
    eta: int = 3
    brackets: int | None = None  # hyperband only

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.name != "none":
            out.update(min_epochs=self.min_epochs, eta=self.eta)
        if self.name == "hyperband" and self.brackets is not None:
            out["brackets"] = self.brackets
        return out


@dataclass(frozen=True)
class DataConfig:
    """Where the examples come from. ``val_fraction`` of the training split is held out."""

    dataset: str = "synthetic"
    val_fraction: float = 0.2
    samples: int = 3000  # synthetic only: examples generated (train + validation)
    subset: int | None = None  # keep a stratified sample of this many training examples
    root: str | None = None  # torchvision datasets: folder holding <root>/MNIST/raw etc. (None: $HPSEARCH_DATA or ~/.cache)
    download: bool = True  # torchvision datasets: fetch missing files (with torchvision's URLs and MD5s)
    path: str | None = None  # dataset: file: a .npz, .pt or .csv (relative to the working folder)
    target: str = "label"  # dataset: file with a .csv: the label column


@dataclass(frozen=True)
class SearchConfig:
    """One search. ``space`` keeps the file's order: the declared importance order."""

    name: str
    seed: int = 0
    trials: int = 10
    epochs: int = 5
    device: str = "auto"
    target_error: float = 0.0  # the error a person (Bayes) would get; avoidable bias is measured from it
    test: bool = False  # after the search, evaluate the best trial (only) on the held-out test split
    data: DataConfig = field(default_factory=DataConfig)
    fixed: dict[str, Any] = field(default_factory=dict)
    space: dict[str, Distribution] = field(default_factory=dict)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    workers: int = 1  # trials trained at once, each in its own process
    threads: int = 1  # torch CPU threads per trial: fixed, so metrics do not depend on ``workers``
    source: str | None = None  # the file it was read from, for messages

    def with_absolute_paths(self) -> SearchConfig:
        """A copy whose data ``path`` and ``root`` are absolute, so the run folder's config.yaml
        names the same files when ``hpsearch resume`` is started from another folder."""
        absolute = {k: str(Path(v).expanduser().resolve()) for k in ("path", "root")
                    if isinstance(v := getattr(self.data, k), str)}
        return dataclasses.replace(self, data=dataclasses.replace(self.data, **absolute)) if absolute else self

    def with_overrides(self, **overrides: Any) -> SearchConfig:
        """A copy with command-line overrides (None values ignored), validated like the file."""
        updates = {k: v for k, v in overrides.items() if v is not None}
        raw = config_to_dict(self)
        raw.update(updates)
        return parse_config(raw, source=self.source)


def config_to_dict(config: SearchConfig) -> dict[str, Any]:
    """Plain dict in the file's shape and order (what ``config.yaml`` in a run folder holds)."""
    return {
        "name": config.name,
        "seed": config.seed,
        "trials": config.trials,
        "epochs": config.epochs,
        "device": config.device,
        "target_error": config.target_error,
        "test": config.test,
        "data": data_to_dict(config.data),
        "fixed": dict(config.fixed),
        "space": {name: dist.to_dict() for name, dist in config.space.items()},
        "scheduler": config.scheduler.to_dict(),
        "workers": config.workers,
        "threads": config.threads,
    }


def data_to_dict(data: DataConfig) -> dict[str, Any]:
    """The data section in the file's shape: unset keys and keys foreign to the dataset left out."""
    out = {}
    for key, value in dataclasses.asdict(data).items():
        scope = DATA_KEY_SCOPE.get(key)
        if value is not None and (scope is None or scope[0](data.dataset, data.path)):
            out[key] = value
    return out


def load_config(path: str | Path) -> SearchConfig:
    """Read and validate a YAML config. Raises ConfigError listing every problem with its line.

    >>> from pathlib import Path
    >>> cfg = load_config(Path(__file__).parents[2] / "configs" / "quickstart.yaml")
    >>> list(cfg.space)[0]
    'lr'
    """
    path = Path(path)
    raw = read_yaml(path)
    default_name = re.sub(r"[^\w.-]+", "-", path.stem).strip("-") or "search"  # "my config (v2)" -> "my-config-v2"
    return parse_config(raw, source=str(path), default_name=default_name)


def parse_config(raw: Any, source: str | None = None, default_name: str = "search") -> SearchConfig:
    """Validate an already-parsed mapping (from YAML or Python) into a SearchConfig."""
    reader = _Reader()
    config = reader.search(raw, default_name, source)
    if reader.problems:
        raise ConfigError(reader.problems, source)
    assert config is not None
    return config


def _suggest(key: str, allowed: list[str]) -> str:
    alias = ALIASES.get(str(key).lower())
    close = [alias] if alias in allowed else difflib.get_close_matches(str(key), allowed, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}allowed: {', '.join(allowed)}"


class _Reader:
    """Walks the raw mapping, collecting problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str, mapping: Any = None, key: str | None = None) -> None:
        line = line_of(mapping, key) if key is not None else None
        self.problems.append(Problem(path, message, line))

    def mapping(self, raw: Any, path: str, allowed: list[str], parent: Any = None, key: str | None = None) -> dict:
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            self.fail(path, f"must be a mapping of keys to values, got {type(raw).__name__}", parent, key)
            return {}
        for k in raw:
            if k not in allowed:
                where = f"{path}.{k}" if path else str(k)
                self.fail(where, f"unknown key; {_suggest(k, allowed)}", raw, k)
        return raw

    def value(self, raw: Mapping, key: str, path: str, default: Any, check: Callable[[Any], bool], need: str) -> Any:
        if key not in raw:
            return default
        value = raw[key]
        if not check(value):
            self.fail(f"{path}{key}", f"must be {need}, got {value!r}", raw, key)
            return default
        return value

    def search(self, raw: Any, default_name: str, source: str | None) -> SearchConfig | None:
        top_keys = [f.name for f in dataclasses.fields(SearchConfig) if f.name != "source"]
        if raw is None or not isinstance(raw, Mapping):
            self.fail("", "the file must hold a mapping with keys such as name, trials, epochs, space")
            return None
        raw = self.mapping(raw, "", top_keys)
        name = self.value(raw, "name", "", default_name, lambda v: isinstance(v, str) and re.fullmatch(r"[\w.-]+", v), "a name of letters, digits, '_', '-' or '.'")
        seed = self.value(raw, "seed", "", 0, lambda v: is_int(v) and v >= 0, "an integer >= 0")
        trials = self.value(raw, "trials", "", 10, lambda v: is_int(v) and v >= 1, "an integer >= 1")
        epochs = self.value(raw, "epochs", "", 5, lambda v: is_int(v) and v >= 1, "an integer >= 1")
        device = self.value(raw, "device", "", "auto", lambda v: isinstance(v, str) and DEVICE_PATTERN.match(v), "auto, cpu, cuda or cuda:N")
        target = self.value(raw, "target_error", "", 0.0, lambda v: is_number(v) and 0 <= v < 1, "a number in [0, 1)")
        test = self.value(raw, "test", "", False, lambda v: isinstance(v, bool), "true or false")
        data = self.data(raw.get("data"), raw)
        fixed = self.fixed(raw.get("fixed"), raw)
        space = self.space(raw.get("space"), raw)
        self.cross_check(fixed, space, raw)
        scheduler = self.scheduler(raw.get("scheduler"), raw)
        workers = self.value(raw, "workers", "", 1, lambda v: is_int(v) and v >= 1, "an integer >= 1")
        threads = self.value(raw, "threads", "", 1, lambda v: is_int(v) and v >= 1, "an integer >= 1")
        return SearchConfig(name, seed, trials, epochs, device, float(target), test, data, fixed, space,
                            scheduler=scheduler, workers=workers, threads=threads, source=source)

    def scheduler(self, raw: Any, parent: Mapping) -> SchedulerConfig:
        allowed = [f.name for f in dataclasses.fields(SchedulerConfig)]
        if isinstance(raw, str):  # ``scheduler: asha`` is short for ``scheduler: {name: asha}``
            raw = {"name": raw}
        raw = self.mapping(raw, "scheduler", allowed, parent, "scheduler")
        name = self.value(raw, "name", "scheduler.", "none", lambda v: v in SCHEDULERS, f"one of {', '.join(SCHEDULERS)}")
        min_epochs = self.value(raw, "min_epochs", "scheduler.", 1, lambda v: is_int(v) and v >= 1, "an integer >= 1")
        eta = self.value(raw, "eta", "scheduler.", 3, lambda v: is_int(v) and v >= 2, "an integer >= 2")
        brackets = self.value(raw, "brackets", "scheduler.", None, lambda v: v is None or (is_int(v) and v >= 1), "an integer >= 1")
        if name == "none" and raw.keys() - {"name"}:
            self.fail("scheduler", f"{', '.join(sorted(raw.keys() - {'name'}))} apply only to asha and hyperband; "
                      "set scheduler.name", parent, "scheduler")
        if name == "asha" and "brackets" in raw:
            self.fail("scheduler.brackets", "applies only to name: hyperband (asha is one bracket)", raw, "brackets")
        return SchedulerConfig(name, min_epochs, eta, brackets)

    def data(self, raw: Any, parent: Mapping) -> DataConfig:
        allowed = [f.name for f in dataclasses.fields(DataConfig)]
        raw = self.mapping(raw, "data", allowed, parent, "data")
        dataset = self.value(raw, "dataset", "data.", "synthetic", lambda v: v in DATASETS, f"one of {', '.join(DATASETS)}")
        val = self.value(raw, "val_fraction", "data.", 0.2, lambda v: is_number(v) and 0 < v < 1, "a number strictly between 0 and 1")
        samples = self.value(raw, "samples", "data.", 3000, lambda v: is_int(v) and v >= 10, "an integer >= 10")
        subset = self.value(raw, "subset", "data.", None, lambda v: v is None or (is_int(v) and v >= 2), "an integer >= 2")
        root = self.value(raw, "root", "data.", None, lambda v: v is None or (isinstance(v, str) and v != ""), "a folder path")
        download = self.value(raw, "download", "data.", True, lambda v: isinstance(v, bool), "true or false")
        path = self.value(raw, "path", "data.", None, lambda v: isinstance(v, str) and v.lower().endswith(FILE_SUFFIXES), f"a file path ending in {', '.join(FILE_SUFFIXES)}")
        target = self.value(raw, "target", "data.", "label", lambda v: isinstance(v, str) and v != "", "a column name")
        self.data_keys_apply(raw, dataset, path)
        return DataConfig(dataset, float(val), samples, subset, root, download, path, target)

    def data_keys_apply(self, raw: Mapping, dataset: str, path: str | None) -> None:
        """Keys that mean nothing for the chosen dataset are mistakes, not silently ignored."""
        if dataset == "file" and "path" not in raw:
            self.fail("data.path", "dataset: file needs path: a .npz (arrays x, y), .pt (dict or tuple of tensors) or .csv file", raw, "dataset")
        for key, (applies, who) in DATA_KEY_SCOPE.items():
            if key in raw and not applies(dataset, path):
                self.fail(f"data.{key}", f"applies only to {who}, not to dataset {dataset!r}", raw, key)

    def fixed(self, raw: Any, parent: Mapping) -> dict[str, Any]:
        raw = self.mapping(raw, "fixed", list(HYPERPARAMETERS), parent, "fixed")
        fixed: dict[str, Any] = {}
        for name, value in raw.items():
            if name not in HYPERPARAMETERS:
                continue
            error = HYPERPARAMETERS[name].check(value)
            if error:
                self.fail(f"fixed.{name}", error, raw, name)
            else:
                fixed[name] = value
        return fixed

    def space(self, raw: Any, parent: Mapping) -> dict[str, Distribution]:
        raw = self.mapping(raw, "space", list(HYPERPARAMETERS), parent, "space")
        space: dict[str, Distribution] = {}
        for name, spec in raw.items():
            if name in HYPERPARAMETERS:
                dist = self.distribution(spec, f"space.{name}", raw, name)
                if dist is not None and self.distribution_fits(dist, name, raw):
                    space[name] = dist
        return space

    def distribution(self, spec: Any, path: str, parent: Mapping, key: str) -> Distribution | None:
        kinds = list(DISTRIBUTIONS)
        if not isinstance(spec, Mapping) or "distribution" not in spec:
            self.fail(path, f"must be a mapping with a 'distribution' key ({', '.join(kinds)}), e.g. {{distribution: log_uniform, low: 1.0e-4, high: 1.0}}", parent, key)
            return None
        kind = spec["distribution"]
        if kind not in DISTRIBUTIONS:
            self.fail(f"{path}.distribution", f"unknown distribution {kind!r}; {_suggest(kind, kinds)}", spec, "distribution")
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

    def distribution_fits(self, dist: Distribution, name: str, parent: Mapping) -> bool:
        """Every value the distribution can produce must be valid for the hyperparameter."""
        default = HYPERPARAMETERS[name].default
        if isinstance(default, int) and not isinstance(default, bool) and not (isinstance(dist, Choice) or dist.integer):
            self.fail(f"space.{name}.distribution", f"{name} takes whole numbers, but {dist.name} draws reals; "
                      "use int_uniform, int_log_uniform or choice", parent.get(name), "distribution")
            return False
        ends = dist.values if isinstance(dist, Choice) else (dist.low, dist.high)  # type: ignore[attr-defined]
        for value in ends:
            error = HYPERPARAMETERS[name].check(value)
            if error:
                self.fail(f"space.{name}", f"{dist.name} can produce {value!r}, but {name} {error}", parent, name)
                return False
        return True

    def cross_check(self, fixed: dict[str, Any], space: dict[str, Distribution], raw: Mapping) -> None:
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
        for section, names in (("fixed", fixed), ("space", space)):
            for name in names:
                h = HYPERPARAMETERS[name]
                if h.optimizers is not None and not possible & set(h.optimizers):
                    self.fail(f"{section}.{name}", f"{name} applies only to {', '.join(h.optimizers)}, but {why}", raw.get(section), name)
