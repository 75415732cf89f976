"""Colourising image files: one file, or many with resume, never overwriting inputs.

Public API::

    colorize_file(src, dst, pipeline=None, max_pixels=DEFAULT_MAX_PIXELS, ab_filter=None) -> Path
    plan_image_jobs(inputs, output, fmt=None, confidence_dir=None, stdin=None, hints=None) -> ImagePlan
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
from typing import TextIO

import cv2
import numpy as np

from colorize_cli.errors import InputError, NonFiniteOutput, ParameterError, os_reason
from colorize_cli.io.image_io import (DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, icc_colour_space, output_format,
                                   read_image, write_image)
from colorize_cli.io.inputs import (Job, discover, drop_outputs, output_exclusions, output_path, output_target,
                                 real_path, same_file)
from colorize_cli.fullres import luminance
from colorize_cli.lab import from_float
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
    # The ab_filter of one job (its colour hints: colorize_cli.steer.hints.hints_filter), given its decoded
    # pixels; None for the automatic result (or ``colorize_files``' own ab_filter). An InputError
    # (a bad hint file) fails that job alone, with one line naming the file at fault.
    ab_filter_for: Callable[[Job, np.ndarray], AbFilter | None] | None = None


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
    L = luminance(image.pixels)
    (raw,) = pipeline.raw_maps([L])
    alpha = image.pixels[:, :, 3] if image.has_alpha else None
    pixels = pipeline.finish(L, raw, ab_filter=ab_filter, dtype=image.pixels.dtype, alpha=alpha)  # type: ignore[arg-type]
    write_image(dst, pixels, exif=image.exif, icc=_output_icc(image.icc), consume=True)
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
                    confidence_dir: Path | None = None, stdin: TextIO | None = None,
                    hints: Path | None = None) -> ImagePlan:
    """The jobs of ``colorize images``: ``output`` as :func:`~colorize_cli.io.inputs.output_target`
    says (one input may go to a file name with an image extension), discovery that never reads
    the output folders (nor a ``hints`` folder) back as input, and files that are other inputs' outputs left out.
    :class:`~colorize_cli.errors.ParameterError` for an ``output`` that cannot be."""
    target, is_file = output_target(inputs, output, lambda p: p.suffix.lower() in IMAGE_EXTENSIONS)
    if is_file:
        if fmt and output_format(target) != fmt:
            raise ParameterError("output", f"{target} and the format {fmt} disagree; give one of them")
        return ImagePlan([Job(Path(inputs[0]), Path(target.name))], [], target.parent, None, [])
    hints_dir = hints if hints is not None and Path(hints).is_dir() else None
    found = discover(inputs, stdin=stdin, exclude=output_exclusions(inputs, [target, confidence_dir, hints_dir]))
    jobs, dropped = drop_outputs(found.jobs, target, fmt)
    return ImagePlan(jobs, found.errors, target, fmt, dropped)


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
    try:
        # Read first: a file that is no image at all is told so, not to pick another format.
        image = read_image(job.src, options.max_pixels)
        check_output(job.src, dst)
        L = luminance(image.pixels)
        ab_filter = options.ab_filter_for(job, image.pixels) if options.ab_filter_for is not None else None
    except InputError as err:
        where = "" if err.path == str(job.src) else f"{err.path}: "  # a hint file's fault names the hint file
        return Result(str(job.src), str(dst), "error", time.perf_counter() - t0, where + err.reason)
    alpha = image.pixels[:, :, 3].copy() if image.has_alpha else None
    return _Decoded(job, dst, L, image.pixels.dtype, alpha, image.exif, _output_icc(image.icc), image.size,
                    time.perf_counter() - t0, ab_filter)


def _write(d: _Decoded, pixels: np.ndarray, extra: Callable[[], None] | None, spent: float) -> Result:
    """Encode and write one output atomically (in the writer thread)."""
    t0 = time.perf_counter()
    try:
        write_image(d.dst, pixels, exif=d.exif, icc=d.icc, consume=True)  # nobody reads them after
        if extra is not None:
            extra()
        status, error = "ok", None
    except (OSError, ValueError) as exc:
        status, error = "error", _write_error(exc)
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
            raws = pipeline.raw_maps([d.L for d, _ in todo])
            shared = (time.perf_counter() - t0) / len(todo)
            for (d, slot), raw in zip(todo, raws):
                t1 = time.perf_counter()
                try:
                    pixels = pipeline.finish(d.L, raw, ab_filter=d.ab_filter or ab_filter,  # type: ignore[arg-type]
                                             dtype=d.dtype,
                                             alpha=d.alpha)
                except (NonFiniteOutput, OSError, ValueError) as exc:  # this input's failure, not the run's
                    reason = exc.reason if isinstance(exc, NonFiniteOutput) else _write_error(exc)
                    slot.set_result(Result(str(d.job.src), str(d.dst), "error",
                                           d.seconds + shared + time.perf_counter() - t1, reason))
                    continue
                extra = None
                if options.confidence_dir is not None:
                    base = options.confidence_dir / d.job.rel.with_suffix("")
                    extra = lambda raw=raw, d=d, base=base: _confidence_maps(pipeline, raw, d.size, base)  # noqa: E731
                fut = writer.submit(_write, d, pixels, extra, d.seconds + shared + time.perf_counter() - t1)
                fut.add_done_callback(lambda f, slot=slot: _settle(slot, f))
                writes.append((d.L.size, fut))
                wait_writes()
                report(block=False)
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
