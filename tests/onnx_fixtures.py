"""Tiny but real ONNX models that follow docs/models.md, built with onnx.helper.

* ``bins``: a 1×1 convolution from L to Q logits, then Softmax. Logit q is
  -(L - ℓ_q)² / τ up to a term shared by all bins, so the most likely bin moves with L
  (bin q is preferred around L = ℓ_q) and outputs vary smoothly with L.
* ``ab``: a 1×1 convolution to 2 channels, tanh, ×100: a and b are monotone in L; or, with
  ``constant_ab``, the same graph predicting one (a, b) everywhere (strong chroma at every L).

Both optionally average-pool by ``output_stride``. Every metadata key and graph name can be
overridden or dropped to build the broken files the tests need.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def ring_bins(q: int = 8, radius: float = 50.0) -> np.ndarray:
    ang = 2 * np.pi * np.arange(q) / q
    return np.stack([radius * np.cos(ang), radius * np.sin(ang)], axis=1).astype(np.float32)


def _save(path: Path, nodes, inits, out_name: str, out_channels, meta: dict, input_name: str = "L",
          input_channels=1) -> Path:
    graph = helper.make_graph(
        nodes, "fixture",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", input_channels, "H", "W"])],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, ["N", out_channels, "h", "w"])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    helper.set_model_props(model, {k: str(v) for k, v in meta.items() if v is not None})
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def _pool(nodes: list, src: str, stride: int) -> str:
    if stride == 1:
        return src
    nodes.append(helper.make_node("AveragePool", [src], ["pooled"], kernel_shape=[stride, stride],
                                  strides=[stride, stride]))
    return "pooled"


def make_bins_model(path, q: int = 8, bins: np.ndarray | None = None, name: str = "fixture-bins",
                    working_size: int = 32, stride: int = 8, output_stride: int = 1, temperature: float = 0.5,
                    tau: float = 150.0, meta: dict | None = None, drop: tuple = (), output_name: str = "probs",
                    input_name: str = "L", graph_q: int | None = None) -> Path:
    bins = ring_bins(q) if bins is None else np.asarray(bins, np.float32)
    gq = graph_q or len(bins)
    centres = np.linspace(0.0, 100.0, gq).astype(np.float32)
    w = (2 * centres / tau).reshape(gq, 1, 1, 1).astype(np.float32)
    b = (-(centres ** 2) / tau).astype(np.float32)
    nodes = [helper.make_node("Conv", [input_name, "w", "b"], ["conv_out"])]
    src = _pool(nodes, "conv_out", output_stride)
    nodes.append(helper.make_node("Softmax", [src], [output_name], axis=1))
    md = {"colorize.contract": "1", "name": name, "version": "0.0.1", "kind": "bins", "input": "L:0..100",
          "working_size": working_size, "stride": stride, "output_stride": output_stride,
          "bins": json.dumps(bins.tolist()), "temperature": temperature, "description": "test fixture",
          "license": "MIT"}
    md.update(meta or {})
    for k in drop:
        md.pop(k, None)
    return _save(path, nodes, [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
                 output_name, gq, md, input_name)


def make_ab_model(path, name: str = "fixture-ab", working_size: int = 32, stride: int = 8, output_stride: int = 1,
                  meta: dict | None = None, drop: tuple = (), out_channels: int = 2,
                  constant_ab: tuple[float, float] | None = None) -> Path:
    w = np.array([0.03, -0.02, 0.01][:out_channels], np.float32).reshape(out_channels, 1, 1, 1)
    b = np.array([-1.5, 1.0, 0.0][:out_channels], np.float32)
    if constant_ab is not None:
        # Zero weights: the output is 100·tanh(bias) whatever L is.
        w = np.zeros_like(w)
        b = np.arctanh(np.asarray(constant_ab, np.float64) / 100.0).astype(np.float32)
    nodes = [helper.make_node("Conv", ["L", "w", "b"], ["lin"])]
    src = _pool(nodes, "lin", output_stride)
    nodes += [helper.make_node("Tanh", [src], ["t"]),
              helper.make_node("Mul", ["t", "hundred"], ["ab"])]
    md = {"colorize.contract": "1", "name": name, "version": "0.0.1", "kind": "ab", "input": "L:0..100",
          "working_size": working_size, "stride": stride, "output_stride": output_stride}
    md.update(meta or {})
    for k in drop:
        md.pop(k, None)
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b"),
             numpy_helper.from_array(np.array(100.0, np.float32), "hundred")]
    return _save(path, nodes, inits, "ab", out_channels, md)


def ab_of_L(L: np.ndarray) -> np.ndarray:
    """What the ab fixture computes (output_stride 1), for checking results."""
    return np.stack([100 * np.tanh(0.03 * L - 1.5), 100 * np.tanh(-0.02 * L + 1.0)], axis=-1)
