"""Video in and out with PyAV: reading a film robustly, encoding in resumable segments, and
joining the segments with the film's other streams into the final file.

Reading (:func:`probe`, :func:`decode_frames`) picks the main video stream, refuses what
cannot be a film with one clear reason, and decodes through damage: a packet the decoder
rejects is skipped (counted, one warning) and the frames around it keep their own
timestamps; a file that ends early gives the frames it has, with a warning. Timestamps are
repaired only where they are unusable (missing, or not increasing), so the output's are the
source's.

Writing happens in two steps so that an interrupted run can resume:

1. **Segments.** Frames are encoded in runs of N frames, each by a fresh encoder (so each
   starts on a key frame), into a *packet log*: a flat file of the encoder's packets with
   their timestamps in the source's time base (no container in between to round timestamps,
   as Matroska would to 1 ms, or to shift them, as NUT and MP4 edit lists do). A segment is
   written under a temporary name, renamed when complete, and only then recorded by its own
   small JSON file, so a crash leaves at most one unrecorded temporary, which is deleted.
2. **Join.** The packets of every segment are muxed, without re-encoding, into the final
   container together with the source's audio, subtitle, data and attachment streams copied
   packet for packet, its chapters and its container and stream metadata. The video stream's
   parameters come from an encoder opened with the segments' settings (identical settings give
   identical codec headers, which is checked), and its decode timestamps are recomputed over
   the whole film so that they increase across segment boundaries. The result is written
   under a temporary name beside the output and renamed at the end.

Public API (used by :mod:`colorize_cli.video`)::

    VIDEO_EXTENSIONS
    probe(path, max_pixels=None) -> Source                  # InputError with the reason
    decode_frames(source, first_rgb=0, warn=print) -> Iterator[Decoded]
    resolve_codec(name) -> str                              # alias -> encoder name
    pick_codec(fmt, codec_or_None) -> str                   # --codec, or one the container takes
    check_crf(codec, crf);  check_preset(codec, preset)     # ValueError naming the option
    output_format(path) -> str                              # container format for a file name
    container_accepts(fmt, codec) -> bool
    encoder_settings(source, codec, crf, preset, fmt) -> (EncoderSettings, [warnings])
    WorkDir(dst);  .start(identity) -> [notes];  .segments();  .write_segment(...);  .remove()
    SegmentWriter(work, settings, segment_frames)           # frames in, segments out
    join(work, source, dst, settings, warn) -> JoinResult   # the film, marked as made here
    made_here(path) -> bool | None                          # does an existing output carry the mark?
"""

from __future__ import annotations

import base64
import contextlib
import glob
import hashlib
import heapq
import io
import json
import math
import os
import shutil
import struct
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from colorize_cli.errors import ColorizeError, InputError, os_reason
from colorize_cli.image_io import atomic_write_bytes

VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".m2v", ".ts", ".m2ts",
                    ".mts", ".wmv", ".asf", ".flv", ".ogv", ".mxf", ".dv", ".3gp", ".nut", ".y4m", ".vob"}

CODEC_ALIASES = {"x264": "libx264", "h264": "libx264", "avc": "libx264", "x265": "libx265", "h265": "libx265",
                 "hevc": "libx265", "vp9": "libvpx-vp9", "av1": "libsvtav1", "svtav1": "libsvtav1"}
# Quality defaults where --crf is not given: about the same visual quality in each.
DEFAULT_CRF = {"libx264": 18, "libx265": 20, "libvpx-vp9": 31, "libsvtav1": 30}
LOSSLESS = {"ffv1", "huffyuv", "ffvhuff", "utvideo", "png", "qtrle", "rawvideo"}

_FORMAT_BY_EXT = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi",
                  ".ts": "mpegts", ".m2ts": "mpegts", ".mts": "mpegts", ".mpg": "mpeg", ".mpeg": "mpeg",
                  ".vob": "vob", ".nut": "nut", ".flv": "flv", ".ogv": "ogg", ".3gp": "3gp", ".mxf": "mxf",
                  ".asf": "asf", ".wmv": "asf", ".dv": "dv", ".y4m": "yuv4mpegpipe", ".m2v": "mpeg2video"}
# Tags that describe the old encode, not ours (Matroska statistics, encoder names).
_STALE_TAGS = {"colorize", "encoder", "duration", "number_of_frames", "number_of_bytes", "bps", "_statistics_tags",
               "_statistics_writing_app", "_statistics_writing_date_utc"}
_MAX_SIDE = 32768  # beyond any real film; such a header is damage, not a picture size


# ------------------------------------------------------------------------------------ reading


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
        return {"path": str(self.path.resolve()), "size": self.size_bytes, "mtime_ns": self.mtime_ns,
                "stream": self.stream_index}


def _av_reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).split(": '")[0].strip() or type(exc).__name__


def _open_input(path: Path) -> Any:
    try:
        return av.open(str(path), metadata_errors="replace")
    except (av.error.FileNotFoundError, av.error.PermissionError) as exc:
        raise InputError(path, os_reason(exc)) from None
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a video, or damaged beyond reading ({_av_reason(exc)})") from None


def _main_stream(container: Any) -> Any:
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
    container = _open_input(path)
    with container:
        fmt_name = container.format.name or ""
        if fmt_name == "image2" or fmt_name.endswith("_pipe"):  # FFmpeg reads a photo as one frame
            raise InputError(path, "a still image, not a film (colourise photos with colorize images)")
        try:
            stream = _main_stream(container)
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
    for sd in frame.side_data:
        if getattr(sd.type, "name", "") == "DISPLAYMATRIX":
            m = np.frombuffer(bytes(sd), np.int32)
            identity = [65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30]
            return None if list(m) == identity else [int(v) for v in m]
    return None


def _demux(container: Any, streams: list[Any], on_error: Callable[[str], None]) -> Iterator[Any]:
    """Packets of ``streams`` until the end of the file or the first damage the demuxer cannot
    get past (a truncated file), which is reported rather than raised."""
    packets = container.demux(*streams)
    while True:
        try:
            yield next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError as exc:
            on_error(_av_reason(exc))
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
    container = _open_input(src.path)
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
        for packet in _demux(container, [stream], ended_early.append):
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


# ------------------------------------------------------------------------------------ encoding


def resolve_codec(name: str) -> str:
    codec = CODEC_ALIASES.get(name.lower(), name)
    try:
        c = av.codec.Codec(codec, "w")
    except Exception:  # UnknownCodecError and friends
        raise ColorizeError(f"--codec {name}: no such encoder in this FFmpeg build "
                            "(try libx264, libx265, vp9, av1 or ffv1)") from None
    if c.type != "video":
        raise ColorizeError(f"--codec {name}: {codec} is not a video encoder")
    return codec


# --crf ranges of the encoders that take one (FFmpeg's own limits for each wrapper).
CRF_RANGE = {"libx264": (0, 51), "libx265": (0, 51), "libvpx-vp9": (0, 63), "libvpx": (4, 63),
             "libsvtav1": (1, 63), "libaom-av1": (0, 63)}
# Without --codec: H.264, or for containers that cannot hold it (WebM) the first of these in
# this FFmpeg build that the container takes.
AUTO_CODECS = ("libx264", "libvpx-vp9", "libsvtav1", "libaom-av1", "libvpx")


def check_crf(codec: str, crf: int | None) -> None:
    """ValueError naming ``--crf`` when it is outside ``codec``'s range."""
    if crf is None:
        return
    if codec not in CRF_RANGE:
        return  # lossless encoders ignore it (encoder_settings says so); others pass it on as is
    lo, hi = CRF_RANGE[codec]
    if not lo <= crf <= hi:
        raise ValueError(f"--crf must be between {lo} and {hi} for {codec}, got {crf}")


def check_preset(codec: str, preset: str | None) -> None:
    """ValueError naming ``--preset`` when ``codec`` refuses it (checked by opening the encoder
    on a tiny picture, so the list is the encoder's own)."""
    if not preset:
        return
    from colorize_cli.quiet import capture_fd2

    ctx = av.CodecContext.create(codec, "w")
    ctx.width, ctx.height, ctx.time_base = 64, 64, Fraction(1, 25)
    formats = [f.name for f in (av.codec.Codec(codec, "w").video_formats or [])]
    ctx.pix_fmt = "yuv420p" if not formats or "yuv420p" in formats else formats[0]
    ctx.options = {"preset": preset}
    with capture_fd2():  # the encoder's own complaint and banner
        try:
            ctx.open()
        except (av.error.FFmpegError, ValueError):
            raise ValueError(f"--preset {preset}: {codec} has no such preset "
                             "(libx264/libx265: ultrafast, superfast, veryfast, faster, fast, medium, slow, "
                             "slower, veryslow; libsvtav1: 0-13)") from None


def pick_codec(fmt: str, codec: str | None) -> str:
    """The encoder for a ``fmt`` container: ``codec`` when given, else the first of
    :data:`AUTO_CODECS` that this FFmpeg has and the container takes (H.264 for MP4/MKV,
    VP9 or AV1 for WebM); ColorizeError when none fits."""
    if codec:
        return resolve_codec(codec)
    for cand in AUTO_CODECS:
        if cand in av.codecs_available and container_accepts(fmt, cand):
            return cand
    raise ColorizeError(f"no encoder in this FFmpeg build fits a {fmt} file; choose --codec or another extension")


def output_format(path: str | Path) -> str:
    ext = Path(path).suffix.lower()
    if ext in _FORMAT_BY_EXT:
        return _FORMAT_BY_EXT[ext]
    for name in sorted(av.formats_available):
        with contextlib.suppress(Exception):
            fmt = av.format.ContainerFormat(name, "w")
            if ext.lstrip(".") in fmt.extensions:
                return name
    raise ColorizeError(f"{path}: cannot tell which container to write from the extension {ext or '(none)'!r}; "
                        "use .mp4, .mkv, .mov or .webm (or end -o with / for a folder)")


def container_accepts(fmt: str, codec: str) -> bool:
    out = av.open(io.BytesIO(), "w", format=fmt)  # a throwaway container, to ask the muxer
    try:
        out.add_stream(codec)
        return True
    except (ValueError, av.error.FFmpegError):
        return False
    finally:
        with contextlib.suppress(Exception):
            out.close()


@dataclass(frozen=True)
class EncoderSettings:
    codec: str
    options: dict[str, str]
    pix_fmt: str
    width: int
    height: int
    time_base: Fraction
    rate: Fraction
    sar: Fraction | None
    colour: dict[str, int]
    global_header: bool

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("time_base", "rate", "sar"):
            d[k] = None if d[k] is None else str(d[k])
        return d


def _source_bits(pix_fmt: str | None) -> int:
    try:
        return max(c.bits for c in av.VideoFormat(pix_fmt).components) if pix_fmt else 8
    except (ValueError, TypeError):
        return 8


def encoder_settings(src: Source, codec: str, crf: int | None, preset: str | None,
                     fmt: str) -> tuple[EncoderSettings, list[str]]:
    notes: list[str] = []
    c = av.codec.Codec(codec, "w")
    formats = [f.name for f in (c.video_formats or [])]
    if codec in ("ffv1",):
        pix_fmt = "yuv444p"
    elif not formats or "yuv420p" in formats:
        pix_fmt = "yuv420p"
    else:
        pix_fmt = formats[0]
    if pix_fmt == "yuv420p" and (src.width % 2 or src.height % 2):
        if "yuv444p" in formats or not formats:
            notes.append(f"odd picture size {src.width}x{src.height}: 4:2:0 needs even sizes, so the video is "
                         "encoded 4:4:4 (not every player handles it)")
            pix_fmt = "yuv444p"
        else:
            raise InputError(src.path, f"{codec} cannot encode an odd picture size ({src.width}x{src.height})")
    bits = _source_bits(src.pix_fmt)
    if bits > 8:
        notes.append(f"the source is {bits}-bit ({src.pix_fmt}); the output is 8-bit")
    options: dict[str, str] = {}
    if codec in LOSSLESS:
        if crf is not None:
            notes.append(f"--crf has no effect on {codec} (lossless)")
    else:
        q = crf if crf is not None else DEFAULT_CRF.get(codec)
        if q is not None:
            options["crf"] = str(q)
    if codec == "libvpx-vp9":
        options.update({"b": "0", "row-mt": "1"})  # constant quality, and use the cores
    if codec == "libx265":
        options["x265-params"] = "log-level=error"
    if codec == "libx264":
        # x264's macroblock tree (rate control that looks ahead) makes different bits for the
        # same frames from run to run with this libx264 build: a 360-frame film differed in
        # its second segment by up to 40 levels once decoded, whatever the batch size, and so
        # did a resumed run; the frames given to the encoder were bit-identical each time.
        # With only the tree switched off (threads, AQ and psy stay) the output depends on the
        # frames alone; it costs a few per cent in size at the same --crf.
        options["x264-params"] = "mbtree=0"
    if preset:
        options["preset"] = preset
    flags = av.format.ContainerFormat(fmt, "w").flags
    settings = EncoderSettings(codec=codec, options=options, pix_fmt=pix_fmt, width=src.width, height=src.height,
                               time_base=src.time_base, rate=src.rate, sar=src.sar, colour=dict(src.colour),
                               global_header=bool(flags & av.format.Flags.global_header.value))
    return settings, notes


def _configure(ctx: Any, s: EncoderSettings) -> None:
    from av.codec.context import Flags

    ctx.width, ctx.height, ctx.pix_fmt = s.width, s.height, s.pix_fmt
    ctx.time_base = s.time_base
    ctx.framerate = s.rate
    if s.sar:
        ctx.sample_aspect_ratio = s.sar
    for k, v in s.colour.items():
        with contextlib.suppress(AttributeError, ValueError, TypeError):
            setattr(ctx, k, v)
    ctx.options = dict(s.options)
    if s.global_header:
        ctx.flags |= Flags.global_header


def open_encoder(s: EncoderSettings) -> Any:
    os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints pages of info to stderr otherwise
    ctx = av.CodecContext.create(s.codec, "w")
    _configure(ctx, s)
    try:
        ctx.open()
    except av.error.FFmpegError as exc:
        raise ColorizeError(f"cannot open the {s.codec} encoder with {s.options} ({_av_reason(exc)})") from None
    return ctx


def to_video_frame(rgb: np.ndarray, s: EncoderSettings) -> Any:
    """RGB uint8 → a frame in the encoder's pixel format, converted with the source's own
    colour matrix and range (so a BT.709 film is not re-encoded with BT.601 numbers)."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    kwargs: dict[str, Any] = {"format": s.pix_fmt}
    cs = s.colour.get("colorspace")
    if cs in (1, 4, 5, 6, 7):  # BT.709, FCC, BT.470BG, SMPTE 170M, SMPTE 240M: swscale knows these
        kwargs["dst_colorspace"] = cs
    if s.colour.get("color_range") in (1, 2):
        kwargs["dst_color_range"] = s.colour["color_range"]
    try:
        return frame.reformat(**kwargs)
    except (ValueError, av.error.FFmpegError):
        return frame.reformat(format=s.pix_fmt)


# ------------------------------------------------------------------------------------ segments

_MAGIC = b"CLZPKT1\n"
_REC = struct.Struct("<qqqBI")  # pts, dts, duration, flags (bit 0: key frame), payload size
_NO_TS = -(1 << 63)


def _segment_name(k: int) -> str:
    return f"seg-{k:05d}"


class _PacketLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name("." + path.name + ".tmp")
        self.f = open(self.tmp, "wb")
        self.f.write(_MAGIC)
        self.packets = 0

    def write(self, packet: Any) -> None:
        data = bytes(packet)
        pts = _NO_TS if packet.pts is None else int(packet.pts)
        dts = _NO_TS if packet.dts is None else int(packet.dts)
        self.f.write(_REC.pack(pts, dts, int(packet.duration or 0), 1 if packet.is_keyframe else 0, len(data)))
        self.f.write(data)
        self.packets += 1

    def commit(self) -> int:
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()
        size = self.tmp.stat().st_size
        os.replace(self.tmp, self.path)
        return size

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.f.close()
        with contextlib.suppress(OSError):
            self.tmp.unlink()


def read_packet_log(path: Path) -> Iterator[tuple[int | None, int | None, int, bool, bytes]]:
    with open(path, "rb") as f:
        if f.read(len(_MAGIC)) != _MAGIC:
            raise ColorizeError(f"{path}: not a colorize segment")
        while True:
            head = f.read(_REC.size)
            if not head:
                return
            if len(head) < _REC.size:
                raise ColorizeError(f"{path}: segment file is cut short")
            pts, dts, dur, flags, size = _REC.unpack(head)
            data = f.read(size)
            if len(data) < size:
                raise ColorizeError(f"{path}: segment file is cut short")
            yield (None if pts == _NO_TS else pts, None if dts == _NO_TS else dts, dur, bool(flags & 1), data)


class WorkDir:
    """``<output>.partial/``: the manifest, finished segments and their records.

    The manifest pins what the segments were made from (the source file's size and mtime)
    and with what (model, pipeline, kernel, encoder settings); a run with anything different
    starts over rather than splice two different colourisations together."""

    VERSION = 1

    def __init__(self, dst: Path) -> None:
        self.dst = Path(dst)
        self.path = self.dst.with_name(self.dst.name + ".partial")
        self.manifest = self.path / "manifest.json"
        self.digest: str | None = None  # the manifest's, once started: the final file is marked with it

    def exists(self) -> bool:
        return self.manifest.is_file()

    def start(self, identity: dict[str, Any]) -> list[str]:
        """Open (resuming if the manifest matches) or create the work dir; notes for the user."""
        notes: list[str] = []
        ident = {"version": self.VERSION, **identity}
        digest = hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()
        self.digest = digest
        if self.path.exists():
            try:
                old = json.loads(self.manifest.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                old = {}
            if old.get("digest") != digest:
                notes.append(f"{self.path} is from a different source file or other options; starting over")
                shutil.rmtree(self.path, ignore_errors=True)
        if not self.path.exists():
            self.path.mkdir(parents=True)
            atomic_write_bytes(self.manifest, json.dumps({"digest": digest, **ident}, indent=1,
                                                         default=str).encode())
        for tmp in self.path.glob(".*.tmp"):  # an unfinished segment of a killed run
            with contextlib.suppress(OSError):
                tmp.unlink()
        return notes

    def segments(self) -> list[dict[str, Any]]:
        """Finished segments, contiguous from the first (anything after a gap is redone)."""
        out: list[dict[str, Any]] = []
        k = 0
        while True:
            rec = self.path / f"{_segment_name(k)}.json"
            log = self.path / f"{_segment_name(k)}.pkt"
            try:
                meta = json.loads(rec.read_text(encoding="utf-8"))
                if log.stat().st_size != meta["bytes"]:
                    break
            except (OSError, ValueError, KeyError):
                break
            out.append(meta)
            k += 1
        for stale in list(self.path.glob("seg-*")):
            try:
                idx = int(stale.name[4:9])
            except ValueError:
                continue
            if idx >= k:
                with contextlib.suppress(OSError):
                    stale.unlink()
        return out

    def done(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.path / "done.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def mark_done(self, info: dict[str, Any]) -> None:
        atomic_write_bytes(self.path / "done.json", json.dumps(info).encode())

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class SegmentWriter:
    """Encodes frames ``index, pts, duration, rgb`` into segments of ``segment_frames``.

    Segment k holds frames [k·N, (k+1)·N); a resumed run starts at a segment boundary."""

    def __init__(self, work: WorkDir, settings: EncoderSettings, segment_frames: int) -> None:
        self.work = work
        self.settings = settings
        self.n = max(1, int(segment_frames))
        self._log: _PacketLog | None = None
        self._ctx: Any = None
        self._k = -1
        self._start = 0
        self._frames = 0
        self._cuts: list[int] = []
        self._first_pts: int | None = None

    def add(self, index: int, pts: int, duration: int, frame: Any, cut: bool) -> None:
        if self._log is None:
            self._k, self._start = index // self.n, index
            self._log = _PacketLog(self.work.path / f"{_segment_name(self._k)}.pkt")
            self._ctx = open_encoder(self.settings)
            self._frames, self._cuts, self._first_pts = 0, [], pts
        frame.pts = pts
        frame.time_base = self.settings.time_base
        with contextlib.suppress(AttributeError):
            frame.duration = duration
        for packet in self._ctx.encode(frame):
            self._log.write(packet)
        self._frames += 1
        if cut:
            self._cuts.append(index)
        if (index + 1) % self.n == 0:
            self.close_segment()

    def close_segment(self) -> None:
        if self._log is None:
            return
        for packet in self._ctx.encode(None):
            self._log.write(packet)
        size = self._log.commit()
        meta = {"segment": self._k, "start": self._start, "frames": self._frames, "cuts": self._cuts,
                "packets": self._log.packets, "bytes": size, "first_pts": self._first_pts,
                "extradata": base64.b64encode(bytes(self._ctx.extradata or b"")).decode()}
        atomic_write_bytes(self.work.path / f"{_segment_name(self._k)}.json", json.dumps(meta).encode())
        self._log, self._ctx = None, None

    def abort(self) -> None:
        if self._log is not None:
            self._log.abort()
            self._log, self._ctx = None, None


# ------------------------------------------------------------------------------------ joining


# The final file carries the manifest's digest as a container tag, so that a rerun can tell a
# film this tool made (skipped: already done) from an unrelated file at the same path (refused).
MARK_TAG = "colorize"
_MARK_OPTIONS = {"mp4": {"movflags": "use_metadata_tags"}, "mov": {"movflags": "use_metadata_tags"}}
MARKED_FORMATS = {"mp4", "mov", "matroska", "webm"}  # containers that keep the tag (others cannot tell)


def made_here(path: Path) -> bool | None:
    """True when ``path`` carries this tool's mark, False when it is a container that would
    carry it and does not (or is no film at all), None where the container cannot tell."""
    try:
        fmt = output_format(path)
    except ColorizeError:
        return False
    if fmt not in MARKED_FORMATS:
        return None
    try:
        with av.open(str(path), metadata_errors="replace") as c:
            return any(k.lower() == MARK_TAG for k in c.metadata)
    except (av.error.FFmpegError, OSError, UnicodeDecodeError):
        return False


@dataclass
class JoinResult:
    copied: list[str] = field(default_factory=list)
    reencoded: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def _describe(stream: Any) -> str:
    codec = stream.codec_context.name if stream.codec_context is not None else (stream.name or "data")
    lang = stream.metadata.get("language")
    return f"{stream.type}#{stream.index} {codec}" + (f" ({lang})" if lang and lang != "und" else "")


def _copy_metadata(dst: Any, src: dict[str, str]) -> None:
    for k, v in src.items():
        if k.lower() not in _STALE_TAGS and not k.lower().startswith("_statistics"):
            with contextlib.suppress(Exception):
                dst.metadata[k] = v


def _video_packets(work: WorkDir, segments: list[dict[str, Any]], tb: Fraction,
                   offset: Fraction = Fraction(0)) -> Iterator[tuple[float, int, Any]]:
    """The segments' packets in decode order with decode timestamps recomputed for the whole
    film: dts_i = (i-th smallest pts) − D, with D the smallest shift keeping dts ≤ pts. That is
    what an encoder with reordering does, and it stays increasing across segment joins."""
    pts_all: list[int] = []
    for seg in segments:
        pts_all.extend(p for p, _, _, _, _ in read_packet_log(work.path / f"{_segment_name(seg['segment'])}.pkt"))
    if any(p is None for p in pts_all):
        raise ColorizeError("a segment has packets without timestamps; delete the .partial folder and run again")
    order = sorted(pts_all)  # type: ignore[arg-type]
    shift = max(0, max((order[i] - p for i, p in enumerate(pts_all)), default=0))  # type: ignore[operator]
    start = int(round(offset / tb))
    i = 0
    for seg in segments:
        for pts, _, dur, key, data in read_packet_log(work.path / f"{_segment_name(seg['segment'])}.pkt"):
            pkt = av.Packet(data)
            pkt.pts, pkt.dts = pts - start, order[i] - shift - start
            pkt.duration = dur
            pkt.time_base = tb
            pkt.is_keyframe = key
            i += 1
            yield float(pkt.dts * tb), -1, pkt


def _source_packets(container: Any, streams: list[Any], warn: Callable[[str], None],
                    offset: Fraction = Fraction(0)) -> Iterator[tuple[float, int, Any]]:
    if not streams:
        return
    last = -math.inf
    for pkt in _demux(container, streams, lambda why: warn(f"copying the other streams stopped early ({why})")):
        if pkt.size == 0 and pkt.pts is None and pkt.dts is None:
            continue  # demuxer's end-of-stream marker
        if offset and pkt.time_base:
            start = int(round(offset / pkt.time_base))
            if pkt.pts is not None:
                pkt.pts -= start
            if pkt.dts is not None:
                pkt.dts -= start
        ts = pkt.dts if pkt.dts is not None else pkt.pts
        key = float(ts * pkt.time_base) if ts is not None and pkt.time_base else last
        last = max(last, key)
        yield key, pkt.stream.index, pkt


def _audio_reencoder(out: Any, in_stream: Any) -> Any:
    codec = out.default_audio_codec
    if not codec or codec == "none":
        raise ValueError("no audio codec for this container")
    rate = in_stream.codec_context.sample_rate or 48000
    if codec in ("libopus", "opus"):
        rate = 48000
    layout = in_stream.codec_context.layout.name if in_stream.codec_context.layout else "stereo"
    return out.add_stream(codec, rate=rate, layout=layout)


_TEXT_SUBTITLES = {"srt", "subrip", "ass", "ssa", "mov_text", "webvtt", "text", "microdvd", "subviewer",
                   "subviewer1", "sami", "realtext", "stl", "jacosub", "mpl2", "pjs", "vplayer"}
_TEXT_SUBTITLE_FOR = {"mp4": "mov_text", "mov": "mov_text", "3gp": "mov_text", "ipod": "mov_text",
                      "webm": "webvtt", "matroska": "subrip"}


def _subtitle_reencoder(out: Any, in_stream: Any, fmt: str) -> Any:
    """A text-subtitle encoder the container takes (mov_text for MP4...); bitmap subtitles
    cannot be converted to text, so those raise."""
    target = _TEXT_SUBTITLE_FOR.get(fmt)
    if in_stream.codec_context.name not in _TEXT_SUBTITLES or target is None:
        raise ValueError("no subtitle conversion for this container")
    in_stream.codec_context.open()  # the decoder makes the ASS header the encoder needs
    o = out.add_stream(target)
    o.codec_context.subtitle_header = in_stream.codec_context.subtitle_header
    o.time_base = in_stream.time_base
    return o


def _mux_subtitle(out: Any, in_s: Any, o: Any, pkt: Any) -> None:
    subs = in_s.codec_context.decode2(pkt)
    if subs is None:
        return
    enc = o.codec_context.encode_subtitle(subs)
    # The encoder stamps its own clock; the source packet's timing is the one to keep.
    enc.pts, enc.dts, enc.duration, enc.time_base = pkt.pts, pkt.dts, pkt.duration, pkt.time_base
    enc.stream = o
    out.mux(enc)


def join(work: WorkDir, segments: list[dict[str, Any]], src: Source, dst: Path, settings: EncoderSettings,
         warn: Callable[[str], None]) -> JoinResult:
    """Mux the segments and the source's other streams into ``dst`` (atomically)."""
    result = JoinResult()
    fmt = output_format(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    for stale in dst.parent.glob(f".{glob.escape(dst.stem)}.*.colorize-tmp{glob.escape(dst.suffix)}"):
        with contextlib.suppress(OSError):  # left by a run killed while joining
            stale.unlink()
    # A hidden name beside the output (same file system, so the final rename is atomic); the
    # muxer creates it, with the permissions any new file gets.
    tmp = dst.with_name(f".{dst.stem}.{os.getpid()}.colorize-tmp{dst.suffix}")
    try:
        with _open_input(src.path) as source, av.open(str(tmp), "w", format=fmt,
                                                      options=_MARK_OPTIONS.get(fmt, {})) as out:
            # Like FFmpeg, a film whose clock starts late (MPEG-TS captures start anywhere, even
            # hours in) is moved to start at 0; every stream moves together, so sync is kept.
            offset = Fraction(source.start_time, 1_000_000) if (source.start_time or 0) > 0 else Fraction(0)
            # Whole ticks of the film's clock, rounded down so that no stream goes negative.
            offset = math.floor(offset / settings.time_base) * settings.time_base
            _copy_metadata(out, source.metadata)
            if work.digest:
                out.metadata[MARK_TAG] = work.digest
            with contextlib.suppress(Exception):
                out.set_chapters(source.chapters())
            def add_video() -> Any:
                vs = out.add_stream(settings.codec, rate=settings.rate)
                _configure(vs.codec_context, settings)
                vs.time_base = settings.time_base
                if src.display_matrix:
                    vs.set_display_matrix(src.display_matrix)
                in_video = source.streams[src.stream_index]
                _copy_metadata(vs, in_video.metadata)
                with contextlib.suppress(Exception):
                    vs.disposition = in_video.disposition
                return vs

            copy: dict[int, Any] = {}
            reencode: dict[int, tuple[Any, Any]] = {}
            for s in source.streams:  # in the source's order: the colourised stream keeps its place
                if s.index == src.stream_index:
                    vs = add_video()
                    continue
                try:
                    o = out.add_stream_from_template(s)
                    copy[s.index] = o
                    result.copied.append(_describe(s))
                except (ValueError, av.error.FFmpegError, TypeError, NotImplementedError):
                    o = None
                    if s.type in ("audio", "subtitle"):
                        with contextlib.suppress(ValueError, av.error.FFmpegError, TypeError):
                            o = _audio_reencoder(out, s) if s.type == "audio" else _subtitle_reencoder(out, s, fmt)
                            reencode[s.index] = (s, o)
                            result.reencoded.append(_describe(s))
                            warn(f"{_describe(s)} cannot go into a .{dst.suffix.lstrip('.')} file as it is; "
                                 f"re-encoded to {o.codec_context.name}")
                    if o is None:
                        result.dropped.append(_describe(s))
                        warn(f"{_describe(s)} cannot go into a .{dst.suffix.lstrip('.')} file; left out "
                             "(choose .mkv to keep it)")
                        continue
                _copy_metadata(o, s.metadata)
                with contextlib.suppress(Exception):
                    o.disposition = s.disposition
            out.start_encoding()
            want = base64.b64decode(segments[0]["extradata"]) if segments else b""
            got = bytes(vs.codec_context.extradata or b"")
            if any(base64.b64decode(s["extradata"]) != want for s in segments) or (want and got and want != got):
                raise ColorizeError("the segments' codec headers differ (was the encoder library updated "
                                    f"between runs?); delete {work.path} and run again")
            sources = [source.streams[i] for i in list(copy) + list(reencode)]
            merged = heapq.merge(_video_packets(work, segments, settings.time_base, offset),
                                 _source_packets(source, sources, warn, offset), key=lambda kp: kp[0])
            for _, idx, pkt in merged:
                if idx < 0:
                    pkt.stream = vs
                    out.mux(pkt)
                elif idx in copy:
                    pkt.stream = copy[idx]
                    out.mux(pkt)
                else:
                    in_s, o = reencode[idx]
                    with contextlib.suppress(av.error.FFmpegError):
                        if in_s.type == "subtitle":
                            _mux_subtitle(out, in_s, o, pkt)
                        else:
                            for frame in pkt.decode():
                                out.mux(o.encode(frame))
            for in_s, o in reencode.values():
                if in_s.type == "audio":
                    out.mux(o.encode(None))
        os.replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return result
