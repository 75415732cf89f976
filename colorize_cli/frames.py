"""Clips as frames in memory: the scene detector and temporal kernel as a pipeline frame filter.

:class:`TemporalFilter` is the :class:`~colorize_cli.pipeline.FrameFilter` that the video
command plugs into :meth:`Pipeline.raw_maps <colorize_cli.pipeline.Pipeline.raw_maps>`:
:class:`~colorize_cli.scenes.SceneDetector` looks at each frame's L and, at a cut, restarts
:class:`~colorize_cli.temporal.TemporalKernel`, which averages the raw maps (bin probabilities
or ab) of the shot so far. :func:`colorize_frames` runs a clip held as arrays through exactly
what ``colorize video`` does, without any file.

Public API::

    TemporalFilter(smooth=False, window=20, decay=0.2, scene_detect=True, scene_threshold=0.5)
    TemporalFilter.take_cuts() -> [bool, ...]     # per frame seen since the last call
    colorize_frames(frames, pipeline, smooth=False, ..., ab_filter=None, keyframes=None) -> Iterator[frame]

``keyframes`` (``{frame index: colour picture or image file}``) carries hand-coloured frames
through their shots (:class:`~colorize_cli.steer.keyframes.KeyframePropagator`), blended over the
model's prediction through the pipeline's ``ab_filter`` hook, as ``colorize video --keyframes``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from colorize_cli.lab import from_float, image_to_L
from colorize_cli.steer.keyframes import DEFAULT_REACH as KEYFRAME_REACH
from colorize_cli.steer.keyframes import KeyframePropagator
from colorize_cli.pipeline import AbFilter, Pipeline, chain_ab_filters
from colorize_cli.scenes import DEFAULT_THRESHOLD, SceneDetector
from colorize_cli.temporal import DEFAULT_DECAY, DEFAULT_WINDOW, TemporalKernel

__all__ = ["TemporalFilter", "colorize_frames"]


class TemporalFilter:
    """Scene detection on L and (with ``smooth``) the temporal kernel on the raw maps; the
    per-film state, so frames must come in order and one filter serves one film."""

    def __init__(self, smooth: bool = False, window: int = DEFAULT_WINDOW, decay: float = DEFAULT_DECAY,
                 scene_detect: bool = True, scene_threshold: float = DEFAULT_THRESHOLD) -> None:
        self.kernel = TemporalKernel(window, decay) if smooth else None
        self.detector = SceneDetector(scene_threshold) if scene_detect else None
        self.needs_every_raw = self.kernel is not None
        self._cuts: list[bool] = []

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


def _to_dtype(rgb: np.ndarray, like: np.ndarray) -> np.ndarray:
    return rgb if like.dtype.kind == "f" else from_float(rgb, like.dtype)


def colorize_frames(frames: Iterable[np.ndarray], pipeline: Pipeline, smooth: bool = False,
                    window: int = DEFAULT_WINDOW, decay: float = DEFAULT_DECAY, scene_detect: bool = True,
                    scene_threshold: float = DEFAULT_THRESHOLD, batch_size: int | None = None,
                    ab_filter: AbFilter | None = None, keyframes: Mapping[int, np.ndarray | str | Path] | None = None,
                    keyframe_reach: int = KEYFRAME_REACH) -> Iterator[np.ndarray]:
    """Colourise a clip given as frames (RGB or gray, uint8/uint16/float in [0, 1]), lazily,
    exactly as ``colorize video`` does: only each frame's L is used, the kernel and scene
    detection run as in the command. Yields RGB in the input's dtype (float32 for float).
    ``keyframes`` maps 0-based frame indices to colour pictures (or image files) carried through
    their shots; with any after frame 0 an iterator of frames is read into a list (the frames
    before such a keyframe are read again, backwards)."""
    frame_filter = TemporalFilter(smooth, window, decay, scene_detect, scene_threshold)
    steer = None
    if keyframes:
        lookahead = None
        if any(int(k) > 0 for k in keyframes):
            clip = frames if isinstance(frames, Sequence) else list(frames)
            frames = clip
            lookahead = lambda a, b: (image_to_L(np.asarray(f)) for f in clip[a:b + 1])  # noqa: E731
        steer = KeyframePropagator(keyframes, pipeline.prepare, lookahead, keyframe_reach,
                                   scene_threshold=scene_threshold if scene_detect else None)
    index = 0
    bs = max(1, batch_size or pipeline.engine.batch_size)
    buf: list[np.ndarray] = []
    like: list[np.ndarray] = []

    def flush() -> Iterator[np.ndarray]:
        nonlocal index
        raws = pipeline.raw_maps(buf, frame_filter)
        for L, f, raw, cut in zip(buf, like, raws, frame_filter.take_cuts()):
            f_ab = ab_filter if steer is None else chain_ab_filters(steer.push(index, L, cut), ab_filter)
            index += 1
            yield _to_dtype(pipeline.finish(L, raw, ab_filter=f_ab), f)  # type: ignore[arg-type]
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
