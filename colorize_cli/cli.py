"""The ``colorize`` command: a thin Typer layer over the library.

Commands: ``colorize images`` (photos), ``colorize models`` (what is installed, where it
would run) and ``colorize evaluate`` (scores against colour originals, see evaluate.py). Other
commands (video) register on :data:`app` the same way.

Exit codes: 0 all done (skipped files count as done); 1 some inputs failed; 2 usage error —
bad options, an unusable model, or no valid input at all (every path named was missing).
Per-file problems are one line each on stderr: ``colorize: error: <path>: <reason>``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from enum import Enum

from colorize_cli import __version__
from colorize_cli.errors import ColorizeError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Colourise black-and-white photos and films with self-describing ONNX models.")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_MAX_PIXELS = 100_000_000


def error(message: str) -> None:
    sys.stderr.write(f"colorize: error: {message}\n")
    sys.stderr.flush()


def note(message: str, quiet: bool = False) -> None:
    if not quiet:
        sys.stderr.write(f"colorize: {message}\n")
        sys.stderr.flush()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"colorize {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print the version and exit.")] = False) -> None:
    pass


ModelOpt = Annotated[Optional[str], typer.Option("--model", "-m", help="Model name or path to an .onnx file "
                                                 "(default: weights/default.txt, else the first installed).")]
ModelsDirOpt = Annotated[Optional[list[Path]], typer.Option("--models-dir", help="Extra folder of models "
                         "(repeatable; searched before COLORIZE_MODEL_PATH and the installed weights).")]


class Device(str, Enum):
    auto = "auto"
    cuda = "cuda"
    cpu = "cpu"


class Format(str, Enum):
    png = "png"
    jpg = "jpg"
    tif = "tif"
    webp = "webp"
    bmp = "bmp"


RenderSizeOpt = Annotated[Optional[int], typer.Option("--render-size", min=1, help="Short side the model sees, "
                          "rounded to its stride (default: the model's working_size).")]
TemperatureOpt = Annotated[Optional[float], typer.Option("--temperature", min=0.0, help="Annealed-mean temperature "
                           "for bins models (default: the model's).")]
DeviceOpt = Annotated[Device, typer.Option("--device", help="auto: CUDA when it really initialises, else CPU.")]
ThreadsOpt = Annotated[Optional[int], typer.Option("--threads", min=1, help="CPU threads (default: all available).")]
JbuOpt = Annotated[bool, typer.Option("--jbu/--no-jbu", help="Joint bilateral upsampling of colour (else bilinear).")]


def make_pipeline(model: str | None, models_dir: list[Path] | None, device: str, threads: int | None,
                  batch_size: int, render_size: int | None = None, temperature: float | None = None,
                  jbu: bool = True):
    """Resolve the model and build the engine and pipeline (shared by every command)."""
    from colorize_cli.engine import Engine
    from colorize_cli.pipeline import Pipeline
    from colorize_cli.registry import find_model

    path = find_model(model, models_dir or [])
    engine = Engine(path, device=device, threads=threads, batch_size=batch_size)
    return Pipeline(engine, render_size=render_size, temperature=temperature, jbu=jbu)


def load_pipeline(model: str | None, models_dir: list[Path] | None, device: str, threads: int | None,
                  batch_size: int, render_size: int | None = None, temperature: float | None = None,
                  jbu: bool = True, quiet: bool = False):
    """:func:`make_pipeline` for a command: an unusable model or option is a usage error (exit 2),
    else a note says which model runs where."""
    try:
        pipeline = make_pipeline(model, models_dir, device, threads, batch_size, render_size, temperature, jbu)
    except (ColorizeError, ValueError) as err:
        error(str(err))
        raise typer.Exit(EXIT_USAGE) from None
    note(pipeline.engine.describe(), quiet)
    return pipeline


def stdin_for(inputs: list[str]):
    """sys.stdin when ``-`` (paths on stdin) is among the inputs, else None; ``-`` twice is a usage error."""
    if inputs.count("-") > 1:
        raise typer.BadParameter("'-' (paths on stdin) may be given once", param_hint="INPUTS")
    return sys.stdin if "-" in inputs else None


def report_missing(missing: list[tuple[str, str]], have_jobs: bool, error_row, what: str, as_json: bool,
                   quiet: bool) -> None:
    """One error line per input that cannot be used (and, with --json, the ``error_row(path, reason)``
    dict as a JSON line); then, with nothing left to do, exit: 2 when every input named was
    unusable, else 0 with a note that no ``what`` were found."""
    for path, reason in missing:
        error(f"{path}: {reason}")
        if as_json:
            sys.stdout.write(json.dumps(error_row(path, reason)) + "\n")
    if not have_jobs:
        if missing:
            raise typer.Exit(EXIT_USAGE)
        note(f"no {what} found", quiet)
        raise typer.Exit(EXIT_OK)


@app.command()
def images(
    inputs: Annotated[list[str], typer.Argument(help="Files, folders (recursive), globs, or - for paths on stdin.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder; mirrors the input tree.")],
    model: ModelOpt = None,
    models_dir: ModelsDirOpt = None,
    device: DeviceOpt = Device.auto,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Images per model batch.")] = 4,
    threads: ThreadsOpt = None,
    render_size: RenderSizeOpt = None,
    temperature: TemperatureOpt = None,
    jbu: JbuOpt = True,
    fmt: Annotated[Optional[Format], typer.Option("--format", help="Output format (default: the input's).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Redo outputs that exist (default: skip them).")] = False,
    max_pixels: Annotated[int, typer.Option("--max-pixels", min=0, help="Refuse inputs with more pixels (0: no limit).")] = DEFAULT_MAX_PIXELS,
    confidence: Annotated[Optional[Path], typer.Option("--confidence", help="Folder for confidence maps "
                          "(bins models): <name>_top.png and <name>_ratio.png.")] = None,
    hints: Annotated[Optional[Path], typer.Option("--hints", help="Colour hints (docs/hints.md): a JSON, RGBA or "
                     "scribbled-copy file for one photo, or a folder of them matched by relative path and name.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per file on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or notes; errors only.")] = False,
) -> None:
    """Colourise photos, optionally steered by colour hints."""
    from colorize_cli.batch import BatchOptions, Result, colorize_files
    from colorize_cli.inputs import discover

    stdin = stdin_for(inputs)
    exclude = [output] + ([confidence] if confidence else []) + ([hints] if hints and hints.is_dir() else [])
    # An output folder inside an input folder must not be read back as input, but one that *is*
    # the input folder still lets us reach the inputs (and refuse to overwrite them).
    found = discover(inputs, stdin=stdin,
                     exclude=[e for e in exclude if not any(Path(a).is_dir() and Path(a).resolve() == e.resolve()
                                                             for a in inputs)])
    report_missing(found.errors, bool(found.jobs), lambda path, reason: Result(path, None, "error", 0.0, reason).as_dict(),
                   "images", as_json, quiet)
    ab_filter_for, strays = None, []
    if hints is not None:
        from colorize_cli.hints import match_hint_files, read_hints
        from colorize_cli.propagate import hint_filter

        try:
            hint_files, strays = match_hint_files(hints, found.jobs)
        except ValueError as err:
            error(str(err))
            raise typer.Exit(EXIT_USAGE) from None
        report_missing(strays, True, lambda path, reason: Result(path, None, "error", 0.0, reason).as_dict(),
                       "images", as_json, quiet)
        ab_filter_for = lambda job, pixels: (hint_filter(read_hints(hint_files[job.src], pixels))  # noqa: E731
                                             if job.src in hint_files else None)
    pipeline = load_pipeline(model, models_dir, device.value, threads, batch_size, render_size, temperature, jbu, quiet)

    show_bar = not quiet and not as_json and sys.stdout.isatty()
    counts = {"ok": 0, "skipped": 0, "error": 0}
    progress = task = None

    def on_result(res: Result) -> None:
        counts[res.status] += 1
        if res.status == "error":
            error(f"{res.input}: {res.error}")
        if as_json:
            sys.stdout.write(json.dumps(res.as_dict()) + "\n")
            sys.stdout.flush()
        if progress is not None:
            progress.advance(task)

    options = BatchOptions(out_dir=output, fmt=fmt.value if fmt else None, overwrite=overwrite, max_pixels=max_pixels or None,
                           confidence_dir=confidence, ab_filter_for=ab_filter_for)
    t0 = time.perf_counter()
    try:
        if show_bar:
            from colorize_cli.progress import make_progress

            progress = make_progress()
            with progress:
                task = progress.add_task("colourising", total=len(found.jobs))
                colorize_files(pipeline, found.jobs, options, on_result)
        else:
            colorize_files(pipeline, found.jobs, options, on_result)
    except ColorizeError as err:
        error(str(err))
        raise typer.Exit(EXIT_USAGE) from None
    except KeyboardInterrupt:
        error("interrupted")
        raise typer.Exit(130) from None
    elapsed = time.perf_counter() - t0
    failed = counts["error"] + len(found.errors) + len(strays)
    rate = counts["ok"] / elapsed if elapsed > 0 else 0.0
    note(f"{counts['ok']} colourised, {counts['skipped']} skipped (already done), {failed} failed "
         f"in {elapsed:.1f} s ({rate:.2f} images/s)", quiet)
    raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)


@app.command()
def models(
    models_dir: ModelsDirOpt = None,
    device: DeviceOpt = Device.auto,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON list on stdout, for scripts.")] = False,
) -> None:
    """List installed models and the provider each would run on."""
    from colorize_cli.engine import CPU, open_session
    from colorize_cli.registry import ENV_VAR, file_sha256, find_model, list_models, search_dirs

    dev = device.value
    found = list_models(models_dir or [])
    try:
        default = find_model(None, models_dir or []).resolve()
    except ColorizeError:
        default = None
    provider_cache: dict[str, str] = {}
    rows = []
    for m in found:
        row = {"path": str(m.path), "name": m.name, "default": m.path.resolve() == default,
               "size_bytes": m.path.stat().st_size, "sha256": file_sha256(m.path), "error": m.error}
        if m.info is not None:
            if dev not in provider_cache:  # one real session tells where this machine runs models
                try:
                    session, _ = open_session(m.path, device=dev)
                    provider_cache[dev] = session.get_providers()[0]
                except ColorizeError as err:
                    provider_cache[dev] = f"unavailable ({err})" if dev == "cuda" else CPU
            info = m.info
            row.update(version=info.version, kind=info.kind, bins=info.num_bins, working_size=info.working_size,
                       stride=info.stride, output_stride=info.output_stride, temperature=info.temperature,
                       description=info.description, license=info.license, provider=provider_cache[dev])
        rows.append(row)
    for row in rows:
        if row["error"]:
            error(f"{row['path']}: {row['error']}")
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    elif not rows:
        dirs = ", ".join(str(d) for d in search_dirs(models_dir or [])) or "(none)"
        typer.echo(f"No models installed. Looked in: {dirs}. Add .onnx files (docs/models.md) to weights/, "
                   f"set {ENV_VAR}, or pass --models-dir.")
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="colorize models", title_justify="left")
        for col in ("name", "version", "kind", "bins", "working size", "file size", "sha256", "provider", "path"):
            table.add_column(col, no_wrap=col not in ("path",), overflow="fold")
        for r in rows:
            name = r["name"] + (" *" if r["default"] else "")
            size = f"{r['size_bytes'] / 1e6:.1f} MB" if r["size_bytes"] >= 1e5 else f"{r['size_bytes'] / 1e3:.1f} kB"
            if r["error"]:
                table.add_row(name, "-", "invalid", "-", "-", size, r["sha256"][:12], "-", r["path"], style="red")
                continue
            provider = r["provider"].replace("ExecutionProvider", "")
            table.add_row(name, r["version"], r["kind"], str(r["bins"] or "-"), str(r["working_size"]),
                          size, r["sha256"][:12], provider, r["path"])
        table.caption = "* default model; --json gives full sha256 and every field"
        console = Console()
        if not console.is_terminal:
            console.width = 200  # piped output: one row per model, not folded
        console.print(table)
    raise typer.Exit(EXIT_FAILED if any(r["error"] for r in rows) else EXIT_OK)


@app.command()
def evaluate(
    dataset: Annotated[Optional[Path], typer.Argument(help="Folder of colour photos or clips: each is made gray, "
                       "colourised by every --model and scored against the original.")] = None,
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Model to score (repeatable; "
                     "default: the default model, or the gray baseline alone if none is installed).")] = None,
    models_dir: ModelsDirOpt = None,
    pred: Annotated[Optional[Path], typer.Option("--pred", help="Pairs mode: folder of outputs made by anything.")] = None,
    truth: Annotated[Optional[Path], typer.Option("--truth", help="Pairs mode: folder of the colour originals.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Per-file rows and the summary as JSON on stdout "
                       "(inf written as \"inf\") instead of the table.")] = False,
    csv_path: Annotated[Optional[Path], typer.Option("--csv", help="Write per-file rows and the summary to this CSV.")] = None,
    sheet: Annotated[Optional[Path], typer.Option("--sheet", help="Write a contact sheet (gray | models | truth) "
                     "to this PNG.")] = None,
    sheet_count: Annotated[int, typer.Option("--sheet-count", min=1, help="Images on the contact sheet.")] = 12,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Score only the first N files.")] = None,
    render_size: RenderSizeOpt = None,
    temperature: TemperatureOpt = None,
    device: DeviceOpt = Device.auto,
    smooth: Annotated[bool, typer.Option("--smooth", help="Videos: the video command's temporal kernel.")] = False,
    max_frames: Annotated[Optional[int], typer.Option("--max-frames", min=1, help="Videos: score only the first "
                          "N frames of each clip.")] = None,
    sim_hints: Annotated[Optional[list[int]], typer.Option("--sim-hints", min=1, help="Also score each model "
                         "steered by N simulated hints per photo (3×3 means of the truth's ab at random points, "
                         "fixed seed); repeatable.")] = None,
    sim_keyframes: Annotated[Optional[str], typer.Option("--sim-keyframes", help="'first': also score each model "
                             "on clips given their first frame in true colour as a keyframe.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or notes; errors only.")] = False,
) -> None:
    """Score colourisations: PSNR, SSIM, ab errors, colourfulness, hue harmony/balance, CIEDE2000
    (and CDC / warp error for clips), always beside the gray baseline."""
    from colorize_cli import evaluate as ev

    pairs = pred is not None or truth is not None
    if pairs and (pred is None or truth is None):
        raise typer.BadParameter("pairs mode needs both --pred and --truth", param_hint="--pred/--truth")
    if pairs and (dataset is not None or model):
        raise typer.BadParameter("give either DATASET (with --model) or --pred/--truth, not both")
    if not pairs and dataset is None:
        raise typer.BadParameter("give a DATASET folder, or --pred and --truth", param_hint="DATASET")
    show_bar = not quiet and not as_json and sys.stdout.isatty()
    progress = task = None

    def on_progress(i: int, n: int, _rel: str) -> None:
        if progress is not None:
            progress.update(task, completed=i, total=n)

    try:
        if pairs:
            label = pred.name if pred.name not in ("", ev.GRAY, ev.TRUTH) else "pred"
            run = lambda: ev.evaluate_pairs(pred, truth, label=label, limit=limit,  # noqa: E731
                                            sheet_count=sheet_count if sheet else 0, progress=on_progress)
        else:
            specs: list[str | None] = list(model) if model else [None]
            if not model:
                from colorize_cli.registry import find_model

                try:
                    find_model(None, models_dir or [])
                except ColorizeError:
                    note("no model installed: scoring the gray baseline only", quiet)
                    specs = []
            colorizers = []
            for spec in specs:
                pipe = load_pipeline(spec, models_dir, device.value, None, 1, render_size, temperature, quiet=quiet)
                colorizers.append(ev.colorizer_from_pipeline(pipe))
                colorizers += [ev.hinted_colorizer(pipe, n) for n in dict.fromkeys(sim_hints or [])]
                if sim_keyframes is not None:
                    colorizers.append(ev.keyframed_colorizer(pipe, sim_keyframes))
            run = lambda: ev.evaluate_dataset(dataset, colorizers, limit=limit, smooth=smooth,  # noqa: E731
                                              max_frames=max_frames,
                                              sheet_count=sheet_count if sheet else 0, progress=on_progress)
        if show_bar:
            from colorize_cli.progress import make_progress

            progress = make_progress()
            with progress:
                task = progress.add_task("scoring", total=None)
                report = run()
        else:
            report = run()
        for line in ev.report_notes(report):
            note(line, quiet)
        if not report.rows:
            error("nothing was scored")
            raise typer.Exit(EXIT_FAILED)
        if as_json:
            ev.write_json(report)
        else:
            from rich.console import Console

            console = Console()
            console.print(ev.summary_table(report, width=console.width))
        if csv_path:
            ev.write_csv(report, csv_path)
            note(f"wrote {csv_path}", quiet)
        if sheet:
            w, h = ev.write_sheet(report, sheet)
            note(f"wrote {sheet} ({w}×{h})", quiet)
    except ColorizeError as err:
        error(str(err))
        raise typer.Exit(EXIT_USAGE) from None
    except KeyboardInterrupt:
        error("interrupted")
        raise typer.Exit(130) from None
    raise typer.Exit(EXIT_FAILED if report.skipped else EXIT_OK)


@app.command()
def video(
    inputs: Annotated[list[str], typer.Argument(help="Films, folders (recursive), globs, or - for paths on stdin.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file for one film, else a folder "
                      "mirroring the input tree.")],
    model: ModelOpt = None,
    models_dir: ModelsDirOpt = None,
    device: DeviceOpt = Device.auto,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Frames per model batch.")] = 4,
    threads: ThreadsOpt = None,
    render_size: RenderSizeOpt = None,
    temperature: TemperatureOpt = None,
    jbu: JbuOpt = True,
    smooth: Annotated[bool, typer.Option("--smooth", help="Temporal kernel: average each frame's colour "
                      "distribution with the previous ones of the same shot (steadier colour).")] = False,
    window: Annotated[int, typer.Option("--window", min=0, help="--smooth: frames back the kernel reaches (T).")] = 20,
    decay: Annotated[float, typer.Option("--decay", min=0.0, help="--smooth: weight e^(-decay*i) for the frame "
                     "i back (alpha).")] = 0.2,
    scene_detect: Annotated[bool, typer.Option("--scene-detect/--no-scene-detect", help="Restart the kernel at "
                            "scene cuts found on the L channel.")] = True,
    scene_threshold: Annotated[float, typer.Option("--scene-threshold", min=0.0, help="Cut score above which a "
                               "frame starts a new shot (lower finds more cuts).")] = 0.5,
    codec: Annotated[str, typer.Option("--codec", help="Video encoder: libx264, libx265, vp9, av1, ffv1...")] = "libx264",
    crf: Annotated[Optional[int], typer.Option("--crf", min=0, help="Constant quality (default: 18 for libx264, "
                   "20 libx265, 31 vp9, 30 av1).")] = None,
    preset: Annotated[Optional[str], typer.Option("--preset", help="Encoder speed preset (libx264: ultrafast.."
                      "veryslow; default: the encoder's).")] = None,
    segment_seconds: Annotated[float, typer.Option("--segment-seconds", min=0.01, help="Film seconds per resumable "
                               "segment: at most this much work is lost on interruption.")] = 10.0,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Redo films whose output exists (default: skip "
                         "them).")] = False,
    max_pixels: Annotated[int, typer.Option("--max-pixels", min=0, help="Refuse films with more pixels per frame "
                          "(0: no limit).")] = DEFAULT_MAX_PIXELS,
    keyframes: Annotated[Optional[Path], typer.Option("--keyframes", help="Folder of hand-coloured frames named "
                         "by their 0-based index (000120.png), carried through their shots by optical flow "
                         "(one film at a time).")] = None,
    keyframe_reach: Annotated[int, typer.Option("--keyframe-reach", min=1, help="--keyframes: frames a keyframe's "
                              "colour is carried forward and backward.")] = 300,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON summary line per film on stdout.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, notes or warnings; errors only.")] = False,
) -> None:
    """Colourise films: audio, subtitles, timing and metadata kept; an interrupted run resumes."""
    from colorize_cli.video import (Interrupted, VideoOptions, VideoReport, colorize_videos, plan_jobs,
                                    terminate_as_interrupt)

    stdin = stdin_for(inputs)
    options = VideoOptions(smooth=smooth, window=window, decay=decay, scene_detect=scene_detect,
                           scene_threshold=scene_threshold, codec=codec, crf=crf, preset=preset,
                           max_pixels=max_pixels or None, segment_seconds=segment_seconds, overwrite=overwrite,
                           keyframe_reach=keyframe_reach)
    try:
        options.check()
        jobs, missing = plan_jobs(inputs, output, codec, stdin=stdin)
        if keyframes is not None:
            from colorize_cli.keyframes import read_keyframe_dir

            options.keyframes, bad = read_keyframe_dir(keyframes)
            for path, reason in bad:
                error(f"{path}: {reason}")
            if bad:
                raise typer.Exit(EXIT_USAGE)
            if not options.keyframes:
                raise ValueError(f"--keyframes {keyframes}: no keyframe in it (name them by frame index, e.g. 000120.png)")
            if len(jobs) > 1:
                raise ValueError(f"--keyframes is for one film; {len(jobs)} were given")
    except (ColorizeError, ValueError) as err:
        error(str(err))
        raise typer.Exit(EXIT_USAGE) from None
    report_missing(missing, bool(jobs), lambda path, reason: VideoReport(path, None, "error", error=reason).as_dict(),
                   "films", as_json, quiet)
    pipeline = load_pipeline(model, models_dir, device.value, threads, batch_size, render_size, temperature, jbu, quiet)

    show_bar = not quiet and not as_json and sys.stdout.isatty()
    counts = {"ok": 0, "skipped": 0, "error": 0}
    frames = [0]
    progress = task = None

    def on_start(job, total: int | None) -> None:
        nonlocal task
        if progress is not None:
            task = progress.add_task(job.src.name, total=total)

    def on_frames(n: int) -> None:
        if progress is not None and task is not None:
            progress.advance(task, n)

    def on_warn(job, message: str) -> None:
        if not quiet and not as_json:
            sys.stderr.write(f"colorize: warning: {job.src}: {message}\n")

    def on_report(rep: VideoReport) -> None:
        nonlocal task
        counts[rep.status] += 1
        frames[0] += rep.frames if rep.status == "ok" else 0
        if rep.status == "error":
            error(f"{rep.input}: {rep.error}")
        if as_json:
            sys.stdout.write(json.dumps(rep.as_dict()) + "\n")
            sys.stdout.flush()
        if progress is not None and task is not None:  # the estimate was only an estimate: show it complete
            progress.update(task, total=next(t.completed for t in progress.tasks if t.id == task))
            task = None

    t0 = time.perf_counter()
    with terminate_as_interrupt():
        try:
            if show_bar:
                from colorize_cli.progress import make_progress

                progress = make_progress("frames")
                with progress:
                    colorize_videos(jobs, pipeline, options, on_report, on_start, on_frames, on_warn)
            else:
                colorize_videos(jobs, pipeline, options, on_report, on_start, on_frames, on_warn)
        except Interrupted as exc:
            error(f"{exc.src}: interrupted; {exc.frames_kept} finished frames are kept in {exc.work_dir}; "
                  "run the same command again to resume")
            raise typer.Exit(130) from None
        except KeyboardInterrupt:
            error("interrupted")
            raise typer.Exit(130) from None
        except ColorizeError as err:
            error(str(err))
            raise typer.Exit(EXIT_USAGE) from None
    elapsed = time.perf_counter() - t0
    failed = counts["error"] + len(missing)
    note(f"{counts['ok']} film(s) colourised ({frames[0]} frames), {counts['skipped']} skipped (already done), "
         f"{failed} failed in {elapsed:.1f} s", quiet)
    raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)


def main() -> None:
    # Click's own usage errors already exit 2; everything else we raise is typer.Exit.
    try:
        app(prog_name="colorize")
    except BrokenPipeError:  # `colorize ... | head`
        os._exit(EXIT_OK)


if __name__ == "__main__":
    main()
