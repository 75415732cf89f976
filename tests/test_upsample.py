import time

import cv2
import numpy as np
import pytest

from colorize_cli.upsample import bilinear_upsample, joint_bilateral_upsample


def _edge_scene(H=96, W=128, f=8):
    """A sharp vertical edge in L (dark left, bright right) and a low-res ab that follows it
    only coarsely: the model saw the edge at 1/f resolution."""
    L = np.full((H, W), 25.0, np.float32)
    L[:, W // 2 + 3:] = 80.0  # deliberately not on a low-res cell boundary
    h, w = H // f, W // f
    L_low = cv2.resize(L, (w, h), interpolation=cv2.INTER_AREA)
    ab = np.zeros((h, w, 2), np.float32)
    ab[..., 0] = np.where(L_low > 52.5, -40.0, 40.0)
    ab[..., 1] = np.where(L_low > 52.5, 30.0, -30.0)
    return L, ab


@pytest.mark.parametrize("method", ["grid", "direct"])
def test_sharp_edge_stays_sharp_where_bilinear_bleeds(method):
    L, ab = _edge_scene()
    H, W = L.shape
    jbu = joint_bilateral_upsample(ab, L, method=method)
    bil = bilinear_upsample(ab, (W, H))
    dark, bright = L < 50, L > 50
    # Within a few pixels of the edge on each side
    band = np.zeros_like(dark)
    band[:, W // 2 - 6:W // 2 + 12] = True
    jbu_err = np.concatenate([np.abs(jbu[dark & band, 0] - 40), np.abs(jbu[bright & band, 0] + 40)])
    bil_err = np.concatenate([np.abs(bil[dark & band, 0] - 40), np.abs(bil[bright & band, 0] + 40)])
    assert bil_err.max() > 20, "the scene should make bilinear bleed"
    assert jbu_err.max() < 6, f"JBU bled across the edge by {jbu_err.max():.1f}"
    assert jbu_err.mean() < bil_err.mean() / 4


@pytest.mark.parametrize("method", ["grid", "direct"])
def test_constant_colour_stays_constant_at_borders(method):
    rng = np.random.default_rng(0)
    L = cv2.GaussianBlur(rng.random((50, 70), np.float32) * 100, (0, 0), 3)
    ab = np.empty((10, 14, 2), np.float32)
    ab[..., 0], ab[..., 1] = 12.5, -7.0
    out = joint_bilateral_upsample(ab, L, method=method)
    assert out.shape == (50, 70, 2)
    np.testing.assert_allclose(out[..., 0], 12.5, atol=1e-3)
    np.testing.assert_allclose(out[..., 1], -7.0, atol=1e-3)


def test_grid_matches_direct_reference():
    rng = np.random.default_rng(3)
    H, W, h, w = 120, 160, 24, 32
    L = cv2.GaussianBlur(rng.random((H, W), np.float32) * 100, (0, 0), 4)
    L[:, W // 3:] = np.clip(L[:, W // 3:] + 35, 0, 100)
    ab = cv2.GaussianBlur(rng.normal(0, 40, (h, w, 2)).astype(np.float32), (0, 0), 1.5)
    g = joint_bilateral_upsample(ab, L, method="grid")
    d = joint_bilateral_upsample(ab, L, method="direct")
    assert np.abs(g - d).mean() < 0.5
    assert np.abs(g - d).max() < 3.0


def test_same_size_and_unknown_method():
    L = np.full((8, 8), 50.0, np.float32)
    ab = np.ones((8, 8, 2), np.float32)
    np.testing.assert_allclose(joint_bilateral_upsample(ab, L), ab, atol=1e-4)
    with pytest.raises(ValueError):
        joint_bilateral_upsample(ab, L, method="nope")


def test_jbu_is_vectorised_enough():
    """2 megapixels from a 224-short-side grid: well under the per-pixel-loop regime."""
    rng = np.random.default_rng(0)
    L = cv2.GaussianBlur(rng.random((1224, 1632), np.float32) * 100, (0, 0), 5)
    ab = rng.normal(0, 20, (224, 298, 2)).astype(np.float32)
    t = time.perf_counter()
    out = joint_bilateral_upsample(ab, L)
    assert out.shape == (1224, 1632, 2) and np.isfinite(out).all()
    assert time.perf_counter() - t < 10.0


# ------------------------------------------------------------------ the reduced route


def test_interpolate_rows_is_cv2_resize_strip_by_strip():
    from colorize_cli.upsample import interpolate_rows

    rng = np.random.default_rng(0)
    ab = rng.normal(0, 30, (23, 37, 2)).astype(np.float32)
    want = cv2.resize(ab, (301, 187), interpolation=cv2.INTER_LINEAR)
    got = np.concatenate([interpolate_rows(ab, (301, 187), y, min(187, y + 50)) for y in range(0, 187, 50)])
    assert np.abs(got - want).max() < 1e-3


def test_guide_shape_stops_at_the_guide_factor_and_never_enlarges():
    from colorize_cli.upsample import guide_shape

    assert guide_shape((128, 192), (3648, 5472)) == (256, 384)
    assert guide_shape((128, 192), (3648, 5472), guide_factor=4) == (512, 768)
    assert guide_shape((128, 192), (240, 360)) == (240, 360)  # below the guide size: full JBU
    assert guide_shape((128, 192), (3648, 5472), guide_factor=0) == (3648, 5472)


def test_below_the_guide_size_the_route_is_full_jbu():
    from colorize_cli.upsample import upsample_ab

    L, ab = _edge_scene(f=2)  # ab 48×64: the guide (2×) is the full 96×128
    assert np.array_equal(upsample_ab(ab, L), joint_bilateral_upsample(ab, L))


def test_above_the_guide_size_edges_stay_sharp_and_close_to_full_jbu():
    from colorize_cli.upsample import guide_shape, upsample_ab

    L, ab = _edge_scene(H=384, W=512, f=16)  # ab 24×32: guide 48×64, a further ×8 by bilinear
    assert guide_shape(ab.shape[:2], L.shape) == (48, 64)
    route, full = upsample_ab(ab, L), joint_bilateral_upsample(ab, L)
    bil = bilinear_upsample(ab, (512, 384))
    err = lambda x: np.abs(x[..., 0] - np.where(L > 50, -40.0, 40.0))  # noqa: E731
    bleed = lambda x: (err(x) > 20).sum(axis=1).mean()  # noqa: E731  (pixels per row on the wrong side)
    assert bleed(full) == 0
    assert bleed(route) <= 8 - 2 and bleed(route) < bleed(bil)  # within one guide cell (8 px) of the edge
    assert err(route).mean() < err(bil).mean()
    assert np.abs(route - full).mean() < 1.0
