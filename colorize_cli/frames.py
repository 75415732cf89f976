"""Clips as frames in memory: the scene detector and temporal kernel as a pipeline frame filter.

:class:`TemporalFilter` is the :class:`~colorize_cli.pipeline.FrameFilter` that the video
command plugs into :meth:`Pipeline.raw_maps <colorize_cli.pipeline.Pipeline.raw_maps>`:
:class:`~colorize_cli.scenes.SceneDetector` looks at each frame's L and, at a cut, restarts
:class:`~colorize_cli.temporal.TemporalKernel`, which averages the raw maps (bin probabilities
or ab) of the shot so far. :func:`colorize_frames` runs a clip held as arrays through exactly
what ``colorize video`` does, without any file.

:class:`FrameSteps` is the per-frame loop of a clip, written once: raw maps through the frame
filter in order, each frame's cut, the keyframes' blend (every frame fed, replayed or not), and
the second half of the pipeline with that blend. :func:`colorize_frames` runs it in one thread;
the film stream (:mod:`colorize_cli.film.stream`) runs its two halves in two.

Public API::

    TemporalFilter(smooth=False, window=20, decay=0.2, scene_detect=True, scene_threshold=0.5)
    TemporalFilter.of(TemporalSettings) -> TemporalFilter
    TemporalFilter.take_cuts() -> [bool, ...]     # per frame seen since the last call
    FrameSteps(pipeline, temporal, keyframes=None, lookahead=None, ab_filter=None)
    FrameSteps.first_half(indices, Ls, emit=None) -> iterator of (position, L, raw, cut, steer)
    FrameSteps.second_half(L, raw, steer, dtype=None) -> RGB
    colorize_frames(frames, pipeline, smooth=False, ..., ab_filter=None, keyframes=None,
                    temporal=None) -> Iterator[frame]

``keyframes`` (``{frame index: colour picture or image file}``) carries hand-coloured frames
through their shots (:class:`~colorize_cli.steer.keyframes.KeyframePropagator`), blended over the
model's prediction through the pipeline's ``ab_filter`` hook, as ``colorize video --keyframes``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from colorize_cli.lab import from_float, image_to_L
from colorize_cli.pipeline import AbFilter, Pipeline, chain_ab_filters
from colorize_cli.scenes import SceneDetector
from colorize_cli.settings import DEFAULTS, TemporalSettings
from colorize_cli.steer.keyframes import KeyframePropagator
from colorize_cli.temporal import TemporalKernel

__all__ = ["FrameSteps", "TemporalFilter", "colorize_frames"]


class TemporalFilter:
    """Scene detection on L and (with ``smooth``) the temporal kernel on the raw maps; the
    per-film state, so frames must come in order and one filter serves one film."""

    def __init__(self, smooth: bool = False, window: int = DEFAULTS.window, decay: float = DEFAULTS.decay,
                 scene_detect: bool = True, scene_threshold: float = DEFAULTS.scene_threshold) -> None:
        self.kernel = TemporalKernel(window, decay) if smooth else None
        self.detector = SceneDetector(scene_threshold) if scene_detect else None
        self.needs_every_raw = self.kernel is not None
        self._cuts: list[bool] = []

    @classmethod
    def of(cls, settings: TemporalSettings) -> TemporalFilter:
        """The filter for these temporal settings."""
        return cls(settings.smooth, settings.window, settings.decay, settings.scene_detect, settings.scene_threshold)

    def __call__(self, L_full: np.ndarray, raw: np.ndarray | None) -> np.ndarray | None:
        """Feed one frame; returns its raw map, smoothed over the shot when the kernel is on."""
        cut = self.detector.is_cut(L_full) if self.detector is not None else False
        self._cuts.append(cut)
        if self.kernel is not None:
            if cut:
                self.kernel.reset()
            raw = self.kernel.push(raw)  # type: ignore[arg-type]
        return raw

    def take_cuts(self) -> list[bool]:
        """For each frame fed since the last call, in order: did it start a new shot?"""
        cuts, self._cuts = self._cuts, []
        return cuts


class FrameSteps:
    """The per-frame loop of one clip: :meth:`first_half` for batches of frames in order (raw
    maps, the frame filter, cuts, the keyframes' blend), :meth:`second_half` for each frame it
    yields (holds no state, so it may run in another thread). ``lookahead(a, b)`` yields the
    full-size L of frames a..b again, for keyframes carried backward."""

    def __init__(self, pipeline: Pipeline, temporal: TemporalSettings,
                 keyframes: Mapping[int, np.ndarray | str | Path] | None = None,
                 lookahead: Callable[[int, int], Iterable[np.ndarray]] | None = None,
                 ab_filter: AbFilter | None = None) -> None:
        self.pipeline, self.ab_filter = pipeline, ab_filter
        self.filter = TemporalFilter.of(temporal)
        self.keyframes = (KeyframePropagator(keyframes, pipeline.prepare, lookahead, temporal.keyframe_reach,
                                             temporal.keyframe_decay,
                                             scene_threshold=temporal.scene_threshold if temporal.scene_detect else None)
                          if keyframes else None)

    def first_half(self, indices: Sequence[int], Ls: Sequence[np.ndarray], emit: Sequence[bool] | None = None
                   ) -> Iterator[tuple[int, np.ndarray, np.ndarray, bool, AbFilter | None]]:
        """A batch of frames, the next in order, by frame index and full-size L: (position in
        the batch, L, raw map, cut?, keyframe blend) for those ``emit`` marks (default: all);
        the others are only replayed (fed to the frame filter and the keyframes)."""
        raws = self.pipeline.raw_maps(Ls, self.filter, emit)
        for k, (index, L, raw, cut) in enumerate(zip(indices, Ls, raws, self.filter.take_cuts())):
            wanted = emit is None or bool(emit[k])
            steer = self.keyframes.push(index, L, cut, wanted) if self.keyframes is not None else None
            if wanted:
                yield k, L, raw, cut, steer  # type: ignore[misc]

    def second_half(self, L: np.ndarray, raw: np.ndarray, steer: AbFilter | None,
                    dtype: np.dtype | type | None = None) -> np.ndarray:
        """One frame's colour: the keyframes' blend, then the caller's ab filter, then the rest
        of the pipeline (``dtype``: quantised pixels, as :meth:`Pipeline.finish` says)."""
        return self.pipeline.finish(L, raw, ab_filter=chain_ab_filters(steer, self.ab_filter), dtype=dtype)


def _to_dtype(rgb: np.ndarray, like: np.ndarray) -> np.ndarray:
    return rgb if like.dtype.kind == "f" else from_float(rgb, like.dtype)


def colorize_frames(frames: Iterable[np.ndarray], pipeline: Pipeline, smooth: bool = False,
                    window: int = DEFAULTS.window, decay: float = DEFAULTS.decay, scene_detect: bool = True,
                    scene_threshold: float = DEFAULTS.scene_threshold, batch_size: int | None = None,
                    ab_filter: AbFilter | None = None, keyframes: Mapping[int, np.ndarray | str | Path] | None = None,
                    keyframe_reach: int = DEFAULTS.keyframe_reach,
                    temporal: TemporalSettings | None = None) -> Iterator[np.ndarray]:
    """Colourise a clip given as frames (RGB or gray, uint8/uint16/float in [0, 1]), lazily,
    exactly as ``colorize video`` does: only each frame's L is used, the kernel and scene
    detection run as in the command. Yields RGB in the input's dtype (float32 for float).
    ``temporal`` gives the temporal settings as one object (then ``smooth`` to
    ``keyframe_reach`` are not read). ``keyframes`` maps 0-based frame indices to colour
    pictures (or image files) carried through their shots; with any after frame 0 an iterator
    of frames is read into a list (the frames before such a keyframe are read again, backwards)."""
    if temporal is None:
        temporal = TemporalSettings(smooth, window, decay, scene_detect, scene_threshold, keyframe_reach)
    lookahead = None
    if keyframes and any(int(k) > 0 for k in keyframes):
        clip = frames if isinstance(frames, Sequence) else list(frames)
        frames = clip
        lookahead = lambda a, b: (image_to_L(np.asarray(f)) for f in clip[a:b + 1])  # noqa: E731
    steps = FrameSteps(pipeline, temporal, keyframes, lookahead, ab_filter)
    index = 0
    bs = max(1, batch_size or pipeline.engine.batch_size)
    buf: list[np.ndarray] = []
    like: list[np.ndarray] = []

    def flush() -> Iterator[np.ndarray]:
        nonlocal index
        for k, L, raw, _cut, steer in steps.first_half(range(index, index + len(buf)), buf):
            yield _to_dtype(steps.second_half(L, raw, steer), like[k])
        index += len(buf)
        buf.clear()
        like.clear()

    for frame in frames:
        frame = np.asarray(frame)
        buf.append(image_to_L(frame))
        like.append(frame[:1, :1])
        if len(buf) >= bs:
            yield from flush()
    if buf:
        yield from flush()
