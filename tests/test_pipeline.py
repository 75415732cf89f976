import cv2
import numpy as np
import pytest
from helpers import gradient
from onnx_fixtures import ab_of_L

from colorize_cli.model.engine import Engine
from colorize_cli.lab import image_to_L, merge
from colorize_cli.pipeline import Pipeline, working_shape


@pytest.fixture(scope="module")
def bins_pipe(models_dir):
    return Pipeline(Engine(models_dir / "fixture-bins.onnx", device="cpu"))


@pytest.fixture(scope="module")
def ab_pipe(models_dir):
    return Pipeline(Engine(models_dir / "fixture-ab.onnx", device="cpu"))


@pytest.mark.parametrize("shape,short,stride,want", [
    ((480, 640), 224, 32, (224, 288)),
    ((640, 480), 224, 32, (288, 224)),
    ((1000, 1000), 256, 16, (256, 256)),
    ((100, 3000), 224, 32, (32, 896)),  # the long side is bounded at MAX_ASPECT × 224
    ((10, 20), 224, 8, (224, 448)),
])
def test_working_shape_keeps_aspect_and_stride(shape, short, stride, want):
    got = working_shape(shape, short, stride)
    assert got == want and got[0] % stride == 0 and got[1] % stride == 0


def test_render_size_and_prepare(bins_pipe, models_dir):
    L = image_to_L(gradient(60, 90))
    assert bins_pipe.prepare(L).shape == (32, 48)
    p = Pipeline(Engine(models_dir / "fixture-bins.onnx", device="cpu"), render_size=64)
    assert p.prepare(L).shape == (64, 96)


def test_ab_model_colour_follows_the_model(ab_pipe):
    L = np.full((40, 56), 70.0, np.float32)
    rgb = ab_pipe.colorize_L(L)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    want = ab_of_L(np.float32(70.0))
    np.testing.assert_allclose(lab[..., 1:].mean((0, 1)), want, atol=2.0)
    np.testing.assert_allclose(lab[..., 0], 70.0, atol=0.5)  # the original L is kept


def test_stages_compose_to_colorize_L(bins_pipe):
    L = image_to_L(gradient(48, 64))
    (raw,) = bins_pipe.infer([bins_pipe.prepare(L)])
    assert raw.shape == (8, 32, 40)
    ab_low = bins_pipe.to_ab(raw)
    assert ab_low.shape == (32, 40, 2)
    rgb = merge(L, bins_pipe.upsample(ab_low, L))
    np.testing.assert_allclose(rgb, bins_pipe.colorize_L(L), atol=1e-5)
    assert rgb.dtype == np.float32 and rgb.shape == (48, 64, 3)
    assert np.ptp(cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[..., 1]) > 10, "colour should vary with L"


def test_temperature_override(bins_pipe):
    L = image_to_L(gradient(48, 64))
    (raw,) = bins_pipe.infer([bins_pipe.prepare(L)])
    hot, cold = bins_pipe.to_ab(raw, temperature=1.0), bins_pipe.to_ab(raw, temperature=0.1)
    assert np.linalg.norm(cold, axis=-1).mean() > np.linalg.norm(hot, axis=-1).mean()


def test_batched_inference_matches_single(bins_pipe):
    Ls = [image_to_L(gradient(h, w)) for h, w in ((48, 64), (48, 64), (64, 48), (48, 64))]
    batched = bins_pipe.colorize_Ls(Ls)
    for L, out in zip(Ls, batched):
        np.testing.assert_allclose(out, bins_pipe.colorize_L(L), atol=1e-4)


def test_sepia_is_colourised_from_its_L(bins_pipe):
    gray = gradient(48, 64, channels=3)
    lab = cv2.cvtColor(gray.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    lab[..., 1], lab[..., 2] = 8.0, 25.0  # a brown tint at the same lightness
    sepia = (np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0, 1) * 65535).round().astype(np.uint16)
    out_gray = bins_pipe.colorize_array((gray.astype(np.uint16) * 257))
    out_sepia = bins_pipe.colorize_array(sepia)
    assert np.abs(out_gray.astype(int) - out_sepia.astype(int)).mean() < 0.01 * 65535


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_colorize_array_keeps_dtype_and_alpha(ab_pipe, dtype, channels):
    img = gradient(40, 52, dtype=np.uint16 if dtype == np.uint16 else np.uint8, channels=channels)
    if dtype == np.float32:
        img = img.astype(np.float32) / 255
    out = ab_pipe.colorize_array(img)
    assert out.dtype == dtype and out.shape == (40, 52, 4 if channels == 4 else 3)
    if channels == 4:
        np.testing.assert_array_equal(out[..., 3], img[..., 3])


def test_no_jbu_is_bilinear(models_dir):
    p = Pipeline(Engine(models_dir / "fixture-bins4.onnx", device="cpu"), jbu=False)
    L = image_to_L(gradient(64, 96))
    (raw,) = p.infer([p.prepare(L)])
    ab = p.upsample(p.to_ab(raw), L)
    np.testing.assert_allclose(ab, cv2.resize(p.to_ab(raw), (96, 64), interpolation=cv2.INTER_LINEAR), atol=1e-4)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_finish_with_a_dtype_is_the_quantised_float_finish(bins_pipe, dtype):
    """The strip-wise path (photos and films are written through it) gives the float path's
    pixels, quantised: past the guide size too, with an ab filter and an alpha plane."""
    from colorize_cli.lab import from_float

    L = image_to_L(cv2.resize(gradient(48, 64), (640, 480), interpolation=cv2.INTER_LINEAR))
    (raw,) = bins_pipe.raw_maps([L])

    def warmer(L_work, ab, full_shape):
        return ab + np.float32(5.0)

    alpha = np.full(L.shape, 7, dtype)
    want = from_float(bins_pipe.finish(L, raw, ab_filter=warmer), dtype, alpha)
    got = bins_pipe.finish(L, raw, ab_filter=warmer, dtype=dtype, alpha=alpha)
    assert got.dtype == dtype and got.shape == (480, 640, 4)
    assert np.abs(got.astype(np.int64) - want).max() <= 1  # exact halves round to even
    assert np.array_equal(got[:, :, 3], alpha)
