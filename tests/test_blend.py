"""exporters.blend: two shipped models averaged in one ONNX graph, checked against the runtime's own steps."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import colorize_cli  # noqa: E402
from colorize_cli.bins_to_ab import annealed_mean  # noqa: E402
from exporters import blend  # noqa: E402
from onnx_fixtures import ab_of_L, make_ab_model, make_bins_model, ring_bins  # noqa: E402


def _run(model, L):
    """Run a model file, or a model built in memory, on one L plane."""
    source = model.SerializeToString() if hasattr(model, "SerializeToString") else str(model)
    sess = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    return sess.run(None, {"L": L[None, None].astype(np.float32)})[0][0]


def test_blend_is_the_weighted_mean_of_annealed_bins_and_ab(tmp_path):
    bins_path = make_bins_model(tmp_path / "b.onnx", q=8, output_stride=2, temperature=0.5)
    ab_path = make_ab_model(tmp_path / "a.onnx")
    out = tmp_path / "blend.onnx"
    blend.main([str(bins_path), str(ab_path), "--weight", "0.3", "--temperature", "0.4",
                "--name", "mix", "--version", "1.2.3", "--out", str(out)])
    L = np.tile(np.linspace(0, 100, 24, dtype=np.float32), (16, 1))

    probs = _run(bins_path, L)  # [Q, 8, 12]
    ab_bins = cv2.resize(annealed_mean(probs, ring_bins(8), 0.4), (24, 16), interpolation=cv2.INTER_LINEAR)
    want = 0.3 * ab_bins + 0.7 * ab_of_L(L)
    got = _run(out, L).transpose(1, 2, 0)
    assert got.shape == (16, 24, 2)
    np.testing.assert_allclose(got, want, atol=1e-3)
    # A different weight gives a different model: the weight is really in the graph.
    assert np.abs(got - ab_of_L(L)).max() > 1.0

    pipe = colorize_cli.load(str(out))
    assert (pipe.info.name, pipe.info.kind, pipe.info.version) == ("mix", "ab", "1.2.3")
    rgb = pipe.colorize_array(np.dstack([np.uint8(L * 2.55)] * 3))
    assert rgb.shape == (16, 24, 3)


def test_blend_refuses_wrong_kinds(tmp_path):
    bins_path = make_bins_model(tmp_path / "b.onnx")
    ab_path = make_ab_model(tmp_path / "a.onnx")
    with pytest.raises(ValueError, match="bins model then an ab model"):
        blend.blend(ab_path, bins_path, 0.5)
    with pytest.raises(ValueError, match="weight"):
        blend.blend(bins_path, ab_path, 1.0)
    coarse = make_ab_model(tmp_path / "c.onnx", output_stride=2)
    with pytest.raises(ValueError, match="output_stride 1"):
        blend.blend(bins_path, coarse, 0.5)


def test_gain_scales_the_blended_ab(tmp_path):
    bins_path = make_bins_model(tmp_path / "b.onnx", q=8, output_stride=2, temperature=0.5)
    ab_path = make_ab_model(tmp_path / "a.onnx")
    L = np.tile(np.linspace(0, 100, 24, dtype=np.float32), (16, 1))
    plain, boosted = tmp_path / "plain.onnx", tmp_path / "boosted.onnx"
    for out, extra in ((plain, []), (boosted, ["--gain", "1.25"])):
        blend.main([str(bins_path), str(ab_path), "--weight", "0.5", "--name", "mix", "--version", "1.0.0",
                    "--out", str(out), *extra])
    np.testing.assert_allclose(_run(boosted, L), 1.25 * _run(plain, L), rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="gain"):
        blend.blend(bins_path, ab_path, 0.5, gain=0.0)


def test_an_int8_blend_is_tied_to_its_float_blend(tmp_path):
    from colorize_cli.model.variants import variants

    bins_path = make_bins_model(tmp_path / "b.onnx", q=8, output_stride=2, temperature=0.5)
    ab_path = make_ab_model(tmp_path / "a.onnx")
    common = [str(bins_path), str(ab_path), "--weight", "0.5", "--gain", "1.2", "--name", "mix", "--version", "1.0.0"]
    float_blend, int8_blend = tmp_path / "mix.onnx", tmp_path / "mix.int8.onnx"
    blend.main([*common, "--out", str(float_blend)])
    # the fixtures stand in for int8 files here: what is checked is the tie, not the arithmetic
    blend.main([*common, "--out", str(int8_blend), "--int8-of", str(float_blend)])
    assert variants(float_blend) == {"float": float_blend, "int8": int8_blend}
    assert colorize_cli.load(str(float_blend), precision="int8").info.precision == "int8"
    with pytest.raises(SystemExit, match="not a blend named other"):
        blend.main([*common[:-4], "--name", "other", "--version", "1.0.0", "--out", str(tmp_path / "o.onnx"),
                    "--int8-of", str(float_blend)])


def test_global_weight_takes_each_photos_mean_ab_from_the_bins_model(tmp_path):
    bins_path = make_bins_model(tmp_path / "b.onnx", q=8, output_stride=2, temperature=0.5)
    ab_path = make_ab_model(tmp_path / "a.onnx")
    out = tmp_path / "split.onnx"
    blend.main([str(bins_path), str(ab_path), "--weight", "0", "--global-weight", "1", "--gain", "1.1",
                "--name", "mix", "--version", "1.0.0", "--out", str(out)])
    L = np.tile(np.linspace(0, 100, 24, dtype=np.float32), (16, 1))
    ab_bins = cv2.resize(annealed_mean(_run(bins_path, L), ring_bins(8), 0.5), (24, 16),
                         interpolation=cv2.INTER_LINEAR)
    ab = ab_of_L(L)
    want = 1.1 * (ab - ab.mean(axis=(0, 1)) + ab_bins.mean(axis=(0, 1)))
    got = _run(out, L).transpose(1, 2, 0)
    np.testing.assert_allclose(got, want, atol=1e-3)
    # the detail is the ab model's, the overall colour the bins model's
    np.testing.assert_allclose(got.mean(axis=(0, 1)), 1.1 * ab_bins.mean(axis=(0, 1)), atol=1e-3)
    assert np.abs(ab.mean(axis=(0, 1)) - ab_bins.mean(axis=(0, 1))).max() > 1.0  # the test can tell them apart
    with pytest.raises(ValueError, match="global_weight"):
        blend.blend(bins_path, ab_path, 0.0, global_weight=1.5)


def test_global_gain_scales_only_each_photos_mean(tmp_path):
    bins_path = make_bins_model(tmp_path / "b.onnx", q=8, output_stride=2, temperature=0.5)
    ab_path = make_ab_model(tmp_path / "a.onnx")
    L = np.tile(np.linspace(0, 100, 24, dtype=np.float32), (16, 1))
    ab_bins = cv2.resize(annealed_mean(_run(bins_path, L), ring_bins(8), 0.5), (24, 16),
                         interpolation=cv2.INTER_LINEAR)
    mix = 0.3 * ab_bins + 0.7 * ab_of_L(L)
    overall = 0.8 * ab_bins.mean(axis=(0, 1)) + 0.2 * ab_of_L(L).mean(axis=(0, 1))
    got = _run(blend.blend(bins_path, ab_path, 0.3, gain=1.2, global_weight=0.8, global_gain=1.5), L)
    want = 1.2 * (mix - mix.mean(axis=(0, 1))) + 1.5 * overall
    np.testing.assert_allclose(got.transpose(1, 2, 0), want, atol=1e-3)
    # equal shares and gains are the plain blend
    np.testing.assert_allclose(_run(blend.blend(bins_path, ab_path, 0.3, gain=1.2, global_weight=0.3,
                                                global_gain=1.2), L).transpose(1, 2, 0), 1.2 * mix, atol=1e-3)
