"""Full-resolution work in strips, on every core: lightness in, colour pixels out.

At 20 megapixels the model sees a few tenths of a percent of the pixels; what costs is the
work done once per pixel: extracting L, upsampling ab, Lab → RGB and quantising. Done on
whole images in float32 that is a dozen passes over hundreds of megabytes each. Here it is
done strip by strip (a few hundred kilobytes each, so they stay in cache), with the strips
spread over a thread pool (OpenCV and numpy release the GIL), and nothing full-size exists
but the input, its L and the output:

* :func:`luminance` — L (0..100) of uint8/uint16 gray or RGB(A): a table lookup on gray
  (exactly :func:`colorize_cli.lab.image_to_L`), and on RGB whose channels are equal (a gray
  scan saved as colour); for real colour, a per-channel table to linear light, Y, then L,
  within 0.2 L of OpenCV's float conversion (and equal to it on gray). Float input goes
  through :func:`~colorize_cli.lab.image_to_L`.
* :func:`render` — the guide-resolution ab (:func:`colorize_cli.upsample.guided_ab`)
  interpolated to full size, merged with the full-resolution L (:func:`colorize_cli.lab.merge`,
  gamut mapping included) and quantised, strip by
  strip, into the output dtype (alpha appended unchanged). It equals
  ``from_float(merge(L, upsample_ab(...)), dtype, alpha)`` (tested).

Public API::

    set_threads(n | None)                  # strips in parallel, and cv2.setNumThreads
    luminance(pixels) -> float32 H×W
    render(L_full, ab_guide, dtype=np.uint8, alpha=None) -> H×W×3 (or ×4) pixels
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import cv2
import numpy as np

from colorize_cli.lab import image_to_L, merge
from colorize_cli.upsample import interpolate_rows

__all__ = ["luminance", "render", "set_threads"]

_STRIP_PIXELS = 1 << 16  # ~64k pixels: a few float32 planes of one strip fit in L2
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_threads = 0


def _cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def set_threads(n: int | None = None) -> None:
    """Use ``n`` threads (default: every CPU this process may use) for the strips, and tell
    OpenCV the same (its own parallel loops, e.g. in resize)."""
    global _pool, _threads
    n = max(1, int(n or _cpus()))
    with _lock:
        if n != _threads:
            old, _pool, _threads = _pool, (ThreadPoolExecutor(n, thread_name_prefix="colorize-strip") if n > 1
                                           else None), n
            if old is not None:
                old.shutdown(wait=False)
    cv2.setNumThreads(n)


def _map_strips(fn, height: int, width: int) -> None:
    """fn(y0, y1) over row strips of about _STRIP_PIXELS, in parallel when threads > 1."""
    if _threads == 0:
        set_threads()
    rows = max(1, _STRIP_PIXELS // max(1, width))
    spans = [(y, min(height, y + rows)) for y in range(0, height, rows)]
    pool = _pool
    if pool is None or len(spans) == 1 or threading.current_thread().name.startswith("colorize-strip"):
        for y0, y1 in spans:
            fn(y0, y1)
        return
    for f in [pool.submit(fn, y0, y1) for y0, y1 in spans]:
        f.result()


# ------------------------------------------------------------------------------------ lightness


@lru_cache(maxsize=2)
def _gray_table(dtype: str) -> np.ndarray:
    levels = np.arange(np.iinfo(dtype).max + 1, dtype=dtype)[None, :]
    return image_to_L(levels)[0].astype(np.float32)


_Y_WEIGHTS = np.array([0.212671, 0.715160, 0.072169])  # OpenCV's sRGB → XYZ (D65), Y row


@lru_cache(maxsize=2)
def _linear_tables(dtype: str) -> np.ndarray:
    """Per channel, each level's share of Y. The linear value of a level is taken from
    OpenCV's own L of that gray level (inverting L(Y)), so that gray pixels come out exactly
    as the gray table gives them."""
    L = _gray_table(dtype).astype(np.float64)
    fy = (L + 16.0) / 116.0
    Y = np.where(L > 8.0, fy ** 3, L / 903.3)
    return (Y[:, None] * _Y_WEIGHTS[None, :]).astype(np.float32)


def _L_of_Y(Y: np.ndarray) -> np.ndarray:
    small = Y < np.float32(0.008856)
    L = cv2.pow(Y, 1.0 / 3.0)
    L *= np.float32(116.0)
    L -= np.float32(16.0)
    if small.any():
        L[small] = Y[small] * np.float32(903.3)
    return L


def _is_gray(rgb: np.ndarray) -> bool:
    r, g, b = rgb[:, :, 0], rgb[:, :, 1], rgb[:, :, 2]
    return not (cv2.absdiff(r, g).any() or cv2.absdiff(g, b).any())


def luminance(pixels: np.ndarray) -> np.ndarray:
    """L (0..100, float32 H×W) of gray, RGB or RGBA pixels; see the module notes."""
    if pixels.dtype not in (np.uint8, np.uint16) or pixels.ndim not in (2, 3):
        return image_to_L(pixels)
    table = _gray_table(pixels.dtype.name)
    if pixels.ndim == 2:
        return cv2.LUT(pixels, table) if pixels.dtype == np.uint8 else table[pixels]
    rgb = pixels[:, :, :3]
    if _is_gray(rgb):
        g = np.ascontiguousarray(rgb[:, :, 1])
        return cv2.LUT(g, table) if pixels.dtype == np.uint8 else table[g]
    lin = _linear_tables(pixels.dtype.name)
    H, W = rgb.shape[:2]
    out = np.empty((H, W), np.float32)

    def strip(y0: int, y1: int) -> None:
        part = rgb[y0:y1]
        if pixels.dtype == np.uint8:
            Y = cv2.LUT(np.ascontiguousarray(part), lin.reshape(1, -1, 3))
            Y = cv2.transform(Y, np.ones((1, 3), np.float32))
        else:
            Y = lin[part[:, :, 0], 0] + lin[part[:, :, 1], 1] + lin[part[:, :, 2], 2]
        out[y0:y1] = _L_of_Y(Y.reshape(y1 - y0, W))

    _map_strips(strip, H, W)
    return out


# ------------------------------------------------------------------------------------ colour out


def render(L_full: np.ndarray, ab_guide: np.ndarray, dtype: np.dtype | type = np.uint8,
           alpha: np.ndarray | None = None) -> np.ndarray:
    """Output pixels (RGB, or RGBA with ``alpha``) in ``dtype`` (uint8/uint16): L_full merged
    with ``ab_guide`` interpolated to full size, strip by strip."""
    dtype = np.dtype(dtype)
    if dtype not in (np.uint8, np.uint16):
        raise ValueError(f"render writes uint8 or uint16, not {dtype}")
    scale = 65535.0 if dtype == np.uint16 else 255.0
    depth = cv2.CV_16U if dtype == np.uint16 else cv2.CV_8U
    H, W = L_full.shape[:2]
    channels = 3 if alpha is None else 4
    out = np.empty((H, W, channels), dtype)
    if alpha is not None:
        out[:, :, 3] = alpha.astype(dtype, copy=False)

    def strip(y0: int, y1: int) -> None:
        rgb = merge(L_full[y0:y1], interpolate_rows(ab_guide, (W, H), y0, y1), clip=False)  # gamut-mapped
        # One saturating pass: scale, round, clip, convert to the dtype (as lab.from_float does,
        # except exact halves, which round to even here).
        flat = rgb.reshape(y1 - y0, -1)
        if alpha is None:
            cv2.multiply(flat, scale, dst=out[y0:y1].reshape(y1 - y0, -1), dtype=depth)
        else:
            out[y0:y1, :, :3] = cv2.multiply(flat, scale, dtype=depth).reshape(y1 - y0, W, 3)

    _map_strips(strip, H, W)
    return out
