"""Resolution (DPI) and PNG colour chunks, carried from an input picture to its output.

Scans are catalogued by their resolution, and OpenCV, which encodes our outputs, writes none:
this module puts it back in each format's own place, patching the encoded bytes (pixels are
never touched):

* PNG: the input's ``pHYs``, ``sRGB``, ``gAMA`` and ``cHRM`` chunks copied as they were (a
  ``pHYs`` made from the DPI when the input was no PNG), right after the header;
* JPEG: the JFIF header's density (dots per inch); EXIF resolution travels with the EXIF block;
* TIFF: XResolution, YResolution and ResolutionUnit (:func:`tiff_params`, given to OpenCV);
* BMP: the header's pixels per metre;
* WebP has no resolution field of its own (Pillow cannot write one either): only what the
  input's EXIF says is kept, with the EXIF block.

Public API::

    Resolution(dpi=None, png_chunks=())      # what is kept of an input
    read_resolution(data, dpi) -> Resolution  # dpi as Pillow reported it
    apply_resolution(data, fmt, resolution) -> bytes
    tiff_params(resolution) -> [int]
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

__all__ = ["Resolution", "apply_resolution", "read_resolution", "tiff_params"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_AFTER_IHDR = 8 + 25
_KEPT_PNG_CHUNKS = (b"pHYs", b"sRGB", b"gAMA", b"cHRM")
_INCH = 0.0254  # metres


@dataclass(frozen=True)
class Resolution:
    """An input's resolution in dots per inch (x, y), and its PNG colour chunks (whole, raw)."""

    dpi: tuple[float, float] | None = None
    png_chunks: tuple[bytes, ...] = ()


def _png_chunks(data: bytes) -> tuple[bytes, ...]:
    """The kept chunks of a PNG file, as raw bytes (length, type, data, CRC), up to IDAT."""
    if not data.startswith(_PNG_SIGNATURE):
        return ()
    out, pos = [], 8
    while pos + 8 <= len(data):
        (n,) = struct.unpack_from(">I", data, pos)
        kind = data[pos + 4:pos + 8]
        if kind in (b"IDAT", b"IEND") or pos + 12 + n > len(data):
            break
        if kind in _KEPT_PNG_CHUNKS:
            out.append(data[pos:pos + 12 + n])
        pos += 12 + n
    return tuple(out)


def read_resolution(data: bytes, dpi: object) -> Resolution:
    """What to keep of an input file's bytes; ``dpi`` is Pillow's ``info["dpi"]`` (or None)."""
    try:
        x, y = (float(v) for v in dpi)  # type: ignore[union-attr]
        pair = (x, y) if x > 0 and y > 0 and x < 1e6 and y < 1e6 else None
    except (TypeError, ValueError):
        pair = None
    return Resolution(pair, _png_chunks(data))


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(data: bytes, res: Resolution) -> bytes:
    chunks = list(res.png_chunks)
    if res.dpi and not any(c[4:8] == b"pHYs" for c in chunks):
        ppm = [round(d / _INCH) for d in res.dpi]
        chunks.append(_chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1)))
    if not chunks or not data.startswith(_PNG_SIGNATURE):
        return data
    return data[:_AFTER_IHDR] + b"".join(chunks) + data[_AFTER_IHDR:]


def _jpeg(data: bytes, res: Resolution) -> bytes:
    # OpenCV writes FF D8, then the JFIF APP0 segment: FF E0, length, "JFIF\0", version (2
    # bytes), units, Xdensity, Ydensity; units 1 is dots per inch.
    if not res.dpi or data[2:4] != b"\xff\xe0" or data[6:11] != b"JFIF\x00":
        return data
    x, y = (round(d) for d in res.dpi)
    if not (0 < x < 65536 and 0 < y < 65536):
        return data
    return data[:13] + struct.pack(">BHH", 1, x, y) + data[18:]


def _bmp(data: bytes, res: Resolution) -> bytes:
    if not res.dpi or data[:2] != b"BM" or len(data) < 46:
        return data
    out = bytearray(data)
    struct.pack_into("<ii", out, 38, *(round(d / _INCH) for d in res.dpi))
    return bytes(out)


def apply_resolution(data: bytes, fmt: str, res: Resolution | None) -> bytes:
    """Encoded ``fmt`` bytes with ``res`` written where the format keeps it (TIFF goes through
    :func:`tiff_params` instead)."""
    if res is None:
        return data
    if fmt == "png":
        return _png(data, res)
    if fmt == "jpg":
        return _jpeg(data, res)
    if fmt == "bmp":
        return _bmp(data, res)
    return data


def tiff_params(res: Resolution | None) -> list[int]:
    """OpenCV's TIFF encoder parameters for the resolution (whole dots per inch)."""
    import cv2

    if res is None or not res.dpi:
        return []
    return [cv2.IMWRITE_TIFF_RESUNIT, 2, cv2.IMWRITE_TIFF_XDPI, max(1, round(res.dpi[0])),
            cv2.IMWRITE_TIFF_YDPI, max(1, round(res.dpi[1]))]
