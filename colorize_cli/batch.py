"""Colourising image files: one file, or many with resume, never overwriting inputs.

Public API::

    colorize_file(src, dst, pipeline=None, max_pixels=DEFAULT_MAX_PIXELS, ab_filter=None) -> Path
    write_colorized(dst, image, rgb)                    # depth, alpha, EXIF and the ICC rule
    plan_image_jobs(inputs, output, fmt=None, confidence_dir=None, stdin=None) -> ImagePlan
    BatchOptions(out_dir, fmt=None, overwrite=False, max_pixels=DEFAULT_MAX_PIXELS, confidence_dir=None)
    colorize_files(pipeline, jobs, options, on_result, ab_filter=None) -> list[Result]
    Result(input, output, status, seconds, error)       # status: "ok" | "skipped" | "error"

Files are decoded ``batch_size`` at a time so that equal-shaped ones share a model batch; one
bad file only costs its own result (``status="error"``) and the loop goes on. Model failures
(:class:`~colorize_cli.errors.ModelError`) are fatal and propagate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np

from colorize_cli.errors import InputError, NonFiniteOutput, ParameterError
from colorize_cli.image_io import (DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, Image, icc_colour_space, output_format,
                                   read_image, write_image)
from colorize_cli.inputs import (Job, discover, drop_outputs, output_exclusions, output_path, output_target,
                                 real_path, same_file)
from colorize_cli.lab import from_float, image_to_L
from colorize_cli.pipeline import AbFilter, Pipeline

WRITABLE_FORMATS = ("png", "jpg", "tif", "webp", "bmp", "jp2", "ppm")


@dataclass
class BatchOptions:
    """Where and how :func:`colorize_files` writes; ``max_pixels`` None or 0 means no limit."""

    out_dir: Path
    fmt: str | None = None
    overwrite: bool = False
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    confidence_dir: Path | None = None


@dataclass
class Result:
    """What happened to one input file."""

    input: str
    output: str | None
    status: str
    seconds: float
    error: str | None = None

    def as_dict(self) -> dict:
        """The JSON line of ``colorize images --json``."""
        return asdict(self)


def _confidence_maps(pipeline: Pipeline, raw: np.ndarray, size: tuple[int, int], base: Path) -> None:
    """Top-bin probability (0..1 → 0..255) and top/second ratio (log scale: 1 → 0, ≥100 → 255)."""
    conf = pipeline.confidence(raw)
    if conf is None:
        return
    top, ratio = conf
    ratio_img = np.clip(np.log10(np.maximum(ratio, 1.0)) / 2.0, 0.0, 1.0)
    for suffix, m in (("_top", top), ("_ratio", ratio_img)):
        full = cv2.resize(m.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
        write_image(base.with_name(base.name + suffix + ".png"), from_float(np.clip(full, 0, 1), np.uint8),
                    fmt="png")


def write_colorized(dst: str | Path, image: Image, rgb: np.ndarray) -> None:
    """Write the colourised ``rgb`` (float in [0, 1]) of ``image`` to ``dst``, atomically: the
    input's bit depth and alpha, its EXIF, and its ICC profile unless that describes gray or
    CMYK (the output is RGB, so such a profile no longer fits)."""
    alpha = image.pixels[:, :, 3] if image.has_alpha else None
    icc = image.icc if icc_colour_space(image.icc) == "RGB" else None
    write_image(dst, from_float(rgb, image.pixels.dtype, alpha), exif=image.exif, icc=icc)


def _overwrites(src: Path) -> InputError:
    return InputError(src, "the output would overwrite this input; choose another output folder or format")


def check_output(src: Path, dst: Path) -> None:
    """InputError when ``dst`` would be ``src`` itself or has an extension we cannot write."""
    if same_file(src, dst):
        raise _overwrites(src)
    if output_format(dst) not in WRITABLE_FORMATS:
        raise InputError(src, f"cannot write .{output_format(dst)} files; choose png, jpg, tif, webp or bmp")


def colorize_file(src: str | Path, dst: str | Path, pipeline: Pipeline | None = None,
                  max_pixels: int | None = DEFAULT_MAX_PIXELS, ab_filter: AbFilter | None = None) -> Path:
    """Colourise one image file into ``dst`` (format from its extension), as ``colorize images``
    does: bit depth, alpha, EXIF and ICC policy included; the write is atomic. ``pipeline``
    defaults to :func:`colorize_cli.load` ``()``. Raises :class:`InputError` for a bad input."""
    src, dst = Path(src), Path(dst)
    if pipeline is None:
        from colorize_cli.api import load

        pipeline = load()
    image = read_image(src, max_pixels)  # first: a file that is no image at all is told so
    check_output(src, dst)
    L = image_to_L(image.pixels)
    (raw,) = pipeline.raw_maps([L])
    write_colorized(dst, image, pipeline.finish(L, raw, ab_filter=ab_filter))  # type: ignore[arg-type]
    return dst


@dataclass
class ImagePlan:
    """What ``colorize images INPUTS -o OUTPUT`` will do: the jobs, the inputs that cannot be
    used (path, reason), where and in which format outputs go, and the files left out because
    they are this run's own outputs."""

    jobs: list[Job]
    errors: list[tuple[str, str]]
    out_dir: Path
    fmt: str | None
    dropped: list[Job]


def plan_image_jobs(inputs: Sequence[str], output: str | Path, fmt: str | None = None,
                    confidence_dir: Path | None = None, stdin: TextIO | None = None) -> ImagePlan:
    """The jobs of ``colorize images``: ``output`` as :func:`~colorize_cli.inputs.output_target`
    says (one input may go to a file name with an image extension), discovery that never reads
    the output folders back as input, and files that are other inputs' outputs left out.
    :class:`~colorize_cli.errors.ParameterError` for an ``output`` that cannot be."""
    target, is_file = output_target(inputs, output, lambda p: p.suffix.lower() in IMAGE_EXTENSIONS)
    if is_file:
        if fmt and output_format(target) != fmt:
            raise ParameterError("output", f"{target} and the format {fmt} disagree; give one of them")
        return ImagePlan([Job(Path(inputs[0]), Path(target.name))], [], target.parent, None, [])
    found = discover(inputs, stdin=stdin, exclude=output_exclusions(inputs, [target, confidence_dir]))
    jobs, dropped = drop_outputs(found.jobs, target, fmt)
    return ImagePlan(jobs, found.errors, target, fmt, dropped)


def colorize_files(pipeline: Pipeline, jobs: Sequence[Job], options: BatchOptions,
                   on_result: Callable[[Result], None], ab_filter: AbFilter | None = None) -> list[Result]:
    """Colourise every job, ``batch_size`` files per model batch; ``on_result`` hears of each
    file as soon as it is done. Bad inputs are results, model failures raise."""
    results: list[Result] = []
    claimed: dict[Path, Path] = {}

    def report(res: Result) -> None:
        results.append(res)
        on_result(res)

    chunk_size = max(1, pipeline.engine.batch_size)
    for start in range(0, len(jobs), chunk_size):
        todo: list[tuple[Job, Path, Image, np.ndarray, float]] = []
        for job in jobs[start:start + chunk_size]:
            t0 = time.perf_counter()
            dst = output_path(job, options.out_dir, options.fmt)
            key = real_path(dst)
            try:
                if same_file(job.src, dst):
                    raise _overwrites(job.src)
                if key in claimed:
                    raise InputError(job.src, f"its output {dst} is already taken by {claimed[key]}")
                claimed[key] = job.src
                if dst.exists() and not options.overwrite:
                    report(Result(str(job.src), str(dst), "skipped", 0.0))
                    continue
                # Read first: a file that is no image at all is told so, not to pick another format.
                image = read_image(job.src, options.max_pixels)
                check_output(job.src, dst)
                L = image_to_L(image.pixels)
            except InputError as err:
                report(Result(str(job.src), str(dst), "error", time.perf_counter() - t0, err.reason))
                continue
            todo.append((job, dst, image, L, time.perf_counter() - t0))
        if not todo:
            continue
        t0 = time.perf_counter()
        raws = pipeline.raw_maps([L for _, _, _, L, _ in todo])
        shared = (time.perf_counter() - t0) / len(todo)
        for (job, dst, image, L, spent), raw in zip(todo, raws):
            t1 = time.perf_counter()
            try:
                write_colorized(dst, image, pipeline.finish(L, raw, ab_filter=ab_filter))  # type: ignore[arg-type]
                if options.confidence_dir is not None:
                    _confidence_maps(pipeline, raw, image.size, options.confidence_dir / job.rel.with_suffix(""))
                status, error = "ok", None
            except NonFiniteOutput as exc:
                status, error = "error", exc.reason
            except (OSError, ValueError) as exc:
                reason = "permission denied" if isinstance(exc, PermissionError) else str(exc)
                if isinstance(exc, OSError) and exc.strerror:
                    reason = f"cannot write output ({exc.strerror})"
                status, error = "error", reason
            report(Result(str(job.src), str(dst), status, spent + shared + time.perf_counter() - t1, error))
    return results
