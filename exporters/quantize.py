"""Quantize a shipped float model to int8 for the CPU (weights/<name>.int8.onnx).

    python -m exporters.quantize weights/classifier-313.onnx            # -> weights/classifier-313.int8.onnx
    python -m exporters.quantize weights/unet-l1.onnx --exclude-tail 1 --exclude-first 6  # as shipped

onnxruntime's static quantization: QDQ format, per-channel int8 weights, uint8 activations,
calibrated (min/max) on gray versions of TRAINING photos (``--data``, never the eval/ sets)
brought to the model's working shape exactly as :meth:`colorize_cli.pipeline.Pipeline.prepare`
does. The int8 file keeps every metadata field of the float one (same name and version, so
users keep one model name) and adds the tie that the runtime checks (docs/models.md):

* ``precision`` = ``int8``;
* ``variant_of`` = the sha256 of the float file it was made from.

``--exclude-tail N`` keeps the last N Conv/ConvTranspose/Gemm nodes and all after them (the head,
its softmax/tanh; the last decoder block) in float, ``--exclude-first N`` the first N (the stem),
for models whose int8 version misses the quality bar (weights/README.md says which).
The int8 model is then compared with the float one on ``--check`` other training photos
(:func:`compare`: mean |Δab| at the model's output, chroma ratio, top-1 bin agreement): a quick
proxy to choose ``--exclude-tail`` before the dev-set parity run (weights/README.md).
A JSON report (nodes kept in float, sizes, sha256, the comparison) goes to ``logs/<name>.int8-quantize.json``
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

from colorize_cli.model.engine import read_model_info
from colorize_cli.lab import image_to_L
from colorize_cli.pipeline import working_shape
from colorize_cli.model.registry import file_sha256

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
    """The last ``n`` weight-carrying nodes and every node after them in graph order (the head,
    its softmax or tanh; with larger ``n`` the last decoder block)."""
    if n <= 0:
        return []
    nodes = list(model.graph.node)
    weighted = [i for i, node in enumerate(nodes) if node.op_type in WEIGHT_OPS]
    start = weighted[-min(n, len(weighted))]
    return [node.name for node in nodes[start:]]


def first_nodes(model: onnx.ModelProto, n: int) -> list[str]:
    """The first ``n`` weight-carrying nodes in graph order (the stem: measured on the Lite0
    models, the layers int8 hurts most, where the 0..100 input meets the first convolutions)."""
    return [node.name for node in model.graph.node if node.op_type in WEIGHT_OPS][:max(n, 0)]


def compare(float_path: Path, int8_path: Path, files: list[Path]) -> dict:
    """int8 against float on ``files`` at the model's working shape, through the runtime's own
    stages (model, then to ab): mean |Δab|, chroma ratio, and top-1 bin agreement (bins models)."""
    from colorize_cli.model.engine import Engine
    from colorize_cli.pipeline import Pipeline

    if not files:
        return {"photos": 0}
    pipes = [Pipeline(Engine(p, device="cpu", batch_size=1)) for p in (float_path, int8_path)]
    info = pipes[0].info
    dab, chroma, agree = [], [[], []], []
    for x in calibration_inputs(files, info.working_size, info.stride):
        raws = [p.infer([x[0, 0]])[0] for p in pipes]
        abs_ = [p.to_ab(r) for p, r in zip(pipes, raws)]
        dab.append(float(np.abs(abs_[1] - abs_[0]).mean()))
        for k in (0, 1):
            chroma[k].append(float(np.hypot(abs_[k][..., 0], abs_[k][..., 1]).mean()))
        if info.kind == "bins":
            agree.append(float((raws[0].argmax(0) == raws[1].argmax(0)).mean()))
    out = {"photos": len(dab), "mean_abs_dab": round(float(np.mean(dab)), 4),
           "chroma_ratio": round(float(np.sum(chroma[1]) / max(np.sum(chroma[0]), 1e-9)), 4)}
    if agree:
        out["top1_agreement"] = round(float(np.mean(agree)), 4)
    return out


def quantize(src: Path, out: Path, data: Path, count: int = 96, exclude_tail: int = 0,
             exclude: list[str] | None = None, seed: int = 0, check_count: int = 48, conv_only: bool = False,
             method: str = "minmax", reduce_range: bool = True, exclude_first: int = 0) -> dict:
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
        keep = list(dict.fromkeys(tail_nodes(prepped, exclude_tail) + first_nodes(prepped, exclude_first)
                                  + list(exclude or [])))
        tmp_out = Path(tmp) / "q.onnx"
        # conv_only: Q/DQ only around the weight layers (measured on classifier-313: worse, mean
        # |Δab| 1.45 against 0.87 with every op onnxruntime quantizes; 7-bit weights both).
        calib = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
                 "entropy": CalibrationMethod.Entropy}[method]
        quantize_static(str(pre), str(tmp_out), _Reader(batches), quant_format=QuantFormat.QDQ,
                        per_channel=True, weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                        calibrate_method=calib, nodes_to_exclude=keep,
                        op_types_to_quantize=list(WEIGHT_OPS) if conv_only else None, reduce_range=reduce_range)
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
              "calibration": {"data": str(data), "photos": len(batches), "seed": seed, "method": method,
                              "shape": f"working_size {info.working_size}, stride {info.stride}"},
              "format": "QDQ, per-channel int8 weights" + (" (7-bit range)" if reduce_range else "") + ", uint8 activations",
              "quantized_ops": list(WEIGHT_OPS) if conv_only else "all onnxruntime quantizes", "kept_in_float": keep}
    check = calibration_files(data, check_count, seed + 1)
    report["check_vs_float"] = compare(src, out, [f for f in check if f not in set(files)])
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
    ap.add_argument("--exclude-first", type=int, default=0, help="first N weight layers kept in float (the stem)")
    ap.add_argument("--exclude", action="append", default=[], help="a node name kept in float (repeatable)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--conv-only", action="store_true", help="Q/DQ around the weight layers only (default: every op "
                    "onnxruntime quantizes)")
    ap.add_argument("--full-range", action="store_true", help="8-bit weights (default 7-bit: x86 CPUs without "
                    "VNNI saturate u8×s8 products of full-range weights)")
    ap.add_argument("--method", choices=("minmax", "percentile", "entropy"), default="minmax", help="calibration")
    ap.add_argument("--check", type=int, default=48, help="other training photos to compare int8 with float on")
    args = ap.parse_args(argv)
    out = args.out or args.model.with_name(args.model.stem + ".int8.onnx")
    report = quantize(args.model, out, args.data, args.count, args.exclude_tail, args.exclude, args.seed, args.check,
                      args.conv_only, args.method, not args.full_range, args.exclude_first)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
