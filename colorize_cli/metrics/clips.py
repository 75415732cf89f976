"""Measures of a colourised clip over time: TCVC's colour distribution consistency (CDC) and
Lai et al.'s warp error along forward–backward consistent optical flow."""

from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

from colorize_cli.metrics.images import to_float01, to_uint8


# TCVC's colour distribution consistency: frame gaps and their weights.
CDC_DILATIONS: tuple[tuple[int, float], ...] = ((1, 1 / 3), (2, 1 / 3), (4, 1 / 3))

# Forward–backward flow consistency test of Sundaram et al. (as used by Lai et al.'s warp
# error): |f + b|² < α(|f|² + |b|²) + β.
FLOW_ALPHA = 0.01
FLOW_BETA = 0.5

# -------------------------------------------------------------------------------- videos


def channel_histograms(frame: np.ndarray) -> np.ndarray:
    """``3×256`` per-channel histograms of one frame's 8-bit values, each summing to 1."""
    f8 = to_uint8(frame)
    # One bincount over channel-offset values fills all three histograms at once.
    flat = f8.reshape(-1, 3).astype(np.int64) + np.array([0, 256, 512])
    return np.bincount(flat.ravel(), minlength=768).reshape(3, 256) / (f8.shape[0] * f8.shape[1])


def _js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    # Natural-log Jensen–Shannon divergence along the last axis (scipy.stats.entropy's base,
    # which TCVC uses).  0·log 0 terms are dropped.
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        kp = np.where(p > 0, p * np.log(p / m), 0.0).sum(-1)
        kq = np.where(q > 0, q * np.log(q / m), 0.0).sum(-1)
    return 0.5 * kp + 0.5 * kq


def cdc_from_histograms(hists: Sequence[np.ndarray] | np.ndarray) -> float:
    """:func:`cdc` from per-frame :func:`channel_histograms` (lets a clip be streamed)."""
    h = np.asarray(hists, dtype=np.float64)
    if h.ndim != 3 or len(h) < 2:
        raise ValueError("CDC needs at least two frames")
    total, weight = 0.0, 0.0
    for d, w in CDC_DILATIONS:
        if d >= len(h):
            continue
        total += w * float(_js_divergence(h[:-d], h[d:]).mean())
        weight += w
    return total / weight


def cdc(frames: Sequence[np.ndarray]) -> float:
    """Colour distribution consistency (TCVC): lower is steadier; a static clip scores 0.

    For each gap d in 1, 2, 4: the Jensen–Shannon divergence (nats) between the 256-bin
    histograms of each channel of frames t and t + d, averaged over t and the channels; the
    three gaps are weighted ⅓ each.  A clip too short for a gap drops that gap and the
    remaining weights are renormalised; fewer than two frames is an error.
    """
    if len(frames) < 2:
        raise ValueError("CDC needs at least two frames")
    return cdc_from_histograms([channel_histograms(f) for f in frames])


def _gray8(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(to_uint8(img), cv2.COLOR_RGB2GRAY)


Flow = tuple[np.ndarray, np.ndarray]


def consistent_flow(f0: np.ndarray, f1: np.ndarray, dis: cv2.DISOpticalFlow | None = None) -> Flow:
    """(sampling map of frame 1 onto frame 0, mask of flow-consistent pixels).

    DIS optical flow (OpenCV, medium preset) forward 0→1 and backward 1→0 on the luminance;
    a pixel is kept when the round trip returns near its start (Sundaram et al., α 0.01,
    β 0.5) and its target lies inside the frame.
    """
    if dis is None:
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    g0, g1 = _gray8(f0), _gray8(f1)
    h, w = g0.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    fwd = dis.calc(g0, g1, None)
    bwd = dis.calc(g1, g0, None)
    mx, my = gx + fwd[..., 0], gy + fwd[..., 1]
    # The backward flow looked up where the forward flow lands.
    bwd_at = cv2.remap(bwd, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    round_trip = ((fwd + bwd_at) ** 2).sum(-1)
    bound = FLOW_ALPHA * ((fwd**2).sum(-1) + (bwd_at**2).sum(-1)) + FLOW_BETA
    inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
    return np.dstack([mx, my]), (round_trip < bound) & inside


def consistent_flows(frames: Sequence[np.ndarray]) -> list[Flow]:
    """:func:`consistent_flow` for every pair (t, t+1) of a clip.

    Computed once per clip so every model is warped with the same flow (evaluate computes
    it on the truth, whose motion is the real one).
    """
    if len(frames) < 2:
        raise ValueError("warp error needs at least two frames")
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return [consistent_flow(a, b, dis) for a, b in zip(frames[:-1], frames[1:])]


def pair_warp_error(f0: np.ndarray, f1: np.ndarray, flow: Flow) -> float:
    """Mean squared RGB difference ([0, 1] scale) of frame 0 and frame 1 warped onto it, over
    the consistent pixels and all channels; NaN when no pixel is consistent."""
    maps, mask = flow
    if not mask.any():
        return math.nan
    a = to_float01(f0).astype(np.float32)
    b = to_float01(f1).astype(np.float32)
    warped = cv2.remap(b, maps[..., 0], maps[..., 1], cv2.INTER_LINEAR)
    d = (a - warped)[mask].astype(np.float64)
    return float(np.mean(d * d))


def warp_error(frames: Sequence[np.ndarray], flows: Sequence[Flow] | None = None) -> float:
    """Warp error of a clip: :func:`pair_warp_error` averaged over t.

    ``flows`` defaults to :func:`consistent_flows` of ``frames`` themselves.  Pairs with no
    consistent pixel are skipped; NaN if every pair is skipped.  A static clip scores 0.
    """
    if flows is None:
        flows = consistent_flows(frames)
    if len(flows) != len(frames) - 1:
        raise ValueError(f"{len(frames)} frames need {len(frames) - 1} flows, got {len(flows)}")
    errs = [pair_warp_error(a, b, fl) for fl, a, b in zip(flows, frames[:-1], frames[1:])]
    errs = [e for e in errs if not math.isnan(e)]
    return float(np.mean(errs)) if errs else math.nan
