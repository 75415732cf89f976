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
