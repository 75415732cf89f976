"""The root API's constructor: a model name or path in, a ready :class:`Pipeline` out.

``colorize_cli.load("unet-gan", device="auto")`` is what ``colorize images --model unet-gan``
does before its first file: find the model (:mod:`colorize_cli.model.registry`), open it
(:class:`~colorize_cli.model.engine.Engine`) and wrap it with the stage settings
(:class:`~colorize_cli.pipeline.Pipeline`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from colorize_cli.model.engine import Engine
from colorize_cli.pipeline import Pipeline
from colorize_cli.model.registry import find_model
from colorize_cli.model.variants import open_engine
from colorize_cli.settings import DEFAULTS

DEFAULT_BATCH_SIZE = DEFAULTS.batch_size  # the table's value (colorize_cli.settings), by its usual name


def load(model: str | Path | None = None, device: str = "auto", *, threads: int | None = None,
         batch_size: int = DEFAULT_BATCH_SIZE, render_size: int | None = None, temperature: float | None = None,
         jbu: bool = True, models_dirs: Sequence[str | Path] = (), precision: str = "auto") -> Pipeline:
    """A :class:`Pipeline` for ``model``: an installed model's name, a path to an ``.onnx``
    file, or None for the default model; ``models_dirs`` are searched first.

    ``device`` is ``"auto"`` (CUDA when it really initialises, else CPU), ``"cuda"`` or
    ``"cpu"``. Raises :class:`~colorize_cli.errors.ParameterError` (unknown model, bad value)
    or :class:`~colorize_cli.errors.ModelError` (a file off the contract).

    ``precision`` picks the variant (:mod:`colorize_cli.model.variants`): ``"auto"`` runs the int8
    file on the CPU when one is installed beside the model and the float file on CUDA;
    ``"float"`` or ``"int8"`` force one."""
    path = find_model(None if model is None else str(model), list(models_dirs))
    engine: Engine = open_engine(path, device=device, precision=precision, threads=threads, batch_size=batch_size)
    engine.requested_precision = precision
    return Pipeline(engine, render_size=render_size, temperature=temperature, jbu=jbu)


def capped_threads(threads: int | None) -> tuple[int | None, int | None]:
    """(threads to use, the cap when ``threads`` was over the CPUs this process may use, else None)."""
    from colorize_cli.model.engine import default_threads

    n = default_threads()
    return (n, n) if threads is not None and threads > n else (threads, None)


def unused_options(pipeline: Pipeline, given: Sequence[str]) -> list[str]:
    """Of the parameters ``given``, those that have no effect with this model: ``temperature``
    and ``confidence`` mean something for ``bins`` models only."""
    if pipeline.info.kind == "bins":
        return []
    return [g for g in given if g in ("temperature", "confidence")]
