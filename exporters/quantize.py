"""Quantize a shipped float model to int8 for the CPU (weights/<name>.int8.onnx).

    python -m exporters.quantize weights/classifier-313.onnx            # -> weights/classifier-313.int8.onnx
    python -m exporters.quantize weights/unet-l1.onnx --exclude-tail 2  # keep the last 2 conv layers in float

onnxruntime's static quantization: QDQ format, per-channel int8 weights, uint8 activations,
calibrated (min/max) on gray versions of TRAINING photos (``--data``, never the eval/ sets)
brought to the model's working shape exactly as :meth:`colorize_cli.pipeline.Pipeline.prepare`
does. The int8 file keeps every metadata field of the float one (same name and version, so
users keep one model name) and adds the tie that the runtime checks (docs/models.md):

* ``precision`` = ``int8``;
* ``variant_of`` = the sha256 of the float file it was made from.

``--exclude-tail N`` keeps the last N Conv/ConvTranspose/Gemm nodes (the head, the last decoder
block) in float, for models whose int8 version misses the quality bar (weights/README.md).
A JSON report (nodes kept in float, sizes, sha256) goes to ``logs/<name>.int8-quantize.json``
beside the output (or beside it when there is no logs/ folder).
"""
from __future__ import annotations

import argparse
import json
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import onnx

from colorize_cli.engine import read_model_info
from colorize_cli.lab import image_to_L
from colorize_cli.pipeline import working_shape
from colorize_cli.registry import file_sha256

DEFAULT_DATA = Path("/work/shared/data/train")
PRECISION_KEY, VARIANT_KEY = "precision", "variant_of"
WEIGHT_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def calibration_files(root: Path, count: int, seed: int = 0) -> list[Path]:
    """``count`` training photos drawn evenly from each sub-folder of ``root`` (refuses eval/)."""
    if "eval" in root.resolve().parts:
        raise SystemExit(f"{root}: calibration must use training photos, never the eval/ sets")
    groups = sorted(d for d in root.iterdir() if d.is_dir()) or [root]
    rng = random.Random(seed)
    per = max(1, count // len(groups))
    files: list[Path] = []
    for g in groups:
        found = sorted(p for p in g.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        files += rng.sample(found, min(per, len(found)))
    return files[:count]


def calibration_inputs(files: list[Path], short_side: int, stride: int) -> Iterator[np.ndarray]:
    """[1, 1, h, w] float32 L (0..100) per photo at the model's working shape."""
    for f in files:
        bgr = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if bgr is None:
            continue
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        L = image_to_L(gray)
        h, w = working_shape(L.shape, short_side, stride)
        interp = cv2.INTER_AREA if h * w < L.size else cv2.INTER_LINEAR
        yield cv2.resize(L.astype(np.float32), (w, h), interpolation=interp)[None, None]


class _Reader:
    """onnxruntime's CalibrationDataReader over :func:`calibration_inputs`."""

    def __init__(self, batches: list[np.ndarray]) -> None:
        self._it = iter(batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        x = next(self._it, None)
        return None if x is None else {"L": x}

    def rewind(self) -> None:  # some onnxruntime versions call it
        pass


def tail_nodes(model: onnx.ModelProto, n: int) -> list[str]:
    """Names of the last ``n`` weight-carrying nodes in graph order (the head first to go)."""
    names = [node.name for node in model.graph.node if node.op_type in WEIGHT_OPS]
    return names[-n:] if n > 0 else []


def quantize(src: Path, out: Path, data: Path, count: int = 96, exclude_tail: int = 0,
             exclude: list[str] | None = None, seed: int = 0) -> dict:
    """Write the int8 variant of ``src`` to ``out``; return the report."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    info = read_model_info(src)
    files = calibration_files(data, count, seed)
    batches = list(calibration_inputs(files, info.working_size, info.stride))
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        prepped = onnx.load(str(pre))
        # Nodes lost their names in some exports: name them so they can be excluded and reported.
        for i, node in enumerate(prepped.graph.node):
            if not node.name:
                node.name = f"{node.op_type}_{i}"
        onnx.save(prepped, str(pre))
        keep = list(dict.fromkeys(tail_nodes(prepped, exclude_tail) + list(exclude or [])))
        tmp_out = Path(tmp) / "q.onnx"
        quantize_static(str(pre), str(tmp_out), _Reader(batches), quant_format=QuantFormat.QDQ,
                        per_channel=True, weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                        calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=keep)
        q = onnx.load(str(tmp_out))
    meta = {p.key: p.value for p in onnx.load(str(src), load_external_data=False).metadata_props}
    meta[PRECISION_KEY] = "int8"
    meta[VARIANT_KEY] = file_sha256(src)
    del q.metadata_props[:]
    for k, v in meta.items():
        q.metadata_props.add(key=k, value=v)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    onnx.save(q, str(part))
    part.replace(out)
    read_model_info(out)  # still on the contract
    report = {"source": str(src), "source_sha256": meta[VARIANT_KEY], "output": str(out),
              "sha256": file_sha256(out), "size_bytes": out.stat().st_size,
              "calibration": {"data": str(data), "photos": len(batches), "seed": seed, "method": "MinMax",
                              "shape": f"working_size {info.working_size}, stride {info.stride}"},
              "format": "QDQ, per-channel int8 weights, uint8 activations", "kept_in_float": keep}
    logs = out.parent / "logs"
    (logs if logs.is_dir() else out.parent).joinpath(out.name.removesuffix(".onnx") + "-quantize.json").write_text(
        json.dumps(report, indent=2) + "\n")
    return report


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path, help="float model file")
    ap.add_argument("--out", type=Path, help="default: <model stem>.int8.onnx beside it")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="training photos (never eval/)")
    ap.add_argument("--count", type=int, default=96, help="calibration photos")
    ap.add_argument("--exclude-tail", type=int, default=0, help="last N weight layers kept in float")
    ap.add_argument("--exclude", action="append", default=[], help="a node name kept in float (repeatable)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    out = args.out or args.model.with_name(args.model.stem + ".int8.onnx")
    report = quantize(args.model, out, args.data, args.count, args.exclude_tail, args.exclude, args.seed)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
