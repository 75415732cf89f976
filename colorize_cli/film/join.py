"""Joining: the segments and the source's other streams into the final file.

The packets of every segment are muxed, without re-encoding, into the final container together
with the source's audio, subtitle, data and attachment streams, its chapters and its container
and stream metadata. What happens to each of the source's other streams is decided first, as a
pure plan (:func:`plan_streams`: copy, re-encode or drop, with the reason); then a short mux
loop carries it out. The video stream's parameters come from an encoder opened with the
segments' settings (identical settings give identical codec headers, which is checked), and
its decode timestamps are recomputed over the whole film so that they increase across segment
boundaries. The result is written under a temporary name beside the output and renamed at the
end.

Public API::

    plan_streams(source_container, main_index, fmt) -> [StreamPlan]   # copy / reencode / drop, pure
    join(work, segments, source, dst, settings, warn) -> JoinResult   # the film, marked as made here
    made_here(path) -> bool | None                          # does an existing output carry the mark?
"""

from __future__ import annotations

import base64
import contextlib
import glob
import heapq
import io
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from colorize_cli.errors import ColorizeError
from colorize_cli.film.encode import EncoderSettings, configure, output_format
from colorize_cli.film.read import Source, av_reason, demux, open_input
from colorize_cli.film.segments import WorkDir, read_packet_log

# Tags that describe the old encode, not ours (Matroska statistics, encoder names).
_STALE_TAGS = {"colorize", "encoder", "duration", "number_of_frames", "number_of_bytes", "bps", "_statistics_tags",
               "_statistics_writing_app", "_statistics_writing_date_utc"}


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


def _copy_metadata(dst: Any, src: dict[str, str], warn: Callable[[str], None]) -> None:
    for k, v in src.items():
        if k.lower() not in _STALE_TAGS and not k.lower().startswith("_statistics"):
            try:
                dst.metadata[k] = v
            except (ValueError, TypeError, UnicodeError) as exc:
                warn(f"metadata tag {k!r} could not be copied ({exc})")


def _video_packets(work: WorkDir, segments: list[dict[str, Any]], tb: Fraction,
                   offset: Fraction = Fraction(0)) -> Iterator[tuple[float, int, Any]]:
    """The segments' packets in decode order with decode timestamps recomputed for the whole
    film: dts_i = (i-th smallest pts) − D, with D the smallest shift keeping dts ≤ pts. That is
    what an encoder with reordering does, and it stays increasing across segment joins."""
    pts_all: list[int] = []
    for seg in segments:
        pts_all.extend(p for p, _, _, _, _ in read_packet_log(work.packet_log(seg['segment'])))
    if any(p is None for p in pts_all):
        raise ColorizeError("a segment has packets without timestamps; delete the .partial folder and run again")
    order = sorted(pts_all)  # type: ignore[arg-type]
    shift = max(0, max((order[i] - p for i, p in enumerate(pts_all)), default=0))  # type: ignore[operator]
    start = int(round(offset / tb))
    i = 0
    for seg in segments:
        for pts, _, dur, key, data in read_packet_log(work.packet_log(seg['segment'])):
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
    for pkt in demux(container, streams, lambda why: warn(f"copying the other streams stopped early ({why})")):
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
    target = _subtitle_target(in_stream, fmt)
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


@dataclass(frozen=True)
class StreamPlan:
    """What the join does with one of the source's other streams, decided before any muxing."""

    index: int
    action: str  # "copy" | "reencode" | "drop"
    description: str  # "audio#1 aac (fra)"
    reason: str = ""  # why it is not copied


def _subtitle_target(in_stream: Any, fmt: str) -> str:
    target = _TEXT_SUBTITLE_FOR.get(fmt)
    if in_stream.codec_context.name not in _TEXT_SUBTITLES or target is None:
        raise ValueError("no subtitle conversion for this container")
    return target


def _copy_or_reencode(out: Any, s: Any, fmt: str, plan: StreamPlan) -> Any:
    """The output stream for one planned stream."""
    if plan.action == "copy":
        return out.add_stream_from_template(s)
    if s.type == "audio":
        return _audio_reencoder(out, s)
    return _subtitle_reencoder(out, s, fmt)


def plan_streams(source: Any, main_index: int, fmt: str) -> list[StreamPlan]:
    """What to do with every stream of ``source`` except the colourised one: copy it packet for
    packet if a ``fmt`` container takes it, else re-encode it (audio; text subtitles) if that
    container takes the conversion, else drop it. Decided on a scratch container in memory,
    so nothing is written and the source is not touched."""
    scratch = av.open(io.BytesIO(), "w", format=fmt)
    plans: list[StreamPlan] = []
    try:
        for s in source.streams:
            if s.index == main_index:
                continue
            try:
                scratch.add_stream_from_template(s)
                plans.append(StreamPlan(s.index, "copy", _describe(s)))
                continue
            except (ValueError, av.error.FFmpegError, TypeError, NotImplementedError):
                pass
            try:
                if s.type == "audio":
                    target = _audio_reencoder(scratch, s).codec_context.name
                elif s.type == "subtitle":
                    target = scratch.add_stream(_subtitle_target(s, fmt)).codec_context.name
                else:
                    raise ValueError(f"{s.type} streams cannot be converted")
                plans.append(StreamPlan(s.index, "reencode", _describe(s), target))
            except (ValueError, av.error.FFmpegError, TypeError):
                plans.append(StreamPlan(s.index, "drop", _describe(s), "the container cannot hold it"))
    finally:
        with contextlib.suppress(ValueError, av.error.FFmpegError):  # nothing was written
            scratch.close()
    return plans


def _add_video_stream(out: Any, in_video: Any, src: Source, settings: EncoderSettings,
                      warn: Callable[[str], None]) -> Any:
    vs = out.add_stream(settings.codec, rate=settings.rate)
    configure(vs.codec_context, settings)
    vs.time_base = settings.time_base
    if src.display_matrix:
        vs.set_display_matrix(src.display_matrix)
    _copy_metadata(vs, in_video.metadata, warn)
    _copy_disposition(vs, in_video, warn)
    return vs


def _copy_disposition(o: Any, s: Any, warn: Callable[[str], None]) -> None:
    try:
        o.disposition = s.disposition
    except (AttributeError, ValueError, TypeError) as exc:  # older PyAV: read-only
        warn(f"the disposition of {_describe(s)} could not be copied ({exc})")


def _report(plans: list[StreamPlan], ext: str, warn: Callable[[str], None]) -> JoinResult:
    result = JoinResult()
    for p in plans:
        if p.action == "copy":
            result.copied.append(p.description)
        elif p.action == "reencode":
            result.reencoded.append(p.description)
            warn(f"{p.description} cannot go into a .{ext} file as it is; re-encoded to {p.reason}")
        else:
            result.dropped.append(p.description)
            warn(f"{p.description} cannot go into a .{ext} file; left out (choose .mkv to keep it)")
    return result


def _check_headers(work: WorkDir, segments: list[dict[str, Any]], vs: Any) -> None:
    want = base64.b64decode(segments[0]["extradata"]) if segments else b""
    got = bytes(vs.codec_context.extradata or b"")
    if any(base64.b64decode(s["extradata"]) != want for s in segments) or (want and got and want != got):
        raise ColorizeError("the segments' codec headers differ (was the encoder library updated "
                            f"between runs?); delete {work.path} and run again")


def _mux_source_packet(out: Any, plan: StreamPlan, in_s: Any, o: Any, pkt: Any, warn: Callable[[str], None]) -> None:
    if plan.action == "copy":
        pkt.stream = o
        out.mux(pkt)
        return
    try:
        if in_s.type == "subtitle":
            _mux_subtitle(out, in_s, o, pkt)
        else:
            for frame in pkt.decode():
                out.mux(o.encode(frame))
    except av.error.FFmpegError as exc:  # one damaged packet costs only itself
        warn(f"a packet of {plan.description} could not be re-encoded and was skipped ({av_reason(exc)})")


def _start_offset(source: Any, settings: EncoderSettings) -> Fraction:
    """Like FFmpeg, a film whose clock starts late (MPEG-TS captures start anywhere, even hours
    in) is moved to start at 0; every stream moves together, so sync is kept. Whole ticks of
    the film's clock, rounded down so that no stream goes negative."""
    offset = Fraction(source.start_time, 1_000_000) if (source.start_time or 0) > 0 else Fraction(0)
    return math.floor(offset / settings.time_base) * settings.time_base


def join(work: WorkDir, segments: list[dict[str, Any]], src: Source, dst: Path, settings: EncoderSettings,
         warn: Callable[[str], None]) -> JoinResult:
    """Mux the segments and the source's other streams into ``dst`` (atomically)."""
    fmt = output_format(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    for stale in dst.parent.glob(f".{glob.escape(dst.stem)}.*.colorize-tmp{glob.escape(dst.suffix)}"):
        with contextlib.suppress(OSError):  # left by a run killed while joining
            stale.unlink()
    # A hidden name beside the output (same file system, so the final rename is atomic); the
    # muxer creates it, with the permissions any new file gets.
    tmp = dst.with_name(f".{dst.stem}.{os.getpid()}.colorize-tmp{dst.suffix}")
    try:
        with open_input(src.path) as source, av.open(str(tmp), "w", format=fmt,
                                                     options=_MARK_OPTIONS.get(fmt, {})) as out:
            offset = _start_offset(source, settings)
            _copy_metadata(out, source.metadata, warn)
            if work.digest:
                out.metadata[MARK_TAG] = work.digest
            try:
                out.set_chapters(source.chapters())
            except (ValueError, TypeError, AttributeError, av.error.FFmpegError) as exc:
                warn(f"the chapters could not be copied ({exc})")
            plans = plan_streams(source, src.stream_index, fmt)
            result = _report(plans, dst.suffix.lstrip("."), warn)
            kept = {p.index: p for p in plans if p.action != "drop"}
            outs: dict[int, Any] = {}
            for s in source.streams:  # in the source's order: the colourised stream keeps its place
                if s.index == src.stream_index:
                    vs = _add_video_stream(out, s, src, settings, warn)
                elif s.index in kept:
                    outs[s.index] = _copy_or_reencode(out, s, fmt, kept[s.index])
            for i in kept:
                _copy_metadata(outs[i], source.streams[i].metadata, warn)
                _copy_disposition(outs[i], source.streams[i], warn)
            out.start_encoding()
            _check_headers(work, segments, vs)
            merged = heapq.merge(_video_packets(work, segments, settings.time_base, offset),
                                 _source_packets(source, [source.streams[i] for i in kept], warn, offset),
                                 key=lambda kp: kp[0])
            for _, idx, pkt in merged:
                if idx < 0:
                    pkt.stream = vs
                    out.mux(pkt)
                else:
                    _mux_source_packet(out, kept[idx], source.streams[idx], outs[idx], pkt, warn)
            for p in kept.values():
                if p.action == "reencode" and source.streams[p.index].type == "audio":
                    out.mux(outs[p.index].encode(None))
        os.replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return result
