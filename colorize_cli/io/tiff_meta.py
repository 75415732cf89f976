"""Add EXIF and ICC tags to a classic TIFF file that OpenCV wrote (OpenCV cannot write them).

OpenCV's TIFF encoder ignores metadata, and Pillow cannot write 16-bit RGB TIFF, so we patch the
file: a copy of IFD 0 with the extra tags (and the EXIF/GPS sub-IFDs) is appended at the end and
the header is pointed at it. Pixel data is never touched. BigTIFF is left as it is.

Public API::

    add_tiff_metadata(tiff: bytes, exif: bytes | None, icc: bytes | None) -> bytes
"""

from __future__ import annotations

import struct

import numpy as np

_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
# Element size for byte swapping: rationals are pairs of 32-bit integers.
_SWAP = {3: 2, 8: 2, 4: 4, 9: 4, 11: 4, 13: 4, 5: 4, 10: 4, 12: 8}
_SUB_IFDS = {34665, 34853, 40965}  # Exif, GPS, Interoperability pointers
# Tags that describe pixel layout: they must come from the file OpenCV wrote, never from EXIF.
_STRUCTURAL = {254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 274, 277, 278, 279, 280, 281, 284,
               292, 293, 296, 317, 318, 319, 320, 322, 323, 324, 325, 338, 339, 340, 341, 513, 514,
               530, 531, 532, 34675}
ICC_TAG = 34675

Entry = tuple[int, int, int, object]  # tag, type, count, payload bytes (or list[Entry] for a sub-IFD)


def _order(buf: bytes) -> str | None:
    if buf[:4] == b"II*\x00":
        return "<"
    if buf[:4] == b"MM\x00*":
        return ">"
    return None


def _swap(payload: bytes, typ: int) -> bytes:
    k = _SWAP.get(typ)
    if not k or not payload:
        return payload
    return np.frombuffer(payload, dtype=f">u{k}").astype(f"<u{k}").tobytes()


def _read_ifd(buf: bytes, off: int, bo: str, out_bo: str, depth: int = 0) -> list[Entry]:
    if depth > 3 or off <= 0 or off + 2 > len(buf):
        return []
    (n,) = struct.unpack_from(bo + "H", buf, off)
    entries: list[Entry] = []
    for i in range(n):
        pos = off + 2 + 12 * i
        if pos + 12 > len(buf):
            break
        tag, typ, count = struct.unpack_from(bo + "HHI", buf, pos)
        size = _SIZES.get(typ)
        if size is None:
            continue
        nbytes = size * count
        if nbytes <= 4:
            payload = buf[pos + 8:pos + 8 + nbytes]
        else:
            (ptr,) = struct.unpack_from(bo + "I", buf, pos + 8)
            if ptr + nbytes > len(buf):
                continue  # a broken entry is dropped rather than copied as garbage
            payload = buf[ptr:ptr + nbytes]
        if tag in _SUB_IFDS and typ in (4, 13) and count == 1:
            (sub,) = struct.unpack(bo + "I", payload)
            entries.append((tag, 4, 1, _read_ifd(buf, sub, bo, out_bo, depth + 1)))
            continue
        if bo != out_bo:
            payload = _swap(payload, typ)
        entries.append((tag, typ, count, payload))
    return entries


def _write_ifd(out: bytearray, entries: list[Entry], bo: str, next_ifd: int = 0) -> int:
    resolved: list[tuple[int, int, int, bytes]] = []
    for tag, typ, count, payload in entries:
        if isinstance(payload, list):
            payload = struct.pack(bo + "I", _write_ifd(out, payload, bo))
        resolved.append((tag, typ, count, payload))  # type: ignore[arg-type]
    resolved.sort(key=lambda e: e[0])
    if len(out) % 2:
        out += b"\x00"
    start = len(out)
    data_at = start + 2 + 12 * len(resolved) + 4
    table = bytearray(struct.pack(bo + "H", len(resolved)))
    data = bytearray()
    for tag, typ, count, payload in resolved:
        if len(payload) <= 4:
            value = payload.ljust(4, b"\x00")
        else:
            value = struct.pack(bo + "I", data_at + len(data))
            data += payload
            if len(data) % 2:
                data += b"\x00"
        table += struct.pack(bo + "HHI", tag, typ, count) + value
    table += struct.pack(bo + "I", next_ifd)
    out += table + data
    return start


def add_tiff_metadata(tiff: bytes, exif: bytes | None, icc: bytes | None) -> bytes:
    """A TIFF file's bytes with EXIF and ICC profile tags added (classic TIFF only)."""
    bo = _order(tiff)
    if bo is None or not (exif or icc):
        return tiff
    (ifd0,) = struct.unpack_from(bo + "I", tiff, 4)
    main = _read_ifd(tiff, ifd0, bo, bo)
    (n,) = struct.unpack_from(bo + "H", tiff, ifd0)
    (next_ifd,) = struct.unpack_from(bo + "I", tiff, ifd0 + 2 + 12 * n)
    have = {e[0] for e in main}
    if exif:
        ebo = _order(exif)
        if ebo is not None:
            (eoff,) = struct.unpack_from(ebo + "I", exif, 4)
            for entry in _read_ifd(exif, eoff, ebo, bo):
                if entry[0] not in have and entry[0] not in _STRUCTURAL:
                    main.append(entry)
                    have.add(entry[0])
    if icc:
        main = [e for e in main if e[0] != ICC_TAG] + [(ICC_TAG, 7, len(icc), icc)]
    out = bytearray(tiff)
    new_ifd0 = _write_ifd(out, main, bo, next_ifd)
    struct.pack_into(bo + "I", out, 4, new_ifd0)
    return bytes(out)
