"""The film stream: four threads joined by small bounded queues, so decoding and encoding
overlap inference and memory stays flat whatever the length of the film::

    decode (PyAV) ──▶ L, scene cut, batched inference, temporal kernel ──▶
        bins-to-ab, upsampling, merge with the frame's own L (in strips), RGB → YUV ──▶
        encode into segments

No frame ever goes to disk as an image. Each thread runs one stage object (:class:`_Decode`,
:class:`_Infer`, :class:`_Finish`, :class:`_Encode`; the threads themselves are
:mod:`colorize_cli.film.threads`); the pipeline's stage order itself lives in
:class:`~colorize_cli.pipeline.Pipeline` (``raw_maps`` in ``_Infer``, ``finish`` in
``_Finish``), with :class:`~colorize_cli.frames.TemporalFilter` as its frame filter.

**Temporal kernel** (``--smooth``): :class:`~colorize_cli.temporal.TemporalKernel` on the raw
model maps (bin probabilities for ``bins`` models, ab for ``ab`` models) before they are
decoded to ab, restarted at every scene cut found by :class:`~colorize_cli.scenes.SceneDetector`
on the L channel (also run without ``--smooth``, to report cuts, unless ``--no-scene-detect``).

**Keyframes**: the inference stage feeds every frame, replayed or not, to the
:class:`~colorize_cli.steer.keyframes.KeyframePropagator` in order and hands the frame's blend
on as its ``ab_filter`` (after the caller's), so the pipeline's order is unchanged.

Public API::

    stream(src, pipeline, options, settings, work, segment_frames, plan, on_progress, warn,
           ab_filter=None) -> StreamCounts(frames_total, frames_done)
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from colorize_cli.frames import FrameSteps
from colorize_cli.fullres import luminance
from colorize_cli.pipeline import AbFilter, Pipeline
from colorize_cli.film.encode import (EncoderSettings, to_video_frame)
from colorize_cli.film.read import Decoded, Source, decode_frames
from colorize_cli.film.segments import SegmentWriter, WorkDir
from colorize_cli.film.options import VideoOptions
from colorize_cli.film.plan import ResumePlan
from colorize_cli.film.threads import END, Stopped, Workers, pump


@dataclass
class StreamCounts:
    frames_total: int
    frames_done: int

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
    """Batches frames through the first half of the clip's per-frame loop
    (:class:`~colorize_cli.frames.FrameSteps`); passes on (frame, L, raw map, cut?, keyframe
    blend) for the frames this run encodes. Every frame, replayed or not, goes through the
    frame filter and the keyframes in order."""

    def __init__(self, steps: FrameSteps, plan: ResumePlan, batch: int) -> None:
        self.steps, self.plan, self.batch = steps, plan, max(1, batch)
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
        emit = [self.plan.emits(d.index) for d in batch]
        for k, L, raw, cut, steer in self.steps.first_half([d.index for d in batch], Ls, emit):
            d = batch[k]
            d.rgb = None  # the full-resolution RGB is no longer needed: L carries the picture
            yield d, L, raw, cut, steer


class _Finish:
    """The second half of the per-frame loop, then RGB → the encoder's pixel format; stateless."""

    def __init__(self, steps: FrameSteps, settings: EncoderSettings) -> None:
        self.steps, self.settings = steps, settings

    def feed(self, item: tuple[Decoded, np.ndarray, np.ndarray, bool, AbFilter | None]
             ) -> Iterator[tuple[Decoded, Any, bool]]:
        d, L, raw, cut, steer = item
        yield d, to_video_frame(self.steps.second_half(L, raw, steer, dtype=np.uint8), self.settings), cut

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

def stream(src: Source, pipeline: Pipeline, options: VideoOptions, settings: EncoderSettings, work: WorkDir,
            segment_frames: int, plan: ResumePlan, on_progress: Callable[[int], None] | None,
            warn: Callable[[str], None], ab_filter: AbFilter | None = None) -> StreamCounts:
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

    steps = FrameSteps(pipeline, options.temporal, options.keyframes, lookahead, ab_filter)
    decode, infer = _Decode(src, plan, warn), _Infer(steps, plan, pipeline.engine.batch_size)
    finish = _Finish(steps, settings)
    writer = SegmentWriter(work, settings, segment_frames)
    encode = _Encode(writer, on_progress)
    qsize = options.queue_frames or max(4, 2 * infer.batch)
    decoded: queue.Queue = queue.Queue(qsize)
    to_finish: queue.Queue = queue.Queue(qsize)
    to_encode: queue.Queue = queue.Queue(qsize)
    workers = Workers()

    def decoder() -> None:
        for d in decode.items():
            workers.put(decoded, d)
        workers.put(decoded, END)

    def encoder() -> None:
        try:
            pump(workers, encode, to_encode, None)
        except BaseException:
            writer.abort()
            raise

    workers.spawn("decode", decoder)
    workers.spawn("post", pump, workers, finish, to_finish, to_encode)
    workers.spawn("encode", encoder)
    try:
        pump(workers, infer, decoded, to_finish)
        while any(t.is_alive() for t in workers.threads):
            workers.join(0.2)
            if workers.errors:
                break
        workers.raise_first()
    except Stopped:
        workers.join()
        workers.raise_first()
        raise
    except BaseException:
        workers.stop.set()
        workers.join()
        writer.abort()
        raise
    return StreamCounts(frames_total=max(decode.decoded, plan.resume), frames_done=encode.encoded)
