"""Precision variants of one model: the float file and its int8 sibling.

A model is its float file (``weights/unet-l1.onnx``). An int8 variant made from it by
``exporters/quantize.py`` lies beside it as ``<stem>.int8.onnx`` and is tied to it by its
metadata (docs/models.md, "Variants"): the same ``name``, ``version``, ``kind`` and graph
contract, ``precision = int8`` and ``variant_of`` = the sha256 of the float file. A sibling
whose tie does not hold is never run in place of the float file.

Which one runs (``precision``):

* ``auto`` (the default): int8 where the model runs on the CPU (it is about twice as fast
  there, at quality parity measured in weights/README.md), float on CUDA;
* ``float`` / ``int8``: that variant, wherever it runs; asking for one that is not installed
  is a :class:`~colorize_cli.errors.ParameterError` (``precision``).

Public API::

    PRECISIONS = ("auto", "float", "int8")
    check_precision(precision)                     # ParameterError unless one of PRECISIONS
    int8_sibling(path) -> Path;  float_sibling(path) -> Path
    tie_problem(int8_info, float_path) -> str | None   # why an int8 file is not a variant of it
    variants(path) -> {"float": Path | None, "int8": Path | None}   # checked, of the same model
    choose(path, precision, on_cpu) -> Path        # the file to run
    open_engine(path, device, precision, **engine_kw) -> Engine
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from colorize_cli.model.contract import ModelInfo
from colorize_cli.errors import ModelError, ParameterError
from colorize_cli.model.session_cache import model_sha256

__all__ = ["PRECISIONS", "check_precision", "choose", "float_sibling", "int8_sibling", "open_engine", "tie_problem",
           "variants"]

PRECISIONS = ("auto", "float", "int8")
INT8_SUFFIX = ".int8.onnx"


def check_precision(precision: str) -> None:
    """:class:`ParameterError` (``precision``) unless it is one of :data:`PRECISIONS`."""
    if precision not in PRECISIONS:
        raise ParameterError("precision", f"must be one of {', '.join(PRECISIONS)}, got {precision!r}")


def int8_sibling(path: str | Path) -> Path:
    """Where the int8 variant of the float file ``path`` lies: ``<stem>.int8.onnx`` beside it."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(".onnx") + INT8_SUFFIX)


def float_sibling(path: str | Path) -> Path:
    """Where the float file of the int8 variant ``path`` lies: ``<stem>.onnx`` beside it."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(INT8_SUFFIX) + ".onnx")


_TIED = ("name", "version", "kind", "working_size", "stride", "output_stride", "temperature")


def tie_problem(int8_info: ModelInfo, float_path: str | Path) -> str | None:
    """None when ``int8_info`` is a variant of the float file ``float_path`` (same name, version
    and contract fields, ``variant_of`` = its sha256), else the reason in a few words."""
    from colorize_cli.model.engine import read_model_info

    float_path = Path(float_path)
    if not float_path.is_file():
        return f"its float file {float_path.name} is missing"
    try:
        base = read_model_info(float_path)
    except ModelError as err:
        return f"its float file is off the contract ({err.reason})"
    if base.precision != "float":
        return f"{float_path.name} is not a float model"
    for key in _TIED:
        if getattr(base, key) != getattr(int8_info, key):
            return f"its {key} {getattr(int8_info, key)!r} differs from {float_path.name}'s {getattr(base, key)!r}"
    if (base.bins is None) != (int8_info.bins is None) or (base.bins is not None and
                                                           (base.bins != int8_info.bins).any()):
        return f"its bins differ from {float_path.name}'s"
    if int8_info.variant_of != model_sha256(float_path):
        return f"variant_of is not the sha256 of {float_path.name} (made from another version of it)"
    return None


def variants(path: str | Path) -> dict[str, Path | None]:
    """The float file and int8 variant of the model in ``path`` (either one), each None when
    missing or when the int8 file's tie to the float one does not hold."""
    from colorize_cli.model.engine import read_model_info

    path = Path(path)
    info = read_model_info(path)
    if info.precision == "float":
        cand = int8_sibling(path)
        if not cand.is_file():
            return {"float": path, "int8": None}
        try:
            ok = tie_problem(read_model_info(cand), path) is None
        except ModelError:
            ok = False
        return {"float": path, "int8": cand if ok else None}
    base = float_sibling(path)
    return {"float": base if tie_problem(info, base) is None else None, "int8": path}


def choose(path: str | Path, precision: str, on_cpu: bool) -> Path:
    """The file to run for the model in ``path`` with ``precision`` (``auto``: int8 when
    ``on_cpu`` and installed, else float; a file given alone runs as given)."""
    check_precision(precision)
    path = Path(path)
    found = variants(path)
    if precision == "auto":
        want = "int8" if on_cpu else "float"
        return found[want] or path
    chosen = found[precision]
    if chosen is None:
        other = int8_sibling(path) if precision == "int8" else float_sibling(path)
        why = ""
        if other.is_file():
            from colorize_cli.model.engine import read_model_info

            try:
                int8_info = read_model_info(other if precision == "int8" else path)
                why = f" ({other.name}: {tie_problem(int8_info, path if precision == 'int8' else other)})"
            except ModelError as err:
                why = f" ({err.reason})"
        raise ParameterError("precision", f"{precision}: {path.name} has no usable {precision} variant "
                                          f"(looked for {other}){why}")
    return chosen


def open_engine(path: str | Path, device: str = "auto", precision: str = "auto", **engine_kw: Any) -> Any:
    """An :class:`~colorize_cli.model.engine.Engine` for the variant of ``path`` that ``precision``
    and the device call for. With ``auto`` on a machine whose CUDA provider fails to start, the
    float session that fell back to the CPU is swapped for the int8 one."""
    from colorize_cli.model.engine import CUDA, Engine, available_providers

    check_precision(precision)
    cuda_possible = device != "cpu" and CUDA in available_providers()
    engine = Engine(choose(path, precision, on_cpu=not cuda_possible), device=device, **engine_kw)
    if precision == "auto" and cuda_possible and engine.device == "cpu":
        int8 = variants(path)["int8"]
        if int8 is not None and Path(engine.info.path) != int8:
            note, requested = engine.fallback_note, engine.requested_device
            engine = Engine(int8, device="cpu", **engine_kw)
            engine.fallback_note, engine.requested_device = note, requested
    return engine
