"""The model contract (docs/models.md): read a model file's self-description and check it.

Public API::

    (engine.read_model_info(path) opens a file and calls model_info_from_session: engine owns sessions)
    model_info_from_session(session, path) -> ModelInfo
    parse_metadata(meta: Mapping[str, str], path) -> dict   # metadata only, no graph
    ModelInfo                                          # everything the pipeline needs

Every failure is a :class:`~colorize_cli.errors.ModelError` naming the file and the problem.
Only onnxruntime is used (lazily), never the ``onnx`` package, so the runtime stays small.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from colorize_cli.errors import ModelError

CONTRACT_VERSIONS = ("1",)
INPUT_NAME = "L"
INPUT_CONVENTION = "L:0..100"
OUTPUT_NAMES = {"bins": "probs", "ab": "ab"}
REQUIRED_KEYS = (
    "colorize.contract",
    "name",
    "version",
    "kind",
    "input",
    "working_size",
    "stride",
    "output_stride",
)
BINS_KEYS = ("bins", "temperature")
# Bounds on the sizes a model may ask for, as --render-size is bounded (pipeline.MAX_RENDER_SIZE
# is this same number): a file saying working_size 100000 would have OpenCV allocate 56 GB.
MAX_WORKING_SIZE = 1024
MAX_STRIDE = 256
MAX_BINS = 4096

#: Precision variants of one model (docs/models.md, "Variants"): the float file is the model;
#: an int8 file carries ``precision = int8`` and ``variant_of`` = the float file's sha256.
PRECISIONS = ("float", "int8")


@dataclass(frozen=True)
class ModelInfo:
    """A model file's validated self-description."""

    path: Path
    name: str
    version: str
    kind: str  # "bins" or "ab"
    working_size: int
    stride: int
    output_stride: int
    contract: str = "1"
    input: str = INPUT_CONVENTION
    bins: np.ndarray | None = field(default=None, repr=False)  # (Q, 2) float32, kind bins
    temperature: float | None = None  # default annealed-mean temperature, kind bins
    description: str = ""
    license: str = ""
    precision: str = "float"  # "float" or "int8" (a variant of the float file)
    variant_of: str = ""  # int8: sha256 of the float file it was made from

    @property
    def label(self) -> str:
        """The name, with ``:int8`` for an int8 variant (so the two can be told apart in a report)."""
        return self.name if self.precision == "float" else f"{self.name}:{self.precision}"

    @property
    def output_name(self) -> str:
        """The model's output name: ``probs`` or ``ab``."""
        return OUTPUT_NAMES[self.kind]

    @property
    def num_bins(self) -> int | None:
        """Q for bins models, None for ab."""
        return None if self.bins is None else int(self.bins.shape[0])

    @property
    def out_channels(self) -> int:
        """Channels of the raw output: Q, or 2."""
        return self.num_bins if self.kind == "bins" else 2  # type: ignore[return-value]


def _positive_int(meta: Mapping[str, str], key: str, path: str | Path, most: int) -> int:
    raw = meta[key]
    try:
        value = int(str(raw).strip()[:40])
    except ValueError:
        raise ModelError(path, f"metadata '{key}' must be a positive integer, got {raw!r}") from None
    if not 0 < value <= most:
        raise ModelError(path, f"metadata '{key}' must be a whole number from 1 to {most}, got {str(raw)[:40]!r}")
    return value


def _parse_bins(raw: str, path: str | Path) -> np.ndarray:
    try:
        value: Any = json.loads(raw)
    except (json.JSONDecodeError, TypeError, RecursionError):
        raise ModelError(path, "metadata 'bins' is not valid JSON (expected [[a, b], ...])") from None
    try:
        bins = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        bins = np.zeros((0,), np.float32)
    if bins.ndim != 2 or bins.shape[1] != 2 or not 2 <= bins.shape[0] <= MAX_BINS:
        raise ModelError(path, f"metadata 'bins' must be a JSON list of 2 to {MAX_BINS} [a, b] pairs")
    if not np.all(np.isfinite(bins)):
        raise ModelError(path, "metadata 'bins' contains a non-finite number")
    return bins


def parse_metadata(meta: Mapping[str, str], path: str | Path) -> dict[str, Any]:
    """Check the ``metadata_props`` of a model; return the typed fields of :class:`ModelInfo`."""
    missing = [k for k in REQUIRED_KEYS if not str(meta.get(k, "")).strip()]
    if missing:
        raise ModelError(path, f"not a colorize model: missing metadata {', '.join(repr(k) for k in missing)} "
                               "(see docs/models.md)")
    contract = str(meta["colorize.contract"]).strip()
    if contract not in CONTRACT_VERSIONS:
        raise ModelError(path, f"model contract version {contract!r} is not supported "
                               f"(this colorize understands {', '.join(CONTRACT_VERSIONS)})")
    kind = str(meta["kind"]).strip()
    if kind not in OUTPUT_NAMES:
        raise ModelError(path, f"metadata 'kind' must be 'bins' or 'ab', got {kind!r}")
    convention = str(meta["input"]).strip()
    if convention != INPUT_CONVENTION:
        raise ModelError(path, f"metadata 'input' must be {INPUT_CONVENTION!r}, got {convention!r}")
    name = str(meta["name"]).strip()
    if any(c in name for c in "/\\") or any(c.isspace() for c in name):
        raise ModelError(path, f"metadata 'name' must be one word without slashes, got {name!r}")
    fields: dict[str, Any] = {
        "contract": contract,
        "name": name,
        "version": str(meta["version"]).strip(),
        "kind": kind,
        "input": convention,
        "working_size": _positive_int(meta, "working_size", path, MAX_WORKING_SIZE),
        "stride": _positive_int(meta, "stride", path, MAX_STRIDE),
        "output_stride": _positive_int(meta, "output_stride", path, MAX_STRIDE),
        "description": str(meta.get("description", "")).strip(),
        "license": str(meta.get("license", "")).strip(),
    }
    fields.update(_parse_variant(meta, path))
    if fields["stride"] % fields["output_stride"]:
        raise ModelError(path, f"metadata 'stride' ({fields['stride']}) must be a multiple of "
                               f"'output_stride' ({fields['output_stride']})")
    if kind == "bins":
        missing = [k for k in BINS_KEYS if not str(meta.get(k, "")).strip()]
        if missing:
            raise ModelError(path, f"a 'bins' model needs metadata {', '.join(repr(k) for k in missing)}")
        fields["bins"] = _parse_bins(meta["bins"], path)
        try:
            temperature = float(meta["temperature"])
        except ValueError:
            temperature = math.nan
        if not (math.isfinite(temperature) and temperature > 0):
            raise ModelError(path, f"metadata 'temperature' must be a positive number, got {meta['temperature']!r}")
        fields["temperature"] = temperature
    return fields


def _parse_variant(meta: Mapping[str, str], path: str | Path) -> dict[str, str]:
    precision = str(meta.get("precision", "float")).strip() or "float"
    if precision not in PRECISIONS:
        raise ModelError(path, f"metadata 'precision' must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    variant_of = str(meta.get("variant_of", "")).strip().lower()
    if precision != "float" and not re.fullmatch(r"[0-9a-f]{64}", variant_of):
        raise ModelError(path, f"an {precision} model needs metadata 'variant_of': the sha256 of the float file "
                               "it was made from (64 hex digits)")
    return {"precision": precision, "variant_of": variant_of}


def _dims(arg: Any) -> list[Any]:
    shape = getattr(arg, "shape", None)
    return list(shape) if shape is not None else []


def _check_tensor(args: Sequence[Any], name: str, role: str, layout: str, path: str | Path) -> list[Any]:
    """One float32 4-D tensor called ``name``; returns its dims (ints or symbolic names)."""
    names = [a.name for a in args]
    if names != [name]:
        raise ModelError(path, f"graph must have exactly one {role} named {name!r}, has {names}")
    (arg,) = args
    if arg.type != "tensor(float)":
        raise ModelError(path, f"{role} {name!r} must be float32, is {arg.type}")
    dims = _dims(arg)
    if len(dims) != 4:
        raise ModelError(path, f"{role} {name!r} must be 4-D {layout}, has shape {dims}")
    return dims


def check_graph(inputs: Sequence[Any], outputs: Sequence[Any], fields: Mapping[str, Any],
                path: str | Path) -> None:
    """Check onnxruntime ``NodeArg`` lists (name, type, shape) against the contract."""
    dims = _check_tensor(inputs, INPUT_NAME, "input", "[N, 1, H, W]", path)
    if isinstance(dims[1], int) and dims[1] != 1:
        raise ModelError(path, f"input 'L' must have 1 channel, has {dims[1]}")
    kind = fields["kind"]
    want = OUTPUT_NAMES[kind]
    odims = _check_tensor(outputs, want, f"output (kind {kind!r})", "[N, C, H/s, W/s]", path)
    channels = len(fields["bins"]) if kind == "bins" else 2
    if isinstance(odims[1], int) and odims[1] != channels:
        what = f"the {channels} bins listed in metadata" if kind == "bins" else "2 (a, b)"
        raise ModelError(path, f"output {want!r} has {odims[1]} channels, expected {what}")


def model_info_from_session(session: Any, path: str | Path) -> ModelInfo:
    """Validate an open ``onnxruntime.InferenceSession`` and describe it."""
    meta = session.get_modelmeta().custom_metadata_map
    fields = parse_metadata(meta, path)
    check_graph(session.get_inputs(), session.get_outputs(), fields, path)
    return ModelInfo(path=Path(path), **fields)
