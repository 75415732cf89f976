"""``colorize evaluate``: score colourisations (the library's :mod:`colorize_cli.evaluate`)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from colorize_cli.cli.common import EXIT_FAILED, EXIT_OK, Reporter, app, load_pipeline
from colorize_cli.cli.help_format import ReadableCommand
from colorize_cli.cli.options import (Device, DeviceOpt, ModelArgs, ModelsDirOpt, Precision, QuietOpt, RenderSizeOpt,
                                      TemperatureOpt)
from colorize_cli.settings import DEFAULTS


def _check_modes(dataset: Path | None, model: list[str] | None, pred: Path | None, truth: Path | None) -> bool:
    pairs = pred is not None or truth is not None
    if pairs and (pred is None or truth is None):
        raise typer.BadParameter("pairs mode needs both --pred and --truth", param_hint="--pred/--truth")
    if pairs and (dataset is not None or model):
        raise typer.BadParameter("give either DATASET (with --model) or --pred/--truth, not both")
    if not pairs and dataset is None:
        raise typer.BadParameter("give a DATASET folder, or --pred and --truth", param_hint="DATASET")
    return pairs


class SimKeyframes(str, Enum):
    first = "first"


class SimReference(str, Enum):
    shifted = "shifted"
    first = "first"


def _colorizers(rep: Reporter, model: list[str] | None, models_dir: list[Path] | None, device: Device,
                precisions: list[Precision] | None,
                render_size: int | None, temperature: float | None, sim_hints: list[int] | None = None,
                sim_keyframes: SimKeyframes | None = None, sim_reference: list[SimReference] | None = None
                ) -> list[Any]:
    from colorize_cli import evaluate as ev
    from colorize_cli.errors import ColorizeError
    from colorize_cli.model.registry import find_model

    specs: list[str | None] = list(model) if model else [None]
    if not model:
        try:
            find_model(None, models_dir or [])
        except ColorizeError:
            rep.note("no model installed: scoring the gray baseline only")
            specs = []
    colorizers = []
    for spec, precision in [(s, p) for s in specs for p in dict.fromkeys(precisions or [Precision.auto])]:
        pipe = load_pipeline(rep, ModelArgs(spec, models_dir, device, None, 1, render_size, temperature,
                                            precision=precision))
        colorizers.append(ev.colorizer_from_pipeline(pipe))
        # the same model steered by simulated users (fixed seeds), scored beside its automatic result
        colorizers += [ev.hinted_colorizer(pipe, n) for n in dict.fromkeys(sim_hints or [])]
        if sim_keyframes is not None:
            colorizers.append(ev.keyframed_colorizer(pipe, sim_keyframes.value))
        colorizers += [ev.referenced_colorizer(pipe, w.value) for w in dict.fromkeys(sim_reference or [])]
    return colorizers


def _check_report_paths(ev: Any, folders: list[Path], sheet: Path | None, csv_path: Path | None) -> None:
    """The sheet and the CSV may land neither on a file being scored nor on each other."""
    from colorize_cli.io.collisions import Output, check_collisions

    outputs = [Output(Path(p), param, what) for p, param, what in ((sheet, "sheet", "the contact sheet"),
                                                                    (csv_path, "csv", "the CSV report")) if p]
    if outputs:
        inputs = [it.path for f in folders if Path(f).is_dir() for it in ev.discover(f)]
        check_collisions(inputs + [Path(f) for f in folders if Path(f).is_file()], outputs)


def _write_outputs(rep: Reporter, report: Any, as_json: bool, csv_path: Path | None, sheet: Path | None) -> None:
    from colorize_cli import evaluate as ev

    if as_json:
        ev.write_json(report)
    else:
        from rich.console import Console

        console = Console()
        console.print(ev.summary_table(report, width=console.width))
    if csv_path:
        ev.write_csv(report, csv_path)
        rep.note(f"wrote {csv_path}")
    if sheet:
        w, h = ev.write_sheet(report, sheet)
        rep.note(f"wrote {sheet} ({w}×{h})")


@app.command(cls=ReadableCommand)
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
    precision: Annotated[Optional[list[Precision]], typer.Option("--precision", help="Variant of each model: auto "
                         "(int8 on the CPU when installed, float on CUDA), float or int8; repeatable to score "
                         "both, labelled name and name:int8.")] = None,
    smooth: Annotated[bool, typer.Option("--smooth", help="Videos: the video command's temporal kernel.")] = False,
    max_frames: Annotated[Optional[int], typer.Option("--max-frames", min=1, help="Videos: score only the first "
                          "N frames of each clip.")] = None,
    max_pixels: Annotated[int, typer.Option("--max-pixels", min=0, help="Skip files with more pixels (per frame) "
                          "(0: no limit).")] = DEFAULTS.max_pixels,
    sim_hints: Annotated[Optional[list[int]], typer.Option("--sim-hints", min=1, help="Also score each model "
                         "steered by N simulated hints per photo (3×3 means of the truth's ab at random points, "
                         "fixed seed); repeatable.")] = None,
    sim_keyframes: Annotated[Optional[SimKeyframes], typer.Option("--sim-keyframes", help="'first': also score "
                             "each model on clips given their first frame in true colour as a keyframe.")] = None,
    sim_reference: Annotated[Optional[list[SimReference]], typer.Option("--sim-reference", help="'shifted': also "
                             "score each model given the photo's colour original flipped, cropped to a random 80 % "
                             "window and rescaled as --reference; 'first': clips given their colour first frame "
                             "as --reference; repeatable.")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Score colourisations: PSNR, SSIM, ab errors, colourfulness, hue harmony/balance, CIEDE2000
    (and CDC / warp error for clips), always beside the gray baseline."""
    from colorize_cli import evaluate as ev

    from colorize_cli.io.inputs import check_writable

    pairs = _check_modes(dataset, model, pred, truth)
    rep = Reporter(as_json, quiet, unit="files")
    with rep.guard():  # before the scoring, which may take an hour
        check_writable(sheet, "sheet")
        check_writable(csv_path, "csv")
        _check_report_paths(ev, [p for p in (dataset, pred, truth) if p is not None], sheet, csv_path)
    common = dict(limit=limit, sheet_count=sheet_count if sheet else 0, max_frames=max_frames,
                  max_pixels=max_pixels or None, progress=lambda i, n, _rel: rep.update(i, n))
    with rep.guard():
        if pairs:
            label = pred.name if pred.name not in ("", ev.GRAY, ev.TRUTH) else "pred"  # type: ignore[union-attr]
            run = lambda: ev.evaluate_pairs(pred, truth, label=label, **common)  # type: ignore[arg-type]  # noqa: E731
        else:
            colorizers = _colorizers(rep, model, models_dir, device, precision, render_size, temperature, sim_hints,
                                     sim_keyframes, sim_reference)
            run = lambda: ev.evaluate_dataset(dataset, colorizers, smooth=smooth, **common)  # type: ignore[arg-type]  # noqa: E731
        with rep.bar("scoring", total=None):
            report = run()
        for line in ev.report_notes(report):
            rep.note(line)
        if not report.rows:
            rep.error("nothing was scored")
            rep.exit(EXIT_FAILED)
        _write_outputs(rep, report, as_json, csv_path, sheet)
    rep.exit(EXIT_FAILED if report.skipped else EXIT_OK)
