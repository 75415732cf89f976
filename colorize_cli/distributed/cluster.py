"""Joining a Ray cluster and what the photo and film drivers share: the actors' count and
resources, the arguments each worker rebuilds the driver's pipeline from, and the one line a
worker's error becomes on the driver.

Public API::

    connect(address) -> None                    # "auto", "local" or host:port
    cluster_workers(requested=None) -> (workers, num_gpus)
    worker_args(pipeline, threads=None) -> dict    # what each worker passes to colorize_cli.load
    ray_module() -> the ray module;  remote_args(num_gpus) -> dict;  first_line(exc) -> str
"""

from __future__ import annotations

import logging
from typing import Any

from colorize_cli.errors import DISTRIBUTION, ColorizeError, ParameterError
from colorize_cli.pipeline import Pipeline


def ray_module() -> Any:
    """The ``ray`` module; :class:`ColorizeError` saying how to install it when it is missing."""
    try:
        import ray
    except ImportError:
        raise ColorizeError(f"--ray needs Ray: pip install '{DISTRIBUTION}[ray]' (or pip install 'ray[data]')") from None
    return ray


def connect(address: str) -> None:
    """Join the cluster at ``address`` (``auto``: the one this machine belongs to, as found by
    RAY_ADDRESS or a running ``ray start``; ``local``: start a private one-machine cluster)."""
    ray = ray_module()
    if ray.is_initialized():
        return
    try:
        # No runtime_env: one makes every worker a fresh process with that environment instead of
        # one of the raylet's prestarted ones (1.4 s more before the first result, measured).
        ray.init(address=None if address == "local" else address, logging_level=logging.WARNING,
                 log_to_driver=False, configure_logging=True)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ParameterError("ray", f"{address}: cannot join the Ray cluster "
                             f"({str(exc).strip().splitlines()[0]})") from None
    _cluster_messages_to_stderr()
    from ray.data import DataContext

    for name in ("ray", "ray.data"):  # execution notes and warnings about our own settings
        logging.getLogger(name).setLevel(logging.ERROR)
    ctx = DataContext.get_current()
    ctx.enable_progress_bars = False  # the driver shows its own, as a local run does
    ctx.print_on_execution_start = False
    ctx.verbose_progress = False


def _cluster_messages_to_stderr() -> None:
    """Ray prints the cluster's error events (a worker died, its task is retried) to stdout,
    which is for our JSON lines: send them to stderr, with our other messages."""
    try:
        import ray._private.worker as w
    except ImportError:
        return
    original = getattr(w, "print_to_stdstream", None)
    if original is None or getattr(original, "_colorize", False):
        return

    def to_stderr(data: dict, *args: Any, **kwargs: Any) -> None:
        original({**data, "is_err": True}, *args, **kwargs)

    to_stderr._colorize = True  # type: ignore[attr-defined]
    w.print_to_stdstream = to_stderr


def cluster_workers(requested: int | None = None) -> tuple[int, float]:
    """(number of actors, GPUs per actor): one per GPU when the cluster has GPUs, else one per
    node, unless ``requested``."""
    if requested is not None and requested < 1:
        raise ParameterError("workers", f"must be at least 1, got {requested}")
    ray = ray_module()
    gpus = int(ray.cluster_resources().get("GPU", 0))
    nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
    if gpus:
        return (requested or gpus), 1.0
    return (requested or max(1, nodes)), 0.0


def worker_args(pipeline: Pipeline, threads: int | None = None) -> dict[str, Any]:
    """The keyword arguments of :func:`colorize_cli.load` that rebuild ``pipeline`` on a
    worker: the model by its file (so every node must see it at the same path), the device
    as requested (a worker may have the GPU the driver lacks) and every stage setting."""
    return {"model": str(pipeline.info.path), "device": pipeline.engine.requested_device,
            "precision": pipeline.engine.requested_precision, "threads": threads,
            "batch_size": pipeline.engine.batch_size, "render_size": pipeline.render_size,
            "temperature": pipeline.temperature, "jbu": pipeline.jbu}


def remote_args(num_gpus: float) -> dict[str, Any]:
    """The resources of one actor: a GPU each when the cluster has them, else one CPU."""
    # Ray Data restarts dead actors and retries their tasks by default (system failures only;
    # an exception raised by our code is not retried).
    return {"num_cpus": 0 if num_gpus else 1, "num_gpus": num_gpus}


def first_line(exc: BaseException) -> str:
    """The sentence a worker's own exception says, out of the cluster's wrapping of it (what
    the driver reports when a run ends on a worker's error)."""
    cause = exc
    while getattr(cause, "cause", None) is not None:
        cause = cause.cause  # RayTaskError -> the worker's own exception
    text = str(cause).strip().splitlines()
    msg = next((ln for ln in reversed(text) if ln.strip()), type(cause).__name__)
    return msg.split(": ", 1)[-1] if msg.startswith(("colorize_cli.", "ray.")) else msg
