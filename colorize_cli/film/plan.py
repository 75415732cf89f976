"""Planning films, everything decided before a frame flows: which output each film goes to, in
which container and codec (:func:`plan_jobs`, :func:`video_output_path`, :func:`output_codec`);
whether a film is to be done at all (:func:`check_film`); the prepared :class:`Film` (encoder
settings, segment size, resume identity, work folder: :func:`prepare`); where a run starts and
what it replays (:class:`ResumePlan`); and how a film is cut into pieces for several workers
(:func:`plan_pieces`).

Public API::

    plan_jobs(inputs, output, codec, stdin=None) -> ([VideoJob(src, dst)], [(path, reason)])
    video_output_path(src_rel, out_dir, codec=None) -> Path
    output_codec(dst, options) -> (container format, codec)
    check_film(src, dst, options) -> Source | None
    film_settings(source, dst, options) -> (EncoderSettings, notes)
    prepare(src, dst, source, pipeline, options, ab_filter=None) -> Film
    Film.start() -> notes;  Film.check_started();  Film.frames_kept() -> int
    ResumePlan.from_segments(segments, options);  ResumePlan.starting_at(resume, options, stop=None)
    plan_pieces(film, split_seconds) -> [Piece(src, dst, first, stop, segment_frames)]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from colorize_cli.errors import ColorizeError, InputError, ParameterError
from colorize_cli.film.encode import (EncoderSettings, check_crf, container_accepts, encoder_settings,
                                       output_format, pick_codec)
from colorize_cli.film.identity import film_identity
from colorize_cli.film.join import made_here
from colorize_cli.film.options import VideoOptions
from colorize_cli.film.read import VIDEO_EXTENSIONS, Source, probe
from colorize_cli.film.segments import WorkDir
from colorize_cli.io.inputs import discover, output_exclusions, output_target, same_file
from colorize_cli.pipeline import AbFilter, Pipeline
from colorize_cli.steer.keyframes import replay_start


def video_output_path(rel: Path, out_dir: Path, codec: str | None = None) -> Path:
    """Where a film found at ``rel`` (relative to its input folder) goes: the same name, or
    ``.mkv`` when its container cannot hold ``codec`` (a .webm cannot hold H.264, say);
    without a codec, the container's own choice (:func:`~colorize_cli.film.encode.pick_codec`)."""
    dst = out_dir / rel
    try:
        fmt = output_format(dst)
        if container_accepts(fmt, pick_codec(fmt, codec)):
            return dst
    except ColorizeError:
        pass
    return dst.with_suffix(".mkv")

def check_film(src: Path, dst: Path, options: VideoOptions) -> Source | None:
    """The probed source, or None when the output is finished already (skip it).
    ParameterError for options the output cannot take, InputError for this film's problems."""
    output_codec(dst, options)
    if same_file(src, dst):
        raise InputError(src, "the output would overwrite this input; choose another output")
    if os.path.lexists(dst) and not options.overwrite:
        if made_here(dst) is False:
            raise InputError(src, f"{dst} exists and was not made by colorize; overwrite=True replaces it")
        return None
    return probe(src, options.max_pixels)


def film_settings(source: Source, dst: Path, options: VideoOptions) -> tuple[EncoderSettings, list[str]]:
    """The encoder settings for this film into ``dst``, and notes about them."""
    fmt, codec = output_codec(dst, options)
    return encoder_settings(source, codec, options.crf, options.preset, fmt)


@dataclass
class Film:
    """A film prepared for colourising: what every step after :func:`prepare` shares, on the
    machine that runs it (a Ray worker prepares its own from the same source and options)."""

    src: Path
    dst: Path
    source: Source
    settings: EncoderSettings
    segment_frames: int
    identity: dict[str, Any]
    work: WorkDir
    notes: list[str] = field(default_factory=list)

    def start(self) -> list[str]:
        """Open the work folder, resuming it when its identity matches (else starting over);
        the notes about that, also kept in :attr:`notes`."""
        notes = self.work.start(self.identity)
        self.notes += notes
        return notes

    def check_started(self) -> None:
        """:class:`ColorizeError` unless the work folder was started for exactly this film and
        these options (what a worker writing one piece of a split film checks)."""
        if not self.work.matches(self.identity):
            raise ColorizeError(f"{self.work.path} was prepared for another source or other options")

    def frames_kept(self) -> int:
        """Frames in the finished segments."""
        return sum(int(s["frames"]) for s in self.work.segments())


def prepare(src: Path, dst: Path, source: Source, pipeline: Pipeline, options: VideoOptions,
            ab_filter: AbFilter | None = None) -> Film:
    """Encoder settings, segment size and resume identity of ``source`` into ``dst``; touches no
    file (:meth:`Film.start` does). InputError when the film cannot be encoded as asked."""
    settings, notes = film_settings(source, dst, options)
    n = options.segment_frames(source.rate)
    ident = film_identity(source, pipeline, options, settings, n, ab_filter)
    return Film(src, dst, source, settings, n, ident, WorkDir(dst), notes)


@dataclass(frozen=True)
class ResumePlan:
    """Where a run starts, decided once from the finished segments.

    ``resume`` is the first frame to encode (a segment boundary). To keep the kernel exact
    across the restart, frames from ``warm`` on are decoded to RGB and replayed through scene
    detection and the model (the kernel's window, or one frame as the detector's reference
    without ``smooth``; with keyframes, from the keyframe whose carry reaches ``resume``)
    without being encoded; frames before ``warm`` are decoded only.
    ``stop`` (None: the end of the film) is the first frame not to decode: a piece of a film
    split over several workers (:mod:`colorize_cli.distributed`) ends there."""

    resume: int
    warm: int
    stop: int | None = None

    @classmethod
    def starting_at(cls, resume: int, options: VideoOptions, stop: int | None = None) -> ResumePlan:
        """The plan that encodes frames ``resume`` to ``stop``, replaying what the kernel (or
        the scene detector) needs before ``resume``."""
        temporal = options.temporal
        warm = max(0, resume - temporal.replay_frames())
        if options.keyframes:
            warm = min(warm, replay_start(options.keyframes, resume, temporal.keyframe_reach))
        return cls(resume, warm, stop)

    @classmethod
    def from_segments(cls, segments: Sequence[dict[str, Any]], options: VideoOptions) -> ResumePlan:
        """The plan for a work dir holding ``segments`` (contiguous from the first)."""
        return cls.starting_at(sum(int(s["frames"]) for s in segments), options)

    def emits(self, index: int) -> bool:
        """Whether frame ``index`` is encoded by this run (else it is only replayed)."""
        return index >= self.resume

@dataclass(frozen=True)
class Piece:
    """One task of a film run: a whole film (``first`` None), or frames ``first`` up to
    ``stop`` (None: the end) of a split film, in whole segments of ``segment_frames``. Crosses
    to the workers as a row of plain values (:meth:`as_row`, :meth:`from_row`)."""

    src: str
    dst: str
    first: int | None = None
    stop: int | None = None
    segment_frames: int = 0

    def as_row(self) -> dict[str, Any]:
        """The row Ray Data carries (-1 for None: a column keeps one type)."""
        return {"src": self.src, "dst": self.dst, "first": -1 if self.first is None else self.first,
                "stop": -1 if self.stop is None else self.stop, "segment_frames": self.segment_frames}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Piece:
        """The piece a row stands for."""
        first, stop = int(row["first"]), int(row["stop"])
        return cls(str(row["src"]), str(row["dst"]), None if first < 0 else first, None if stop < 0 else stop,
                   int(row["segment_frames"]))


def plan_pieces(film: Film, split_seconds: float | None) -> list[Piece]:
    """``film`` cut into pieces of about ``split_seconds`` for several workers, in whole
    segments; one whole-film piece when it is not split (no ``split_seconds``, or its length
    unknown)."""
    src, dst, n = str(film.src), str(film.dst), film.segment_frames
    frames = film.source.frames_estimate
    if not split_seconds or not frames:
        return [Piece(src, dst, segment_frames=n)]
    per = max(1, int(round(split_seconds * float(film.source.rate) / n))) * n
    starts = list(range(0, frames, per))
    if len(starts) == 1:
        return [Piece(src, dst, segment_frames=n)]
    return [Piece(src, dst, s, s + per if i + 1 < len(starts) else None, n) for i, s in enumerate(starts)]


def output_codec(dst: Path, options: VideoOptions) -> tuple[str, str]:
    """(container format, codec) of the output; ParameterError when they cannot go together."""
    fmt = output_format(dst)
    codec = pick_codec(fmt, options.codec)
    check_crf(codec, options.crf)
    check_container(dst, fmt, codec)
    return fmt, codec

def check_container(dst: Path, fmt: str, codec: str) -> None:
    """:class:`ParameterError` (``codec``) when the container ``fmt`` of ``dst`` cannot hold ``codec``."""
    if not container_accepts(fmt, codec):
        raise ParameterError("codec", f"{codec}: a .{dst.suffix.lstrip('.')} file ({dst}) cannot hold it; "
                             "choose another codec or output extension (.mkv takes them all)")


@dataclass(frozen=True)
class VideoJob:
    """One film and its output file."""

    src: Path
    dst: Path


def plan_jobs(inputs: Sequence[str], output: str | Path, codec: str | None, stdin: TextIO | None = None
              ) -> tuple[list[VideoJob], list[tuple[str, str]]]:
    """(src, dst) pairs for ``colorize video INPUTS -o OUTPUT``, and (path, reason) for inputs
    that do not exist.

    ``output`` as :func:`~colorize_cli.io.inputs.output_target` says (pass the string as typed: a
    trailing ``/`` means a folder): for one film, a file whose extension picks the container
    (which must take the codec: :class:`ParameterError` otherwise); else a folder mirroring
    the input tree (see :func:`video_output_path`)."""
    target, is_file = output_target(inputs, output, lambda _path: True)
    if is_file:
        fmt = output_format(target)
        check_container(target, fmt, pick_codec(fmt, codec))
        return [VideoJob(Path(inputs[0]), target)], []
    found = discover(inputs, stdin=stdin, exclude=output_exclusions(inputs, [target]), extensions=VIDEO_EXTENSIONS)
    return [VideoJob(j.src, video_output_path(j.rel, target, codec)) for j in found.jobs], found.errors
