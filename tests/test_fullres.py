"""Full-resolution work in strips (colorize_cli/fullres.py): the same numbers as the plain
whole-image path, threads or not."""

import cv2
import numpy as np
import pytest

from colorize_cli import fullres
from colorize_cli.lab import from_float, image_to_L, merge
from colorize_cli.upsample import guided_ab, upsample_ab


def _photo(h=301, w=415, channels=3, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    y, x = np.mgrid[0:h, 0:w]
    base = (np.sin(x / 17.0) * np.cos(y / 23.0) + 1) / 2
    planes = [np.clip(base * top * f + rng.normal(0, top / 50, base.shape), 0, top) for f in (1.0, 0.8, 0.6)]
    img = np.dstack(planes[:channels]).astype(dtype)
    return img[:, :, 0] if channels == 1 else img


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_luminance_of_gray_is_image_to_L(dtype):
    g = _photo(channels=1, dtype=dtype)
    assert np.array_equal(fullres.luminance(g), image_to_L(g))
    rgb = np.dstack([g, g, g])  # a gray scan saved as colour
    assert np.array_equal(fullres.luminance(rgb), image_to_L(g))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_luminance_of_colour_is_close_to_opencv(dtype):
    rgb = _photo(dtype=dtype)
    assert np.abs(fullres.luminance(rgb) - image_to_L(rgb)).max() < 0.25
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 7, dtype)])
    assert np.array_equal(fullres.luminance(rgba), fullres.luminance(rgb))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_render_equals_merge_then_quantise(threads, dtype):
    fullres.set_threads(threads)
    try:
        L = image_to_L(_photo())
        L_low = cv2.resize(L, (26, 19), interpolation=cv2.INTER_AREA)
        ab = np.dstack([(L_low - 50) * 1.2, (60 - L_low) * 0.9]).astype(np.float32)
        want = from_float(merge(L, upsample_ab(ab, L, guide_factor=4)), dtype)
        got = fullres.render(L, guided_ab(ab, L, guide_factor=4), dtype)
        assert got.dtype == dtype and got.shape == want.shape
        assert np.abs(got.astype(np.int64) - want).max() <= 1  # exact halves round to even
        assert (got != want).mean() < 5e-3  # float32 rounding at 16 bits
        alpha = (np.arange(L.size) % 251).reshape(L.shape).astype(dtype)
        with_alpha = fullres.render(L, guided_ab(ab, L, guide_factor=4), dtype, alpha)
        assert np.array_equal(with_alpha[:, :, 3], alpha) and np.array_equal(with_alpha[:, :, :3], got)
    finally:
        fullres.set_threads(None)


def test_render_refuses_float_output():
    with pytest.raises(ValueError):
        fullres.render(np.zeros((4, 4), np.float32), np.zeros((4, 4, 2), np.float32), np.float32)
