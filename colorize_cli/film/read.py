"""Reading films with PyAV: probe, then decode robustly.

:func:`probe` picks the main video stream (the one with the most pixels, not a cover picture),
refuses what cannot be a film with one clear reason, and reads what the encoder must keep
(rotation, colour tags, sample aspect). :func:`decode_frames` decodes through damage: a packet
the decoder rejects is skipped (counted, one warning) and the frames around it keep their own
timestamps; a file that ends early gives the frames it has, with a warning. Timestamps are
repaired only where they are unusable (missing, or not increasing), so the output's are the
source's.

Public API::

    VIDEO_EXTENSIONS
    probe(path, max_pixels=None) -> Source                  # InputError with the reason
    open_input(path) -> av container                        # InputError with the reason
    main_stream(container) -> av stream                     # the one the runtime colourises
    decode_frames(source, first_rgb=0, warn=print) -> Iterator[Decoded]
    demux(container, streams, on_error) -> Iterator[packet] # stops (and reports) at damage
    av_reason(exc) -> str                                   # a PyAV error as a short reason
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from colorize_cli.errors import InputError, os_reason
from colorize_cli.io.safe_read import check_input_file

VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".m2v", ".ts", ".m2ts",
                    ".mts", ".wmv", ".asf", ".flv", ".ogv", ".mxf", ".dv", ".3gp", ".nut", ".y4m", ".vob"}
_MAX_SIDE = 32768  # beyond any real film; such a header is damage, not a picture size


@dataclass
class Source:
    path: Path
    stream_index: int
    width: int
    height: int
    time_base: Fraction
    rate: Fraction  # average frame rate (a guess for VFR): encoder rate control, default durations
    sar: Fraction | None
    pix_fmt: str | None
    frames_estimate: int | None
    duration: float | None  # seconds, from the container
    display_matrix: list[int] | None = None
    colour: dict[str, int] = field(default_factory=dict)  # colorspace, color_range, color_primaries, color_trc
    size_bytes: int = 0
    mtime_ns: int = 0

    def identity(self) -> dict[str, Any]:
        """What a resume must find unchanged: path, size, mtime and stream."""
        return {"path": str(self.path.resolve()), "size": self.size_bytes, "mtime_ns": self.mtime_ns,
                "stream": self.stream_index}


def av_reason(exc: BaseException) -> str:
    """A PyAV error as a short reason for a message."""
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).split(": '")[0].strip() or type(exc).__name__


def open_input(path: Path) -> Any:
    """Open a film for reading; InputError with the reason otherwise (a FIFO or a device is
    refused before FFmpeg opens it: it could block, or never end)."""
    check_input_file(path)
    try:
        return av.open(str(path), metadata_errors="replace")
    except (av.error.FileNotFoundError, av.error.PermissionError) as exc:
        raise InputError(path, os_reason(exc)) from None
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a video, or damaged beyond reading ({av_reason(exc)})") from None


def main_stream(container: Any) -> Any:
    """The stream to colourise: the video stream with the most pixels (not a cover picture)."""
    videos = [s for s in container.streams.video if not (s.disposition & s.disposition.attached_pic)]
    if not videos:
        kinds = [s.type for s in container.streams]
        what = ", ".join(f"{kinds.count(k)} {k}" for k in dict.fromkeys(kinds)) or "no streams at all"
        raise ValueError(f"no video stream ({what})")
    # The one with the most pixels: a film, not its thumbnail or a preview track.
    return max(videos, key=lambda s: (s.codec_context.width * s.codec_context.height, -s.index))


def _stream_rate(stream: Any) -> Fraction:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and rate > 0 and rate < 1000:
            return Fraction(rate)
    return Fraction(25)


def _tag_seconds(tag: str | None) -> float | None:
    """'01:02:03.500000000' -> 3723.5"""
    try:
        h, m, sec = (tag or "").split(":")
        return int(h) * 3600 + int(m) * 60 + float(sec)
    except ValueError:
        return None


def probe(path: str | Path, max_pixels: int | None = None) -> Source:
    """Check that ``path`` is a film we can colourise and describe its main video stream.

    Decodes the first frame (for rotation and colour tags, which FFmpeg attaches to frames)."""
    path = Path(path)
    try:
        st = path.stat()
    except (FileNotFoundError, PermissionError) as exc:
        raise InputError(path, os_reason(exc)) from None
    if path.is_dir():
        raise InputError(path, "is a directory")
    if st.st_size == 0:
        raise InputError(path, "empty file (0 bytes)")
    container = open_input(path)
    with container:
        fmt_name = container.format.name or ""
        if fmt_name == "image2" or fmt_name.endswith("_pipe"):  # FFmpeg reads a photo as one frame
            raise InputError(path, "a still image, not a film (colourise photos with colorize images)")
        try:
            stream = main_stream(container)
        except ValueError as exc:
            raise InputError(path, str(exc)) from None
        cc = stream.codec_context
        w, h = int(cc.width or 0), int(cc.height or 0)
        if w <= 0 or h <= 0:
            raise InputError(path, "the video stream has no picture size (damaged header?)")
        if w > _MAX_SIDE or h > _MAX_SIDE:
            raise InputError(path, f"absurd picture size {w}x{h} (damaged header?)")
        if max_pixels and w * h > max_pixels:
            raise InputError(path, f"{w}x{h} = {w * h} pixels per frame is over --max-pixels {max_pixels}")
        tb = stream.time_base or Fraction(1, 90000)
        rate = _stream_rate(stream)
        duration = float(container.duration / 1_000_000) if container.duration else None
        if stream.duration and tb:
            duration = float(stream.duration * tb)
        elif _tag_seconds(stream.metadata.get("DURATION")):  # Matroska keeps each stream's length as a tag
            duration = _tag_seconds(stream.metadata.get("DURATION"))
        frames = int(stream.frames) if stream.frames else (int(round(duration * rate)) if duration else None)
        src = Source(path=path, stream_index=stream.index, width=w, height=h, time_base=Fraction(tb), rate=rate,
                     sar=Fraction(stream.sample_aspect_ratio) if stream.sample_aspect_ratio else None,
                     pix_fmt=cc.pix_fmt, frames_estimate=frames, duration=duration,
                     size_bytes=st.st_size, mtime_ns=st.st_mtime_ns)
        first = _first_frame(container, stream)
        if first is None:
            raise InputError(path, "no frame could be decoded (empty or damaged video stream)")
        src.display_matrix = _display_matrix(first)
        src.colour = {k: int(getattr(first, k)) for k in ("colorspace", "color_range", "color_primaries",
                                                            "color_trc") if getattr(first, k, None) is not None}
    return src


def _first_frame(container: Any, stream: Any) -> Any:
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                continue
            if frames:
                return frames[0]
        return None
    except av.error.FFmpegError:
        return None


def _display_matrix(frame: Any) -> list[int] | None:
    side_data = frame.side_data
    # PyAV 18 made the container a mapping (iterating it gives the types); earlier ones iterate
    # the side data themselves.
    for sd in side_data.values() if hasattr(side_data, "values") else side_data:
        if getattr(sd.type, "name", "") == "DISPLAYMATRIX":
            m = np.frombuffer(bytes(sd), np.int32)
            identity = [65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30]
            return None if list(m) == identity else [int(v) for v in m]
    return None


def demux(container: Any, streams: list[Any], on_error: Callable[[str], None]) -> Iterator[Any]:
    """Packets of ``streams`` until the end of the file or the first damage the demuxer cannot
    get past (a truncated file), which is reported rather than raised."""
    packets = container.demux(*streams)
    while True:
        try:
            yield next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError as exc:
            on_error(av_reason(exc))
            return


@dataclass
class Decoded:
    index: int
    pts: int  # in the source stream's time base, strictly increasing
    duration: int
    rgb: np.ndarray | None  # None for frames before ``first_rgb`` (decoded but not converted)


def decode_frames(src: Source, first_rgb: int = 0, warn: Callable[[str], None] = print) -> Iterator[Decoded]:
    """Every decodable frame of the main stream, in order, with usable timestamps.

    Frames before ``first_rgb`` are decoded (decoders need them) but not converted to RGB,
    which is what makes skipping the done part of a resumed film cheap."""
    container = open_input(src.path)
    with container:
        stream = container.streams[src.stream_index]
        stream.thread_type = "AUTO"
        default_step = max(1, int(round(1 / (src.rate * src.time_base))))
        bad_packets = 0
        damaged = 0
        repaired = 0
        resized = False
        index = 0
        prev_pts: int | None = None
        step = default_step

        def emit(frame: Any) -> Decoded:
            nonlocal index, prev_pts, step, repaired, resized, damaged
            damaged += bool(frame.is_corrupt)
            pts = frame.pts
            if pts is None or (prev_pts is not None and pts <= prev_pts):
                repaired += 1
                pts = 0 if prev_pts is None else prev_pts + (step if pts is None else 1)
            elif prev_pts is not None:
                step = pts - prev_pts
            dur = int(frame.duration or 0) or step
            rgb = None
            if index >= first_rgb:
                rgb = frame.to_ndarray(format="rgb24")
                if rgb.shape[:2] != (src.height, src.width):
                    # The encoder's size is fixed; a stream that changes size mid-way is scaled back.
                    if not resized:
                        warn(f"the picture size changes mid-stream ({rgb.shape[1]}x{rgb.shape[0]}); "
                             f"scaled to {src.width}x{src.height}")
                        resized = True
                    rgb = cv2.resize(rgb, (src.width, src.height), interpolation=cv2.INTER_AREA)
            out = Decoded(index, int(pts), dur, rgb)
            index += 1
            prev_pts = int(pts)
            return out

        ended_early: list[str] = []
        for packet in demux(container, [stream], ended_early.append):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                bad_packets += 1
                continue
            for frame in frames:
                yield emit(frame)
        with contextlib.suppress(av.error.FFmpegError):
            for frame in stream.decode(None):
                yield emit(frame)
        if bad_packets:
            warn(f"{bad_packets} damaged packet(s) could not be decoded and were skipped; "
                 "the other frames keep their timing")
        if damaged:
            warn(f"{damaged} frame(s) decoded with damage (hidden as well as the decoder can); "
                 "kept, with their timing")
        if repaired:
            warn(f"{repaired} frame(s) had missing or out-of-order timestamps, repaired")
        if ended_early:
            warn(f"reading stopped after frame {index} ({ended_early[0]}): the file is truncated or damaged; "
                 "colourised what decodes")
        elif src.duration and prev_pts is not None and index > 0:
            got = float((prev_pts + step) * src.time_base) - float((stream.start_time or 0) * src.time_base)
            if got < src.duration - max(0.5, 0.02 * src.duration):
                warn(f"the file ends early ({got:.1f} s of {src.duration:.1f} s decoded): truncated? "
                     "colourised what decodes")
