"""The Ray executor's dealings with the cluster itself: joining it, and what it can train.

Kept apart from ``ray_executor.py`` (which moves segments and events) so each stays readable; with
it, the only modules that import Ray. Functions here are called only once Ray imported.
"""

from __future__ import annotations

import math
import signal
import socket
import threading
from pathlib import Path

import hpsearch
from hpsearch.errors import ExecutorError
from hpsearch.search.executors.base import RayTarget

try:
    import ray
    from ray import exceptions as ray_errors
except ImportError:  # the extra is not installed: RayExecutor says how to install it
    ray = ray_errors = None

CONNECT_TIMEOUT_S = 10.0  # an address whose port does not answer within this fails


def connect(target: RayTarget) -> bool:
    """Join the cluster at ``target.address`` (``local``: start one). Returns whether to shut Ray down
    at the end. Raises ExecutorError naming the address when no cluster answers there: the port is
    tried first, since ray.init alone retries for a minute and then ends the process."""
    if ray.is_initialized():  # a program that joined a cluster itself: use it, leave it connected
        return False
    address = target.address
    if address not in ("auto", "local"):
        _check_reachable(address)
    runtime_env = {"py_modules": [str(Path(hpsearch.__file__).parent)]}  # the driver's hpsearch, on every node
    # ray.init installs its own SIGTERM handler (it aborts the process): the search's handlers are put
    # back, so SIGTERM still marks the running trials interrupted and exits 130
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:  # in this thread: ray.init from another one cannot start a local instance
        ray.init(address=address, runtime_env=runtime_env, logging_level="ERROR", log_to_driver=False,
                 include_dashboard=False if address == "local" else None)
    except (ConnectionError, RuntimeError, ValueError, ray_errors.RayError) as exc:  # RayError: auth
        error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExecutorError(f"could not join the Ray cluster at {address}: {error}") from None
    finally:
        if threading.current_thread() is threading.main_thread():
            for sig, handler in handlers.items():
                if handler is not None:
                    signal.signal(sig, handler)
    return True


def _check_reachable(address: str) -> None:
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
            return
    except OSError as exc:
        raise ExecutorError(f"no Ray cluster answers at {address} ({exc.strerror or exc}); start one with "
                            f"`ray start --head` there, or use --ray local") from None


def device_and_need(target: RayTarget, threads: int) -> tuple[str, dict[str, float]]:
    """The device trials train on (``auto``: CUDA when the cluster has GPUs) and what each actor asks for."""
    gpus = ray.cluster_resources().get("GPU", 0)
    name = target.device
    if name == "auto":
        name = "cuda" if gpus > 0 else "cpu"
    if name.startswith("cuda"):  # cuda:N means nothing on a cluster: Ray gives each trial its GPU(s)
        if gpus <= 0:
            raise ExecutorError(f"device {target.device!r} needs CUDA, but the Ray cluster at {target.address} has "
                                f"no GPU (it has {cluster_says()}); use device: cpu or auto")
        return "cuda", {"GPU": target.gpus_per_trial or 1.0}
    if name != "cpu":
        raise ExecutorError(f"device {target.device!r} cannot be used on a Ray cluster; use cpu, cuda or auto")
    return "cpu", {"CPU": float(threads)}


def live_nodes() -> frozenset[str]:
    return frozenset(node["NodeID"] for node in ray.nodes() if node.get("Alive"))


def capacity(need: dict[str, float]) -> int:
    """How many actors the cluster's live nodes can hold at once (each on one node)."""
    fits = 0
    for node in ray.nodes():
        if node.get("Alive"):
            have = node.get("Resources", {})
            fits += min(math.floor(have.get(k, 0) / v + 1e-9) for k, v in need.items())
    return fits


def actor_options(need: dict[str, float]) -> dict[str, float]:
    return {"num_gpus": need["GPU"], "num_cpus": 0} if "GPU" in need else {"num_cpus": need["CPU"]}


def says(need: dict[str, float]) -> str:
    return " and ".join(f"{v:g} {k}" for k, v in need.items())


def cluster_says() -> str:
    have = ray.cluster_resources()
    return ", ".join(f"{have.get(k, 0):g} {k}" for k in ("CPU", "GPU"))
