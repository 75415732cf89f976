"""Encoder settings for a film and turning RGB frames into the encoder's frames.

Public API::

    DEFAULT_CRF, CODEC_ALIASES, CRF_RANGE, AUTO_CODECS (the codec when none is given)
    resolve_codec(name) -> str                              # alias -> encoder name; ParameterError
    pick_codec(fmt, codec_or_None) -> str                   # the codec, or one the container takes
    check_crf(codec, crf);  check_preset(codec, preset)     # ParameterError naming the parameter
    output_format(path) -> str                              # container format for a file name
    container_accepts(fmt, codec) -> bool
    encoder_settings(source, codec, crf, preset, fmt) -> (EncoderSettings, [notes])
    configure(codec_context, settings);  open_encoder(settings) -> codec context
    to_video_frame(rgb, settings) -> av.VideoFrame          # with the source's colour matrix
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from colorize_cli.errors import ColorizeError, InputError, ParameterError
from colorize_cli.film.read import Source, av_reason

CODEC_ALIASES = {"x264": "libx264", "h264": "libx264", "avc": "libx264", "x265": "libx265", "h265": "libx265",
                 "hevc": "libx265", "vp9": "libvpx-vp9", "av1": "libsvtav1", "svtav1": "libsvtav1"}
# Quality defaults where no crf is given: about the same visual quality in each.
DEFAULT_CRF = {"libx264": 18, "libx265": 20, "libvpx-vp9": 31, "libsvtav1": 30}
LOSSLESS = {"ffv1", "huffyuv", "ffvhuff", "utvideo", "png", "qtrle", "rawvideo"}

_FORMAT_BY_EXT = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi",
                  ".ts": "mpegts", ".m2ts": "mpegts", ".mts": "mpegts", ".mpg": "mpeg", ".mpeg": "mpeg",
                  ".vob": "vob", ".nut": "nut", ".flv": "flv", ".ogv": "ogg", ".3gp": "3gp", ".mxf": "mxf",
                  ".asf": "asf", ".wmv": "asf", ".dv": "dv", ".y4m": "yuv4mpegpipe", ".m2v": "mpeg2video"}


def resolve_codec(name: str) -> str:
    """An encoder name from a name or alias; ParameterError (codec) for an unknown one."""
    codec = CODEC_ALIASES.get(name.lower(), name)
    try:
        c = av.codec.Codec(codec, "w")
    except (av.codec.codec.UnknownCodecError, ValueError):
        raise ParameterError("codec", f"{name}: no such encoder in this FFmpeg build "
                             "(try libx264, libx265, vp9, av1 or ffv1)") from None
    if c.type != "video":
        raise ParameterError("codec", f"{name}: {codec} is not a video encoder")
    return codec


# crf ranges of the encoders that take one (FFmpeg's own limits for each wrapper).
CRF_RANGE = {"libx264": (0, 51), "libx265": (0, 51), "libvpx-vp9": (0, 63), "libvpx": (4, 63),
             "libsvtav1": (1, 63), "libaom-av1": (0, 63)}
# Without a codec: H.264, or for containers that cannot hold it (WebM) the first of these in
# this FFmpeg build that the container takes.
AUTO_CODECS = ("libx264", "libvpx-vp9", "libsvtav1", "libaom-av1", "libvpx")


def check_crf(codec: str, crf: int | None) -> None:
    """:class:`ParameterError` (``crf``) when it is outside ``codec``'s range."""
    if crf is None:
        return
    if codec not in CRF_RANGE:
        return  # lossless encoders ignore it (encoder_settings says so); others pass it on as is
    lo, hi = CRF_RANGE[codec]
    if not lo <= crf <= hi:
        raise ParameterError("crf", f"must be between {lo} and {hi} for {codec}, got {crf}")


def check_preset(codec: str, preset: str | None) -> None:
    """:class:`ParameterError` (``preset``) when ``codec`` refuses it (checked by opening the
    encoder on a tiny picture, so the list is the encoder's own)."""
    if not preset:
        return
    from colorize_cli.io.quiet import capture_fd2

    ctx = av.CodecContext.create(codec, "w")
    ctx.width, ctx.height, ctx.time_base = 64, 64, Fraction(1, 25)
    formats = [f.name for f in (av.codec.Codec(codec, "w").video_formats or [])]
    ctx.pix_fmt = "yuv420p" if not formats or "yuv420p" in formats else formats[0]
    ctx.options = {"preset": preset}
    with capture_fd2():  # the encoder's own complaint and banner
        try:
            ctx.open()
        except (av.error.FFmpegError, ValueError):
            raise ParameterError("preset", f"{preset}: {codec} has no such preset "
                                 "(libx264/libx265: ultrafast, superfast, veryfast, faster, fast, medium, slow, "
                                 "slower, veryslow; libsvtav1: 0-13)") from None


def pick_codec(fmt: str, codec: str | None) -> str:
    """The encoder for a ``fmt`` container: ``codec`` when given, else the first of
    :data:`AUTO_CODECS` that this FFmpeg has and the container takes (H.264 for MP4/MKV,
    VP9 or AV1 for WebM); :class:`ParameterError` (``codec``) when none fits."""
    if codec:
        return resolve_codec(codec)
    for cand in AUTO_CODECS:
        if cand in av.codecs_available and container_accepts(fmt, cand):
            return cand
    raise ParameterError("codec", f"not given, and no encoder in this FFmpeg build fits a {fmt} file; "
                         "choose one, or another extension")


def output_format(path: str | Path) -> str:
    """The container format a file name's extension asks for; ParameterError (output) otherwise."""
    ext = Path(path).suffix.lower()
    if ext in _FORMAT_BY_EXT:
        return _FORMAT_BY_EXT[ext]
    for name in sorted(av.formats_available):
        with contextlib.suppress(ValueError):  # a demuxer-only format
            fmt = av.format.ContainerFormat(name, "w")
            if ext.lstrip(".") in fmt.extensions:
                return name
    raise ParameterError("output", f"{path}: cannot tell which container to write from the extension "
                         f"{ext or '(none)'!r}; use .mp4, .mkv, .mov or .webm (or end it with / for a folder)")


def container_accepts(fmt: str, codec: str) -> bool:
    """Whether a container of format ``fmt`` can hold ``codec`` video."""
    out = av.open(io.BytesIO(), "w", format=fmt)  # a throwaway container, to ask the muxer
    try:
        out.add_stream(codec)
        return True
    except (ValueError, av.error.FFmpegError):
        return False
    finally:
        with contextlib.suppress(ValueError, av.error.FFmpegError):  # nothing was written
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
        """A JSON-able dict (fractions as strings), for the resume manifest."""
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
    """The encoder settings for ``src`` (pixel format, quality, colour tags) and notes for the user."""
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
            notes.append(f"crf has no effect on {codec} (lossless)")
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
        # frames alone; it costs a few per cent in size at the same crf.
        options["x264-params"] = "mbtree=0"
    if preset:
        options["preset"] = preset
    flags = av.format.ContainerFormat(fmt, "w").flags
    settings = EncoderSettings(codec=codec, options=options, pix_fmt=pix_fmt, width=src.width, height=src.height,
                               time_base=src.time_base, rate=src.rate, sar=src.sar, colour=dict(src.colour),
                               global_header=bool(flags & av.format.Flags.global_header.value))
    return settings, notes


def configure(ctx: Any, s: EncoderSettings) -> None:
    """Apply ``s`` to an encoder's codec context."""
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
    """A fresh, opened encoder with settings ``s``."""
    os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints pages of info to stderr otherwise
    ctx = av.CodecContext.create(s.codec, "w")
    configure(ctx, s)
    try:
        ctx.open()
    except av.error.FFmpegError as exc:
        raise ColorizeError(f"cannot open the {s.codec} encoder with {s.options} ({av_reason(exc)})") from None
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
