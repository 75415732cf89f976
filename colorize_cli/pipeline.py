"""The colourisation pipeline, stage by stage.

Data flows one way::

    L_full ──prepare──▶ L_work ──infer (batched)──▶ raw ──[temporal kernel]──▶ to_ab ──▶ ab_low
          └──────────────────────────────────────────────── upsample(ab_low, L_full) ──▶ ab_full
    merge(L_full, ab_full) ──▶ RGB float in [0, 1]

The stages are separate methods because the video command inserts a temporal kernel on the
raw maps (probabilities or ab) between ``infer`` and ``to_ab``.

Public API::

    Pipeline(engine, render_size=None, temperature=None, jbu=True, sigma_s=3.0, sigma_r=15.0)
    Pipeline.working_shape((H, W)) -> (h, w)         # aspect kept, multiples of the stride
    Pipeline.prepare(L_full) -> L_work                # float32 h×w
    Pipeline.infer([L_work, ...]) -> [raw, ...]       # float32 [C, h/s, w/s], batched by shape
    Pipeline.to_ab(raw, temperature=None) -> ab_low   # float32 h/s×w/s×2
    Pipeline.confidence(raw) -> (top, ratio) | None   # bins models only
    Pipeline.upsample(ab_low, L_full) -> ab_full      # JBU (or bilinear with jbu=False)
    merge(L_full, ab_full) -> rgb                     # re-exported from lab
    Pipeline.colorize_L(L_full) -> rgb float32 H×W×3
    Pipeline.colorize_Ls([L_full, ...]) -> [rgb, ...] # batched
    Pipeline.colorize_array(image) -> image           # RGB(A)/gray uint8/uint16/float -> RGB(A), same dtype
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from colorize_cli.bins_to_ab import ab_from_raw, annealed_mean, confidence
from colorize_cli.contract import ModelInfo
from colorize_cli.engine import Engine
from colorize_cli.errors import NonFiniteOutput
from colorize_cli.lab import from_float, image_to_L, merge
from colorize_cli.upsample import bilinear_upsample, joint_bilateral_upsample

__all__ = ["MAX_ASPECT", "MAX_RENDER_SIZE", "Pipeline", "check_render_size", "check_temperature", "merge",
           "working_shape"]


# The working size's long side is at most this many times ``short_side``: a strip of 1×4000
# pixels would otherwise be scaled to 256×1,024,000 for the model (gigabytes). Beyond this
# aspect ratio the long side is bounded instead, and the short side follows (at least one stride).
MAX_ASPECT = 4


def working_shape(shape: tuple[int, int], short_side: int, stride: int) -> tuple[int, int]:
    """(h, w) whose short side is ``short_side`` rounded to ``stride``; the aspect ratio is kept
    (the long side is rounded to the stride too), never stretched to a square. Both sides and
    so the area are bounded: the long side is at most :data:`MAX_ASPECT` × ``short_side``
    (rounded to the stride), so extreme aspect ratios get a thinner short side instead."""
    H, W = int(shape[0]), int(shape[1])
    if H <= 0 or W <= 0:
        raise ValueError(f"empty image shape {shape}")

    def snap(x: float) -> int:
        return max(stride, int(round(x / stride)) * stride)

    scale = min(short_side / min(H, W), MAX_ASPECT * short_side / max(H, W))
    return snap(H * scale), snap(W * scale)


# The model's memory grows with the working area (up to MAX_ASPECT × render_size²): measured on
# a 300×400 photo, unet-l1 peaks at 2.1 GB with --render-size 1024 and 7.3 GB with 2048, and
# 4000 was killed for lack of memory. Larger values are refused up front.
MAX_RENDER_SIZE = 1024


def check_render_size(render_size: int) -> None:
    """ValueError naming ``--render-size`` unless 1 ≤ it ≤ :data:`MAX_RENDER_SIZE`."""
    if not 0 < render_size <= MAX_RENDER_SIZE:
        raise ValueError(f"--render-size must be between 1 and {MAX_RENDER_SIZE} (the model's memory grows "
                         f"with its square), got {render_size}")


def check_temperature(temperature: float) -> None:
    """ValueError naming ``--temperature`` unless it is a finite number > 0."""
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"--temperature must be a finite number > 0, got {temperature}")


class Pipeline:
    def __init__(self, engine: Engine, render_size: int | None = None, temperature: float | None = None,
                 jbu: bool = True, sigma_s: float = 3.0, sigma_r: float = 15.0) -> None:
        self.engine = engine
        info = engine.info
        if render_size is not None:
            check_render_size(render_size)
        if temperature is not None:
            check_temperature(temperature)
        self.render_size = render_size or info.working_size
        self.temperature = temperature if temperature is not None else info.temperature
        self.jbu = jbu
        self.sigma_s = sigma_s
        self.sigma_r = sigma_r

    @property
    def info(self) -> ModelInfo:
        return self.engine.info

    def working_shape(self, shape: tuple[int, int]) -> tuple[int, int]:
        return working_shape(shape, self.render_size, self.info.stride)

    def prepare(self, L_full: np.ndarray) -> np.ndarray:
        h, w = self.working_shape(L_full.shape[:2])
        shrinking = h * w < L_full.shape[0] * L_full.shape[1]
        return cv2.resize(L_full.astype(np.float32, copy=False), (w, h),
                          interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)

    def infer(self, L_works: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Run the model on many working-size L maps; equal shapes share a batch."""
        out: list[np.ndarray | None] = [None] * len(L_works)
        by_shape: dict[tuple[int, int], list[int]] = {}
        for i, L in enumerate(L_works):
            by_shape.setdefault(tuple(L.shape[:2]), []).append(i)  # type: ignore[arg-type]
        for idx in by_shape.values():
            batch = np.stack([L_works[i] for i in idx])[:, None].astype(np.float32, copy=False)
            raw = self.engine.run(batch)
            for j, i in enumerate(idx):
                out[i] = raw[j]
        return out  # type: ignore[return-value]

    def to_ab(self, raw: np.ndarray, temperature: float | None = None) -> np.ndarray:
        """ab at the model's output size; :class:`NonFiniteOutput` when the model's map holds
        NaN or inf (one bad input, not a broken run: the caller reports that input)."""
        if not np.isfinite(raw).all():
            raise NonFiniteOutput(self.info.name, self.info.path)
        if self.info.kind == "bins":
            t = self.temperature if temperature is None else temperature
            return annealed_mean(raw, self.info.bins, float(t))  # type: ignore[arg-type]
        return ab_from_raw(raw)

    def confidence(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        return confidence(raw) if self.info.kind == "bins" else None

    def upsample(self, ab_low: np.ndarray, L_full: np.ndarray) -> np.ndarray:
        H, W = L_full.shape[:2]
        if ab_low.shape[:2] == (H, W):
            return ab_low
        if self.jbu:
            return joint_bilateral_upsample(ab_low, L_full, self.sigma_s, self.sigma_r)
        return bilinear_upsample(ab_low, (W, H))

    def colorize_Ls(self, L_fulls: Sequence[np.ndarray]) -> list[np.ndarray]:
        raws = self.infer([self.prepare(L) for L in L_fulls])
        return [merge(L, self.upsample(self.to_ab(raw), L)) for L, raw in zip(L_fulls, raws)]

    def colorize_L(self, L_full: np.ndarray) -> np.ndarray:
        return self.colorize_Ls([L_full])[0]

    def colorize_array(self, image: np.ndarray) -> np.ndarray:
        """Colourise an RGB(A) or gray array (uint8, uint16, or float in [0, 1]); returns RGB,
        or RGBA with the alpha unchanged, in the input's dtype."""
        alpha = image[:, :, 3] if image.ndim == 3 and image.shape[2] == 4 else None
        rgb = self.colorize_L(image_to_L(image))
        if image.dtype.kind == "f":
            out = rgb.astype(image.dtype)
            return np.dstack([out, alpha]) if alpha is not None else out
        return from_float(rgb, image.dtype, alpha)
