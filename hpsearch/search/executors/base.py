"""The executor seam: the one interface between the search loop and whatever trains trials.

An executor takes ``Segment``s (``submit``) and gives back events (``events``), one way: an
``EpochEnded`` per epoch and one ``SegmentEnded`` per segment. It never asks the loop anything and
the loop never waits on a trial: it decides at segment ends and submits the next segment of a
promoted trial like any other work. A new way of running trials (a cluster, a fused batch of
trials) is a new subclass and an entry in ``executors/__init__.py``; the loop does not change.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

import torch

from hpsearch.data import Dataset
from hpsearch.training.segments import Event, Segment


@dataclass(frozen=True)
class RayTarget:
    """Train on the Ray cluster at ``address`` (see ray_executor.py). ``device`` is the config's
    device name, which the cluster resolves (``auto`` is CUDA when the cluster has GPUs)."""

    address: str
    device: str = "auto"
    gpus_per_trial: float | None = None  # CUDA trials: None asks for one GPU each


@dataclass
class Execution:
    """Where and how trials train: the dataset, the devices (shared round-robin by workers), how
    many trials train at once (None: one here, as many as the cluster holds on Ray), and the torch
    threads each trial uses (fixed, so CPU metrics do not depend on the number of workers). With
    ``ray``, ``devices`` starts empty and the executor fills it with the device the cluster trains on."""

    dataset: Dataset
    devices: list[torch.device]
    workers: int | None = 1
    threads: int = 1
    ray: RayTarget | None = None
    fuse: int = 1  # compatible trials each worker trains at once as one batched model (grouping.py)


class Executor(ABC):
    """Trains submitted segments, up to ``slots`` at once. Use it as a context manager: leaving the
    block on an exception (Ctrl-C) cancels the work in flight at once."""

    slots: int = 1

    @abstractmethod
    def submit(self, segment: Segment) -> None:
        """Queue ``segment``; the loop never submits more than ``slots`` not yet ended."""

    @abstractmethod
    def events(self) -> Iterator[Event]:
        """Block until work makes progress; yield events as they come, ending after (and
        including) the next ``SegmentEnded``. Every submitted segment ends in exactly one."""

    @abstractmethod
    def close(self, cancel: bool = False) -> None:
        """Release workers; with ``cancel``, stop the work in flight now rather than let it finish."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close(cancel=kind is not None)
