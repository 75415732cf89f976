"""Every option of the commands, declared once: the model options every command takes (and
:class:`ModelArgs`, the one object :func:`~colorize_cli.cli.common.load_pipeline` takes), the
options ``images`` and ``video`` share, and the temporal options of films. Defaults, ranges
and the words of ``--help`` come from the library's table (:data:`colorize_cli.settings.CONFIG_MAP`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from colorize_cli.errors import DISTRIBUTION, ParameterError
from colorize_cli.settings import CONFIG_MAP

__all__ = ["Device", "Format", "ModelArgs"]


def _help(name: str, before: str = "", after: str = "") -> str:
    """``--help`` text of a library parameter: its line in CONFIG_MAP, with context around."""
    doc = CONFIG_MAP[name].doc
    return f"{before}{doc[:1].upper() if not before else doc[:1]}{doc[1:]}{after}"


class Device(str, Enum):
    """Where models run."""

    auto = "auto"
    cuda = "cuda"
    cpu = "cpu"


class Precision(str, Enum):
    """Which variant of the model runs (colorize_cli.model.variants)."""

    auto = "auto"
    float = "float"
    int8 = "int8"


class Format(str, Enum):
    """Image output formats."""

    png = "png"
    jpg = "jpg"
    tif = "tif"
    webp = "webp"
    bmp = "bmp"


ModelOpt = Annotated[Optional[str], typer.Option("--model", "-m", help="Model name or path to an .onnx file "
                                                 "(default: weights/default.txt, else the first installed).")]
ModelsDirOpt = Annotated[Optional[list[Path]], typer.Option("--models-dir", help="Extra folder of models "
                         "(repeatable; searched before COLORIZE_MODEL_PATH and the installed weights).")]
def _checked_by(rule: str, flag: str) -> Any:
    """A Typer callback applying ``colorize_cli.pipeline.<rule>`` (the library's own check) as
    the option is parsed, so that a bad value is a usage error before any input is read."""
    def callback(value: Any) -> Any:
        from colorize_cli import pipeline

        if value is not None:
            try:
                getattr(pipeline, rule)(value)
            except ParameterError as err:
                raise typer.BadParameter(err.detail, param_hint=flag) from None
        return value

    return callback


RenderSizeOpt = Annotated[Optional[int], typer.Option("--render-size", callback=_checked_by("check_render_size",
                          "--render-size"), help="Short side the model sees, rounded to its stride, at most 1024 "
                          "(default: the model's working_size).")]
TemperatureOpt = Annotated[Optional[float], typer.Option("--temperature", callback=_checked_by("check_temperature",
                           "--temperature"), help="Annealed-mean temperature for bins models, finite and > 0 "
                           "(default: the model's).")]
DeviceOpt = Annotated[Device, typer.Option("--device", help="auto: CUDA when it really initialises, else CPU.")]
PrecisionOpt = Annotated[Precision, typer.Option("--precision", help="auto: the model's int8 variant on the CPU "
                         "when installed, float on CUDA; float or int8 force one.")]
ThreadsOpt = Annotated[Optional[int], typer.Option("--threads", min=1, help="CPU threads (default: all available).")]
JbuOpt = Annotated[bool, typer.Option("--jbu/--no-jbu", help="Joint bilateral upsampling of colour (else bilinear).")]
RayOpt = Annotated[Optional[str], typer.Option("--ray", metavar="ADDRESS", help="Run on a Ray cluster: host:port "
                   "of its head, auto (RAY_ADDRESS / the cluster this machine joined) or local. Needs pip install "
                   f"'{DISTRIBUTION}[ray]'; inputs, outputs and the model must be on storage every node sees.")]
WorkersOpt = Annotated[Optional[int], typer.Option("--workers", min=1, help="--ray: engines (actors) to run "
                       "(default: one per GPU of the cluster, else one per node).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or notes; errors only.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Details in the notes (why CUDA is not used...).")]
OutputOpt = Annotated[str, typer.Option("--output", "-o", help="Output file for one input (its extension picks the "
                      "format), else a folder mirroring the input tree; a trailing / always means a folder.")]

# ------------------------------------------------------------ shared by images and video

BatchSizeOpt = Annotated[int, typer.Option("--batch-size", min=CONFIG_MAP["batch_size"].low,
                         help=_help("batch_size", after="."))]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Redo outputs that exist (default: skip them).")]
MaxPixelsOpt = Annotated[int, typer.Option("--max-pixels", min=CONFIG_MAP["max_pixels"].low,
                         help=_help("max_pixels", after=" (0: no limit)."))]
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON line per input on stdout.")]

# ------------------------------------------------------------------- films over time

SmoothOpt = Annotated[bool, typer.Option("--smooth", help="Temporal kernel: average each frame's colour "
                      "distribution with the previous ones of the same shot (steadier colour).")]
WindowOpt = Annotated[int, typer.Option("--window", help=_help("window", "--smooth: ", f", "
                      f"{CONFIG_MAP['window'].low}-{CONFIG_MAP['window'].high}."))]
DecayOpt = Annotated[float, typer.Option("--decay", min=CONFIG_MAP["decay"].low, help=_help("decay", "--smooth: ",
                     "."))]
SceneDetectOpt = Annotated[bool, typer.Option("--scene-detect/--no-scene-detect", help="Restart the kernel at "
                           "scene cuts found on the L channel.")]
SceneThresholdOpt = Annotated[float, typer.Option("--scene-threshold", min=CONFIG_MAP["scene_threshold"].low,
                              help=_help("scene_threshold", after="."))]
KeyframeReachOpt = Annotated[int, typer.Option("--keyframe-reach", min=CONFIG_MAP["keyframe_reach"].low,
                             help=_help("keyframe_reach", "--keyframes: ", "."))]
SegmentSecondsOpt = Annotated[float, typer.Option("--segment-seconds", min=CONFIG_MAP["segment_seconds"].low,
                              help=_help("segment_seconds", after=": at most this much work is lost on "
                                         "interruption."))]


@dataclass(frozen=True)
class ModelArgs:
    """The model options of a command, as one object: which model, where it runs, and how."""

    model: str | None
    models_dir: list[Path] | None
    device: Device
    threads: int | None = None
    batch_size: int = CONFIG_MAP["batch_size"].default
    render_size: int | None = None
    temperature: float | None = None
    jbu: bool = True
    verbose: bool = False
    precision: Precision = Precision.auto
