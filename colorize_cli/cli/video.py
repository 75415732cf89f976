"""``colorize video``: films in, colour films out (the library's :mod:`colorize_cli.film.run`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from colorize_cli.cli.common import EXIT_USAGE, Reporter, app, load_pipeline, ray_connect, stdin_for
from colorize_cli.cli.help_format import ReadableCommand
from colorize_cli.cli.options import (BatchSizeOpt, DecayOpt, Device, DeviceOpt, JbuOpt, JsonOpt, KeyframeReachOpt,
                                      MaxPixelsOpt, ModelArgs, ModelOpt, ModelsDirOpt, OutputOpt, Precision, PrecisionOpt, OverwriteOpt, QuietOpt,
                                      RayOpt, RenderSizeOpt, SceneDetectOpt, SceneThresholdOpt, SegmentSecondsOpt,
                                      SmoothOpt, TemperatureOpt, ThreadsOpt, VerboseOpt, WindowOpt, WorkersOpt)
from colorize_cli.errors import terminate_as_interrupt
from colorize_cli.film.options import VideoOptions, VideoReport
from colorize_cli.film.plan import plan_jobs
from colorize_cli.film.run import colorize_videos
from colorize_cli.settings import DEFAULTS, TemporalSettings


@app.command(cls=ReadableCommand)
def video(
    inputs: Annotated[list[str], typer.Argument(help="Films, folders (recursive), globs, or - for paths on stdin.")],
    output: OutputOpt,
    model: ModelOpt = None,
    models_dir: ModelsDirOpt = None,
    device: DeviceOpt = Device.auto,
    batch_size: BatchSizeOpt = DEFAULTS.batch_size,
    precision: PrecisionOpt = Precision.auto,
    threads: ThreadsOpt = None,
    render_size: RenderSizeOpt = None,
    temperature: TemperatureOpt = None,
    jbu: JbuOpt = True,
    smooth: SmoothOpt = False,
    window: WindowOpt = DEFAULTS.window,
    decay: DecayOpt = DEFAULTS.decay,
    scene_detect: SceneDetectOpt = True,
    scene_threshold: SceneThresholdOpt = DEFAULTS.scene_threshold,
    codec: Annotated[Optional[str], typer.Option("--codec", help="Video encoder: libx264, libx265, vp9, av1, ffv1... "
                     "(default: libx264, or VP9/AV1 where the container needs it, as for .webm)")] = None,
    crf: Annotated[Optional[int], typer.Option("--crf", min=0, help="Constant quality (default: 18 for libx264, "
                   "20 libx265, 31 vp9, 30 av1).")] = None,
    preset: Annotated[Optional[str], typer.Option("--preset", help="Encoder speed preset (libx264: ultrafast.."
                      "veryslow; default: the encoder's).")] = None,
    segment_seconds: SegmentSecondsOpt = DEFAULTS.segment_seconds,
    overwrite: OverwriteOpt = False,
    max_pixels: MaxPixelsOpt = DEFAULTS.max_pixels,
    keyframes: Annotated[Optional[Path], typer.Option("--keyframes", help="Folder of hand-coloured frames named "
                         "by their 0-based index (000120.png), carried through their shots by optical flow "
                         "(one film at a time; docs/hints.md).")] = None,
    keyframe_reach: KeyframeReachOpt = DEFAULTS.keyframe_reach,
    reference: Annotated[Optional[list[Path]], typer.Option("--reference", metavar="PATH", help="A colour photo of the same "
                         "place, costumes or actors, or a folder of them (every image in it); repeatable: each "
                         "region of each frame takes its best match (docs/reference.md).")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    ray: RayOpt = None,
    workers: WorkersOpt = None,
    split_seconds: Annotated[Optional[float], typer.Option("--split-seconds", min=0.01, help="--ray: cut films "
                             "longer than this into pieces of about this many seconds, one per worker (default: "
                             "one film per worker).")] = None,
) -> None:
    """Colourise films: audio, subtitles, timing and metadata kept; an interrupted run resumes."""
    rep = Reporter(as_json, quiet, unit="frames", noun="film(s)")
    stdin = stdin_for(inputs)
    temporal = TemporalSettings(smooth, window, decay, scene_detect, scene_threshold, keyframe_reach)
    options = VideoOptions.of(temporal, codec=codec, crf=crf, preset=preset, max_pixels=max_pixels or None,
                              segment_seconds=segment_seconds, overwrite=overwrite)
    with rep.guard():
        options.check()
        jobs, missing = plan_jobs(inputs, output, codec, stdin=stdin)
    if keyframes is not None:
        _read_keyframes(rep, keyframes, options, jobs, ray)
    if reference:
        _read_references(rep, reference, options)
    rep.missing(missing, bool(jobs), lambda path, reason: VideoReport(path, None, "error", error=reason).as_dict(),
                "films")
    pipeline = load_pipeline(rep, ModelArgs(model, models_dir, device, threads, batch_size, render_size, temperature,
                                            jbu, verbose, precision))
    rep.total = len(jobs)
    frames = 0

    def on_report(r: VideoReport) -> None:
        nonlocal frames
        frames += r.frames if r.status == "ok" else 0
        if r.resumed_from:
            rep.note(f"{r.input}: resumed at frame {r.resumed_from} (the frames before it were kept from the "
                     "interrupted run)")
        rep.result(r.status, r.input, r.error, r.as_dict(), advance=False)
        rep.complete_task()

    t0 = time.perf_counter()
    if ray:
        from colorize_cli.distributed import run_videos

        ray_connect(rep, ray)

        def on_cluster_report(r: VideoReport) -> None:  # one bar for the whole cluster: frames done
            nonlocal frames
            frames += r.frames if r.status == "ok" else 0
            rep.result(r.status, r.input, r.error, r.as_dict(), advance=False)

        with terminate_as_interrupt(), rep.guard(), rep.bar("films"):
            run_videos(pipeline, jobs, options, on_cluster_report, split_seconds=split_seconds, workers=workers,
                       on_frames=rep.advance, threads=threads)
    else:
        with terminate_as_interrupt(), rep.guard(), rep.bar():
            colorize_videos(jobs, pipeline, options, on_report,
                            on_start=lambda job, total: rep.start_task(job.src.name, total),
                            on_progress=rep.advance, warn=lambda job, message: rep.warning(f"{job.src}: {message}"))
    elapsed = time.perf_counter() - t0
    rep.note(f"{rep.counts['ok']} film(s) colourised ({frames} frames), {rep.counts['skipped']} skipped "
             f"(already done), {rep.failed} failed in {elapsed:.1f} s")
    rep.exit()


def _read_keyframes(rep: Reporter, folder: Path, options: VideoOptions, jobs: list, ray: str | None) -> None:
    """``--keyframes DIR`` into ``options``; every misnamed or unreadable keyframe is an error
    line naming it, then exit 2 (before the model loads); one past the film's end or with no
    colour is a warning."""
    from colorize_cli.errors import InputError
    from colorize_cli.film.read import probe
    from colorize_cli.steer.keyframes import check_keyframes, read_keyframe_dir

    films = len(jobs)
    with rep.guard():
        options.keyframes, bad = read_keyframe_dir(folder)
    if films == 1 and options.keyframes:
        try:
            frames = probe(jobs[0].src, options.max_pixels).frames_estimate
        except InputError:
            frames = None  # the film's own error is told when its turn comes
        unreadable, warnings = check_keyframes(options.keyframes, frames)
        bad += unreadable
        for w in warnings:
            rep.warning(w)
    for path, reason in bad:
        rep.error(f"{path}: {reason}", keep=(str(path),))
    if bad:
        rep.exit(EXIT_USAGE)
    if not options.keyframes:
        rep.usage_error(f"--keyframes {folder}: no keyframe in it (name them by frame index, e.g. 000120.png)")
    if films > 1:
        rep.usage_error(f"--keyframes is for one film; {films} were given")
    if ray:
        rep.usage_error("--keyframes runs on this machine only; leave out --ray")


def _read_references(rep: Reporter, refs: list[Path], options: VideoOptions) -> None:
    """``--reference FILE|DIR`` into ``options``; every unusable reference is an error line, then exit 2."""
    from colorize_cli.steer.reference_sets import check_references, reference_files

    with rep.guard():
        files = reference_files(refs)
        bad = check_references(files, options.max_pixels)
    for path, reason in bad:
        rep.error(f"{path}: {reason}", keep=(str(path),))
    if bad:
        rep.exit(EXIT_USAGE)
    options.references = tuple(str(f) for f in files)
