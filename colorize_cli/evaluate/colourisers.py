"""The models being scored, as :class:`Colorizer` adapters over a :class:`~colorize_cli.pipeline.Pipeline`:
automatic, steered by simulated hints, given a first keyframe, or given a reference photo."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from colorize_cli.errors import EvaluateError, ParameterError
from colorize_cli.lab import from_float
from colorize_cli.pipeline import Pipeline


# -------------------------------------------------------------------- colourising (runtime)


SMOOTH_UNAVAILABLE = (
    "smooth=True on videos needs a colorizer with a clip path (the video command's temporal "
    "kernel); this one only colourises single pictures, so score without smoothing")


@dataclass
class Colorizer:
    """A model ready to colourise: ``image(rgb) -> rgb`` for one picture, and optionally
    ``clip(rgbs, smooth) -> rgbs`` for a whole clip (the video command's path, where the
    temporal kernel lives).

    It is handed the colour originals (``uint8`` RGB) and must use **only their lightness**:
    the runtime adapters take the runtime's own L (``lab.image_to_L``, exactly what
    ``colorize images`` / ``video`` compute for a black-and-white input) and pass nothing else
    to the model, so no colour can leak into the prediction.  Output: RGB of the same size.
    """

    name: str
    image: Callable[[np.ndarray], np.ndarray]
    clip: Callable[[Iterable[np.ndarray], bool], Iterator[np.ndarray]] | None = None

    def frames(self, originals: Iterable[np.ndarray], smooth: bool = False) -> Iterator[np.ndarray]:
        """The colourised frames of a clip (the clip path, or picture by picture)."""
        if self.clip is not None:
            return self.clip(originals, smooth)
        if smooth:
            raise EvaluateError(SMOOTH_UNAVAILABLE)
        return (self.image(f) for f in originals)


def colorizer_from_pipeline(pipeline: Pipeline) -> Colorizer:
    """The one place evaluate touches the runtime: wrap a ``Pipeline`` (e.g. from
    :func:`colorize_cli.load`) as a :class:`Colorizer` labelled with the model's name.

    Photos go through ``pipeline.colorize_L`` (output quantised like an 8-bit file, as
    ``colorize images`` writes it); clips through :func:`colorize_cli.frames.colorize_frames`
    — the ``colorize video`` path with scene detection and, for ``smooth``, the temporal kernel.
    """
    from colorize_cli.frames import colorize_frames
    from colorize_cli.lab import image_to_L

    def image(rgb: np.ndarray) -> np.ndarray:
        # Only the lightness goes in: the colour original cannot leak into the prediction.
        return from_float(pipeline.colorize_L(image_to_L(rgb)), np.uint8)

    def clip(frames: Iterable[np.ndarray], smooth: bool) -> Iterator[np.ndarray]:
        # uint8 in, uint8 out; the video path also takes only each frame's L.
        return colorize_frames(frames, pipeline, smooth=smooth)

    return Colorizer(name=pipeline.info.label, image=image, clip=clip)


def hinted_colorizer(pipeline: Pipeline, n_points: int, seed: int = 0) -> Colorizer:
    """``--sim-hints N``: the pipeline steered by N simulated hints per photo
    (:func:`colorize_cli.steer.hints.simulate_hints`, fixed seed), labelled ``<model>+<N>pts``.
    The truth's colour enters only through those N 3×3 patches; clips are scored frame by
    frame, each frame with its own N points."""
    from colorize_cli.steer.hints import simulate_hints
    from colorize_cli.lab import image_to_L
    from colorize_cli.steer.propagate import hint_filter

    def image(rgb: np.ndarray) -> np.ndarray:
        return from_float(pipeline.colorize_L(image_to_L(rgb), hint_filter(simulate_hints(rgb, n_points, seed))),
                          np.uint8)

    return Colorizer(name=f"{pipeline.info.label}+{n_points}pts", image=image)


def keyframed_colorizer(pipeline: Pipeline, which: str = "first") -> Colorizer:
    """``--sim-keyframes first``: each clip gets its first frame in true colour as a keyframe,
    propagated as by ``colorize video --keyframes``; labelled ``<model>+kf-first``. Photos
    have no frame to give and are colourised automatically."""
    from colorize_cli.frames import colorize_frames
    from colorize_cli.lab import image_to_L

    if which != "first":
        raise ParameterError("which", f"must be 'first' (the clip's first frame in true colour), got {which!r}")

    def image(rgb: np.ndarray) -> np.ndarray:
        return from_float(pipeline.colorize_L(image_to_L(rgb)), np.uint8)

    def clip(frames: Iterable[np.ndarray], smooth: bool) -> Iterator[np.ndarray]:
        it = iter(frames)
        first = next(it, None)
        if first is None:
            return iter(())
        return colorize_frames(itertools.chain([first], it), pipeline, smooth=smooth, keyframes={0: first})

    return Colorizer(name=f"{pipeline.info.label}+kf-{which}", image=image, clip=clip)


def referenced_colorizer(pipeline: Pipeline, which: str = "shifted", seed: int = 0) -> Colorizer:
    """``--sim-reference shifted|first``, labelled ``<model>+ref-<which>``: ``shifted`` gives each
    photo (and each frame of a clip, scored picture by picture) its own colour original flipped,
    cropped to a random 80 % window and rescaled (:func:`colorize_cli.steer.reference.simulate_reference`,
    fixed seed) as the reference; ``first`` gives each clip its colour first frame as the
    reference for every frame (photos then have none and are colourised automatically)."""
    from colorize_cli.frames import colorize_frames
    from colorize_cli.lab import image_to_L
    from colorize_cli.steer.reference import (FILM_MATCH_SIZE, FILM_REACH, REACH, FeatureNet, ReferenceFilter,
                                        read_reference, simulate_reference)

    if which not in ("shifted", "first"):
        raise ParameterError("which", f"must be 'shifted' or 'first', got {which!r}")
    net = FeatureNet() if which == "shifted" else FeatureNet(match_size=FILM_MATCH_SIZE)  # as photos, as films

    def steer(ref: np.ndarray) -> ReferenceFilter:
        return ReferenceFilter([read_reference(ref, net, None)], net, reach=REACH if which == "shifted" else FILM_REACH)

    def image(rgb: np.ndarray) -> np.ndarray:
        f = steer(simulate_reference(rgb, seed)) if which == "shifted" else None
        return from_float(pipeline.colorize_L(image_to_L(rgb), f), np.uint8)

    def clip(frames: Iterable[np.ndarray], smooth: bool) -> Iterator[np.ndarray]:
        it = iter(frames)
        first = next(it, None)
        if first is None:
            return iter(())
        return colorize_frames(itertools.chain([first], it), pipeline, smooth=smooth, ab_filter=steer(first))

    return Colorizer(name=f"{pipeline.info.label}+ref-{which}", image=image, clip=clip if which == "first" else None)
