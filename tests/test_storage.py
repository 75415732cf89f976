"""exporters.storage: weights stored in float16, computed in float32."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from exporters.storage import half_stored  # noqa: E402


def _conv_model(weight: np.ndarray, bias: np.ndarray) -> onnx.ModelProto:
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 6, 6])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def test_large_weights_are_stored_in_half_and_the_output_barely_moves():
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(16, 8, 3, 3)).astype(np.float32)  # 1152 elements: a weight
    bias = rng.normal(size=16).astype(np.float32)                # 16: a constant, kept exact
    model = _conv_model(weight, bias)
    half = half_stored(model)

    stored = {i.name: i for i in half.graph.initializer}
    assert stored["w/fp16"].data_type == TensorProto.FLOAT16 and "w" not in stored
    assert stored["b"].data_type == TensorProto.FLOAT
    assert len(half.SerializeToString()) < 0.7 * len(model.SerializeToString())
    assert [n.op_type for n in half.graph.node] == ["Cast", "Conv"]

    x = rng.normal(size=(1, 8, 6, 6)).astype(np.float32)
    want, got = _run(model, x), _run(half, x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=5e-3 * np.abs(want).max())
    # what it computes is exactly the float16-rounded weights in float32
    rounded = _conv_model(weight.astype(np.float16).astype(np.float32), bias)
    np.testing.assert_allclose(got, _run(rounded, x), rtol=1e-6, atol=1e-6)
    assert not np.array_equal(got, want)  # the rounding is really there


def test_values_beyond_float16_are_refused():
    weight = np.full((16, 8, 3, 3), 1e6, np.float32)
    with pytest.raises(ValueError, match="float16's range"):
        half_stored(_conv_model(weight, np.zeros(16, np.float32)))
