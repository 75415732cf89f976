"""``colorize images``: photos in, colour photos out (the library's :mod:`colorize_cli.batch`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from colorize_cli.batch import BatchOptions, Result, colorize_files
from colorize_cli.image_plan import plan_image_jobs
from colorize_cli.cli.common import EXIT_USAGE, Reporter, app, load_pipeline, ray_connect, stdin_for
from colorize_cli.cli.help_format import ReadableCommand
from colorize_cli.cli.options import (BatchSizeOpt, Device, DeviceOpt, Format, JbuOpt, JsonOpt, MaxPixelsOpt, ModelArgs,
                                      ModelOpt, ModelsDirOpt, OutputOpt, Precision, PrecisionOpt, OverwriteOpt, QuietOpt, RayOpt, RenderSizeOpt,
                                      TemperatureOpt, ThreadsOpt, VerboseOpt, WorkersOpt)
from colorize_cli.errors import terminate_as_interrupt
from colorize_cli.settings import DEFAULTS


@app.command(cls=ReadableCommand)
def images(
    inputs: Annotated[list[str], typer.Argument(help="Files, folders (recursive), globs, or - for paths on stdin.")],
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
    fmt: Annotated[Optional[Format], typer.Option("--format", help="Output format (default: the input's).")] = None,
    overwrite: OverwriteOpt = False,
    max_pixels: MaxPixelsOpt = DEFAULTS.max_pixels,
    confidence: Annotated[Optional[Path], typer.Option("--confidence", help="Folder for confidence maps "
                          "(bins models): <name>_top.png and <name>_ratio.png.")] = None,
    hints: Annotated[Optional[Path], typer.Option("--hints", help="Colour hints (docs/hints.md): a JSON, RGBA or "
                     "scribbled-copy file for one photo, or a folder of them matched by relative path and name.")] = None,
    reference: Annotated[Optional[list[Path]], typer.Option("--reference", metavar="PATH", help="A colour photo of the same place, "
                         "uniform or people (docs/reference.md), or a folder of them matched by relative path and "
                         "name; repeatable: each region takes its best match. With --hints, hints win where they "
                         "are.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    ray: RayOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Colourise photos, optionally steered by colour hints or colour reference photos."""
    rep = Reporter(as_json, quiet, unit="images", noun="image(s)")
    stdin = stdin_for(inputs)
    with rep.guard():
        plan = plan_image_jobs(inputs, output, fmt.value if fmt else None, confidence, stdin, hints, reference or ())
    if plan.dropped:
        rep.note(f"{len(plan.dropped)} file(s) are this run's own outputs (colour outputs or confidence maps); "
                 "not read as inputs")
    rep.missing(plan.errors, bool(plan.jobs), lambda path, reason: Result(path, None, "error", 0.0, reason).as_dict(),
                "images")
    ab_filter_for = None
    if hints is not None:
        from colorize_cli.steer.propagate import hints_for_jobs

        if ray:
            rep.usage_error("--hints runs on this machine only; leave out --ray")
        with rep.guard():
            ab_filter_for, strays = hints_for_jobs(hints, plan.jobs)
        rep.missing(strays, True, lambda path, reason: Result(path, None, "error", 0.0, reason).as_dict(), "images")
    if reference:
        from colorize_cli.steer.reference_sets import references_for_jobs

        with rep.guard():
            ab_filter_for, bad, strays = references_for_jobs(reference, plan.jobs, max_pixels or None, threads,
                                                             ab_filter_for, whole_batch=True)
        for path, reason in bad:  # the run would not be what was asked for: stop before any output
            rep.error(f"{path}: {reason}", keep=(str(path),))
        if bad:
            rep.exit(EXIT_USAGE)
        rep.missing(strays, True, lambda path, reason: Result(path, None, "error", 0.0, reason).as_dict(), "images")
    pipeline = load_pipeline(rep, ModelArgs(model, models_dir, device, threads, batch_size, render_size, temperature,
                                            jbu, verbose, precision), confidence is not None)
    options = BatchOptions(out_dir=plan.out_dir, fmt=plan.fmt, overwrite=overwrite, max_pixels=max_pixels or None,
                           confidence_dir=confidence, ab_filter_for=None if ray else ab_filter_for,
                           references=tuple(str(r) for r in reference or ()))  # workers read them again
    rep.total = len(plan.jobs)

    def on_result(r: Result) -> None:
        rep.result(r.status, r.input, r.error, r.as_dict())

    def run() -> None:
        colorize_files(pipeline, plan.jobs, options, on_result)

    if ray:
        from colorize_cli.distributed import run_images

        ray_connect(rep, ray)

        def run() -> None:
            run_images(pipeline, plan.jobs, options, on_result, workers=workers, block=batch_size, threads=threads)

    t0 = time.perf_counter()
    with terminate_as_interrupt(), rep.guard(), rep.bar("colourising", total=len(plan.jobs)):
        run()
    elapsed = time.perf_counter() - t0
    # The rate of what was colourised; none when nothing was (a rerun that skips everything).
    rate = f" ({rep.counts['ok'] / elapsed:.2f} images/s)" if rep.counts["ok"] and elapsed > 0 else ""
    rep.note(f"{rep.counts['ok']} colourised, {rep.counts['skipped']} skipped (already done), {rep.failed} failed "
             f"in {elapsed:.1f} s{rate}")
    rep.exit()
