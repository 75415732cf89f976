"""Colourising films: a streaming pipeline with the temporal kernel, resumable, faithful.

Four threads joined by small bounded queues, so decoding and encoding overlap inference and
memory stays flat whatever the length of the film::

    decode (PyAV) ──▶ L, scene cut, batched inference, temporal kernel ──▶
        bins-to-ab, upsampling, merge with the frame's own L (in strips), RGB → YUV ──▶
        encode into segments

then the segments are joined, without re-encoding, with the source's audio, subtitles and
metadata (:mod:`colorize_cli.video_join`). No frame ever goes to disk as an image.

**Temporal kernel** (``--smooth``): :class:`~colorize_cli.temporal.TemporalKernel` on the raw
model maps (bin probabilities for ``bins`` models, ab for ``ab`` models) before they are
decoded to ab, restarted at every scene cut found by :class:`~colorize_cli.scenes.SceneDetector`
on the L channel (also run without ``--smooth``, to report cuts, unless ``--no-scene-detect``).

**Resume.** The film is encoded in segments of about ``segment_seconds`` in
``<output>.partial/`` (see :class:`~colorize_cli.video_segments.WorkDir`). A rerun of the same
command keeps the finished segments and restarts at the first missing one. To keep the
kernel exact across the restart, the frames just before it are decoded again and *replayed*
through scene detection and the model (up to ``--window`` frames, or one frame without
``--smooth``, for the scene detector's reference) without being encoded again: the kernel
state at the restart is then what it was in the first run, and nothing about it needs to be
stored. Decoding up to the restart point costs decode time only (frames before it are not
even converted to RGB).

**Keyframes** (``keyframes``, ``--keyframes DIR``): hand-coloured frames carried through their
shot by optical flow (:mod:`colorize_cli.keyframes`). The inference stage feeds every frame to
the :class:`~colorize_cli.keyframes.KeyframePropagator` in order and hands the frame's blend on
as its ``ab_filter`` (after the caller's), so the pipeline's order is unchanged. Keyframes
after the first frame are carried backward from a second decode of the frames before them
(memory stays bounded), and a resumed run replays from the keyframe the carry started at.

**Stages.** Each thread runs one stage object (:class:`_Decode`, :class:`_Infer`,
:class:`_Finish`, :class:`_Encode`); the pipeline's stage order itself lives in
:class:`~colorize_cli.pipeline.Pipeline` (``raw_maps`` in ``_Infer``, ``finish`` in
``_Finish``), with :class:`~colorize_cli.frames.TemporalFilter` as its frame filter. Where a
run starts and what it replays is decided once, by :class:`ResumePlan`.

Public API::

    VideoOptions(smooth=False, window=20, decay=0.2, scene_detect=True, scene_threshold=0.5,
                 codec=None, crf=None, preset=None, max_pixels=100_000_000,
                 segment_seconds=10.0, overwrite=False, keyframes=None, keyframe_reach=300)
    VideoOptions.check()              # ParameterError naming the bad parameter
    plan_jobs(inputs, output, codec, stdin=None) -> ([VideoJob(src, dst)], [(path, reason)])
    colorize_video(src, dst, pipeline, options, on_progress=None, on_total=None, warn=None,
                   ab_filter=None) -> VideoReport
    colorize_videos(jobs, pipeline, options, on_report, on_start=None, on_progress=None, warn=None,
                    ab_filter=None)
    ResumePlan.from_segments(segments, options);  ResumePlan.starting_at(resume, options, stop=None)
    video_output_path(src_rel, out_dir, codec=None) -> Path
    terminate_as_interrupt()          # context manager: SIGTERM behaves like Ctrl-C
    (Interrupted, in colorize_cli.errors: KeyboardInterrupt with .work_dir and .frames_kept)
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

import av
import numpy as np

from colorize_cli.errors import ColorizeError, InputError, Interrupted, ModelError, NonFiniteOutput, ParameterError
from colorize_cli.frames import TemporalFilter
from colorize_cli.fullres import luminance
from colorize_cli.image_io import DEFAULT_MAX_PIXELS
from colorize_cli.inputs import discover, output_exclusions, output_target, same_file
from colorize_cli.keyframes import DEFAULT_REACH as KEYFRAME_REACH
from colorize_cli.keyframes import KeyframePropagator, replay_start
from colorize_cli.pipeline import AbFilter, Pipeline, chain_ab_filters
from colorize_cli.scenes import DEFAULT_THRESHOLD, SceneDetector
from colorize_cli.temporal import DEFAULT_DECAY, DEFAULT_WINDOW, MAX_WINDOW, TemporalKernel
from colorize_cli.video_encode import (AUTO_CODECS, EncoderSettings, check_crf, check_preset, container_accepts,
                                       encoder_settings, output_format, pick_codec, resolve_codec, to_video_frame)
from colorize_cli.video_join import join, made_here
from colorize_cli.video_read import VIDEO_EXTENSIONS, Decoded, Source, decode_frames, probe
from colorize_cli.video_segments import SegmentWriter, WorkDir

__all__ = ["Interrupted", "ResumePlan", "VIDEO_EXTENSIONS", "VideoJob", "VideoOptions", "VideoReport",
           "colorize_video", "colorize_videos", "plan_jobs", "terminate_as_interrupt", "video_output_path"]

DEFAULT_SEGMENT_SECONDS = 10.0


# ------------------------------------------------------------------------ films


@dataclass
class VideoOptions:
    """Everything about a film run except the model (the :class:`Pipeline` carries that)."""

    smooth: bool = False
    window: int = DEFAULT_WINDOW
    decay: float = DEFAULT_DECAY
    scene_detect: bool = True
    scene_threshold: float = DEFAULT_THRESHOLD
    codec: str | None = None  # None: libx264, or what the output container takes (VP9/AV1 for WebM)
    crf: int | None = None
    preset: str | None = None
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS
    overwrite: bool = False
    queue_frames: int | None = None  # per queue; default 2 × batch size, at least 4
    keyframes: dict[int, Path] | None = None  # frame index -> hand-coloured picture of that frame
    keyframe_reach: int = KEYFRAME_REACH  # frames a keyframe's colour is carried either way
    references: tuple[str, ...] = ()  # colour reference photos for every frame (colorize_cli.reference)

    def check(self) -> None:
        """:class:`ParameterError` naming the parameter for values the run would choke on later."""
        TemporalKernel(self.window, self.decay)
        if self.window < 1:  # the kernel takes 0 (no smoothing), a film run wants smooth=False instead
            raise ParameterError("window", f"must be a whole number from 1 to {MAX_WINDOW}, got {self.window}")
        SceneDetector(self.scene_threshold)
        if not self.segment_seconds > 0:
            raise ParameterError("segment_seconds", f"must be > 0, got {self.segment_seconds}")
        if self.keyframe_reach < 1:
            raise ParameterError("keyframe_reach", f"must be >= 1, got {self.keyframe_reach}")
        codec = resolve_codec(self.codec or AUTO_CODECS[0])
        check_crf(codec, self.crf)
        check_preset(codec, self.preset)


@dataclass
class VideoReport:
    """What happened to one film (the JSON line of ``colorize video --json``)."""

    input: str
    output: str | None
    status: str  # "ok" | "skipped" | "error"
    frames: int = 0
    seconds: float = 0.0
    fps: float = 0.0  # frames colourised by this run per second of this run
    resumed_from: int = 0
    scene_cuts: int = 0
    streams_copied: list[str] = field(default_factory=list)
    streams_reencoded: list[str] = field(default_factory=list)
    streams_dropped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A plain dict, for JSON."""
        return asdict(self)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Let ``kill`` (SIGTERM) stop a run as cleanly as Ctrl-C: finished segments are kept and
    the half-written one is removed. Only possible in the main thread; elsewhere a no-op."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def video_output_path(rel: Path, out_dir: Path, codec: str | None = None) -> Path:
    """Where a film found at ``rel`` (relative to its input folder) goes: the same name, or
    ``.mkv`` when its container cannot hold ``codec`` (a .webm cannot hold H.264, say);
    without a codec, the container's own choice (:func:`~colorize_cli.video_encode.pick_codec`)."""
    dst = out_dir / rel
    try:
        fmt = output_format(dst)
        if container_accepts(fmt, pick_codec(fmt, codec)):
            return dst
    except ColorizeError:
        pass
    return dst.with_suffix(".mkv")


class _Stop(Exception):
    """Raised inside a worker when another one failed or the run is being cancelled."""


class _Workers:
    """Threads that stop together: the first failure (or a cancel) stops every queue wait."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.threads: list[threading.Thread] = []

    def spawn(self, name: str, fn: Callable[..., None], *args: Any) -> None:
        def run() -> None:
            try:
                fn(*args)
            except _Stop:
                pass
            except BaseException as exc:  # handed to the main thread, which re-raises it
                self.errors.append(exc)
                self.stop.set()

        t = threading.Thread(target=run, name=f"colorize-{name}", daemon=True)
        self.threads.append(t)
        t.start()

    def put(self, q: queue.Queue, item: Any) -> None:
        while True:
            if self.stop.is_set():
                raise _Stop
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def get(self, q: queue.Queue) -> Any:
        while True:
            if self.stop.is_set():
                raise _Stop
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                continue

    def join(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))

    def raise_first(self) -> None:
        if self.errors:
            raise self.errors[0]


_END = object()


@dataclass
class _Run:
    frames_total: int
    frames_done: int


@dataclass(frozen=True)
class ResumePlan:
    """Where a run starts, decided once from the finished segments.

    ``resume`` is the first frame to encode (a segment boundary). To keep the kernel exact
    across the restart, frames from ``warm`` on are decoded to RGB and replayed through scene
    detection and the model (the kernel's window, or one frame as the detector's reference
    without ``smooth``; with keyframes, from the keyframe whose carry reaches ``resume``)
    without being encoded; frames before ``warm`` are decoded only.
    ``stop`` (None: the end of the film) is the first frame not to decode: a piece of a film
    split over several workers (:mod:`colorize_cli.distributed`) ends there."""

    resume: int
    warm: int
    stop: int | None = None

    @classmethod
    def starting_at(cls, resume: int, options: VideoOptions, stop: int | None = None) -> ResumePlan:
        """The plan that encodes frames ``resume`` to ``stop``, replaying what the kernel (or
        the scene detector) needs before ``resume``."""
        warm = max(0, resume - (max(options.window, 1) if options.smooth else 1))
        if options.keyframes:
            warm = min(warm, replay_start(options.keyframes, resume, options.keyframe_reach))
        return cls(resume, warm, stop)

    @classmethod
    def from_segments(cls, segments: Sequence[dict[str, Any]], options: VideoOptions) -> ResumePlan:
        """The plan for a work dir holding ``segments`` (contiguous from the first)."""
        return cls.starting_at(sum(int(s["frames"]) for s in segments), options)

    def emits(self, index: int) -> bool:
        """Whether frame ``index`` is encoded by this run (else it is only replayed)."""
        return index >= self.resume


class _Decode:
    """Source stage: the film's frames from ``plan.warm`` on (up to ``plan.stop``), as RGB."""

    def __init__(self, src: Source, plan: ResumePlan, warn: Callable[[str], None]) -> None:
        self.src, self.plan, self.warn = src, plan, warn
        self.decoded = 0  # frames decoded, converted or not

    def items(self) -> Iterator[Decoded]:
        frames = decode_frames(self.src, first_rgb=self.plan.warm, warn=self.warn)
        try:
            for d in frames:
                if self.plan.stop is not None and d.index >= self.plan.stop:
                    break
                self.decoded = d.index + 1
                if d.rgb is not None:
                    yield d
        finally:
            frames.close()


class _Infer:
    """Batches frames through the first half of the pipeline with the per-film frame filter;
    passes on (frame, L, raw map, cut?, keyframe ab filter) for the frames this run encodes.
    Every frame, replayed or not, goes through the keyframe propagator in order."""

    def __init__(self, pipeline: Pipeline, options: VideoOptions, plan: ResumePlan,
                 lookahead: Callable[[int, int], Iterable[np.ndarray]] | None = None) -> None:
        self.pipeline, self.plan = pipeline, plan
        self.filter = TemporalFilter(options.smooth, options.window, options.decay, options.scene_detect,
                                     options.scene_threshold)
        self.keyframes = (KeyframePropagator(options.keyframes, pipeline.prepare, lookahead, options.keyframe_reach,
                                             scene_threshold=options.scene_threshold if options.scene_detect else None)
                          if options.keyframes else None)
        self.batch = max(1, pipeline.engine.batch_size)
        self.pending: list[Decoded] = []

    def feed(self, d: Decoded) -> Iterator[tuple[Decoded, np.ndarray, np.ndarray, bool, AbFilter | None]]:
        self.pending.append(d)
        if len(self.pending) >= self.batch:
            yield from self.close()

    def close(self) -> Iterator[tuple[Decoded, np.ndarray, np.ndarray, bool, AbFilter | None]]:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        Ls = [luminance(d.rgb) for d in batch]  # type: ignore[arg-type]
        raws = self.pipeline.raw_maps(Ls, self.filter, [self.plan.emits(d.index) for d in batch])
        for d, L, raw, cut in zip(batch, Ls, raws, self.filter.take_cuts()):
            emit = self.plan.emits(d.index)
            steer = self.keyframes.push(d.index, L, cut, emit) if self.keyframes is not None else None
            if not emit:
                continue
            d.rgb = None  # the full-resolution RGB is no longer needed: L carries the picture
            yield d, L, raw, cut, steer  # type: ignore[misc]


class _Finish:
    """The second half of the pipeline, then RGB → the encoder's pixel format; stateless."""

    def __init__(self, pipeline: Pipeline, settings: EncoderSettings, ab_filter: AbFilter | None,
                 first: AbFilter | None = None) -> None:
        self.pipeline, self.settings, self.ab_filter, self.first = pipeline, settings, ab_filter, first

    def feed(self, item: tuple[Decoded, np.ndarray, np.ndarray, bool, AbFilter | None]
             ) -> Iterator[tuple[Decoded, Any, bool]]:
        d, L, raw, cut, steer = item
        # references under keyframes (a keyframe is this very frame's colour), the caller's filter last
        steer = chain_ab_filters(self.first, steer)
        rgb = self.pipeline.finish(L, raw, ab_filter=chain_ab_filters(steer, self.ab_filter), dtype=np.uint8)
        yield d, to_video_frame(rgb, self.settings), cut

    def close(self) -> Iterator[Any]:
        return iter(())


class _Encode:
    """Sink stage: frames into segments."""

    def __init__(self, writer: SegmentWriter, on_progress: Callable[[int], None] | None) -> None:
        self.writer, self.on_progress = writer, on_progress
        self.encoded = 0

    def feed(self, item: tuple[Decoded, Any, bool]) -> Iterator[Any]:
        d, frame, cut = item
        self.writer.add(d.index, d.pts, d.duration, frame, cut)
        self.encoded += 1
        if self.on_progress is not None:
            self.on_progress(1)
        return iter(())

    def close(self) -> Iterator[Any]:
        self.writer.close_segment()
        return iter(())


def _pump(workers: _Workers, stage: Any, inbox: queue.Queue, outbox: queue.Queue | None) -> None:
    """Run ``stage`` on every item of ``inbox`` until the end marker, passing results on."""
    while True:
        item = workers.get(inbox)
        outs = stage.close() if item is _END else stage.feed(item)
        for out in outs:
            if outbox is not None:
                workers.put(outbox, out)
        if item is _END:
            break
    if outbox is not None:
        workers.put(outbox, _END)


def _stream(src: Source, pipeline: Pipeline, options: VideoOptions, settings: EncoderSettings, work: WorkDir,
            segment_frames: int, plan: ResumePlan, on_progress: Callable[[int], None] | None,
            warn: Callable[[str], None], ab_filter: AbFilter | None = None) -> _Run:
    """Colourise frames ``plan.resume`` onwards into segments: decoding, finishing and encoding
    each in a thread, inference in this one. Returns the counts when the film ends."""
    def lookahead(a: int, b: int) -> Iterator[np.ndarray]:
        """Frames a..b decoded again, as L (for keyframes carried backward)."""
        frames = decode_frames(src, first_rgb=a, warn=lambda _m: None)
        try:
            for d in frames:
                if d.index > b:
                    break
                if d.rgb is not None:
                    yield luminance(d.rgb)
        finally:
            frames.close()

    decode, infer = _Decode(src, plan, warn), _Infer(pipeline, options, plan, lookahead)
    from colorize_cli.reference import shared_reference_filter

    finish = _Finish(pipeline, settings, ab_filter, shared_reference_filter(options.references, options.max_pixels))
    writer = SegmentWriter(work, settings, segment_frames)
    encode = _Encode(writer, on_progress)
    qsize = options.queue_frames or max(4, 2 * infer.batch)
    decoded: queue.Queue = queue.Queue(qsize)
    to_finish: queue.Queue = queue.Queue(qsize)
    to_encode: queue.Queue = queue.Queue(qsize)
    workers = _Workers()

    def decoder() -> None:
        for d in decode.items():
            workers.put(decoded, d)
        workers.put(decoded, _END)

    def encoder() -> None:
        try:
            _pump(workers, encode, to_encode, None)
        except BaseException:
            writer.abort()
            raise

    workers.spawn("decode", decoder)
    workers.spawn("post", _pump, workers, finish, to_finish, to_encode)
    workers.spawn("encode", encoder)
    try:
        _pump(workers, infer, decoded, to_finish)
        while any(t.is_alive() for t in workers.threads):
            workers.join(0.2)
            if workers.errors:
                break
        workers.raise_first()
    except _Stop:
        workers.join()
        workers.raise_first()
        raise
    except BaseException:
        workers.stop.set()
        workers.join()
        writer.abort()
        raise
    return _Run(frames_total=max(decode.decoded, plan.resume), frames_done=encode.encoded)


def _identity(src: Source, pipeline: Pipeline, options: VideoOptions, settings: EncoderSettings,
              segment_frames: int, ab_filter: AbFilter | None = None) -> dict[str, Any]:
    """Everything the segments depend on: a resume with any of it changed would splice two
    different colourisations together."""
    info = pipeline.info
    try:
        st = Path(info.path).stat()
        model_file = {"path": str(Path(info.path).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    except OSError:
        model_file = {"path": str(info.path)}
    ident = {
        "source": src.identity(),
        "model": {"name": info.name, "version": info.version, **model_file},
        "pipeline": {"render_size": pipeline.render_size, "temperature": pipeline.temperature, "jbu": pipeline.jbu,
                     "sigma_s": pipeline.sigma_s, "sigma_r": pipeline.sigma_r},
        "kernel": {"smooth": options.smooth, "window": options.window if options.smooth else None,
                   "decay": options.decay if options.smooth else None, "scene_detect": options.scene_detect,
                   "scene_threshold": options.scene_threshold if options.scene_detect else None},
        "encoder": settings.to_json(),
        "segment_frames": segment_frames,
    }
    if options.keyframes:  # only named when given, so manifests without them are unchanged
        ident["keyframes"] = _keyframes_identity(options)
    if options.references:  # their content, so a resume with another reference starts afresh
        from colorize_cli.reference import reference_identity

        ident["references"] = reference_identity(options.references)
    if ab_filter is not None:  # only named when given, so manifests without one are unchanged
        ident["ab_filter"] = getattr(ab_filter, "identity", None) or getattr(ab_filter, "__qualname__",
                                                                             type(ab_filter).__qualname__)
    return ident


def _keyframes_identity(options: VideoOptions) -> dict[str, Any]:
    files = {}
    for i, p in sorted((options.keyframes or {}).items()):
        try:
            st = Path(p).stat()
            files[str(i)] = [str(Path(p).resolve()), st.st_size, st.st_mtime_ns]
        except (OSError, TypeError):  # an array given through the library: no file to name
            files[str(i)] = [str(type(p).__name__)]
    return {"files": files, "reach": options.keyframe_reach}


def colorize_video(src: str | Path, dst: str | Path, pipeline: Pipeline, options: VideoOptions | None = None,
                   on_progress: Callable[[int], None] | None = None, on_total: Callable[[int | None], None] | None = None,
                   warn: Callable[[str], None] | None = None, ab_filter: AbFilter | None = None) -> VideoReport:
    """Colourise one film into ``dst``; never raises for a bad input (the report says why).
    ``ab_filter`` is the pipeline's ab hook (see :mod:`colorize_cli.pipeline`).

    Raises :class:`ParameterError` for problems with the options (an unknown codec, a
    container that cannot hold it), :class:`~colorize_cli.errors.ModelError` when the model
    fails, and :class:`Interrupted` on Ctrl-C, after tidying up."""
    options = options or VideoOptions()
    src, dst = Path(src), Path(dst)
    t0 = time.perf_counter()
    report = VideoReport(input=str(src), output=str(dst), status="ok")

    def note(msg: str) -> None:
        if msg not in report.warnings:
            report.warnings.append(msg)
            if warn is not None:
                warn(msg)

    try:
        source = _check_film(src, dst, options)
        if source is None:
            report.status = "skipped"
            return report
        if on_total is not None:
            on_total(source.frames_estimate)
        settings, notes = _film_settings(source, dst, options)
    except InputError as err:
        report.status, report.error = "error", err.reason
        report.seconds = time.perf_counter() - t0
        return report
    for n in notes:
        note(n)
    segment_frames = max(1, int(round(options.segment_seconds * float(source.rate))))
    work = WorkDir(dst)
    for n in work.start(_identity(source, pipeline, options, settings, segment_frames, ab_filter)):
        note(n)
    segments = work.segments()
    plan = ResumePlan.from_segments(segments, options)
    report.resumed_from = plan.resume
    done = work.done()
    run = _Run(frames_total=plan.resume, frames_done=0)
    t_run = time.perf_counter()
    if done is None:
        if plan.resume and on_progress is not None:
            on_progress(plan.resume)
        try:
            run = _stream(source, pipeline, options, settings, work, segment_frames, plan, on_progress, note,
                          ab_filter)
        except KeyboardInterrupt:
            kept = sum(int(s["frames"]) for s in work.segments())
            raise Interrupted(src, work.path, kept) from None
        except (InputError, NonFiniteOutput) as err:  # the file went away mid-run, or the model gave NaN
            if isinstance(err, NonFiniteOutput):
                work.remove()  # a rerun would give NaN again: nothing is kept to resume
            report.status, report.error = "error", err.reason
            report.seconds = time.perf_counter() - t0
            return report
        segments = work.segments()
        total = sum(int(s["frames"]) for s in segments)
        if total != run.frames_total:
            raise ColorizeError(f"{src}: {run.frames_total} frames decoded but {total} encoded; "
                                f"delete {work.path} and run again")
        work.mark_done({"frames": total})
    run_seconds = time.perf_counter() - t_run
    try:
        joined = join(work, segments, source, dst, settings, note)
    except KeyboardInterrupt:
        raise Interrupted(src, work.path, sum(int(s["frames"]) for s in segments)) from None
    work.remove()
    report.frames = sum(int(s["frames"]) for s in segments)
    report.scene_cuts = sum(len(s.get("cuts", [])) for s in segments)
    report.streams_copied, report.streams_reencoded = joined.copied, joined.reencoded
    report.streams_dropped = joined.dropped
    report.seconds = time.perf_counter() - t0
    report.fps = run.frames_done / run_seconds if run_seconds > 0 and run.frames_done else 0.0
    if report.frames == 0:
        report.status, report.error = "error", "no frame could be decoded"
    return report


def _film_codec(dst: Path, options: VideoOptions) -> tuple[str, str]:
    """(container format, codec) of the output; ParameterError when they cannot go together."""
    fmt = output_format(dst)
    codec = pick_codec(fmt, options.codec)
    check_crf(codec, options.crf)
    _check_container(dst, fmt, codec)
    return fmt, codec


def _check_film(src: Path, dst: Path, options: VideoOptions) -> Source | None:
    """The probed source, or None when the output is finished already (skip it).
    ParameterError for options the output cannot take, InputError for this film's problems."""
    _film_codec(dst, options)
    if same_file(src, dst):
        raise InputError(src, "the output would overwrite this input; choose another output")
    if os.path.lexists(dst) and not options.overwrite:
        if made_here(dst) is False:
            raise InputError(src, f"{dst} exists and was not made by colorize; overwrite=True replaces it")
        return None
    return probe(src, options.max_pixels)


def _film_settings(source: Source, dst: Path, options: VideoOptions) -> tuple[EncoderSettings, list[str]]:
    """The encoder settings for this film into ``dst``, and notes about them."""
    fmt, codec = _film_codec(dst, options)
    return encoder_settings(source, codec, options.crf, options.preset, fmt)


def _check_container(dst: Path, fmt: str, codec: str) -> None:
    if not container_accepts(fmt, codec):
        raise ParameterError("codec", f"{codec}: a .{dst.suffix.lstrip('.')} file ({dst}) cannot hold it; "
                             "choose another codec or output extension (.mkv takes them all)")


@dataclass(frozen=True)
class VideoJob:
    """One film and its output file."""

    src: Path
    dst: Path


def plan_jobs(inputs: Sequence[str], output: str | Path, codec: str | None, stdin: TextIO | None = None
              ) -> tuple[list[VideoJob], list[tuple[str, str]]]:
    """(src, dst) pairs for ``colorize video INPUTS -o OUTPUT``, and (path, reason) for inputs
    that do not exist.

    ``output`` as :func:`~colorize_cli.inputs.output_target` says (pass the string as typed: a
    trailing ``/`` means a folder): for one film, a file whose extension picks the container
    (which must take the codec: :class:`ParameterError` otherwise); else a folder mirroring
    the input tree (see :func:`video_output_path`)."""
    target, is_file = output_target(inputs, output, lambda _path: True)
    if is_file:
        fmt = output_format(target)
        _check_container(target, fmt, pick_codec(fmt, codec))
        return [VideoJob(Path(inputs[0]), target)], []
    found = discover(inputs, stdin=stdin, exclude=output_exclusions(inputs, [target]), extensions=VIDEO_EXTENSIONS)
    return [VideoJob(j.src, video_output_path(j.rel, target, codec)) for j in found.jobs], found.errors


def colorize_videos(jobs: Sequence[VideoJob], pipeline: Pipeline, options: VideoOptions,
                    on_report: Callable[[VideoReport], None],
                    on_start: Callable[[VideoJob, int | None], None] | None = None,
                    on_progress: Callable[[int], None] | None = None,
                    warn: Callable[[VideoJob, str], None] | None = None,
                    ab_filter: AbFilter | None = None) -> list[VideoReport]:
    """Every film in turn; one film's failure is its report and the others go on. Model
    failures (:class:`~colorize_cli.errors.ModelError`) and :class:`Interrupted` propagate."""
    reports = []
    for job in jobs:
        t0 = time.perf_counter()
        try:
            rep = colorize_video(job.src, job.dst, pipeline, options, on_progress=on_progress,
                                 on_total=(lambda n, job=job: on_start(job, n)) if on_start else None,
                                 warn=(lambda m, job=job: warn(job, m)) if warn else None, ab_filter=ab_filter)
        except (ModelError, KeyboardInterrupt):
            raise
        except (ColorizeError, OSError, av.error.FFmpegError, ValueError) as exc:
            reason = str(exc)
            if isinstance(exc, OSError) and exc.strerror:
                reason = f"{exc.strerror} ({exc.filename})" if exc.filename else exc.strerror
            rep = VideoReport(input=str(job.src), output=str(job.dst), status="error",
                              seconds=time.perf_counter() - t0, error=reason)
        reports.append(rep)
        on_report(rep)
    return reports
