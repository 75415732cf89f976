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
    Pipeline.upsample(ab_low, L_full) -> ab_full      # JBU up to the guide size, then bilinear
    Pipeline.render(raw, L_full, dtype, alpha=None) -> pixels   # to_ab + upsample + merge + quantise,
                                                      # in strips on every core (fullres.render)
    merge(L_full, ab_full) -> rgb                     # re-exported from lab
    Pipeline.colorize_L(L_full) -> rgb float32 H×W×3
    Pipeline.colorize_Ls([L_full, ...]) -> [rgb, ...] # batched
    Pipeline.colorize_array(image) -> image           # RGB(A)/gray uint8/uint16/float -> RGB(A), same dtype
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from colorize_cli.bins_to_ab import ab_from_raw, annealed_mean, confidence
from colorize_cli.contract import ModelInfo
from colorize_cli.engine import Engine
from colorize_cli.lab import from_float, image_to_L, merge
from colorize_cli.upsample import DEFAULT_GUIDE_FACTOR, guided_ab, upsample_ab

__all__ = ["Pipeline", "merge", "working_shape"]


def working_shape(shape: tuple[int, int], short_side: int, stride: int) -> tuple[int, int]:
    """(h, w) whose short side is ``short_side`` rounded to ``stride``; the aspect ratio is kept
    (the long side is rounded to the stride too), never stretched to a square."""
    H, W = int(shape[0]), int(shape[1])
    if H <= 0 or W <= 0:
        raise ValueError(f"empty image shape {shape}")

    def snap(x: float) -> int:
        return max(stride, int(round(x / stride)) * stride)

    scale = short_side / min(H, W)
    return snap(H * scale), snap(W * scale)


class Pipeline:
    # JBU stops at this many times the ab grid's short side; bilinear does the rest (upsample.py).
    guide_factor: float = DEFAULT_GUIDE_FACTOR

    def __init__(self, engine: Engine, render_size: int | None = None, temperature: float | None = None,
                 jbu: bool = True, sigma_s: float = 3.0, sigma_r: float = 15.0) -> None:
        self.engine = engine
        info = engine.info
        if render_size is not None and render_size <= 0:
            raise ValueError(f"--render-size must be positive, got {render_size}")
        if temperature is not None and temperature < 0:
            raise ValueError(f"--temperature must be >= 0, got {temperature}")
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
        if self.info.kind == "bins":
            t = self.temperature if temperature is None else temperature
            return annealed_mean(raw, self.info.bins, float(t))  # type: ignore[arg-type]
        return ab_from_raw(raw)

    def confidence(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        return confidence(raw) if self.info.kind == "bins" else None

    def upsample(self, ab_low: np.ndarray, L_full: np.ndarray) -> np.ndarray:
        return upsample_ab(ab_low, L_full, self.jbu, self.sigma_s, self.sigma_r, self.guide_factor)

    def render(self, raw: np.ndarray, L_full: np.ndarray, dtype: np.dtype | type = np.uint8,
               alpha: np.ndarray | None = None) -> np.ndarray:
        """Output pixels straight from the model's raw map: equal to quantising
        ``merge(L_full, upsample(to_ab(raw), L_full))``, without full-size float maps."""
        from colorize_cli.fullres import render

        ab = self.to_ab(raw)
        if ab.shape[:2] == L_full.shape[:2]:
            return render(L_full, ab.astype(np.float32, copy=False), dtype, alpha)
        return render(L_full, guided_ab(ab, L_full, self.jbu, self.sigma_s, self.sigma_r, self.guide_factor),
                      dtype, alpha)

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
