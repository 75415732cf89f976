"""Colourising image files: one file, or many with resume, never overwriting inputs.

Public API::

    colorize_file(src, dst, pipeline=None, max_pixels=DEFAULT_MAX_PIXELS, ab_filter=None) -> Path
    BatchOptions(out_dir, fmt=None, overwrite=False, max_pixels=DEFAULT_MAX_PIXELS, confidence_dir=None,
                 ab_filter_for=None)
    colorize_files(pipeline, jobs, options, on_result, ab_filter=None) -> list[Result]
    Result(input, output, status, seconds, error)       # status: "ok" | "skipped" | "error"

Files are read ahead in one thread and written behind in another while the model and the
full-resolution work (:meth:`Pipeline.finish` with an output dtype, in strips) run,
``batch_size`` at a time so that equal-shaped ones share a model batch; one bad file only
costs its own result (``status="error"``) and the loop goes on. Model failures
(:class:`~colorize_cli.errors.ModelError`) are fatal and propagate.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from colorize_cli.errors import InputError, os_reason
from colorize_cli.failures import PER_FILE, failure_reason
from colorize_cli.io.image_io import (DEFAULT_MAX_PIXELS, icc_colour_space, output_format, read_image, write_image)
from colorize_cli.io.inputs import (Job, output_path, real_path, same_file)
from colorize_cli.confidence_maps import confidence_paths, write_confidence_maps
from colorize_cli.fullres import luminance
from colorize_cli.pipeline import AbFilter, Pipeline
from colorize_cli.io.resolution import Resolution

WRITABLE_FORMATS = ("png", "jpg", "tif", "webp", "bmp", "jp2", "ppm")


@dataclass
class BatchOptions:
    """Where and how :func:`colorize_files` writes; ``max_pixels`` None or 0 means no limit."""

    out_dir: Path
    fmt: str | None = None
    overwrite: bool = False
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    confidence_dir: Path | None = None
    # The ab_filter of one job (its colour hints: colorize_cli.steer.hints.hints_filter), given its decoded
    # pixels; None for the automatic result (or ``colorize_files``' own ab_filter). An InputError
    # (a bad hint file) fails that job alone, with one line naming the file at fault.
    ab_filter_for: Callable[[Job, np.ndarray], AbFilter | None] | None = None
    # Colour reference photos (files or folders, as ``--reference``), used when ``ab_filter_for``
    # is None: plain paths travel to cluster workers, which read them once each.
    references: tuple[str, ...] = ()


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


def _output_icc(icc: bytes | None) -> bytes | None:
    """The input's ICC profile when it still fits the (RGB) output: not a gray or CMYK one."""
    return icc if icc_colour_space(icc) == "RGB" else None


def _overwrites(src: Path) -> InputError:
    return InputError(src, "the output would overwrite this input; choose another output folder or format")


def check_output(src: Path, dst: Path) -> None:
    """InputError when ``dst`` would be ``src`` itself or has an extension we cannot write."""
    if same_file(src, dst):
        raise _overwrites(src)
    if output_format(dst) not in WRITABLE_FORMATS:
        raise InputError(src, f"cannot write .{output_format(dst)} files; give an output fmt (png, jpg, tif, webp "
                              "or bmp)")


def colorize_file(src: str | Path, dst: str | Path, pipeline: Pipeline | None = None,
                  max_pixels: int | None = DEFAULT_MAX_PIXELS, ab_filter: AbFilter | None = None) -> Path:
    """Colourise one image file into ``dst`` (format from its extension), as ``colorize images``
    does: bit depth, alpha, EXIF and ICC policy included; the write is atomic. ``pipeline``
    defaults to :func:`colorize_cli.load` ``()``. Raises :class:`InputError` for a bad input."""
    src, dst = Path(src), Path(dst)
    if pipeline is None:
        from colorize_cli.api import load

        pipeline = load()
    size = None
    try:
        image = read_image(src, max_pixels)  # first: a file that is no image at all is told so
        size = image.size
        check_output(src, dst)
        L = luminance(image.pixels)
        (raw,) = pipeline.raw_maps([L])
        alpha = image.pixels[:, :, 3] if image.has_alpha else None
        pixels = pipeline.finish(L, raw, ab_filter=ab_filter, dtype=image.pixels.dtype, alpha=alpha)  # type: ignore[arg-type]
        write_image(dst, pixels, exif=image.exif, icc=_output_icc(image.icc), consume=True,
                    resolution=image.resolution)
    except InputError:
        raise
    except PER_FILE as exc:  # out of memory, OpenCV refusing it...: this file's InputError
        reason = failure_reason(exc, size)
        if reason is None:
            raise
        raise InputError(src, reason) from None
    return dst


_PIXEL_BUDGET = 24 << 20  # decoded-ahead and not-yet-written pixels; bounds memory, keeps the overlap


@dataclass
class _Decoded:
    """One input read (in the reader thread): its L and what the output keeps of it."""

    job: Job
    dst: Path
    L: np.ndarray
    dtype: np.dtype
    alpha: np.ndarray | None
    exif: bytes | None
    icc: bytes | None
    size: tuple[int, int]
    seconds: float
    ab_filter: AbFilter | None = None
    resolution: Resolution | None = None


def check_job(job: Job, options: BatchOptions, claimed: dict[Path, Path]) -> tuple[Path, Result | None]:
    """The output path, and the result when there is nothing to colourise (skipped, or
    refused before reading: the output is the input, or another input's)."""
    dst = output_path(job, options.out_dir, options.fmt)
    key = real_path(dst)
    try:
        if same_file(job.src, dst):
            raise _overwrites(job.src)
        if key in claimed:
            raise InputError(job.src, f"its output {dst} is already taken by {claimed[key]}")
        claimed[key] = job.src
        if dst.exists() and not options.overwrite:
            return dst, Result(str(job.src), str(dst), "skipped", 0.0)
    except InputError as err:
        return dst, Result(str(job.src), str(dst), "error", 0.0, err.reason)
    return dst, None


def _decode(job: Job, dst: Path, options: BatchOptions) -> _Decoded | Result:
    """Read one file and take its L (in the reader thread); the pixels themselves are dropped."""
    t0 = time.perf_counter()
    size = None
    try:
        # Read first: a file that is no image at all is told so, not to pick another format.
        image = read_image(job.src, options.max_pixels)
        size = image.size
        check_output(job.src, dst)
        L = luminance(image.pixels)
        ab_filter = options.ab_filter_for(job, image.pixels) if options.ab_filter_for is not None else None
        alpha = image.pixels[:, :, 3].copy() if image.has_alpha else None
    except PER_FILE as exc:
        reason = failure_reason(exc, size)
        if reason is None:
            raise
        # A hint file's fault names the hint file.
        where = f"{exc.path}: " if isinstance(exc, InputError) and exc.path != str(job.src) else ""
        return Result(str(job.src), str(dst), "error", time.perf_counter() - t0, where + reason)
    return _Decoded(job, dst, L, image.pixels.dtype, alpha, image.exif, _output_icc(image.icc), image.size,
                    time.perf_counter() - t0, ab_filter, image.resolution)


def _write(d: _Decoded, pixels: np.ndarray, extra: Callable[[], None] | None, spent: float) -> Result:
    """Encode and write one output atomically (in the writer thread)."""
    t0 = time.perf_counter()
    try:
        write_image(d.dst, pixels, exif=d.exif, icc=d.icc, consume=True,  # nobody reads them after
                    resolution=d.resolution)
        if extra is not None:
            extra()
        status, error = "ok", None
    except PER_FILE as exc:
        reason = _write_error(exc) if isinstance(exc, OSError) else failure_reason(exc, d.size)
        if reason is None:
            raise
        status, error = "error", reason
    return Result(str(d.job.src), str(d.dst), status, spent + time.perf_counter() - t0, error)


def _write_error(exc: OSError | ValueError) -> str:
    return os_reason(exc, "write output") if isinstance(exc, OSError) else str(exc)


def colorize_files(pipeline: Pipeline, jobs: Sequence[Job], options: BatchOptions,
                   on_result: Callable[[Result], None], ab_filter: AbFilter | None = None) -> list[Result]:
    """Colourise every job, ``batch_size`` files per model batch; ``on_result`` hears of each
    file (in this thread, in job order) as soon as it is done. Bad inputs are results, model
    failures raise.

    Three stages overlap, as in the video pipeline: one thread reads and takes L of the next
    files while this one runs the model and the full-resolution work, and another encodes and
    writes the previous outputs. Files read ahead and outputs waiting to be written are
    bounded by a pixel budget, so memory stays at about two images in flight for big scans."""
    if options.references and options.ab_filter_for is None:
        from dataclasses import replace

        from colorize_cli.steer.reference_sets import references_for_jobs

        ab_filter_for, bad, _ = references_for_jobs(options.references, jobs, options.max_pixels)
        if bad:
            raise InputError(*bad[0])
        options = replace(options, ab_filter_for=ab_filter_for)
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
        """Keep up to two chunks (fewer for big images, at least one file) being read."""
        depth = max(1, min(2 * chunk_size, _PIXEL_BUDGET // max(1, last_pixels[0])))
        while len(reads) < depth:
            job = next(pending, None)
            if job is None:
                return
            dst, res = check_job(job, options, claimed)
            reads.append((job, dst, _done(res) if res is not None else reader.submit(_decode, job, dst, options)))

    def wait_writes() -> None:
        while writes and (sum(n for n, _ in writes) > _PIXEL_BUDGET // 2 or len(writes) > chunk_size):
            writes.popleft()[1].result()
        while writes and writes[0][1].done():
            writes.popleft()

    stopped = True  # until the loop ends normally: then wait for the last writes
    try:
        read_ahead()
        while reads:
            todo: list[tuple[_Decoded, Future]] = []  # with the slot its result goes to
            while reads and len(todo) < chunk_size and sum(d.L.size for d, _ in todo) < _PIXEL_BUDGET // 2:
                _, _, fut = reads.popleft()
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
            try:
                raws = pipeline.raw_maps([d.L for d, _ in todo])
            except PER_FILE as exc:  # out of memory in the model: these files' failure, not the run's
                if failure_reason(exc) is None:
                    raise
                raws = _one_by_one(pipeline, todo)
            shared = (time.perf_counter() - t0) / len(todo)
            for (d, slot), raw in zip(todo, raws):
                if raw is None:  # failed on its own already
                    continue
                t1 = time.perf_counter()
                try:
                    pixels = pipeline.finish(d.L, raw, ab_filter=d.ab_filter or ab_filter,  # type: ignore[arg-type]
                                             dtype=d.dtype,
                                             alpha=d.alpha)
                except PER_FILE as exc:  # this input's failure (NaN, out of memory...), not the run's
                    reason = _write_error(exc) if isinstance(exc, OSError) else failure_reason(exc, d.size)
                    if reason is None:
                        raise
                    slot.set_result(Result(str(d.job.src), str(d.dst), "error",
                                           d.seconds + shared + time.perf_counter() - t1, reason))
                    continue
                extra = None
                if options.confidence_dir is not None:
                    paths = confidence_paths(d.job, options.confidence_dir)
                    extra = lambda raw=raw, d=d, paths=paths: write_confidence_maps(pipeline, raw, d.size, paths)  # noqa: E731
                fut = writer.submit(_write, d, pixels, extra, d.seconds + shared + time.perf_counter() - t1)
                fut.add_done_callback(lambda f, slot=slot: _settle(slot, f))
                writes.append((d.L.size, fut))
                wait_writes()
                report(block=False)
        report(block=True)
        stopped = False
    finally:
        for _, _, fut in reads:
            fut.cancel()
        # Stopped by Ctrl-C or an error: never wait for a read that may be stuck (a slow disk).
        reader.shutdown(wait=not stopped, cancel_futures=True)
        writer.shutdown(wait=True)
    return results


def _one_by_one(pipeline: Pipeline, todo: list[tuple[_Decoded, Future]]) -> list[np.ndarray | None]:
    """The model's maps for each file alone, after a batch of them failed (out of memory): a
    file that fails alone too gets its error in its slot, and None here."""
    raws: list[np.ndarray | None] = []
    for d, slot in todo:
        try:
            raws.append(pipeline.raw_maps([d.L])[0])
        except PER_FILE as exc:
            reason = failure_reason(exc, d.size)
            if reason is None:
                raise
            slot.set_result(Result(str(d.job.src), str(d.dst), "error", d.seconds, reason))
            raws.append(None)
    return raws


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
