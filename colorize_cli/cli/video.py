"""``colorize video``: films in, colour films out (the library's :mod:`colorize_cli.video`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from colorize_cli.api import DEFAULT_BATCH_SIZE
from colorize_cli.cli.common import (EXIT_USAGE, Device, DeviceOpt, Precision, PrecisionOpt, JbuOpt, ModelOpt, ModelsDirOpt, OutputOpt, RayOpt,
                                     RenderSizeOpt, Reporter, TemperatureOpt, ThreadsOpt, VerboseOpt, WorkersOpt, app,
                                     load_pipeline, ray_connect, stdin_for)
from colorize_cli.scenes import DEFAULT_THRESHOLD
from colorize_cli.temporal import DEFAULT_DECAY, DEFAULT_WINDOW, MAX_WINDOW
from colorize_cli.image_io import DEFAULT_MAX_PIXELS
from colorize_cli.keyframes import DEFAULT_REACH as KEYFRAME_REACH
from colorize_cli.video import (DEFAULT_SEGMENT_SECONDS, VideoOptions, VideoReport,
                                colorize_videos, plan_jobs, terminate_as_interrupt)


@app.command()
def video(
    inputs: Annotated[list[str], typer.Argument(help="Films, folders (recursive), globs, or - for paths on stdin.")],
    output: OutputOpt,
    model: ModelOpt = None,
    models_dir: ModelsDirOpt = None,
    device: DeviceOpt = Device.auto,
    precision: PrecisionOpt = Precision.auto,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Frames per model batch.")] = DEFAULT_BATCH_SIZE,
    threads: ThreadsOpt = None,
    render_size: RenderSizeOpt = None,
    temperature: TemperatureOpt = None,
    jbu: JbuOpt = True,
    smooth: Annotated[bool, typer.Option("--smooth", help="Temporal kernel: average each frame's colour "
                      "distribution with the previous ones of the same shot (steadier colour).")] = False,
    window: Annotated[int, typer.Option("--window", help=f"--smooth: frames back the kernel reaches (T), "
                      f"1-{MAX_WINDOW}.")] = DEFAULT_WINDOW,
    decay: Annotated[float, typer.Option("--decay", min=0.0, help="--smooth: weight e^(-decay*i) for the frame "
                     "i back (alpha).")] = DEFAULT_DECAY,
    scene_detect: Annotated[bool, typer.Option("--scene-detect/--no-scene-detect", help="Restart the kernel at "
                            "scene cuts found on the L channel.")] = True,
    scene_threshold: Annotated[float, typer.Option("--scene-threshold", min=0.0, help="Cut score above which a "
                               "frame starts a new shot (lower finds more cuts).")] = DEFAULT_THRESHOLD,
    codec: Annotated[Optional[str], typer.Option("--codec", help="Video encoder: libx264, libx265, vp9, av1, ffv1... "
                     "(default: libx264, or VP9/AV1 where the container needs it, as for .webm)")] = None,
    crf: Annotated[Optional[int], typer.Option("--crf", min=0, help="Constant quality (default: 18 for libx264, "
                   "20 libx265, 31 vp9, 30 av1).")] = None,
    preset: Annotated[Optional[str], typer.Option("--preset", help="Encoder speed preset (libx264: ultrafast.."
                      "veryslow; default: the encoder's).")] = None,
    segment_seconds: Annotated[float, typer.Option("--segment-seconds", min=0.01, help="Film seconds per resumable "
                               "segment: at most this much work is lost on interruption.")] = DEFAULT_SEGMENT_SECONDS,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Redo films whose output exists (default: skip "
                         "them).")] = False,
    max_pixels: Annotated[int, typer.Option("--max-pixels", min=0, help="Refuse films with more pixels per frame "
                          "(0: no limit).")] = DEFAULT_MAX_PIXELS,
    keyframes: Annotated[Optional[Path], typer.Option("--keyframes", help="Folder of hand-coloured frames named "
                         "by their 0-based index (000120.png), carried through their shots by optical flow "
                         "(one film at a time; docs/hints.md).")] = None,
    keyframe_reach: Annotated[int, typer.Option("--keyframe-reach", min=1, help="--keyframes: frames a keyframe's "
                              "colour is carried forward and backward.")] = KEYFRAME_REACH,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON summary line per film on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, notes or warnings; errors only.")] = False,
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
    options = VideoOptions(smooth=smooth, window=window, decay=decay, scene_detect=scene_detect,
                           scene_threshold=scene_threshold, codec=codec, crf=crf, preset=preset,
                           max_pixels=max_pixels or None, segment_seconds=segment_seconds, overwrite=overwrite,
                           keyframe_reach=keyframe_reach)
    with rep.guard():
        options.check()
        jobs, missing = plan_jobs(inputs, output, codec, stdin=stdin)
    if keyframes is not None:
        _read_keyframes(rep, keyframes, options, len(jobs), ray)
    rep.missing(missing, bool(jobs), lambda path, reason: VideoReport(path, None, "error", error=reason).as_dict(),
                "films")
    pipeline = load_pipeline(rep, model, models_dir, device, threads, batch_size, render_size, temperature, jbu,
                             verbose, precision=precision)
    rep.total = len(jobs)
    frames = 0

    def on_report(r: VideoReport) -> None:
        nonlocal frames
        frames += r.frames if r.status == "ok" else 0
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


def _read_keyframes(rep: Reporter, folder: Path, options: VideoOptions, films: int, ray: str | None) -> None:
    """``--keyframes DIR`` into ``options``; every misnamed file is an error line, then exit 2."""
    from colorize_cli.keyframes import read_keyframe_dir

    with rep.guard():
        options.keyframes, bad = read_keyframe_dir(folder)
    for path, reason in bad:
        rep.error(f"{path}: {reason}")
    if bad:
        rep.exit(EXIT_USAGE)
    if not options.keyframes:
        rep.usage_error(f"--keyframes {folder}: no keyframe in it (name them by frame index, e.g. 000120.png)")
    if films > 1:
        rep.usage_error(f"--keyframes is for one film; {films} were given")
    if ray:
        rep.usage_error("--keyframes runs on this machine only; leave out --ray")
