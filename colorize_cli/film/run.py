"""Colourising films, the run from first to last step: check, prepare, stream, join, report.

A film is checked (:func:`check_film`: the output is finished already, or cannot be written),
its encoder settings decided (:func:`film_settings`), its work folder started with the
*identity* of everything the segments depend on (:func:`film_identity`), then streamed
(:mod:`colorize_cli.film.stream`) from where the finished segments end, and finally joined,
without re-encoding, with the source's audio, subtitles and metadata
(:mod:`colorize_cli.film.join`).

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
    check_film(src, dst, options) -> Source | None
    film_settings(source, dst, options) -> (EncoderSettings, notes)
    film_identity(source, pipeline, options, settings, segment_frames, ab_filter=None) -> dict
    (Interrupted, in colorize_cli.errors: KeyboardInterrupt with .work_dir and .frames_kept)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import av

from colorize_cli.errors import ColorizeError, InputError, Interrupted, ModelError, NonFiniteOutput
from colorize_cli.io.inputs import same_file
from colorize_cli.pipeline import AbFilter, Pipeline
from colorize_cli.film.encode import (EncoderSettings, encoder_settings)
from colorize_cli.film.join import join, made_here
from colorize_cli.film.read import Source, probe
from colorize_cli.film.segments import WorkDir

from colorize_cli.film.options import VideoOptions, VideoReport
from colorize_cli.film.plan import ResumePlan, VideoJob, output_codec
from colorize_cli.film.stream import StreamCounts, stream

def film_identity(src: Source, pipeline: Pipeline, options: VideoOptions, settings: EncoderSettings,
              segment_frames: int, ab_filter: AbFilter | None = None) -> dict[str, Any]:
    """Everything the segments depend on: a resume with any of it changed would splice two
    different colourisations together."""
    info = pipeline.info
    try:
        st = Path(info.path).stat()
        model_file = {"path": str(Path(info.path).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    except OSError:
        model_file = {"path": str(info.path)}
    ident = {
        "source": src.identity(),
        "model": {"name": info.name, "version": info.version, **model_file},
        "pipeline": {"render_size": pipeline.render_size, "temperature": pipeline.temperature, "jbu": pipeline.jbu,
                     "sigma_s": pipeline.sigma_s, "sigma_r": pipeline.sigma_r},
        "kernel": {"smooth": options.smooth, "window": options.window if options.smooth else None,
                   "decay": options.decay if options.smooth else None, "scene_detect": options.scene_detect,
                   "scene_threshold": options.scene_threshold if options.scene_detect else None},
        "encoder": settings.to_json(),
        "segment_frames": segment_frames,
    }
    if options.keyframes:  # only named when given, so manifests without them are unchanged
        ident["keyframes"] = _keyframes_identity(options)
    if ab_filter is not None:  # only named when given, so manifests without one are unchanged
        ident["ab_filter"] = getattr(ab_filter, "__qualname__", type(ab_filter).__qualname__)
    return ident


def _keyframes_identity(options: VideoOptions) -> dict[str, Any]:
    files = {}
    for i, p in sorted((options.keyframes or {}).items()):
        try:
            st = Path(p).stat()
            files[str(i)] = [str(Path(p).resolve()), st.st_size, st.st_mtime_ns]
        except (OSError, TypeError):  # an array given through the library: no file to name
            files[str(i)] = [str(type(p).__name__)]
    return {"files": files, "reach": options.keyframe_reach}


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

    try:
        source = check_film(src, dst, options)
        if source is None:
            report.status = "skipped"
            return report
        if on_total is not None:
            on_total(source.frames_estimate)
        settings, notes = film_settings(source, dst, options)
    except InputError as err:
        report.status, report.error = "error", err.reason
        report.seconds = time.perf_counter() - t0
        return report
    for n in notes:
        note(n)
    segment_frames = max(1, int(round(options.segment_seconds * float(source.rate))))
    work = WorkDir(dst)
    for n in work.start(film_identity(source, pipeline, options, settings, segment_frames, ab_filter)):
        note(n)
    segments = work.segments()
    plan = ResumePlan.from_segments(segments, options)
    report.resumed_from = plan.resume
    done = work.done()
    run = StreamCounts(frames_total=plan.resume, frames_done=0)
    t_run = time.perf_counter()
    if done is None:
        if plan.resume and on_progress is not None:
            on_progress(plan.resume)
        try:
            run = stream(source, pipeline, options, settings, work, segment_frames, plan, on_progress, note,
                          ab_filter)
        except KeyboardInterrupt:
            kept = sum(int(s["frames"]) for s in work.segments())
            raise Interrupted(src, work.path, kept) from None
        except (InputError, NonFiniteOutput) as err:  # the file went away mid-run, or the model gave NaN
            if isinstance(err, NonFiniteOutput):
                work.remove()  # a rerun would give NaN again: nothing is kept to resume
            report.status, report.error = "error", err.reason
            report.seconds = time.perf_counter() - t0
            return report
        segments = work.segments()
        total = sum(int(s["frames"]) for s in segments)
        if total != run.frames_total:
            raise ColorizeError(f"{src}: {run.frames_total} frames decoded but {total} encoded; "
                                f"delete {work.path} and run again")
        work.mark_done({"frames": total})
    run_seconds = time.perf_counter() - t_run
    try:
        joined = join(work, segments, source, dst, settings, note)
    except KeyboardInterrupt:
        raise Interrupted(src, work.path, sum(int(s["frames"]) for s in segments)) from None
    work.remove()
    report.frames = sum(int(s["frames"]) for s in segments)
    report.scene_cuts = sum(len(s.get("cuts", [])) for s in segments)
    report.streams_copied, report.streams_reencoded = joined.copied, joined.reencoded
    report.streams_dropped = joined.dropped
    report.seconds = time.perf_counter() - t0
    report.fps = run.frames_done / run_seconds if run_seconds > 0 and run.frames_done else 0.0
    if report.frames == 0:
        report.status, report.error = "error", "no frame could be decoded"
    return report

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
            reason = str(exc)
            if isinstance(exc, OSError) and exc.strerror:
                reason = f"{exc.strerror} ({exc.filename})" if exc.filename else exc.strerror
            rep = VideoReport(input=str(job.src), output=str(job.dst), status="error",
                              seconds=time.perf_counter() - t0, error=reason)
        reports.append(rep)
        on_report(rep)
    return reports
