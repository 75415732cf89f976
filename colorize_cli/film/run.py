"""Colourising films, the run from first to last step: check, prepare, stream, join, report.

The steps, public so that a local run (:func:`colorize_video`) and the Ray driver and its
workers (:mod:`colorize_cli.distributed`) go through the same ones:

1. :func:`~colorize_cli.film.plan.check_film`: skip a finished output, refuse one that cannot
   be written, probe the film;
2. :func:`~colorize_cli.film.plan.prepare`: encoder settings, segment size and the resume
   identity (:mod:`colorize_cli.film.identity`), as a :class:`~colorize_cli.film.plan.Film`;
   ``Film.start`` opens its work folder (resuming when the identity matches),
   ``Film.check_started`` is what a worker writing one piece of it checks instead;
3. :func:`run_frames`: a range of frames (a :class:`~colorize_cli.film.plan.ResumePlan`) through
   the stream (:mod:`colorize_cli.film.stream`) into segments;
4. :func:`seal`: every decoded frame was encoded, the work folder is marked done;
5. :func:`finish`: the segments joined, without re-encoding, with the source's audio, subtitles
   and metadata (:mod:`colorize_cli.film.join`), the work folder removed, the report filled in.

**Resume.** The film is encoded in segments of about ``segment_seconds`` in
``<output>.partial/`` (see :class:`~colorize_cli.film.segments.WorkDir`). A rerun of the same
command keeps the finished segments and restarts at the first missing one. To keep the
kernel exact across the restart, the frames just before it are decoded again and *replayed*
through scene detection and the model (up to ``--window`` frames, or one frame without
``--smooth``, for the scene detector's reference) without being encoded again: the kernel
state at the restart is then what it was in the first run, and nothing about it needs to be
stored. Decoding up to the restart point costs decode time only (frames before it are not
even converted to RGB). Where a run starts and what it replays is decided once, by
:class:`~colorize_cli.film.plan.ResumePlan`.

**Keyframes** (``keyframes``, ``--keyframes DIR``): hand-coloured frames carried through their
shot by optical flow (:mod:`colorize_cli.steer.keyframes`). Keyframes after the first frame are
carried backward from a second decode of the frames before them (memory stays bounded), and a
resumed run replays from the keyframe the carry started at.

Public API::

    colorize_video(src, dst, pipeline, options, on_progress=None, on_total=None, warn=None,
                   ab_filter=None) -> VideoReport
    colorize_videos(jobs, pipeline, options, on_report, on_start=None, on_progress=None, warn=None,
                    ab_filter=None)
    run_frames(film, pipeline, options, plan, on_progress=None, warn=None, ab_filter=None) -> StreamCounts
    seal(film, frames_decoded, advice) -> segments
    finish(film, segments, report, warn) -> report
    (Interrupted, in colorize_cli.errors: KeyboardInterrupt with .work_dir and .frames_kept)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import av

from colorize_cli.errors import ColorizeError, InputError, Interrupted, ModelError, NonFiniteOutput, failure_reason
from colorize_cli.film.join import join
from colorize_cli.film.options import VideoOptions, VideoReport
from colorize_cli.film.plan import Film, ResumePlan, VideoJob, check_film, prepare
from colorize_cli.film.stream import StreamCounts, stream
from colorize_cli.pipeline import AbFilter, Pipeline

__all__ = ["colorize_video", "colorize_videos", "finish", "run_frames", "seal"]


def run_frames(film: Film, pipeline: Pipeline, options: VideoOptions, plan: ResumePlan,
               on_progress: Callable[[int], None] | None = None, warn: Callable[[str], None] | None = None,
               ab_filter: AbFilter | None = None) -> StreamCounts:
    """Frames ``plan.resume`` up to ``plan.stop`` (the end: None) into the film's segments,
    after replaying what the plan says. :class:`Interrupted` on Ctrl-C, after tidying up."""
    try:
        return stream(film.source, pipeline, options, film.settings, film.work, film.segment_frames, plan,
                      on_progress, warn or (lambda _m: None), ab_filter)
    except KeyboardInterrupt:
        raise Interrupted(film.src, film.work.path, film.frames_kept()) from None


def seal(film: Film, frames_decoded: int | None, advice: str) -> list[dict[str, Any]]:
    """The film's segments, once they hold every decoded frame; the work folder is then marked
    done. :class:`ColorizeError` ending with ``advice`` otherwise."""
    segments = film.work.segments()
    total = sum(int(s["frames"]) for s in segments)
    if total != frames_decoded:
        raise ColorizeError(f"{film.src}: {frames_decoded} frames decoded but {total} encoded; {advice}")
    film.work.mark_done({"frames": total})
    return segments


def finish(film: Film, segments: Sequence[dict[str, Any]], report: VideoReport,
           warn: Callable[[str], None]) -> VideoReport:
    """Join the segments into the film's output, remove the work folder, and fill in
    ``report``'s frames, cuts and streams. :class:`Interrupted` on Ctrl-C."""
    try:
        joined = join(film.work, segments, film.source, film.dst, film.settings, warn)
    except KeyboardInterrupt:
        raise Interrupted(film.src, film.work.path, sum(int(s["frames"]) for s in segments)) from None
    film.work.remove()
    report.frames = sum(int(s["frames"]) for s in segments)
    report.scene_cuts = sum(len(s.get("cuts", [])) for s in segments)
    report.streams_copied, report.streams_reencoded = joined.copied, joined.reencoded
    report.streams_dropped = joined.dropped
    return report


def colorize_video(src: str | Path, dst: str | Path, pipeline: Pipeline, options: VideoOptions | None = None,
                   on_progress: Callable[[int], None] | None = None, on_total: Callable[[int | None], None] | None = None,
                   warn: Callable[[str], None] | None = None, ab_filter: AbFilter | None = None) -> VideoReport:
    """Colourise one film into ``dst``; never raises for a bad input (the report says why).
    ``ab_filter`` is the pipeline's ab hook (see :mod:`colorize_cli.pipeline`).

    Raises :class:`ParameterError` for problems with the options (an unknown codec, a
    container that cannot hold it), :class:`~colorize_cli.errors.ModelError` when the model
    fails, and :class:`Interrupted` on Ctrl-C, after tidying up."""
    options = options or VideoOptions()
    src, dst = Path(src), Path(dst)
    t0 = time.perf_counter()
    report = VideoReport(input=str(src), output=str(dst), status="ok")

    def note(msg: str) -> None:
        if msg not in report.warnings:
            report.warnings.append(msg)
            if warn is not None:
                warn(msg)

    def failed(reason: str) -> VideoReport:
        report.status, report.error = "error", reason
        report.seconds = time.perf_counter() - t0
        return report

    try:
        source = check_film(src, dst, options)
        if source is None:
            report.status = "skipped"
            return report
        if on_total is not None:
            on_total(source.frames_estimate)
        film = prepare(src, dst, source, pipeline, options, ab_filter)
    except InputError as err:
        return failed(err.reason)
    for n in film.notes:
        note(n)
    for n in film.start():
        note(n)
    segments = film.work.segments()
    plan = ResumePlan.from_segments(segments, options)
    report.resumed_from = plan.resume
    run = StreamCounts(frames_total=plan.resume, frames_done=0)
    t_run = time.perf_counter()
    if film.work.done() is None:
        if plan.resume and on_progress is not None:
            on_progress(plan.resume)
        try:
            run = run_frames(film, pipeline, options, plan, on_progress, note, ab_filter)
        except (InputError, NonFiniteOutput) as err:  # the file went away mid-run, or the model gave NaN
            if isinstance(err, NonFiniteOutput):
                film.work.remove()  # a rerun would give NaN again: nothing is kept to resume
            return failed(err.reason)
        segments = seal(film, run.frames_total, f"delete {film.work.path} and run again")
    run_seconds = time.perf_counter() - t_run
    finish(film, segments, report, note)
    report.seconds = time.perf_counter() - t0
    report.fps = run.frames_done / run_seconds if run_seconds > 0 and run.frames_done else 0.0
    if report.frames == 0:
        report.status, report.error = "error", "no frame could be decoded"
    return report


def colorize_videos(jobs: Sequence[VideoJob], pipeline: Pipeline, options: VideoOptions,
                    on_report: Callable[[VideoReport], None],
                    on_start: Callable[[VideoJob, int | None], None] | None = None,
                    on_progress: Callable[[int], None] | None = None,
                    warn: Callable[[VideoJob, str], None] | None = None,
                    ab_filter: AbFilter | None = None) -> list[VideoReport]:
    """Every film in turn; one film's failure is its report and the others go on. Model
    failures (:class:`~colorize_cli.errors.ModelError`) and :class:`Interrupted` propagate."""
    reports = []
    for job in jobs:
        t0 = time.perf_counter()
        try:
            rep = colorize_video(job.src, job.dst, pipeline, options, on_progress=on_progress,
                                 on_total=(lambda n, job=job: on_start(job, n)) if on_start else None,
                                 warn=(lambda m, job=job: warn(job, m)) if warn else None, ab_filter=ab_filter)
        except (ModelError, KeyboardInterrupt):
            raise
        except (ColorizeError, OSError, av.error.FFmpegError, ValueError) as exc:
            rep = VideoReport(input=str(job.src), output=str(job.dst), status="error",
                              seconds=time.perf_counter() - t0, error=failure_reason(exc))
        reports.append(rep)
        on_report(rep)
    return reports
