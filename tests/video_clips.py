"""Small video clips made on the fly with PyAV, for the video tests and the benchmark.

Pictures: colour bars with a moving disc and a moving square (so frames differ and motion is
real); ``cut_at`` switches to a different layout (a new "shot") from that frame on. Audio: a
sine tone. Everything is deterministic, so two clips made with the same arguments are equal.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

NTSC = Fraction(30000, 1001)
_BARS = np.array([[192, 192, 192], [192, 192, 0], [0, 192, 192], [0, 192, 0], [192, 0, 192], [192, 0, 0],
                  [0, 0, 192], [16, 16, 16]], np.uint8)


def shapes_frame(i: int, w: int = 64, h: int = 48, shot: int = 0) -> np.ndarray:
    """Frame ``i`` of the moving-shapes picture, RGB uint8; ``shot`` changes the layout."""
    cols = (np.arange(w) * len(_BARS) // w + 3 * shot) % len(_BARS)
    img = np.ascontiguousarray(np.broadcast_to(_BARS[cols][None], (h, w, 3)))
    if shot % 2:
        img = img[::-1, ::-1].copy()
        img[: h // 2] = 255 - img[: h // 2]
    r = max(2, min(w, h) // 6)
    cx = int((i * 2 + 7 * shot) % max(w - 2 * r, 1)) + r
    cy = h // 2 + int(h / 5 * np.sin(i / 6 + shot))
    cv2.circle(img, (cx, cy), r, (255, 255, 255), -1)
    s = max(2, min(w, h) // 8)
    x0 = int((w - s) * (0.5 + 0.4 * np.cos(i / 9)))
    y0 = int((h - s) * (0.3 + 0.4 * (shot % 2)))
    img[y0:y0 + s, x0:x0 + s] = (20, 20, 20)
    return img


def clip_frames(n: int, w: int = 64, h: int = 48, cut_at: int | None = None) -> list[np.ndarray]:
    return [shapes_frame(i, w, h, shot=int(cut_at is not None and i >= cut_at)) for i in range(n)]


def make_clip(path: str | Path, n: int = 30, w: int = 64, h: int = 48, rate: Fraction | int = NTSC,
              codec: str = "libx264", pix_fmt: str = "yuv420p", audio: str | None = "aac", cut_at: int | None = None,
              pts: Sequence[int] | None = None, time_base: Fraction | None = None, frames: Iterable[np.ndarray] | None = None,
              subtitles: bool = False, rotation: int | None = None, sar: Fraction | None = None,
              metadata: dict | None = None, options: dict | None = None, start: float = 0.0) -> Path:
    """Write a clip; ``pts``/``time_base`` give variable frame timing, else frames are 1/rate apart;
    ``start`` (seconds) delays every stream's clock, as in a broadcast capture; ``frames`` may be a
    generator (give ``n``), so long clips never sit in memory."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if frames is not None:
        n = len(frames) if hasattr(frames, "__len__") else n  # a generator needs n
        it = iter(frames)
        first = next(it)
        h, w = first.shape[:2]
        pics = itertools.chain([first], it)
    else:
        pics = (shapes_frame(i, w, h, shot=int(cut_at is not None and i >= cut_at)) for i in range(n))
    rate = Fraction(rate)
    tb = time_base or (1 / rate)
    with av.open(str(path), "w") as out:
        out.metadata.update(metadata or {"title": "test clip", "creation_time": "2001-02-03T04:05:06.000000Z"})
        vs = out.add_stream(codec, rate=rate, options=options or ({"crf": "18", "preset": "ultrafast"}
                                                                   if codec == "libx264" else {}))
        vs.width, vs.height, vs.pix_fmt = w, h, pix_fmt
        vs.codec_context.time_base = tb
        vs.time_base = tb
        vs.metadata["language"] = "eng"
        if sar is not None:
            vs.codec_context.sample_aspect_ratio = sar
        if rotation is not None:
            vs.set_display_rotation(rotation)
        aus = None
        if audio:
            aus = out.add_stream(audio, rate=48000, layout="mono")
            aus.metadata["language"] = "fra"
        subs = out.add_mux_stream("subrip") if subtitles else None
        if pts is not None:
            video_pts = list(pts)
        else:  # one tick of 1/rate per frame, expressed in the stream time base
            step = (1 / rate) / tb
            video_pts = [int(round(i * step)) for i in range(n)]
        shift = int(round(Fraction(start).limit_denominator(1000) / tb))
        for p, pic in zip(video_pts, pics):
            frame = av.VideoFrame.from_ndarray(pic, format="rgb24")
            frame.pts = p + shift
            frame.time_base = tb
            out.mux(vs.encode(frame))
        out.mux(vs.encode())
        duration = float((video_pts[-1] + 1) * tb) if video_pts else 0.0
        if aus is not None:
            sr, size, t = 48000, 1024, 0
            total = int(duration * sr)
            while t < total:
                k = min(size, total - t)
                tone = (0.3 * np.sin(2 * np.pi * 440 * (t + np.arange(k)) / sr)).astype(np.float32)
                af = av.AudioFrame.from_ndarray(tone[None], format="flt", layout="mono")
                af.sample_rate, af.pts, af.time_base = sr, t + int(start * sr), Fraction(1, sr)
                out.mux(aus.encode(af))
                t += k
            out.mux(aus.encode())
        if subs is not None:
            subs.time_base = Fraction(1, 1000)
            for k, start in enumerate(np.arange(0.0, max(duration, 0.5), 0.5)):
                pkt = av.Packet(f"line {k}".encode())
                pkt.pts = pkt.dts = int(start * 1000)
                pkt.duration = 400
                pkt.time_base = Fraction(1, 1000)
                pkt.stream = subs
                out.mux(pkt)
    return path
