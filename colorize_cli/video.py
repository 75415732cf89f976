"""Colourising films: a streaming pipeline with the temporal kernel, resumable, faithful.

Four threads joined by small bounded queues, so decoding and encoding overlap inference and
memory stays flat whatever the length of the film::

    decode (PyAV) ──▶ L, scene cut, batched inference, temporal kernel ──▶
        bins-to-ab, JBU, merge with the frame's own L, RGB → YUV ──▶ encode into segments

then the segments are joined, without re-encoding, with the source's audio, subtitles and
metadata (:mod:`colorize_cli.videoio`). No frame ever goes to disk as an image.

**Temporal kernel** (``--smooth``): :class:`~colorize_cli.temporal.TemporalKernel` on the raw
model maps (bin probabilities for ``bins`` models, ab for ``ab`` models) before they are
decoded to ab, restarted at every scene cut found by :class:`~colorize_cli.scenes.SceneDetector`
on the L channel (also run without ``--smooth``, to report cuts, unless ``--no-scene-detect``).

**Keyframes** (``--keyframes DIR``): hand-coloured frames carried through their shot by
optical flow (:mod:`colorize_cli.keyframes`), blended over the model's prediction through the
pipeline's ``ab_filter`` hook, after the kernel. Keyframes after the first frame are carried
backward from a second decode of the frames before them, so memory stays bounded.

**Resume.** The film is encoded in segments of about ``segment_seconds`` in
``<output>.partial/`` (see :class:`~colorize_cli.videoio.WorkDir`). A rerun of the same
command keeps the finished segments and restarts at the first missing one. To keep the
kernel exact across the restart, the frames just before it are decoded again and *replayed*
through scene detection and the model (up to ``--window`` frames, or one frame without
``--smooth``, for the scene detector's reference) without being encoded again: the kernel
state at the restart is then what it was in the first run, and nothing about it needs to be
stored. Decoding up to the restart point costs decode time only (frames before it are not
even converted to RGB).

Public API::

    VideoOptions(smooth=False, window=20, decay=0.2, scene_detect=True, scene_threshold=0.5,
                 codec="libx264", crf=None, preset=None, max_pixels=100_000_000,
                 segment_seconds=10.0, overwrite=False, keyframes=None, keyframe_reach=300)
    VideoOptions.check()              # ValueError naming the bad option
    plan_jobs(inputs, output, codec, stdin=None) -> ([VideoJob(src, dst)], [(path, reason)])
    colorize_video(src, dst, pipeline, options, on_progress=None, on_total=None, warn=None) -> VideoReport
    colorize_videos(jobs, pipeline, options, on_report, on_start=None, on_progress=None, warn=None)
    Interrupted                       # KeyboardInterrupt with .work_dir and .frames_kept
    FrameColorizer(pipeline, smooth, window, decay, scene_detect, scene_threshold, keyframes=None, lookahead=None)
    iter_colorize_frames(frames, pipeline, smooth=False, ..., keyframes=None) -> Iterator[rgb]   # lazily
    colorize_frames(frames, pipeline, smooth=False, ...) -> list[rgb]
    video_output_path(src_rel, out_dir, codec) -> Path
    terminate_as_interrupt()          # context manager: SIGTERM behaves like Ctrl-C
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

import av
import numpy as np

from colorize_cli.errors import ColorizeError, InputError, ModelError
from colorize_cli.inputs import discover
from colorize_cli.lab import from_float, image_to_L, merge
from colorize_cli.keyframes import DEFAULT_REACH as KEYFRAME_REACH
from colorize_cli.keyframes import KeyframePropagator
from colorize_cli.pipeline import AbFilter, Pipeline
from colorize_cli.scenes import DEFAULT_THRESHOLD, SceneDetector
from colorize_cli.temporal import DEFAULT_DECAY, DEFAULT_WINDOW, TemporalKernel
from colorize_cli.videoio import (VIDEO_EXTENSIONS, Decoded, EncoderSettings, SegmentWriter, Source, WorkDir,
                                  container_accepts, decode_frames, encoder_settings, join, output_format, probe,
                                  resolve_codec, to_video_frame)

__all__ = ["FrameColorizer", "Interrupted", "VIDEO_EXTENSIONS", "VideoJob", "VideoOptions", "VideoReport",
           "colorize_frames", "colorize_video", "colorize_videos", "iter_colorize_frames", "plan_jobs",
           "terminate_as_interrupt", "video_output_path"]

DEFAULT_MAX_PIXELS = 100_000_000


# ------------------------------------------------------------------------ frames in, frames out


class FrameColorizer:
    """The per-film state: scene detector and temporal kernel; frames must come in order.

    :meth:`raw_maps` is the sequential part (cut detection, batched inference, kernel);
    :meth:`finish` turns one (smoothed) raw map into RGB and holds no state, so another
    thread may run it."""

    def __init__(self, pipeline: Pipeline, smooth: bool = False, window: int = DEFAULT_WINDOW,
                 decay: float = DEFAULT_DECAY, scene_detect: bool = True,
                 scene_threshold: float = DEFAULT_THRESHOLD, keyframes: Mapping[int, Any] | None = None,
                 lookahead: Callable[[int, int], Iterable[np.ndarray]] | None = None,
                 keyframe_reach: int = KEYFRAME_REACH) -> None:
        self.pipeline = pipeline
        self.kernel = TemporalKernel(window, decay) if smooth else None
        self.detector = SceneDetector(scene_threshold) if scene_detect else None
        self.keyframes = (KeyframePropagator(keyframes, pipeline.prepare, lookahead, keyframe_reach,
                                             scene_threshold=scene_threshold if scene_detect else None)
                          if keyframes else None)

    def steer(self, index: int, L: np.ndarray, cut: bool, emit: bool = True) -> AbFilter | None:
        """The keyframes' ab_filter for frame ``index``; every frame must pass here in order
        (``emit=False`` for frames replayed before a resume point)."""
        return self.keyframes.push(index, L, cut, emit) if self.keyframes is not None else None

    def raw_maps(self, Ls: Sequence[np.ndarray], emit: Sequence[bool] | None = None
                 ) -> list[tuple[bool, np.ndarray | None]]:
        """For each L (in film order): (starts a new shot?, the raw map to decode, or None
        where ``emit`` is False). Frames not emitted still feed the detector and the kernel."""
        emit = [True] * len(Ls) if emit is None else list(emit)
        need = [e or self.kernel is not None for e in emit]
        todo = [i for i, n in enumerate(need) if n]
        raws: list[np.ndarray | None] = [None] * len(Ls)
        if todo:
            got = self.pipeline.infer([self.pipeline.prepare(Ls[i]) for i in todo])
            for i, raw in zip(todo, got):
                raws[i] = raw
        out: list[tuple[bool, np.ndarray | None]] = []
        for L, raw, e in zip(Ls, raws, emit):
            cut = self.detector.is_cut(L) if self.detector is not None else False
            if self.kernel is not None:
                if cut:
                    self.kernel.reset()
                raw = self.kernel.push(raw)  # type: ignore[arg-type]
            out.append((cut, raw if e else None))
        return out

    def finish(self, L: np.ndarray, raw: np.ndarray, ab_filter: AbFilter | None = None) -> np.ndarray:
        """RGB float32 in [0, 1]: the frame's own full-resolution L with the predicted colour."""
        p = self.pipeline
        ab = p.to_ab(raw)
        if ab_filter is not None:
            ab = p.filter_ab(ab, p.prepare(L), L.shape[:2], ab_filter)
        return merge(L, p.upsample(ab, L))


def _to_dtype(rgb: np.ndarray, like: np.ndarray) -> np.ndarray:
    return rgb if like.dtype.kind == "f" else from_float(rgb, like.dtype)


def iter_colorize_frames(frames: Iterable[np.ndarray], pipeline: Pipeline, smooth: bool = False,
                         window: int = DEFAULT_WINDOW, decay: float = DEFAULT_DECAY, scene_detect: bool = True,
                         scene_threshold: float = DEFAULT_THRESHOLD, batch_size: int | None = None,
                         keyframes: Mapping[int, Any] | None = None, keyframe_reach: int = KEYFRAME_REACH
                         ) -> Iterator[np.ndarray]:
    """Colourise a clip given as frames (RGB or gray, uint8/uint16/float in [0, 1]), lazily,
    exactly as ``colorize video`` does: only each frame's L is used, the kernel and scene
    detection run as in the command. ``keyframes`` maps frame indices to colour pictures (or
    image files) carried through their shots; with any after frame 0 an iterator of frames is
    read into a list (they are read again). Yields RGB in the input's dtype (float32 for float)."""
    lookahead = None
    if keyframes and any(int(k) > 0 for k in keyframes):
        frames = frames if isinstance(frames, Sequence) else list(frames)
        lookahead = lambda a, b: (image_to_L(np.asarray(f)) for f in frames[a:b + 1])  # noqa: E731
    core = FrameColorizer(pipeline, smooth, window, decay, scene_detect, scene_threshold, keyframes, lookahead,
                          keyframe_reach)
    bs = max(1, batch_size or pipeline.engine.batch_size)
    buf: list[np.ndarray] = []
    like: list[np.ndarray] = []
    count = [0]

    def flush() -> Iterator[np.ndarray]:
        for L, f, (cut, raw) in zip(buf, like, core.raw_maps(buf)):
            steer = core.steer(count[0], L, cut)
            count[0] += 1
            yield _to_dtype(core.finish(L, raw, steer), f)  # type: ignore[arg-type]
        buf.clear()
        like.clear()

    for frame in frames:
        frame = np.asarray(frame)
        buf.append(image_to_L(frame))
        like.append(frame[:1, :1])
        if len(buf) >= bs:
            yield from flush()
    if buf:
        yield from flush()


def colorize_frames(frames: Iterable[np.ndarray], pipeline: Pipeline, smooth: bool = False,
                    window: int = DEFAULT_WINDOW, decay: float = DEFAULT_DECAY, scene_detect: bool = True,
                    scene_threshold: float = DEFAULT_THRESHOLD, batch_size: int | None = None,
                    keyframes: Mapping[int, Any] | None = None) -> list[np.ndarray]:
    """:func:`iter_colorize_frames` as a list (for short clips held in memory)."""
    return list(iter_colorize_frames(frames, pipeline, smooth, window, decay, scene_detect, scene_threshold,
                                     batch_size, keyframes))


# ------------------------------------------------------------------------ films


@dataclass
class VideoOptions:
    smooth: bool = False
    window: int = DEFAULT_WINDOW
    decay: float = DEFAULT_DECAY
    scene_detect: bool = True
    scene_threshold: float = DEFAULT_THRESHOLD
    codec: str = "libx264"
    crf: int | None = None
    preset: str | None = None
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    segment_seconds: float = 10.0
    overwrite: bool = False
    queue_frames: int | None = None  # per queue; default 2 × batch size, at least 4
    keyframes: dict[int, Path] | None = None  # frame index -> hand-coloured picture
    keyframe_reach: int = KEYFRAME_REACH

    def check(self) -> None:
        """ValueError with the option's name for values the run would choke on later."""
        TemporalKernel(self.window, self.decay)
        SceneDetector(self.scene_threshold)
        if not self.segment_seconds > 0:
            raise ValueError(f"--segment-seconds must be > 0, got {self.segment_seconds}")
        if self.keyframe_reach < 1:
            raise ValueError(f"--keyframe-reach must be >= 1, got {self.keyframe_reach}")
        if self.crf is not None and self.crf < 0:
            raise ValueError(f"--crf must be >= 0, got {self.crf}")
        resolve_codec(self.codec)


@dataclass
class VideoReport:
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
        return asdict(self)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM under :func:`terminate_as_interrupt`) during a film: what was kept."""

    def __init__(self, src: Path, work_dir: Path, frames_kept: int) -> None:
        super().__init__(f"{src}: interrupted; {frames_kept} frames kept in {work_dir}")
        self.src, self.work_dir, self.frames_kept = src, work_dir, frames_kept


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


def video_output_path(rel: Path, out_dir: Path, codec: str) -> Path:
    """Where a film found at ``rel`` (relative to its input folder) goes: the same name, or
    ``.mkv`` when its container cannot hold ``codec`` (a .webm cannot hold H.264, say)."""
    dst = out_dir / rel
    try:
        if container_accepts(output_format(dst), codec):
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
    cuts: list[int]


def _stream(src: Source, pipeline: Pipeline, options: VideoOptions, settings: EncoderSettings, work: WorkDir,
            segment_frames: int, resume: int, on_progress: Callable[[int], None] | None,
            warn: Callable[[str], None]) -> _Run:
    """Colourise frames ``resume`` onwards into segments; returns counts when the film ends."""
    def lookahead(a: int, b: int) -> Iterator[np.ndarray]:
        """Frames a..b decoded again (for keyframes carried backward)."""
        frames = decode_frames(src, first_rgb=a, warn=lambda _m: None)
        try:
            for d in frames:
                if d.index > b:
                    break
                if d.rgb is not None:
                    yield image_to_L(d.rgb)
        finally:
            frames.close()

    core = FrameColorizer(pipeline, options.smooth, options.window, options.decay, options.scene_detect,
                          options.scene_threshold, options.keyframes, lookahead, options.keyframe_reach)
    batch = max(1, pipeline.engine.batch_size)
    qsize = options.queue_frames or max(4, 2 * batch)
    decoded: queue.Queue = queue.Queue(qsize)
    to_post: queue.Queue = queue.Queue(qsize)
    to_encode: queue.Queue = queue.Queue(qsize)
    writer = SegmentWriter(work, settings, segment_frames)
    workers = _Workers()
    # Replay before the restart point: the kernel's window, or one frame as the detector's reference.
    warm = max(0, resume - (max(options.window, 1) if options.smooth else 1))
    if core.keyframes is not None:  # and the keyframe carry, from the keyframe it started at
        warm = min(warm, core.keyframes.replay_from(resume))
    counts = {"decoded": 0, "encoded": 0}
    new_cuts: list[int] = []

    def decoder() -> None:
        frames = decode_frames(src, first_rgb=warm, warn=warn)
        try:
            for d in frames:
                counts["decoded"] = d.index + 1
                if d.rgb is not None:
                    workers.put(decoded, d)
        finally:
            frames.close()
        workers.put(decoded, _END)

    def post() -> None:
        while True:
            item = workers.get(to_post)
            if item is _END:
                break
            d, L, raw, cut, steer = item
            rgb = from_float(core.finish(L, raw, steer), np.uint8)
            workers.put(to_encode, (d, to_video_frame(rgb, settings), cut))
        workers.put(to_encode, _END)

    def encoder() -> None:
        try:
            while True:
                item = workers.get(to_encode)
                if item is _END:
                    writer.close_segment()
                    break
                d, frame, cut = item
                writer.add(d.index, d.pts, d.duration, frame, cut)
                counts["encoded"] += 1
                if on_progress is not None:
                    on_progress(1)
        except BaseException:
            writer.abort()
            raise

    workers.spawn("decode", decoder)
    workers.spawn("post", post)
    workers.spawn("encode", encoder)
    try:
        pending: list[Decoded] = []

        def run_batch() -> None:
            Ls = [image_to_L(d.rgb) for d in pending]  # type: ignore[arg-type]
            results = core.raw_maps(Ls, [d.index >= resume for d in pending])
            for d, L, (cut, raw) in zip(pending, Ls, results):
                steer = core.steer(d.index, L, cut, emit=d.index >= resume)
                if d.index < resume:
                    continue
                if cut:
                    new_cuts.append(d.index)
                d.rgb = None  # the full-resolution RGB is no longer needed: L carries the picture
                workers.put(to_post, (d, L, raw, cut, steer))
            pending.clear()

        while True:
            item = workers.get(decoded)
            if item is _END:
                break
            pending.append(item)
            if len(pending) >= batch:
                run_batch()
        if pending:
            run_batch()
        workers.put(to_post, _END)
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
    return _Run(frames_total=max(counts["decoded"], resume), frames_done=counts["encoded"], cuts=new_cuts)


def _identity(src: Source, pipeline: Pipeline, options: VideoOptions, settings: EncoderSettings,
              segment_frames: int) -> dict[str, Any]:
    """Everything the segments depend on: a resume with any of it changed would splice two
    different colourisations together."""
    info = pipeline.info
    try:
        st = Path(info.path).stat()
        model_file = {"path": str(Path(info.path).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    except OSError:
        model_file = {"path": str(info.path)}
    return {
        "source": src.identity(),
        "model": {"name": info.name, "version": info.version, **model_file},
        "pipeline": {"render_size": pipeline.render_size, "temperature": pipeline.temperature, "jbu": pipeline.jbu,
                     "sigma_s": pipeline.sigma_s, "sigma_r": pipeline.sigma_r},
        "kernel": {"smooth": options.smooth, "window": options.window if options.smooth else None,
                   "decay": options.decay if options.smooth else None, "scene_detect": options.scene_detect,
                   "scene_threshold": options.scene_threshold if options.scene_detect else None},
        "keyframes": _keyframes_identity(options),
        "encoder": settings.to_json(),
        "segment_frames": segment_frames,
    }


def _keyframes_identity(options: VideoOptions) -> dict[str, Any] | None:
    if not options.keyframes:
        return None
    files = {}
    for i, p in sorted(options.keyframes.items()):
        try:
            st = Path(p).stat()
            files[str(i)] = [str(Path(p).resolve()), st.st_size, st.st_mtime_ns]
        except OSError:
            files[str(i)] = [str(p)]
    return {"files": files, "reach": options.keyframe_reach}


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def colorize_video(src: str | Path, dst: str | Path, pipeline: Pipeline, options: VideoOptions | None = None,
                   on_progress: Callable[[int], None] | None = None, on_total: Callable[[int | None], None] | None = None,
                   warn: Callable[[str], None] | None = None) -> VideoReport:
    """Colourise one film into ``dst``; never raises for a bad input (the report says why).

    Raises :class:`ColorizeError` for problems with the options (an unknown codec, a
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

    codec = resolve_codec(options.codec)
    fmt = output_format(dst)
    if not container_accepts(fmt, codec):
        raise ColorizeError(f"{dst}: a .{dst.suffix.lstrip('.')} file cannot hold {codec} video; "
                            "choose another --codec or output extension (.mkv takes them all)")
    try:
        if _same_file(src, dst):
            raise InputError(src, "the output would overwrite this input; choose another -o")
        if dst.exists() and not options.overwrite:
            report.status = "skipped"
            return report
        source = probe(src, options.max_pixels)
        if on_total is not None:
            on_total(source.frames_estimate)
        settings, notes = encoder_settings(source, codec, options.crf, options.preset, fmt)
    except InputError as err:
        report.status, report.error = "error", err.reason
        report.seconds = time.perf_counter() - t0
        return report
    for n in notes:
        note(n)
    segment_frames = max(1, int(round(options.segment_seconds * float(source.rate))))
    work = WorkDir(dst)
    for n in work.start(_identity(source, pipeline, options, settings, segment_frames)):
        note(n)
    segments = work.segments()
    resume = sum(int(s["frames"]) for s in segments)
    report.resumed_from = resume
    done = work.done()
    run = _Run(frames_total=resume, frames_done=0, cuts=[])
    t_run = time.perf_counter()
    if done is None:
        if resume and on_progress is not None:
            on_progress(resume)
        try:
            run = _stream(source, pipeline, options, settings, work, segment_frames, resume, on_progress, note)
        except KeyboardInterrupt:
            kept = sum(int(s["frames"]) for s in work.segments())
            raise Interrupted(src, work.path, kept) from None
        except InputError as err:  # the file went away or became unreadable mid-run
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



@dataclass(frozen=True)
class VideoJob:
    src: Path
    dst: Path


def plan_jobs(inputs: Sequence[str], output: Path, codec: str, stdin: TextIO | None = None
              ) -> tuple[list[VideoJob], list[tuple[str, str]]]:
    """(src, dst) pairs for ``colorize video INPUTS -o OUTPUT``, and (path, reason) for inputs
    that do not exist.

    One existing file in and ``-o`` not a folder: ``-o`` is the output file (its extension
    picks the container, which must take ``codec``: :class:`ColorizeError` otherwise).
    Otherwise ``-o`` is a folder mirroring the input tree (see :func:`video_output_path`)."""
    codec = resolve_codec(codec)
    output = Path(output)
    if (len(inputs) == 1 and inputs[0] != "-" and Path(inputs[0]).is_file() and not output.is_dir()
            and not str(output).endswith((os.sep, "/"))):
        fmt = output_format(output)
        if not container_accepts(fmt, codec):
            raise ColorizeError(f"{output}: a .{output.suffix.lstrip('.')} file cannot hold {codec} video; "
                                "choose another --codec or output extension (.mkv takes them all)")
        return [VideoJob(Path(inputs[0]), output)], []
    # An output folder inside an input folder is not read back as input; one that *is* an
    # input folder still lets us reach the inputs (and refuse to overwrite them).
    same = any(Path(a).is_dir() and Path(a).resolve() == output.resolve() for a in inputs)
    found = discover(inputs, stdin=stdin, exclude=[] if same else [output], extensions=VIDEO_EXTENSIONS)
    return [VideoJob(j.src, video_output_path(j.rel, output, codec)) for j in found.jobs], found.errors


def colorize_videos(jobs: Sequence[VideoJob], pipeline: Pipeline, options: VideoOptions,
                    on_report: Callable[[VideoReport], None],
                    on_start: Callable[[VideoJob, int | None], None] | None = None,
                    on_progress: Callable[[int], None] | None = None,
                    warn: Callable[[VideoJob, str], None] | None = None) -> list[VideoReport]:
    """Every film in turn; one film's failure is its report and the others go on. Model
    failures (:class:`~colorize_cli.errors.ModelError`) and :class:`Interrupted` propagate."""
    reports = []
    for job in jobs:
        t0 = time.perf_counter()
        try:
            rep = colorize_video(job.src, job.dst, pipeline, options, on_progress=on_progress,
                                 on_total=(lambda n, job=job: on_start(job, n)) if on_start else None,
                                 warn=(lambda m, job=job: warn(job, m)) if warn else None)
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
