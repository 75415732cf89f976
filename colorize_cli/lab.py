"""CIE Lab on float32 with OpenCV: L extraction from any input, and the final merge.

OpenCV's float conversions take RGB in [0, 1] (sRGB, D65) and give L in 0..100, a/b in
about -110..110, the same units as the model contract.

Public API::

    to_float_rgb(pixels) -> float32 H×W×3 in [0, 1]        # gray, RGB, RGBA; 8 or 16 bit
    image_to_L(pixels) -> float32 H×W in 0..100
    merge(L_full, ab_full) -> float32 H×W×3 RGB in [0, 1]   # ab brought into gamut at each L
    gamut_ab(L, ab) -> (a, b)                               # that chroma reduction alone
    from_float(rgb, dtype, alpha=None) -> uint8/uint16 RGB(A)
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np


def _scale(dtype: np.dtype) -> float:
    return 65535.0 if dtype == np.uint16 else 255.0 if dtype == np.uint8 else 1.0


def to_float_rgb(pixels: np.ndarray) -> np.ndarray:
    """RGB float32 in [0, 1] from gray/RGB(A) uint8/uint16/float pixels (alpha dropped)."""
    scale = np.float32(1.0 / _scale(pixels.dtype))
    if pixels.ndim == 2:
        gray = pixels.astype(np.float32) * scale
        rgb = cv2.merge([gray, gray, gray])
    else:
        rgb = pixels[:, :, :3].astype(np.float32)
        rgb *= scale
    if pixels.dtype.kind == "f":
        np.clip(rgb, 0.0, 1.0, out=rgb)
    return rgb


@lru_cache(maxsize=2)
def _gray_to_L(dtype: str) -> np.ndarray:
    """L of every gray level of ``dtype``, through the same OpenCV conversion as colour inputs."""
    levels = np.arange(np.iinfo(dtype).max + 1, dtype=dtype)[None, :]
    return image_to_L(cv2.merge([levels, levels, levels]))[0]


def image_to_L(pixels: np.ndarray) -> np.ndarray:
    """Lightness of the image at full resolution; sepia or tinted inputs keep only their L."""
    if pixels.ndim == 2 and pixels.dtype in (np.uint8, np.uint16):
        # A gray image has one L per level: a table lookup instead of a 3-channel conversion.
        return _gray_to_L(pixels.dtype.name)[pixels]
    lab = cv2.cvtColor(to_float_rgb(pixels), cv2.COLOR_RGB2Lab)
    return np.ascontiguousarray(lab[:, :, 0])


# The sRGB gamut in CIE Lab, as the largest chroma sqrt(a² + b²) that stays displayable at each
# (L, hue). Tabulated once on this grid and read back bilinearly per pixel.
_L_STEP = 0.25
_HUE_STEP = 0.5
_GAMUT_TOL = 1e-4  # linear-RGB slack: a colour this close to the cube's face is displayable
# OpenCV's constants for float Lab <-> sRGB (D65), so the table matches cvtColor.
_WHITE = (0.950456, 1.0, 1.088754)
_XYZ_TO_RGB = np.array([[3.240479, -1.53715, -0.498535],
                        [-0.969256, 1.875991, 0.041556],
                        [0.055648, -0.204043, 1.057311]])


def _inside_srgb(L: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether each Lab colour is inside the sRGB cube (linear RGB in [0, 1]), without the clip
    that cvtColor applies to its float output."""
    eps = 6.0 / 29.0

    def f_inv(f: np.ndarray) -> np.ndarray:
        return np.where(f > eps, f * f * f, np.float32(3 * eps * eps) * (f - np.float32(4.0 / 29.0)))

    fy = (L + np.float32(16.0)) / np.float32(116.0)
    xyz = (f_inv(fy + a / np.float32(500.0)) * np.float32(_WHITE[0]), f_inv(fy),
           f_inv(fy - b / np.float32(200.0)) * np.float32(_WHITE[2]))
    inside = np.ones(L.shape, bool)
    for row in _XYZ_TO_RGB:
        lin = np.float32(row[0]) * xyz[0] + np.float32(row[1]) * xyz[1] + np.float32(row[2]) * xyz[2]
        inside &= (lin >= -_GAMUT_TOL) & (lin <= 1.0 + _GAMUT_TOL)
    return inside


@lru_cache(maxsize=1)
def max_chroma_table() -> np.ndarray:
    """float32 table [L / _L_STEP, hue° / _HUE_STEP] (L 0..100, hue 0..360 with 360 = 0) of the
    largest sRGB-displayable chroma; built once per process (about 0.1 s).

    At a fixed L the displayable colours are the cross-section of the RGB cube at one luminance Y,
    a convex polygon around the neutral axis, so each hue ray leaves it once: bisection finds the
    exit. Read bilinearly, the limit can overshoot by a hair where it is convex between nodes;
    the clip after the conversion absorbs that without a visible change of L (tests check it).
    """
    L = np.arange(0.0, 100.0 + _L_STEP / 2, _L_STEP, dtype=np.float32)
    hue = np.deg2rad(np.arange(0.0, 360.0 + _HUE_STEP / 2, _HUE_STEP, dtype=np.float32))
    L2, h2 = np.meshgrid(L, hue, indexing="ij")
    cos, sin = np.cos(h2), np.sin(h2)
    lo, hi = np.zeros_like(L2), np.full_like(L2, 160.0)  # sRGB chroma peaks near 134 (blue)
    for _ in range(18):
        mid = (lo + hi) * np.float32(0.5)
        ok = _inside_srgb(L2, mid * cos, mid * sin)
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid)
    return lo


@lru_cache(maxsize=1)
def _chroma_floor_by_code() -> np.ndarray:
    """float32 (256,): for each 8-bit code ``round(2.55·L)``, a chroma that every hue can show at
    every L with that code (the smallest table entry over all hues and the L nodes around the
    code's interval). A pixel below it needs no mapping, whatever its hue."""
    per_L = max_chroma_table().min(axis=1)
    L = np.arange(len(per_L)) * _L_STEP
    floor = np.empty(256, np.float32)
    for q in range(256):
        near = (L >= (q - 0.5) / 2.55 - _L_STEP) & (L <= (q + 0.5) / 2.55 + _L_STEP)
        floor[q] = per_L[near].min() if near.any() else per_L[-1]
    return floor * np.float32(0.999)


# cv2.remap takes images of fewer than 32767 columns; wider ones go in slices.
_REMAP_MAX_W = 16384


def gamut_ab(L: np.ndarray, ab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) with each pixel's chroma reduced, hue kept, to what sRGB can show at its own L.

    Near black and near white almost no chroma is displayable; clipping RGB there instead would
    raise or lower the lightness (a dark border turning blue and brighter). Pixels already in gamut
    are returned unchanged.
    """
    a, b = cv2.split(np.ascontiguousarray(ab, dtype=np.float32))
    L = np.ascontiguousarray(L, dtype=np.float32)
    chroma = cv2.magnitude(a, b)
    # Cheap test first: most strips of most photos hold no chroma that any hue could not show at
    # their L, and then the hue (atan2) and the table lookup are skipped. OpenCV's element-wise
    # ops are threaded, NumPy's are not: this runs on every pixel of a scan.
    code = cv2.convertScaleAbs(L, alpha=2.55)
    floor = cv2.LUT(code, _chroma_floor_by_code())
    if not cv2.countNonZero(cv2.compare(chroma, floor, cv2.CMP_GT)):
        return a, b
    hue = cv2.phase(a, b, angleInDegrees=True)
    lut = max_chroma_table()
    limit = np.empty_like(chroma)
    for x0 in range(0, L.shape[1], _REMAP_MAX_W):
        cols = slice(x0, x0 + _REMAP_MAX_W)
        limit[:, cols] = cv2.remap(lut, hue[:, cols] * np.float32(1 / _HUE_STEP),
                                   L[:, cols] * np.float32(1 / _L_STEP), cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)
    # scale = limit / max(chroma, limit, tiny): 1 in gamut, < 1 outside, never 0 / 0.
    cv2.max(chroma, limit, dst=chroma)
    cv2.max(chroma, 1e-6, dst=chroma)
    cv2.divide(limit, chroma, dst=limit)
    return cv2.multiply(a, limit, dst=a), cv2.multiply(b, limit, dst=b)


def merge(L_full: np.ndarray, ab_full: np.ndarray, clip: bool = True) -> np.ndarray:
    """The original full-resolution L with the predicted ab: no detail of the input is lost.

    The ab is first brought into the sRGB gamut at the pixel's own L (:func:`gamut_ab`), so the
    output's CIE L is the input's: no colour where none can be shown. ``clip=False`` leaves the
    hair's breadth of overshoot outside [0, 1] to a saturating quantisation that follows.
    """
    if L_full.shape != ab_full.shape[:2]:
        raise ValueError(f"L {L_full.shape} and ab {ab_full.shape} differ in size")
    L_full = L_full.astype(np.float32, copy=False)
    a, b = gamut_ab(L_full, ab_full)
    rgb = cv2.cvtColor(cv2.merge([L_full, a, b]), cv2.COLOR_Lab2RGB)
    return np.clip(rgb, 0.0, 1.0, out=rgb) if clip else rgb


def from_float(rgb: np.ndarray, dtype: np.dtype | type = np.uint8, alpha: np.ndarray | None = None) -> np.ndarray:
    """Quantise RGB in [0, 1] to ``dtype``; ``alpha`` (already ``dtype``) is appended unchanged."""
    scale = _scale(np.dtype(dtype))
    out = np.empty(rgb.shape, np.float32)
    np.multiply(rgb, np.float32(scale), out=out)
    np.add(out, np.float32(0.5), out=out)
    q = out.astype(dtype)
    if alpha is not None:
        q = np.dstack([q, alpha.astype(dtype, copy=False)])
    return q
