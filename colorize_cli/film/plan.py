"""Planning films: which output each film goes to and in which container and codec
(:func:`plan_jobs`, :func:`video_output_path`, :func:`output_codec`), and where a run starts and
what it replays (:class:`ResumePlan`).

Public API::

    plan_jobs(inputs, output, codec, stdin=None) -> ([VideoJob(src, dst)], [(path, reason)])
    video_output_path(src_rel, out_dir, codec=None) -> Path
    output_codec(dst, options) -> (container format, codec)
    ResumePlan.from_segments(segments, options);  ResumePlan.starting_at(resume, options, stop=None)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO


from colorize_cli.errors import ColorizeError, ParameterError
from colorize_cli.io.inputs import discover, output_exclusions, output_target
from colorize_cli.steer.keyframes import replay_start
from colorize_cli.film.encode import (check_crf, container_accepts,
                                       output_format, pick_codec)
from colorize_cli.film.read import VIDEO_EXTENSIONS

from colorize_cli.film.options import VideoOptions

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
        warm = max(0, resume - (max(options.window, 1) if options.smooth else 1))
        if options.keyframes:
            warm = min(warm, replay_start(options.keyframes, resume, options.keyframe_reach))
        return cls(resume, warm, stop)

    @classmethod
    def from_segments(cls, segments: Sequence[dict[str, Any]], options: VideoOptions) -> ResumePlan:
        """The plan for a work dir holding ``segments`` (contiguous from the first)."""
        return cls.starting_at(sum(int(s["frames"]) for s in segments), options)

    def emits(self, index: int) -> bool:
        """Whether frame ``index`` is encoded by this run (else it is only replayed)."""
        return index >= self.resume

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
