"""Colourising many image files: resume, never overwrite inputs, per-file results.

Public API::

    BatchOptions(out_dir, fmt=None, overwrite=False, max_pixels=None, confidence_dir=None)
    colorize_files(pipeline, jobs, options, on_result) -> list[Result]
    Result(input, output, status, seconds, error)       # status: "ok" | "skipped" | "error"

Files are decoded ahead in one thread and written behind in another while the model and the
full-resolution work (:meth:`Pipeline.render`) run, ``batch_size`` at a time so that
equal-shaped ones share a model batch; one bad file only costs its own result
(``status="error"``) and the loop goes on. Model failures
(:class:`~colorize_cli.errors.ModelError`) are fatal and propagate.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from colorize_cli.errors import InputError
from colorize_cli.image_io import icc_colour_space, output_format, read_image, write_image
from colorize_cli.inputs import Job, output_path
from colorize_cli.fullres import luminance
from colorize_cli.lab import from_float
from colorize_cli.pipeline import Pipeline


@dataclass
class BatchOptions:
    out_dir: Path
    fmt: str | None = None
    overwrite: bool = False
    max_pixels: int | None = None
    confidence_dir: Path | None = None


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


_PIXEL_BUDGET = 24 << 20  # decoded-ahead and not-yet-written pixels; bounds memory, keeps the overlap


@dataclass
class _Decoded:
    job: Job
    dst: Path
    L: np.ndarray
    dtype: np.dtype
    alpha: np.ndarray | None
    exif: bytes | None
    icc: bytes | None
    size: tuple[int, int]
    seconds: float


def _check(job: Job, options: BatchOptions, claimed: dict[Path, Path]) -> tuple[Path, Result | None]:
    """The output path, and the result when there is nothing to colourise (skipped or refused)."""
    dst = output_path(job, options.out_dir, options.fmt)
    key = dst.resolve()
    try:
        if _same_file(job.src, dst):
            raise InputError(job.src, "the output would overwrite this input; choose another -o or --format")
        if key in claimed:
            raise InputError(job.src, f"its output {dst} is already taken by {claimed[key]}")
        claimed[key] = job.src
        if dst.exists() and not options.overwrite:
            return dst, Result(str(job.src), str(dst), "skipped", 0.0)
        if output_format(dst) not in ("png", "jpg", "tif", "webp", "bmp", "jp2", "ppm"):
            raise InputError(job.src, f"cannot write .{output_format(dst)} files; use --format png")
    except InputError as err:
        return dst, Result(str(job.src), str(dst), "error", 0.0, err.reason)
    return dst, None


def _decode(job: Job, dst: Path, options: BatchOptions) -> _Decoded | Result:
    """Read one file and take its L (in the reader thread); the pixels themselves are dropped."""
    t0 = time.perf_counter()
    try:
        image = read_image(job.src, options.max_pixels)
        L = luminance(image.pixels)
    except InputError as err:
        return Result(str(job.src), str(dst), "error", time.perf_counter() - t0, err.reason)
    alpha = image.pixels[:, :, 3].copy() if image.has_alpha else None
    icc = image.icc if icc_colour_space(image.icc) == "RGB" else None  # gray/CMYK profiles no longer fit
    return _Decoded(job, dst, L, image.pixels.dtype, alpha, image.exif, icc, image.size, time.perf_counter() - t0)


def _write(d: _Decoded, pixels: np.ndarray, extra: Callable[[], None] | None, spent: float) -> Result:
    """Encode and write one output atomically (in the writer thread)."""
    t0 = time.perf_counter()
    try:
        write_image(d.dst, pixels, exif=d.exif, icc=d.icc)
        if extra is not None:
            extra()
        status, error = "ok", None
    except (OSError, ValueError) as exc:
        reason = "permission denied" if isinstance(exc, PermissionError) else str(exc)
        if isinstance(exc, OSError) and exc.strerror:
            reason = f"cannot write output ({exc.strerror})"
        status, error = "error", reason
    return Result(str(d.job.src), str(d.dst), status, spent + time.perf_counter() - t0, error)


def colorize_files(pipeline: Pipeline, jobs: Sequence[Job], options: BatchOptions,
                   on_result: Callable[[Result], None]) -> list[Result]:
    """Colourise ``jobs`` in order, calling ``on_result`` (in this thread) for each, in order.

    Three stages overlap, as in the video pipeline: one thread reads and takes L of the next
    files while this one runs the model and the full-resolution work, and another encodes and
    writes the previous outputs. Files read ahead and outputs waiting to be written are
    bounded by a pixel budget, so memory stays at about two images in flight for big scans."""
    results: list[Result] = []
    claimed: dict[Path, Path] = {}
    chunk_size = max(1, pipeline.engine.batch_size)
    # Results in job order: each job's slot is a finished Result or a Future of one.
    slots: deque[Result | Future] = deque()

    def report(block: bool) -> None:
        while slots and (block or not isinstance(slots[0], Future) or slots[0].done()):
            head = slots.popleft()
            res = head.result() if isinstance(head, Future) else head
            results.append(res)
            on_result(res)

    reader = ThreadPoolExecutor(1, thread_name_prefix="colorize-read")
    writer = ThreadPoolExecutor(1, thread_name_prefix="colorize-write")
    reads: deque[tuple[Job, Path, Future]] = deque()
    writes: deque[tuple[int, Future]] = deque()  # (pixels, future) not yet written
    pending = iter(jobs)
    last_pixels = [1]

    def read_ahead() -> None:
        """Keep up to a chunk (fewer for big images, at least one) of files being read."""
        depth = max(1, min(2 * chunk_size, _PIXEL_BUDGET // max(1, last_pixels[0])))
        while len(reads) < depth:
            job = next(pending, None)
            if job is None:
                return
            dst, res = _check(job, options, claimed)
            if res is not None:
                reads.append((job, dst, _done(res)))
            else:
                reads.append((job, dst, reader.submit(_decode, job, dst, options)))

    def wait_writes() -> None:
        while writes and (sum(n for n, _ in writes) > _PIXEL_BUDGET // 2 or len(writes) > chunk_size):
            writes.popleft()[1].result()
        while writes and writes[0][1].done():
            writes.popleft()

    try:
        read_ahead()
        while reads:
            todo: list[tuple[_Decoded, Future]] = []  # with the slot its result goes to
            while reads and len(todo) < chunk_size and sum(d.L.size for d, _ in todo) < _PIXEL_BUDGET // 2:
                job, dst, fut = reads.popleft()
                got = fut.result()
                if isinstance(got, Result):
                    slots.append(got)
                else:
                    last_pixels[0] = got.L.size
                    todo.append((got, Future()))
                    slots.append(todo[-1][1])
                read_ahead()
            report(block=False)
            if not todo:
                continue
            t0 = time.perf_counter()
            raws = pipeline.infer([pipeline.prepare(d.L) for d, _ in todo])
            shared = (time.perf_counter() - t0) / len(todo)
            for (d, slot), raw in zip(todo, raws):
                t1 = time.perf_counter()
                pixels = pipeline.render(raw, d.L, d.dtype, d.alpha)
                extra = None
                if options.confidence_dir is not None:
                    base = options.confidence_dir / d.job.rel.with_suffix("")
                    extra = lambda raw=raw, d=d, base=base: _confidence_maps(pipeline, raw, d.size, base)  # noqa: E731
                spent = d.seconds + shared + time.perf_counter() - t1
                fut = writer.submit(_write, d, pixels, extra, spent)
                fut.add_done_callback(lambda f, slot=slot: _settle(slot, f))
                writes.append((d.L.size, fut))
                wait_writes()
                report(block=False)
            todo.clear()
        report(block=True)
    finally:
        for _, _, fut in reads:
            fut.cancel()
        reader.shutdown(wait=True)
        writer.shutdown(wait=True)
    return results


def _settle(slot: Future, done: Future) -> None:
    """Pass a finished write's result (or its exception) on to the job's slot."""
    exc = done.exception()
    if exc is not None:
        slot.set_exception(exc)
    else:
        slot.set_result(done.result())


def _done(res: Result) -> Future:
    fut: Future = Future()
    fut.set_result(res)
    return fut
