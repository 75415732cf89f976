"""Weights stored in half precision, computed in float: a shipped file at half the size.

    model = half_stored(model)        # every large float32 initializer -> float16 + Cast

Why: a blend carries two networks' weights (33 MiB in float32), over the size a model file may
have in `weights/` (tests/test_weights.py). Only the storage changes: each such initializer
becomes a float16 initializer and a `Cast` back to float32 under its old name, which onnxruntime
folds once when the session is built, so every operator still computes in float32 at the same
speed. What changes is the weights' rounding (relative 2⁻¹¹), which the card measures on the dev
sets like any other change of a model.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# Below this many elements an initializer is a constant of the graph (a scale, a bin table, a
# shape), not a weight: kept exact, and too small to matter for the size.
MIN_ELEMENTS = 1024


def half_stored(model: onnx.ModelProto, min_elements: int = MIN_ELEMENTS) -> onnx.ModelProto:
    """A copy of ``model`` with each float32 initializer of ``min_elements`` or more stored as
    float16 and cast back to float32 at the start of the graph. Values outside float16's range
    are refused (they would become infinities)."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    kept, casts = [], []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            kept.append(init)
            continue
        values = numpy_helper.to_array(init)
        if np.abs(values).max(initial=0.0) > np.finfo(np.float16).max:
            raise ValueError(f"initializer {init.name} exceeds float16's range")
        half_name = f"{init.name}/fp16"
        kept.append(numpy_helper.from_array(values.astype(np.float16), half_name))
        casts.append(helper.make_node("Cast", [half_name], [init.name], to=TensorProto.FLOAT,
                                      name=f"{init.name}/cast"))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(out)
    return out
