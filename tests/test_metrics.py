"""Metrics on constructed images whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("skimage", reason="the eval extra (scikit-image) is not installed")

from colorize_cli import metrics as M


def _noise_rgb(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _smooth_rgb(h: int = 48, w: int = 64) -> np.ndarray:
    # Gradients in all three channels: coloured, textured enough for SSIM and optical flow.
    y, x = np.mgrid[0:h, 0:w]
    r = 128 + 100 * np.sin(x / 5.0)
    g = 128 + 100 * np.cos(y / 7.0)
    b = 128 + 60 * np.sin((x + y) / 9.0)
    return np.clip(np.dstack([r, g, b]), 0, 255).astype(np.uint8)


def test_identical_images_score_perfectly() -> None:
    img = _noise_rgb()
    s = M.image_scores(img, img)
    assert s["psnr"] == math.inf
    assert s["ab_psnr"] == math.inf
    assert s["ssim"] == pytest.approx(1.0)
    assert s["ab_ssim"] == pytest.approx(1.0)
    assert s["ab_rmse"] == 0.0
    assert s["delta_e"] == 0.0
    assert s["ci_ratio"] == pytest.approx(1.0)
    assert not any(math.isnan(v) for v in s.values())
    assert set(s) == set(M.METRIC_KEYS)


def test_uint8_and_float_agree() -> None:
    a, b = _noise_rgb(seed=1), _noise_rgb(seed=2)
    assert M.psnr_rgb(a, b) == pytest.approx(M.psnr_rgb(a / 255.0, b / 255.0))
    assert M.colourfulness(a) == pytest.approx(M.colourfulness(a / 255.0))


def test_psnr_known_value() -> None:
    # A uniform error of 1/255 everywhere: PSNR = 20·log10(255) ≈ 48.13 dB.
    a = np.full((8, 8, 3), 100, np.uint8)
    b = a + 1
    assert M.psnr_rgb(b, a) == pytest.approx(20 * math.log10(255), abs=1e-9)


def test_ab_psnr_uses_peak_255() -> None:
    a = _smooth_rgb()
    b = np.roll(a, 3, axis=1)
    rmse = M.ab_rmse(b, a)
    assert rmse > 0
    assert M.ab_psnr(b, a) == pytest.approx(20 * math.log10(255 / rmse))


def test_ab_ssim_constants() -> None:
    assert (0.01 * 255) ** 2 == pytest.approx(M.AB_SSIM_C1)
    assert (0.03 * 255) ** 2 == pytest.approx(M.AB_SSIM_C2)
    a = _smooth_rgb()
    worse = M.ab_ssim(np.roll(a, 8, axis=0), a)
    better = M.ab_ssim(np.roll(a, 1, axis=0), a)
    assert -1.0 <= worse < better < 1.0


def test_gray_image_has_no_colour() -> None:
    gray = np.repeat(_noise_rgb()[..., :1], 3, axis=2)
    assert M.colourfulness(gray) == 0.0
    assert M.hue_balance(gray) == 0.0
    assert M.harmony(gray) == 1.0


def test_colourfulness_known_value() -> None:
    # Pure red on 0..255: rg = 255, yb = 127.5, no spread → CI = 0.3·√(255² + 127.5²).
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 255
    assert M.colourfulness(red) == pytest.approx(0.3 * math.hypot(255, 127.5))


def test_one_hue_has_zero_balance_and_many_hues_more() -> None:
    one = np.zeros((10, 10, 3), np.uint8)
    one[..., 2] = np.arange(10, 110, 10)[:, None]  # blues of varying brightness, one hue
    assert M.hue_balance(one) == 0.0
    assert M.harmony(one) == pytest.approx(1.0)
    # Hues spread evenly over the circle: one pixel per 10° bin → log2(36).
    hsv = np.zeros((1, 36, 3), np.float64)
    hsv[..., 0] = (np.arange(36) + 0.5) / 36
    hsv[..., 1:] = 1.0
    from skimage.color import hsv2rgb

    rainbow = hsv2rgb(hsv)
    assert M.hue_balance(rainbow) == pytest.approx(math.log2(36))
    assert M.harmony(rainbow) < 1.0


def test_delta_e_positive_for_different_images() -> None:
    a = _smooth_rgb()
    assert M.delta_e2000(a[:, ::-1], a) > 0


def test_gray_baseline_keeps_truth_L_exactly() -> None:
    truth = _noise_rgb(32, 40, seed=3)
    gray = M.gray_baseline(truth)
    lab_g, lab_t = M.to_lab(gray), M.to_lab(truth)
    np.testing.assert_allclose(lab_g[..., 0], lab_t[..., 0], rtol=0, atol=1e-9)
    assert np.abs(lab_g[..., 1:]).max() < 0.01  # neutral, up to scikit-image's D65 rounding
    assert gray.dtype == np.float64 and gray.min() >= 0 and gray.max() <= 1
    assert M.colourfulness(gray) == 0.0


def test_gray_truth_scores_its_gray_baseline_as_identical() -> None:
    # A gray photo in a colour dev set: its baseline differs only by float rounding, which
    # must read as "identical" (inf, left out of means), not as a 300 dB outlier.
    g = _noise_rgb(24, 30, seed=5)[..., :1]
    truth = np.repeat(g, 3, axis=-1)
    gray = M.gray_baseline(truth)
    assert M.psnr_rgb(gray, truth) == math.inf
    assert M.ab_psnr(gray, truth) == math.inf
    off = truth.copy()
    off[0, 0, 0] ^= 1  # one 8-bit step is a real difference
    assert math.isfinite(M.psnr_rgb(off, truth))


def test_static_clip_is_perfectly_consistent() -> None:
    clip = [_smooth_rgb()] * 6
    assert M.cdc(clip) == 0.0
    assert M.warp_error(clip) == pytest.approx(0.0, abs=1e-12)


def test_cdc_grows_when_colour_changes() -> None:
    base = _smooth_rgb()
    shifting = [np.clip(base.astype(int) + [8 * t, 0, -5 * t], 0, 255).astype(np.uint8)
                for t in range(6)]
    assert M.cdc(shifting) > 0.0
    # Two frames: only the gap of 1 is available, weights renormalised.
    assert M.cdc(shifting[:2]) > 0.0
    with pytest.raises(ValueError):
        M.cdc(shifting[:1])


def test_warp_error_sees_flicker_not_motion() -> None:
    base = _smooth_rgb()
    moving = [np.roll(base, 2 * t, axis=1) for t in range(4)]
    flicker = [np.clip(f.astype(int) + (30 if t % 2 else 0), 0, 255).astype(np.uint8)
               for t, f in enumerate(moving)]
    flows = M.consistent_flows(moving)  # flow from the clean clip, as evaluate does
    assert M.warp_error(moving, flows) < 1e-3
    assert M.warp_error(flicker, flows) > 5 * M.warp_error(moving, flows) + 1e-3


def test_summarise_counts_inf_and_drops_nan() -> None:
    s = M.summarise([1.0, 3.0, math.inf, math.nan, None])
    assert s == {"mean": 2.0, "std": 1.0, "n": 2, "n_inf": 1}
    all_inf = M.summarise([math.inf, math.inf])
    assert all_inf["mean"] == math.inf and all_inf["n_inf"] == 2 and all_inf["n"] == 0
    assert math.isnan(M.summarise([])["mean"])


def test_shape_mismatch_and_bad_dtype_are_refused() -> None:
    with pytest.raises(ValueError):
        M.psnr_rgb(_noise_rgb(10, 10), _noise_rgb(10, 12))
    with pytest.raises(TypeError):
        M.colourfulness(np.zeros((4, 4, 3), np.int32))
    with pytest.raises(ValueError):
        M.colourfulness(np.zeros((4, 4), np.uint8))


def test_global_cast_sees_a_uniform_tint_not_local_errors() -> None:
    # A checkerboard of red and green whose colours are swapped has large per-pixel errors but
    # the same mean ab: no cast.  The same photo with a uniform tint added has a cast of about
    # the tint's size in Lab units.
    tiles = np.kron((np.indices((6, 8)).sum(0) % 2)[..., None], np.ones((8, 8, 1)))
    red, green = np.array([200, 60, 60]), np.array([60, 200, 60])
    truth = np.where(tiles > 0, red, green).astype(np.uint8)
    swapped = np.where(tiles > 0, green, red).astype(np.uint8)
    assert M.global_cast(swapped, truth) < 0.5 < M.delta_e2000(swapped, truth)
    lab = M.to_lab(truth)
    tinted_lab = lab + np.array([0.0, 0.0, 20.0])  # +20 b: yellow wash
    tinted = M.to_uint8(require_skimage().lab2rgb(tinted_lab))
    cast = M.global_cast(tinted, truth)
    assert 15.0 < cast < 22.0
    assert M.image_scores(tinted, truth)["cast"] == pytest.approx(cast)


def require_skimage():
    import skimage.color

    return skimage.color
