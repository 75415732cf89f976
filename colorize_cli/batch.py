"""Colourising many image files: resume, never overwrite inputs, per-file results.

Public API::

    BatchOptions(out_dir, fmt=None, overwrite=False, max_pixels=None, confidence_dir=None, ab_filter_for=None)
    colorize_files(pipeline, jobs, options, on_result) -> list[Result]
    Result(input, output, status, seconds, error)       # status: "ok" | "skipped" | "error"

Files are decoded ``batch_size`` at a time so that equal-shaped ones share a model batch; one
bad file only costs its own result (``status="error"``) and the loop goes on. Model failures
(:class:`~colorize_cli.errors.ModelError`) are fatal and propagate.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from colorize_cli.errors import InputError
from colorize_cli.image_io import Image, icc_colour_space, output_format, read_image, write_image
from colorize_cli.inputs import Job, output_path
from colorize_cli.lab import from_float, image_to_L, merge
from colorize_cli.pipeline import AbFilter, Pipeline


@dataclass
class BatchOptions:
    out_dir: Path
    fmt: str | None = None
    overwrite: bool = False
    max_pixels: int | None = None
    confidence_dir: Path | None = None
    # The ab_filter (colour hints, see propagate.hint_filter) for a job, given its decoded pixels;
    # None for an automatic result; InputError for a bad hint file (that photo fails, the batch goes on).
    ab_filter_for: Callable[[Job, np.ndarray], AbFilter | None] | None = None


@dataclass
class Result:
    input: str
    output: str | None
    status: str
    seconds: float
    error: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


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


def _output_pixels(image: Image, rgb: np.ndarray) -> np.ndarray:
    alpha = image.pixels[:, :, 3] if image.has_alpha else None
    return from_float(rgb, image.pixels.dtype, alpha)


def colorize_files(pipeline: Pipeline, jobs: Sequence[Job], options: BatchOptions,
                   on_result: Callable[[Result], None]) -> list[Result]:
    results: list[Result] = []
    claimed: dict[Path, Path] = {}

    def report(res: Result) -> None:
        results.append(res)
        on_result(res)

    chunk_size = max(1, pipeline.engine.batch_size)
    for start in range(0, len(jobs), chunk_size):
        todo: list[tuple[Job, Path, Image, np.ndarray, AbFilter | None, float]] = []
        for job in jobs[start:start + chunk_size]:
            t0 = time.perf_counter()
            dst = output_path(job, options.out_dir, options.fmt)
            key = dst.resolve()
            try:
                if _same_file(job.src, dst):
                    raise InputError(job.src, "the output would overwrite this input; choose another -o or --format")
                if key in claimed:
                    raise InputError(job.src, f"its output {dst} is already taken by {claimed[key]}")
                claimed[key] = job.src
                if dst.exists() and not options.overwrite:
                    report(Result(str(job.src), str(dst), "skipped", 0.0))
                    continue
                if output_format(dst) not in ("png", "jpg", "tif", "webp", "bmp", "jp2", "ppm"):
                    raise InputError(job.src, f"cannot write .{output_format(dst)} files; use --format png")
                image = read_image(job.src, options.max_pixels)
                L = image_to_L(image.pixels)
                ab_filter = options.ab_filter_for(job, image.pixels) if options.ab_filter_for else None
            except InputError as err:
                where = "" if err.path == str(job.src) else f"{err.path}: "
                report(Result(str(job.src), str(dst), "error", time.perf_counter() - t0, where + err.reason))
                continue
            todo.append((job, dst, image, L, ab_filter, time.perf_counter() - t0))
        if not todo:
            continue
        t0 = time.perf_counter()
        L_works = [pipeline.prepare(L) for _, _, _, L, _, _ in todo]
        raws = pipeline.infer(L_works)
        shared = (time.perf_counter() - t0) / len(todo)
        for (job, dst, image, L, ab_filter, spent), L_work, raw in zip(todo, L_works, raws):
            t1 = time.perf_counter()
            try:
                ab = pipeline.filter_ab(pipeline.to_ab(raw), L_work, L.shape[:2], ab_filter)
                rgb = merge(L, pipeline.upsample(ab, L))
                icc = image.icc if icc_colour_space(image.icc) == "RGB" else None  # gray/CMYK profiles no longer fit
                write_image(dst, _output_pixels(image, rgb), exif=image.exif, icc=icc)
                if options.confidence_dir is not None:
                    _confidence_maps(pipeline, raw, image.size, options.confidence_dir / job.rel.with_suffix(""))
                status, error = "ok", None
            except (OSError, ValueError) as exc:
                reason = "permission denied" if isinstance(exc, PermissionError) else str(exc)
                if isinstance(exc, OSError) and exc.strerror:
                    reason = f"cannot write output ({exc.strerror})"
                status, error = "error", reason
            report(Result(str(job.src), str(dst), status, spent + shared + time.perf_counter() - t1, error))
    return results
