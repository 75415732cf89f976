"""CIE Lab on float32 with OpenCV: L extraction from any input, and the final merge.

OpenCV's float conversions take RGB in [0, 1] (sRGB, D65) and give L in 0..100, a/b in
about -110..110, the same units as the model contract.

Public API::

    to_float_rgb(pixels) -> float32 H×W×3 in [0, 1]        # gray, RGB, RGBA; 8 or 16 bit
    image_to_L(pixels) -> float32 H×W in 0..100
    merge(L_full, ab_full) -> float32 H×W×3 RGB in [0, 1]
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


def merge(L_full: np.ndarray, ab_full: np.ndarray) -> np.ndarray:
    """The original full-resolution L with the predicted ab: no detail of the input is lost."""
    if L_full.shape != ab_full.shape[:2]:
        raise ValueError(f"L {L_full.shape} and ab {ab_full.shape} differ in size")
    lab = np.empty((*L_full.shape, 3), np.float32)
    lab[:, :, 0] = L_full
    lab[:, :, 1:] = ab_full
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    return np.clip(rgb, 0.0, 1.0, out=rgb)


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
