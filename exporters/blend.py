"""One model from two: a `bins` model's annealed mean and an `ab` model's ab, averaged in one ONNX graph.

    python -m exporters.blend weights/classifier-313.onnx weights/unet-l1.onnx --weight 0.5 \
        --name blend --version 1.0.0 --out weights/blend.onnx

Why: the 313-bin classifier and the L1 U-Net err differently (measured: their ab average beats
either alone on ImageNet-like photos), and a user picks one name. The result is an ordinary
`ab` model under docs/models.md — the runtime does not know it is two networks — so the film
path's temporal kernel, hints, keyframes and `--ray` all work on it unchanged.

The graph: both networks read the same L; the bins model's final softmax is replaced by
softmax(logits / T), which is exactly the runtime's annealed mean p ∝ exp(log p / T), its mean
over the bin centres, a bilinear ×output_stride resize (half-pixel centres, as OpenCV's) to the
ab model's grid, then `weight`·bins + (1 − `weight`)·ab. No torch is needed: it composes the
two shipped ONNX files, so it reproduces them exactly.

`--global-weight` splits the two roles: each photo's mean ab (its overall colour, where a GAN's
cast lives) is taken in that share from the bins model, the colour around that mean in
`--weight`'s share. ``--weight 0 --global-weight 1`` is the ab model's detail laid on the
classifier's overall colour.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from colorize_cli.model.registry import file_sha256

from .quantize import PRECISION_KEY, VARIANT_KEY
from .storage import half_stored

OPSET = 17


def _meta(model: onnx.ModelProto) -> dict[str, str]:
    return {p.key: p.value for p in model.metadata_props}


def _prefixed(model: onnx.ModelProto, prefix: str) -> onnx.GraphProto:
    """The model's graph with every name prefixed, its input renamed back to the shared `L`."""
    graph = onnx.compose.add_prefix(model, prefix).graph
    for node in graph.node:
        node.input[:] = ["L" if name == f"{prefix}L" else name for name in node.input]
    return graph


def _model(part: Path | onnx.ModelProto) -> onnx.ModelProto:
    return part if isinstance(part, onnx.ModelProto) else onnx.load(str(part))


def blend(bins_model: Path | onnx.ModelProto, ab_model: Path | onnx.ModelProto, weight: float,
          temperature: float | None = None, gain: float = 1.0,
          global_weight: float | None = None, global_gain: float | None = None) -> onnx.ModelProto:
    """The blended model of two files (or models already loaded), without metadata: the caller
    writes the contract's.

    ``gain`` scales the blended ab: averaging two models that err differently also averages away
    some of each one's chroma, and a gain > 1 gives it back (the runtime's gamut mapping holds
    whatever overshoots).

    ``global_weight`` (default: ``weight``) is the bins model's share of each photo's mean ab, and
    ``global_gain`` (default: ``gain``) that mean's scale. With m(x) the mean of x over the image,
    mix = w·bins + (1 − w)·ab and overall = wg·m(bins) + (1 − wg)·m(ab), the output is
    gain·(mix − m(mix)) + global_gain·overall: the colour around each photo's mean from one share,
    the mean itself from another. With them, ``weight`` may be 0 or 1."""
    global_weight = weight if global_weight is None else global_weight
    global_gain = gain if global_gain is None else global_gain
    split = global_weight != weight or global_gain != gain
    if not 0.0 < global_gain <= 3.0:
        raise ValueError(f"global_gain must be in (0, 3], got {global_gain}")
    if split:
        if not (0.0 <= weight <= 1.0 and 0.0 <= global_weight <= 1.0):
            raise ValueError(f"weight and global_weight must be in [0, 1], got {weight}, {global_weight}")
    elif not 0.0 < weight < 1.0:
        raise ValueError(f"weight must be in (0, 1), got {weight}")
    if not 0.0 < gain <= 3.0:
        raise ValueError(f"gain must be in (0, 3], got {gain}")
    mb, ma = _model(bins_model), _model(ab_model)
    meta_b, meta_a = _meta(mb), _meta(ma)
    if meta_b.get("kind") != "bins" or meta_a.get("kind") != "ab":
        raise ValueError("blend takes a bins model then an ab model")
    if meta_a.get("output_stride") != "1":
        raise ValueError("the ab model must output at full working resolution (output_stride 1)")
    t = float(temperature if temperature is not None else meta_b["temperature"])
    centres = np.asarray(json.loads(meta_b["bins"]), np.float32)
    scale = float(meta_b["output_stride"])

    gb, ga = _prefixed(mb, "bins/"), _prefixed(ma, "ab/")
    (softmax,) = [n for n in gb.node if "bins/probs" in n.output]
    if softmax.op_type != "Softmax":
        raise ValueError(f"the bins model must end in Softmax, not {softmax.op_type}")
    logits = softmax.input[0]
    nodes = [n for n in gb.node if n is not softmax] + list(ga.node)
    consts = {
        "blend/inv_t": np.array(1.0 / t, np.float32),
        "blend/centres": centres,
        "blend/scales": np.array([1.0, 1.0, scale, scale], np.float32),
        "blend/w_bins": np.array(gain * weight, np.float32),
        "blend/w_ab": np.array(gain * (1.0 - weight), np.float32),
    }
    nodes += [
        helper.make_node("Mul", [logits, "blend/inv_t"], ["blend/tempered"]),
        helper.make_node("Softmax", ["blend/tempered"], ["blend/annealed"], axis=1),
        helper.make_node("Transpose", ["blend/annealed"], ["blend/nhwq"], perm=[0, 2, 3, 1]),
        helper.make_node("MatMul", ["blend/nhwq", "blend/centres"], ["blend/nhw2"]),
        helper.make_node("Transpose", ["blend/nhw2"], ["blend/ab_low"], perm=[0, 3, 1, 2]),
        helper.make_node("Resize", ["blend/ab_low", "", "blend/scales"], ["blend/ab_bins"], mode="linear",
                         coordinate_transformation_mode="half_pixel"),
        helper.make_node("Mul", ["blend/ab_bins", "blend/w_bins"], ["blend/part_bins"]),
        helper.make_node("Mul", ["ab/ab", "blend/w_ab"], ["blend/part_ab"]),
        helper.make_node("Add", ["blend/part_bins", "blend/part_ab"], ["blend/mixed" if split else "ab"]),
    ]
    if split:
        # out = mixed + m(shift_bins·bins + shift_ab·ab), mixed already carrying gain·m(mix)
        consts["blend/shift_bins"] = np.array(global_gain * global_weight - gain * weight, np.float32)
        consts["blend/shift_ab"] = np.array(global_gain * (1 - global_weight) - gain * (1 - weight), np.float32)
        nodes += [
            helper.make_node("Mul", ["blend/ab_bins", "blend/shift_bins"], ["blend/shift_b"]),
            helper.make_node("Mul", ["ab/ab", "blend/shift_ab"], ["blend/shift_a"]),
            helper.make_node("Add", ["blend/shift_b", "blend/shift_a"], ["blend/shift"]),
            # opset 17: ReduceMean's axes are an attribute
            helper.make_node("ReduceMean", ["blend/shift"], ["blend/mean_shift"], axes=[2, 3], keepdims=1),
            helper.make_node("Add", ["blend/mixed", "blend/mean_shift"], ["ab"]),
        ]
    inits = list(gb.initializer) + list(ga.initializer) + [numpy_helper.from_array(v, k) for k, v in consts.items()]
    L = helper.make_tensor_value_info("L", TensorProto.FLOAT, ["N", 1, "H", "W"])
    ab = helper.make_tensor_value_info("ab", TensorProto.FLOAT, ["N", 2, "H", "W"])
    graph = helper.make_graph(nodes, "blend", [L], [ab], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = max(mb.ir_version, ma.ir_version)
    onnx.checker.check_model(model)
    return model


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m exporters.blend", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bins_model", type=Path, help="a kind-bins ONNX file (e.g. weights/classifier-313.onnx)")
    ap.add_argument("ab_model", type=Path, help="a kind-ab ONNX file at output stride 1 (e.g. weights/unet-l1.onnx)")
    ap.add_argument("--weight", type=float, default=0.5, help="share of the bins model (the ab model gets the rest)")
    ap.add_argument("--temperature", type=float, default=None, help="annealed-mean temperature baked in "
                    "(default: the bins model's)")
    ap.add_argument("--gain", type=float, default=1.0, help="scale of the blended ab (default 1)")
    ap.add_argument("--global-weight", type=float, default=None, help="share of the bins model in each photo's "
                    "mean ab (default: --weight); the rest of the colour keeps --weight's share")
    ap.add_argument("--global-gain", type=float, default=None, help="scale of each photo's mean ab (default: --gain)")
    ap.add_argument("--working-size", type=int, default=None, help="default: the ab model's")
    ap.add_argument("--storage", choices=("float16", "float32"), default="float16",
                    help="how the weights are stored (computed in float32 either way; float16 halves the "
                    "file, see exporters/storage.py)")
    ap.add_argument("--name", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--description", default="")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--int8-of", type=Path, default=None, metavar="FLOAT_BLEND",
                    help="the two inputs are int8 variants: mark the output as the int8 variant of this float "
                    "blend (made from their float files with the same options)")
    args = ap.parse_args(argv)

    mb, ma = onnx.load(str(args.bins_model)), onnx.load(str(args.ab_model))  # once: the ab file is ~17 MB
    meta_b, meta_a = _meta(mb), _meta(ma)
    model = blend(mb, ma, args.weight, args.temperature, args.gain, args.global_weight, args.global_gain)
    if args.storage == "float16":
        model = half_stored(model)
    t = args.temperature if args.temperature is not None else float(meta_b["temperature"])
    description = args.description or (
        f"{args.weight:g} × {meta_b['name']} {meta_b['version']} (annealed mean, T {t:g}) + "
        f"{1 - args.weight:g} × {meta_a['name']} {meta_a['version']}"
        + (f", mean ab {args.global_weight:g} × {meta_b['name']}"
           if args.global_weight is not None and args.global_weight != args.weight else "")
        + (f", mean ab × {args.global_gain:g}" if args.global_gain is not None and args.global_gain != args.gain else "")
        + (f", ab × {args.gain:g}" if args.gain != 1.0 else "") + ", one graph")
    meta = {"colorize.contract": "1", "name": args.name, "version": args.version, "kind": "ab", "input": "L:0..100",
            "working_size": str(args.working_size or meta_a["working_size"]),
            "stride": str(max(int(meta_a["stride"]), int(meta_b["stride"]))), "output_stride": "1",
            "description": description, "license": meta_b.get("license", "")}
    if args.int8_of is not None:
        # The runtime pairs the files by this (docs/models.md, "Variants"): same name, version and
        # contract, and the float file's sha256.
        if _meta(onnx.load(str(args.int8_of))).get("name") != args.name:
            raise SystemExit(f"{args.int8_of}: not a blend named {args.name}")
        meta.update({PRECISION_KEY: "int8", VARIANT_KEY: file_sha256(args.int8_of)})
    for k, v in meta.items():
        model.metadata_props.add(key=k, value=v)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp.onnx")
    onnx.save(model, str(tmp))
    os.replace(tmp, args.out)
    print(json.dumps({"file": str(args.out), "sha256": file_sha256(args.out), "bytes": args.out.stat().st_size,
                      "parts": [f"{meta_b['name']} {meta_b['version']}", f"{meta_a['name']} {meta_a['version']}"],
                      "weight": args.weight, "global_weight": args.global_weight, "global_gain": args.global_gain,
                      "temperature": t,
                      "gain": args.gain, "storage": args.storage}))


if __name__ == "__main__":
    main()
