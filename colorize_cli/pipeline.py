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
    Pipeline.filter_ab(ab_low, L_work, full_shape, ab_filter) -> ab_work   # the ab_filter hook
    Pipeline.colorize_L(L_full, ab_filter=None) -> rgb float32 H×W×3
    Pipeline.colorize_Ls([L_full, ...], ab_filters=None) -> [rgb, ...] # batched
    Pipeline.colorize_array(image, ab_filter=None) -> image   # RGB(A)/gray uint8/uint16/float -> RGB(A), same dtype

``ab_filter(L_work (h, w) float32 0..100, ab_work (h, w, 2) float32, full_shape (H, W)) -> ab_work``
is how user control (colour hints, keyframes) enters: it rewrites the ab map at the working
size, after "to ab" and before "upsample", so the result goes through the same upsampling and
merge with the full-resolution L as an automatic one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from colorize_cli.bins_to_ab import ab_from_raw, annealed_mean, confidence
from colorize_cli.contract import ModelInfo
from colorize_cli.engine import Engine
from colorize_cli.lab import from_float, image_to_L, merge
from colorize_cli.upsample import bilinear_upsample, joint_bilateral_upsample

__all__ = ["AbFilter", "Pipeline", "merge", "working_shape"]

AbFilter = Callable[[np.ndarray, np.ndarray, tuple[int, int]], np.ndarray]


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
        H, W = L_full.shape[:2]
        if ab_low.shape[:2] == (H, W):
            return ab_low
        if self.jbu:
            return joint_bilateral_upsample(ab_low, L_full, self.sigma_s, self.sigma_r)
        return bilinear_upsample(ab_low, (W, H))

    def filter_ab(self, ab_low: np.ndarray, L_work: np.ndarray, full_shape: tuple[int, int],
                  ab_filter: AbFilter | None) -> np.ndarray:
        """Apply ``ab_filter`` to the ab map (brought to the working size first when the model
        outputs at a coarser stride); without a filter, ``ab_low`` unchanged."""
        if ab_filter is None:
            return ab_low
        h, w = L_work.shape[:2]
        if ab_low.shape[:2] != (h, w):
            ab_low = bilinear_upsample(ab_low, (w, h))
        out = np.asarray(ab_filter(L_work, ab_low, (int(full_shape[0]), int(full_shape[1]))), np.float32)
        if out.shape != (h, w, 2):
            raise ValueError(f"ab_filter returned {out.shape}, expected {(h, w, 2)}")
        return out

    def colorize_Ls(self, L_fulls: Sequence[np.ndarray],
                    ab_filters: Sequence[AbFilter | None] | None = None) -> list[np.ndarray]:
        L_works = [self.prepare(L) for L in L_fulls]
        raws = self.infer(L_works)
        filters = list(ab_filters) if ab_filters is not None else [None] * len(L_fulls)
        return [merge(L, self.upsample(self.filter_ab(self.to_ab(raw), Lw, L.shape[:2], f), L))
                for L, Lw, raw, f in zip(L_fulls, L_works, raws, filters)]

    def colorize_L(self, L_full: np.ndarray, ab_filter: AbFilter | None = None) -> np.ndarray:
        return self.colorize_Ls([L_full], [ab_filter])[0]

    def colorize_array(self, image: np.ndarray, ab_filter: AbFilter | None = None) -> np.ndarray:
        """Colourise an RGB(A) or gray array (uint8, uint16, or float in [0, 1]); returns RGB,
        or RGBA with the alpha unchanged, in the input's dtype. ``ab_filter`` (see the module
        docstring) steers the colour, e.g. :func:`colorize_cli.propagate.hint_filter`."""
        alpha = image[:, :, 3] if image.ndim == 3 and image.shape[2] == 4 else None
        rgb = self.colorize_L(image_to_L(image), ab_filter)
        if image.dtype.kind == "f":
            out = rgb.astype(image.dtype)
            return np.dstack([out, alpha]) if alpha is not None else out
        return from_float(rgb, image.dtype, alpha)
