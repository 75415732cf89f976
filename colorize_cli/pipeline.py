"""The colourisation pipeline: the one place that knows the order of the stages.

Data flows one way::

    L_full ─prepare─▶ L_work ─infer (batched)─▶ raw ─[frame_filter]─▶ to_ab ─▶ ab_work ─[ab_filter]─▶
        upsample(ab_work, L_full) ─▶ ab_full ─▶ merge(L_full, ab_full) ─▶ RGB float in [0, 1]

:meth:`Pipeline.raw_maps` runs the first half (L → prepare → infer → frame filter) for a batch
of frames, :meth:`Pipeline.finish` the second (to ab → ab filter → upsample → merge) for one.
Every caller (photos, films, ``colorize_frames``, evaluation, the exporters' tuning) goes
through these two; none of them writes the order out again.

Two hooks, both optional:

* ``frame_filter(L_full, raw) -> raw`` — a :class:`FrameFilter`, called once per frame in order
  on the raw model map (bin probabilities for ``bins`` models, ab for ``ab`` models), before it
  is decoded to ab. The video command's scene detector and temporal kernel plug in here
  (:class:`colorize_cli.frames.TemporalFilter`). A filter with ``needs_every_raw = False`` is
  also called with ``raw=None`` for frames whose output is not wanted (a resumed film's replay),
  so that such frames cost no inference.
* ``ab_filter(L_work, ab_work, full_shape) -> ab_work`` — an :data:`AbFilter`, called on the ab
  map at the model's output resolution, after "to ab" and before "upsample". ``L_work`` is the
  lightness (float32, 0..100) at the same (h, w) as ``ab_work`` (float32, h×w×2, a and b);
  ``full_shape`` is the (H, W) the result will be upsampled to. It returns an h×w×2 map: colour
  hints and keyframe propagation plug in here.

Public API::

    Pipeline(engine, render_size=None, temperature=None, jbu=True, sigma_s=3.0, sigma_r=15.0)
    Pipeline.working_shape((H, W)) -> (h, w)         # aspect kept, multiples of the stride
    Pipeline.raw_maps([L_full, ...], frame_filter=None, emit=None) -> [raw | None, ...]
    Pipeline.finish(L_full, raw, temperature=None, ab_filter=None) -> rgb float32 H×W×3
    Pipeline.finish(L_full, raw, ..., dtype=np.uint8, alpha=None) -> output pixels (in strips)
    Pipeline.colorize_Ls([L_full, ...], frame_filter=None, ab_filter=None) -> [rgb, ...]
    Pipeline.colorize_L(L_full, ab_filter=None) -> rgb
    Pipeline.colorize_array(image, ab_filter=None) -> image   # RGB(A)/gray, uint8/uint16/float, same dtype
    chain_ab_filters(first, second) -> ab_filter | None      # one after the other (None: skipped)
    Pipeline.confidence(raw) -> (top, ratio) | None   # bins models only
    # the single stages, for tests and measurements:
    Pipeline.prepare(L_full) -> L_work;  Pipeline.infer([L_work, ...]) -> [raw, ...]
    Pipeline.to_ab(raw, temperature=None) -> ab_work;  Pipeline.upsample(ab_work, L_full) -> ab_full
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol

import cv2
import numpy as np

from colorize_cli.bins_to_ab import ab_from_raw, annealed_mean, confidence
from colorize_cli.model.contract import ModelInfo
from colorize_cli.model.engine import Engine
from colorize_cli.errors import NonFiniteOutput, ParameterError
from colorize_cli.lab import from_float, image_to_L, merge
from colorize_cli.upsample import DEFAULT_GUIDE_FACTOR, guided_ab, upsample_ab

__all__ = ["AbFilter", "FrameFilter", "MAX_ASPECT", "MAX_RENDER_SIZE", "Pipeline", "chain_ab_filters",
           "check_render_size", "check_temperature", "merge", "working_shape"]

AbFilter = Callable[[np.ndarray, np.ndarray, tuple[int, int]], np.ndarray]
"""``ab_filter(L_work (h, w) float32 0..100, ab_work (h, w, 2) float32, full_shape (H, W)) -> (h, w, 2)``."""


def chain_ab_filters(first: AbFilter | None, second: AbFilter | None) -> AbFilter | None:
    """One ab filter that runs ``first`` then ``second`` (e.g. a film's keyframes, then the
    caller's own filter); either may be None."""
    if first is None or second is None:
        return first or second

    def both(L_work: np.ndarray, ab_work: np.ndarray, full_shape: tuple[int, int]) -> np.ndarray:
        return second(L_work, np.asarray(first(L_work, ab_work, full_shape), np.float32), full_shape)

    return both


class FrameFilter(Protocol):
    """A per-frame filter on the raw model maps, called once per frame in film order."""

    #: True when the filter needs every frame's raw map (a temporal kernel); False when it only
    #: looks at L (a scene detector) and may get ``raw=None`` for frames whose output is unused.
    needs_every_raw: bool

    def __call__(self, L_full: np.ndarray, raw: np.ndarray | None) -> np.ndarray | None:
        """The (filtered) raw map for this frame; None only when ``raw`` was None."""
        ...


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
    """:class:`ParameterError` (``render_size``) unless 1 ≤ it ≤ :data:`MAX_RENDER_SIZE`."""
    if not 0 < render_size <= MAX_RENDER_SIZE:
        raise ParameterError("render_size", f"must be between 1 and {MAX_RENDER_SIZE} (the model's memory grows "
                             f"with its square), got {render_size}")


def check_temperature(temperature: float) -> None:
    """:class:`ParameterError` (``temperature``) unless it is a finite number > 0."""
    if not (math.isfinite(temperature) and temperature > 0):
        raise ParameterError("temperature", f"must be a finite number > 0, got {temperature}")


class Pipeline:
    """A model (an :class:`~colorize_cli.model.engine.Engine`) with the settings of every stage around it.

    ``render_size`` is the short side the model sees (default: the model's ``working_size``),
    ``temperature`` the annealed-mean temperature of ``bins`` models (default: the model's),
    ``jbu`` joint bilateral (else bilinear) upsampling with ``sigma_s``/``sigma_r``, up to
    ``guide_factor`` times the ab grid (then bilinear: :mod:`colorize_cli.upsample`)."""

    # JBU stops at this many times the ab grid's short side; bilinear does the rest (upsample.py).
    guide_factor: float = DEFAULT_GUIDE_FACTOR

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
        """The model's self-description."""
        return self.engine.info

    def working_shape(self, shape: tuple[int, int]) -> tuple[int, int]:
        """The (h, w) the model sees for an image of ``shape`` (H, W)."""
        return working_shape(shape, self.render_size, self.info.stride)

    def prepare(self, L_full: np.ndarray) -> np.ndarray:
        """Full-resolution L resized to the working shape (area average when shrinking)."""
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
        """The raw model map as ab (h×w×2): the annealed mean for ``bins`` models.
        :class:`NonFiniteOutput` when the model's map holds NaN or inf (one bad input, not a
        broken run: the caller reports that input)."""
        if not np.isfinite(raw).all():
            raise NonFiniteOutput(self.info.name, self.info.path)
        if self.info.kind == "bins":
            t = self.temperature if temperature is None else temperature
            return annealed_mean(raw, self.info.bins, float(t))  # type: ignore[arg-type]
        return ab_from_raw(raw)

    def confidence(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(top-bin probability, top ÷ second) maps for ``bins`` models; None for ``ab`` models."""
        return confidence(raw) if self.info.kind == "bins" else None

    def upsample(self, ab_low: np.ndarray, L_full: np.ndarray) -> np.ndarray:
        """ab at the full resolution of ``L_full``: JBU guided by L up to the guide size, then
        bilinear (or bilinear all the way with ``jbu=False``)."""
        return upsample_ab(ab_low, L_full, self.jbu, self.sigma_s, self.sigma_r, self.guide_factor)

    def raw_maps(self, L_fulls: Sequence[np.ndarray], frame_filter: FrameFilter | None = None,
                 emit: Sequence[bool] | None = None) -> list[np.ndarray | None]:
        """The first half, for frames in order: L → prepare → infer (equal shapes batched) →
        ``frame_filter``. ``emit`` (default: all) marks the frames whose raw map is wanted;
        the others are still shown to the filter, and inferred only if it needs every raw map."""
        emit = [True] * len(L_fulls) if emit is None else list(emit)
        every = frame_filter is not None and frame_filter.needs_every_raw
        todo = [i for i, e in enumerate(emit) if e or every]
        raws: list[np.ndarray | None] = [None] * len(L_fulls)
        if todo:
            for i, raw in zip(todo, self.infer([self.prepare(L_fulls[i]) for i in todo])):
                raws[i] = raw
        if frame_filter is not None:
            raws = [frame_filter(L, raw) for L, raw in zip(L_fulls, raws)]
        return [raw if e else None for raw, e in zip(raws, emit)]

    def finish(self, L_full: np.ndarray, raw: np.ndarray, temperature: float | None = None,
               ab_filter: AbFilter | None = None, dtype: np.dtype | type | None = None,
               alpha: np.ndarray | None = None) -> np.ndarray:
        """The second half, for one frame: to ab → ``ab_filter`` → upsample → merge with the
        frame's own full-resolution L. RGB float32 in [0, 1]; holds no state.

        With ``dtype`` (uint8 or uint16) it returns the output pixels instead (RGB, or RGBA
        with ``alpha`` appended): the same route, with the bilinear part of the upsampling,
        the merge and the quantisation done strip by strip on every core
        (:func:`colorize_cli.fullres.render`), so no full-size float map exists. Equal to
        ``from_float(finish(...), dtype, alpha)`` within one level (exact halves round to even)."""
        ab = self.to_ab(raw, temperature)
        if ab_filter is not None:
            ab = self._apply_ab_filter(ab_filter, L_full, ab)
        if dtype is None:
            return merge(L_full, self.upsample(ab, L_full))
        from colorize_cli.fullres import render

        L_full = L_full.astype(np.float32, copy=False)
        guide = ab.astype(np.float32, copy=False) if ab.shape[:2] == L_full.shape[:2] else \
            guided_ab(ab, L_full, self.jbu, self.sigma_s, self.sigma_r, self.guide_factor)
        return render(L_full, guide, dtype, alpha)

    def _apply_ab_filter(self, ab_filter: AbFilter, L_full: np.ndarray, ab: np.ndarray) -> np.ndarray:
        h, w = ab.shape[:2]
        L_work = self.prepare(L_full)
        if L_work.shape[:2] != (h, w):  # models with output_stride > 1 predict at a coarser grid
            L_work = cv2.resize(L_work, (w, h), interpolation=cv2.INTER_AREA)
        out = np.asarray(ab_filter(L_work, ab, (int(L_full.shape[0]), int(L_full.shape[1]))), np.float32)
        if out.shape != ab.shape:
            raise ValueError(f"ab_filter returned shape {out.shape}, expected {ab.shape}")
        return out

    def colorize_Ls(self, L_fulls: Sequence[np.ndarray], frame_filter: FrameFilter | None = None,
                    ab_filter: AbFilter | None = None) -> list[np.ndarray]:
        """Every stage for many full-resolution L maps (batched); RGB float32 in [0, 1] each."""
        raws = self.raw_maps(L_fulls, frame_filter)
        return [self.finish(L, raw, ab_filter=ab_filter) for L, raw in zip(L_fulls, raws)]  # type: ignore[arg-type]

    def colorize_L(self, L_full: np.ndarray, ab_filter: AbFilter | None = None) -> np.ndarray:
        """Every stage for one full-resolution L map; RGB float32 in [0, 1]."""
        return self.colorize_Ls([L_full], ab_filter=ab_filter)[0]

    def colorize_array(self, image: np.ndarray, ab_filter: AbFilter | None = None) -> np.ndarray:
        """Colourise an RGB(A) or gray array (uint8, uint16, or float in [0, 1]); returns RGB,
        or RGBA with the alpha unchanged, in the input's dtype. Only the image's L is used."""
        alpha = image[:, :, 3] if image.ndim == 3 and image.shape[2] == 4 else None
        rgb = self.colorize_L(image_to_L(image), ab_filter=ab_filter)
        if image.dtype.kind == "f":
            out = rgb.astype(image.dtype)
            return np.dstack([out, alpha]) if alpha is not None else out
        return from_float(rgb, image.dtype, alpha)
