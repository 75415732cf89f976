"""Resumable encoding: segments of packets and the work dir's manifest.

Frames are encoded in runs of N frames, each by a fresh encoder (so each starts on a key
frame), into a *packet log*: a flat file of the encoder's packets with their timestamps in the
source's time base (no container in between to round timestamps, as Matroska would to 1 ms,
or to shift them, as NUT and MP4 edit lists do). A segment is written under a temporary name,
renamed when complete, and only then recorded by its own small JSON file, so a crash leaves at
most one unrecorded temporary, which is deleted.

Public API::

    WorkDir(dst);  .start(identity) -> [notes];  .segments();  .done();  .mark_done(info);  .remove()
    WorkDir.packet_log(segment) -> Path;  .segment(k) -> record | None;  .matches(identity) -> bool
    SegmentWriter(work, settings, segment_frames)           # frames in, segments out
    read_packet_log(path) -> Iterator[(pts, dts, duration, key, data)]
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from colorize_cli.errors import ColorizeError
from colorize_cli.io.image_io import atomic_write_bytes
from colorize_cli.film.encode import EncoderSettings, open_encoder



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
        """Close and delete the temporary file."""
        with contextlib.suppress(OSError):
            self.f.close()
        with contextlib.suppress(OSError):
            self.tmp.unlink()


def read_packet_log(path: Path) -> Iterator[tuple[int | None, int | None, int, bool, bytes]]:
    """The packets of a segment file, in order: (pts, dts, duration, key?, data)."""
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

    def packet_log(self, segment: int) -> Path:
        """The packet log of segment number ``segment``."""
        return self.path / f"{_segment_name(segment)}.pkt"

    def exists(self) -> bool:
        """Whether a manifest is there."""
        return self.manifest.is_file()

    def start(self, identity: dict[str, Any]) -> list[str]:
        """Open (resuming if the manifest matches) or create the work dir; notes for the user."""
        notes: list[str] = []
        ident, digest = self._ident(identity)
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

    def _ident(self, identity: dict[str, Any]) -> tuple[dict[str, Any], str]:
        ident = {"version": self.VERSION, **identity}
        return ident, hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()

    def matches(self, identity: dict[str, Any]) -> bool:
        """Whether the work dir was started (:meth:`start`) for exactly this identity; a
        worker writing one piece of a film checks this instead of starting it again."""
        try:
            return json.loads(self.manifest.read_text(encoding="utf-8")).get("digest") == self._ident(identity)[1]
        except (OSError, ValueError):
            return False

    def segment(self, k: int) -> dict[str, Any] | None:
        """Segment ``k``'s record when it is complete, else None; touches no other segment
        (pieces of a split film are written at once)."""
        try:
            meta = json.loads((self.path / f"{_segment_name(k)}.json").read_text(encoding="utf-8"))
            if (self.path / f"{_segment_name(k)}.pkt").stat().st_size == meta["bytes"]:
                return meta
        except (OSError, ValueError, KeyError):
            pass
        return None

    def segments(self) -> list[dict[str, Any]]:
        """Finished segments, contiguous from the first (anything after a gap is redone)."""
        out: list[dict[str, Any]] = []
        k = 0
        while (meta := self.segment(k)) is not None:
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
        """The record of a finished run, or None."""
        try:
            return json.loads((self.path / "done.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def mark_done(self, info: dict[str, Any]) -> None:
        """Record that every segment is written."""
        atomic_write_bytes(self.path / "done.json", json.dumps(info).encode())

    def remove(self) -> None:
        """Delete the work dir."""
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
        """Encode one frame; closes the segment at its last frame."""
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
        """Flush the encoder and commit the current segment, if any."""
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
        """Drop the half-written segment (after a failure or Ctrl-C)."""
        if self._log is not None:
            self._log.abort()
            self._log, self._ctx = None, None
