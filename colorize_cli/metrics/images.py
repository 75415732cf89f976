"""Measures of colourisation quality on single pictures (issue #3); clips: :mod:`colorize_cli.metrics.clips`.

Colourisation has no single right answer, so no single number is trusted; these functions
are meant to be read side by side, always with the gray baseline beside them.

Conventions used by every function here:

* An image is an ``H×W×3`` **RGB** array, either ``uint8`` (0..255) or float in ``[0, 1]``.
  Anything else is refused rather than guessed at.
* CIE Lab comes from scikit-image (sRGB with its gamma, D65 white), so L is 0..100 and a, b
  are in Lab units.  The runtime's own conversion is deliberately *not* used: an evaluation
  that shared the runtime's converter would hide a bug in it.
* Nothing here downloads weights; everything is numpy / scikit-image / OpenCV. scikit-image is
  the ``eval`` extra, imported where it is used, so that the functions that do not need it
  (colourfulness, flow, CDC) work without it.
* A perfect score that is infinite (PSNR of identical images) is returned as ``math.inf``,
  never NaN and never an exception.  :func:`summarise` keeps infinities out of the mean and
  counts them instead.
"""

from __future__ import annotations

import math
from typing import Iterable

import cv2
import numpy as np
from colorize_cli.extras import require


# a and b are scored on the 8-bit Lab encoding (a + 128, b + 128, as OpenCV and most
# colourisation code store them), whose dynamic range is 255.  That is also the range the
# Araújo & Veloso SSIM constants assume: c1 = (0.01·255)² = 6.5025, c2 = (0.03·255)² =
# 58.5225.  Using one peak for both keeps ab PSNR and ab SSIM on the same footing.
AB_PEAK = 255.0
AB_OFFSET = 128.0
AB_SSIM_WINDOW = 5
AB_SSIM_C1 = 6.5025
AB_SSIM_C2 = 58.5225

# Hue is HSV hue as a fraction of a turn in [0, 1); 36 bins = 10° each.
HUE_BINS = 36


# Keys of image_scores() in table order, and those that describe the truth on its own.
METRIC_KEYS: tuple[str, ...] = (
    "psnr",
    "ssim",
    "ab_rmse",
    "ab_psnr",
    "ab_ssim",
    "ci",
    "ci_ratio",
    "harmony",
    "balance",
    "delta_e",
    "cast",
)
TRUTH_KEYS: tuple[str, ...] = ("ci", "harmony", "balance")


# --------------------------------------------------------------------------- conversions


# Differences below half a step of 8-bit storage (RGB) or of 8-bit Lab (ab) are no difference.
EQUAL_RGB = 0.5 / 255.0
EQUAL_AB = 0.5


def _check_rgb(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an H×W×3 RGB image, got shape {img.shape}")
    return img


def to_float01(img: np.ndarray) -> np.ndarray:
    """RGB ``uint8`` or float in [0, 1] → float64 in [0, 1]."""
    img = _check_rgb(img)
    if img.dtype == np.uint8:
        return img.astype(np.float64) / 255.0
    if np.issubdtype(img.dtype, np.floating):
        return img.astype(np.float64, copy=False)
    raise TypeError(f"expected uint8 or float RGB, got dtype {img.dtype}")


def to_uint8(img: np.ndarray) -> np.ndarray:
    """RGB ``uint8`` or float in [0, 1] → ``uint8`` (rounded, clipped)."""
    img = _check_rgb(img)
    if img.dtype == np.uint8:
        return img
    return np.clip(np.rint(to_float01(img) * 255.0), 0, 255).astype(np.uint8)


def to_lab(img: np.ndarray) -> np.ndarray:
    """RGB → CIE Lab (scikit-image, D65), float64 ``H×W×3``."""
    return require("skimage.color").rgb2lab(to_float01(img))


def gray_baseline(truth: np.ndarray) -> np.ndarray:
    """The floor every model is shown beside: the truth's L with a = b = 0, as float RGB.

    Built as an exactly neutral sRGB value (R = G = B) from L's luminance Y rather than
    through ``lab2rgb``, whose D65 matrix leaves R, G, B a hair apart; that way its CI is
    exactly 0 and ``to_lab(gray)[..., 0]`` equals the truth's L to float precision.  It is
    kept in float, not rounded to 8 bits, so the baseline carries no quantisation of its own.
    """
    L = to_lab(truth)[..., 0]
    lab0 = np.stack([L, np.zeros_like(L), np.zeros_like(L)], axis=-1)
    y = require("skimage.color").lab2xyz(lab0)[..., 1]  # relative luminance; linear sRGB of a neutral is (Y, Y, Y)
    # The sRGB transfer function exactly as scikit-image's rgb2lab inverts it.
    v = np.where(y > 0.0031308, 1.055 * np.power(np.maximum(y, 0), 1 / 2.4) - 0.055, 12.92 * y)
    v = np.clip(v, 0.0, 1.0)
    return np.repeat(v[..., None], 3, axis=-1)


def _same_shape(pred: np.ndarray, truth: np.ndarray) -> None:
    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and truth {truth.shape} differ in shape")


class TooSmall(ValueError):
    """A picture too small for a measure (SSIM needs a 3×3 window): it cannot be scored."""


def _win_size(shape: tuple[int, ...], wanted: int) -> int:
    # SSIM needs an odd window no larger than the image; tiny test images still score.
    side = min(shape[0], shape[1], wanted)
    if side < 3:  # a 1-pixel window divides by zero in the sample covariance
        raise TooSmall(f"{shape[1]}×{shape[0]} pixels is too small to score (SSIM needs at least 3×3)")
    return side if side % 2 == 1 else side - 1


# ----------------------------------------------------------------------------- RGB scores


def psnr_rgb(pred: np.ndarray, truth: np.ndarray) -> float:
    """PSNR in dB on RGB in [0, 1] (peak 1, i.e. 255 for 8-bit).  Identical → ``inf``."""
    p, t = to_float01(pred), to_float01(truth)
    _same_shape(p, t)
    # Identical to 8-bit precision counts as identical: otherwise a gray truth scored against
    # the float gray baseline gives ~300 dB of rounding noise and swamps every mean.
    if np.abs(p - t).max() < EQUAL_RGB:
        return math.inf
    return float(require("skimage.metrics").peak_signal_noise_ratio(t, p, data_range=1.0))


def ssim_rgb(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean SSIM over R, G, B (scikit-image defaults: 7×7 uniform window, K1 0.01, K2 0.03)."""
    p, t = to_float01(pred), to_float01(truth)
    _same_shape(p, t)
    win = _win_size(p.shape, 7)
    return float(require("skimage.metrics").structural_similarity(t, p, channel_axis=-1, data_range=1.0, win_size=win))


# ------------------------------------------------------------------------------ ab scores


def _ab_rmse_lab(lab_p: np.ndarray, lab_t: np.ndarray) -> float:
    # Root of the mean over every a and b value, i.e. both channels pooled.
    diff = lab_p[..., 1:] - lab_t[..., 1:]
    return float(np.sqrt(np.mean(diff * diff)))


def _ab_psnr_lab(lab_p: np.ndarray, lab_t: np.ndarray) -> float:
    rmse = _ab_rmse_lab(lab_p, lab_t)
    if np.abs(lab_p[..., 1:] - lab_t[..., 1:]).max() < EQUAL_AB:  # as in psnr_rgb
        return math.inf
    return float(20.0 * np.log10(AB_PEAK / rmse))


def cast_of_ab(ab_p: np.ndarray, ab_t: np.ndarray) -> float:
    """:func:`global_cast` of two ab maps (..., 2) in Lab units, for callers that hold Lab already."""
    return float(np.hypot(*(ab_p.reshape(-1, 2).mean(0) - ab_t.reshape(-1, 2).mean(0))))


def global_cast(pred: np.ndarray, truth: np.ndarray) -> float:
    """Global colour cast: the distance in Lab units between the mean ab of ``pred`` and of ``truth``.

    A model that lays one tint over the whole photo (a yellow-green wash, a magenta face) is
    caught here even when its per-pixel errors look like any other model's: the per-pixel
    scores mix a cast with honest local mistakes, this one sees only the cast.
    """
    pred, truth = _check_rgb(pred), _check_rgb(truth)
    _same_shape(pred, truth)
    return cast_of_ab(to_lab(pred)[..., 1:], to_lab(truth)[..., 1:])


def _ab_ssim_lab(lab_p: np.ndarray, lab_t: np.ndarray) -> float:
    win = _win_size(lab_p.shape, AB_SSIM_WINDOW)
    # K1, K2 with data_range 255 give exactly c1 = 6.5025 and c2 = 58.5225.  The offset
    # matters: SSIM's luminance term is not shift-invariant, and around a = b = 0 it would
    # divide by numbers near zero and swing wildly.  Population covariance (not N-1)
    # because a uniform window's statistics are plain window means.
    k1 = math.sqrt(AB_SSIM_C1) / AB_PEAK
    k2 = math.sqrt(AB_SSIM_C2) / AB_PEAK
    scores = [
        require("skimage.metrics").structural_similarity(
            lab_t[..., c] + AB_OFFSET,
            lab_p[..., c] + AB_OFFSET,
            win_size=win,
            data_range=AB_PEAK,
            K1=k1,
            K2=k2,
            gaussian_weights=False,
            use_sample_covariance=False,
        )
        for c in (1, 2)
    ]
    return float(np.mean(scores))


def ab_rmse(pred: np.ndarray, truth: np.ndarray) -> float:
    """RMSE of a and b (Lab units), pooled over both channels."""
    _same_shape(_check_rgb(pred), _check_rgb(truth))
    return _ab_rmse_lab(to_lab(pred), to_lab(truth))


def ab_psnr(pred: np.ndarray, truth: np.ndarray) -> float:
    """PSNR of a and b with peak :data:`AB_PEAK` = 255 (8-bit Lab range).  Identical → ``inf``."""
    _same_shape(_check_rgb(pred), _check_rgb(truth))
    return _ab_psnr_lab(to_lab(pred), to_lab(truth))


def ab_ssim(pred: np.ndarray, truth: np.ndarray) -> float:
    """SSIM on a and b (5×5 uniform window, c1 6.5025, c2 58.5225), mean of the two channels."""
    _same_shape(_check_rgb(pred), _check_rgb(truth))
    return _ab_ssim_lab(to_lab(pred), to_lab(truth))


# ------------------------------------------------------------------- no-reference scores


def colourfulness(img: np.ndarray) -> float:
    """Hasler & Süsstrunk colourfulness on the 0..255 scale; a gray image scores 0.

    CI = √(σ_rg² + σ_yb²) + 0.3·√(μ_rg² + μ_yb²), rg = R − G, yb = ½(R + G) − B.
    """
    x = to_float01(img) * 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    rg = r - g
    yb = 0.5 * (r + g) - b
    return float(
        np.sqrt(rg.var() + yb.var()) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    )


def _hue(img: np.ndarray) -> np.ndarray:
    # HSV hue as a fraction of a turn in [0, 1); achromatic pixels get 0.  OpenCV's float
    # conversion agrees with scikit-image's rgb2hsv to ~1e-5 and is several times faster.
    hsv = cv2.cvtColor(to_float01(img).astype(np.float32), cv2.COLOR_RGB2HSV)
    return np.mod(hsv[..., 0].astype(np.float64) / 360.0, 1.0)


def _harmony_of(hue: np.ndarray) -> float:
    return float(1.0 / (1.0 + hue.var()))


def _balance_of(hue: np.ndarray, bins: int = HUE_BINS) -> float:
    hist, _ = np.histogram(hue, bins=bins, range=(0.0, 1.0))
    p = hist[hist > 0] / hist.sum()
    # Adding 0.0 turns the -0.0 of a single full bin into a plain 0.0.
    return float(-(p * np.log2(p)).sum()) + 0.0


def harmony(img: np.ndarray) -> float:
    """Colour harmony 1 / (1 + σ_h²), σ_h² the variance of HSV hue in turns ([0, 1)).

    Hue is treated as a plain number, not an angle (as the definition does), and gray
    pixels count as hue 0, so a gray image scores 1.  Read it beside the truth's value;
    higher is not better.
    """
    return _harmony_of(_hue(img))


def hue_balance(img: np.ndarray, bins: int = HUE_BINS) -> float:
    """Colour distribution balance: entropy in bits of the HSV hue histogram.

    :data:`HUE_BINS` = 36 bins of 10° over [0, 1) turns, all pixels (gray pixels fall in
    the first bin).  One hue → 0; uniform over all bins → log2(36) ≈ 5.17.
    """
    return _balance_of(_hue(img), bins)


# ---------------------------------------------------------------------------- ΔE and all


def delta_e2000(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean CIEDE2000 ΔE (scikit-image).  Identical → 0."""
    _same_shape(_check_rgb(pred), _check_rgb(truth))
    return float(require("skimage.color").deltaE_ciede2000(to_lab(truth), to_lab(pred)).mean())


def truth_scores(truth: np.ndarray) -> dict[str, float]:
    """The no-reference measures of the truth itself: ``ci``, ``harmony``, ``balance``."""
    hue = _hue(truth)
    return {"ci": colourfulness(truth), "harmony": _harmony_of(hue), "balance": _balance_of(hue)}


def image_scores(
    pred: np.ndarray,
    truth: np.ndarray,
    *,
    truth_lab: np.ndarray | None = None,
    truth_ci: float | None = None,
) -> dict[str, float]:
    """Every per-image measure of ``pred`` against ``truth``, keyed as :data:`METRIC_KEYS`.

    ``truth_lab`` and ``truth_ci`` may be passed when one truth is scored against many
    predictions, so its Lab conversion is done once.  ``ci_ratio`` is CI(pred) / CI(truth),
    NaN when the truth has no colour (the ratio is undefined, not infinite).
    """
    pred, truth = _check_rgb(pred), _check_rgb(truth)
    _same_shape(pred, truth)
    lab_p = to_lab(pred)
    lab_t = to_lab(truth) if truth_lab is None else truth_lab
    ci_t = colourfulness(truth) if truth_ci is None else truth_ci
    ci_p = colourfulness(pred)
    hue = _hue(pred)
    return {
        "psnr": psnr_rgb(pred, truth),
        "ssim": ssim_rgb(pred, truth),
        "ab_rmse": _ab_rmse_lab(lab_p, lab_t),
        "ab_psnr": _ab_psnr_lab(lab_p, lab_t),
        "ab_ssim": _ab_ssim_lab(lab_p, lab_t),
        "ci": ci_p,
        "ci_ratio": ci_p / ci_t if ci_t > 0 else math.nan,
        "harmony": _harmony_of(hue),
        "balance": _balance_of(hue),
        "delta_e": float(require("skimage.color").deltaE_ciede2000(lab_t, lab_p).mean()),
        "cast": cast_of_ab(lab_p[..., 1:], lab_t[..., 1:]),
    }


# ----------------------------------------------------------------------------- summaries


def summarise(values: Iterable[float | None]) -> dict[str, float | int]:
    """Mean ± std (population, ddof 0) of the finite values; infinities counted, not averaged.

    Returns ``{"mean", "std", "n", "n_inf"}``: ``n`` finite values went into the mean,
    ``n_inf`` were +inf (e.g. PSNR of a perfect image).  ``None`` and NaN (undefined, e.g.
    CI ratio against a colourless truth) are dropped.  With no finite value the mean is
    ``inf`` if any value was +inf, else NaN; std is then NaN.
    """
    arr = np.array([v for v in values if v is not None], dtype=np.float64)
    finite = arr[np.isfinite(arr)]
    n_inf = int(np.sum(np.isposinf(arr)))
    if finite.size:
        mean, std = float(finite.mean()), float(finite.std())
    else:
        mean, std = (math.inf if n_inf else math.nan), math.nan
    return {"mean": mean, "std": std, "n": int(finite.size), "n_inf": n_inf}
