"""Reading and writing images: bit depth, alpha, EXIF and ICC kept; every write atomic.

OpenCV decodes and encodes pixels; Pillow is used only to read EXIF/ICC and the header size
(so an over-``max_pixels`` file is refused before it is decoded). Arrays are in **RGB(A)**
order, uint8 or uint16: H×W (gray), H×W×3 (RGB) or H×W×4 (RGBA).

Public API::

    read_image(path, max_pixels=None) -> Image
    decode_image(data: bytes, name, max_pixels=None) -> Image
    encode_image(pixels, fmt, exif=None, icc=None) -> bytes
    write_image(path, pixels, exif=None, icc=None, fmt=None) -> None      # atomic
    atomic_write_bytes(path, data) -> None
    output_format(path) -> str;  IMAGE_EXTENSIONS

Every problem with one input is an :class:`~colorize_cli.errors.InputError` with a short reason.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from colorize_cli.errors import InputError, os_reason
from colorize_cli.io.quiet import capture_fd2
from colorize_cli.io.tiff_meta import add_tiff_metadata
from colorize_cli.settings import DEFAULTS

# Memory is about 45 bytes per pixel at peak, so one image stays under ~5 GB at the default.
DEFAULT_MAX_PIXELS = DEFAULTS.max_pixels  # the table's value (colorize_cli.settings), by its usual name
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".jpe", ".tif", ".tiff", ".bmp", ".webp", ".jp2", ".pgm",
                    ".ppm", ".pnm", ".pbm"}
_FORMATS = {"jpeg": "jpg", "jpe": "jpg", "tiff": "tif", "pnm": "ppm", "pbm": "ppm", "pgm": "ppm"}
SIXTEEN_BIT_FORMATS = {"png", "tif", "jp2", "ppm"}
ALPHA_FORMATS = {"png", "tif", "webp"}
_EXIF_PREFIX = b"Exif\x00\x00"
_TIFF_EXIF_DROP = (256, 257, 258, 259, 262, 273, 277, 278, 279, 284, 317, 338, 339, 322, 323, 324, 325,
                   34675, 700, 33723, 34377, 37724)

with contextlib.suppress(AttributeError):
    # Damaged files are reported by us, one line each; OpenCV's own log would add several more.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


@dataclass
class Image:
    pixels: np.ndarray  # RGB(A) or gray, uint8 or uint16
    exif: bytes | None = None  # TIFF-structured EXIF, without the "Exif\0\0" prefix
    icc: bytes | None = None
    format: str = "png"  # of the source: png, jpg, tif, ...

    @property
    def bit_depth(self) -> int:
        """8 or 16."""
        return 16 if self.pixels.dtype == np.uint16 else 8

    @property
    def has_alpha(self) -> bool:
        """Whether the pixels carry an alpha channel."""
        return self.pixels.ndim == 3 and self.pixels.shape[2] == 4

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)"""
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])


def output_format(path: str | Path) -> str:
    """The image format (png, jpg, tif, ...) a file name's extension asks for."""
    ext = Path(path).suffix.lower().lstrip(".")
    return _FORMATS.get(ext, ext)


def icc_colour_space(icc: bytes | None) -> str | None:
    """'RGB', 'GRAY', 'CMYK'... from the profile header (bytes 16..20)."""
    if not icc or len(icc) < 20:
        return None
    return icc[16:20].decode("ascii", "replace").strip()


def _clean_exif(raw: bytes | None) -> bytes | None:
    if not raw:
        return None
    if raw.startswith(_EXIF_PREFIX):
        raw = raw[len(_EXIF_PREFIX):]
    return raw if raw[:4] in (b"II*\x00", b"MM\x00*") else None


_MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"),
          (b"BM", "bmp"), (b"GIF8", "gif"), (b"\x00\x00\x00\x0cjP  ", "jpeg2000"))


def _sniff(data: bytes) -> str | None:
    """The format a file claims by its first bytes, even when too little follows to parse."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    return None


def _read_metadata(data: bytes) -> tuple[tuple[int, int] | None, str | None, bytes | None, bytes | None]:
    """(size, format, exif, icc) from the header via Pillow; Nones where Pillow cannot tell."""
    from PIL import Image as PILImage

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            PILImage.MAX_IMAGE_PIXELS = None  # --max-pixels is ours to enforce
            im = PILImage.open(io.BytesIO(data))
            fmt = (im.format or "").lower() or None
            icc = im.info.get("icc_profile") or None
            if fmt == "tiff":
                # A TIFF's EXIF *is* its tag directory: keep the descriptive tags only.
                ex = im.getexif()
                for tag in _TIFF_EXIF_DROP:
                    ex.pop(tag, None)
                exif = _clean_exif(ex.tobytes()) if len(ex) else None
            else:
                exif = _clean_exif(im.info.get("exif"))
            return im.size, fmt, exif, icc
    except Exception:  # Pillow could not parse it: OpenCV may still, and decides below
        return None, None, None, None


def decode_image(data: bytes, name: str | Path, max_pixels: int | None = None) -> Image:
    """Decode image file bytes (``name`` for messages); InputError with the reason otherwise."""
    if len(data) == 0:
        raise InputError(name, "empty file (0 bytes)")
    size, pil_format, exif, icc = _read_metadata(data)
    if size is not None and max_pixels and size[0] * size[1] > max_pixels:
        raise InputError(name, f"{size[0]}x{size[1]} = {size[0] * size[1]} pixels is over max_pixels {max_pixels}")
    with capture_fd2():
        try:
            pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        except cv2.error:
            pixels = None
    if pixels is None or pixels.size == 0:
        claimed = pil_format or _sniff(data)
        if claimed:
            raise InputError(name, f"truncated or corrupt {claimed.upper()} file")
        raise InputError(name, "not an image (unrecognised or damaged file)")
    if max_pixels and pixels.shape[0] * pixels.shape[1] > max_pixels:
        h, w = pixels.shape[:2]
        raise InputError(name, f"{w}x{h} = {w * h} pixels is over max_pixels {max_pixels}")
    if pixels.dtype not in (np.uint8, np.uint16):
        raise InputError(name, f"unsupported sample type {pixels.dtype} (8- and 16-bit images only)")
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.ndim == 3 and pixels.shape[2] == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    elif pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGBA)
    elif pixels.ndim != 2:
        raise InputError(name, f"unsupported channel layout {pixels.shape}")
    fmt = output_format(f"x.{pil_format}") if pil_format else output_format(name) or "png"
    return Image(pixels=pixels, exif=exif, icc=icc, format=fmt)


def read_image(path: str | Path, max_pixels: int | None = None) -> Image:
    """Read an image file with its bit depth, alpha, EXIF and ICC profile; InputError otherwise."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, os_reason(exc)) from None
    return decode_image(data, path, max_pixels)


def _to_8bit(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    return ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def encode_image(pixels: np.ndarray, fmt: str, exif: bytes | None = None, icc: bytes | None = None,
                 consume: bool = False) -> bytes:
    """Encode RGB(A)/gray ``pixels`` as ``fmt``; depth and alpha are dropped where ``fmt`` lacks them.

    ``consume=True`` lets it reorder the channels of ``pixels`` in place instead of in a copy
    (for a caller that drops them afterwards: a 20 MP scan then needs 60 MB less at its peak)."""
    fmt = _FORMATS.get(fmt.lower().lstrip("."), fmt.lower().lstrip("."))
    if fmt not in SIXTEEN_BIT_FORMATS:
        pixels = _to_8bit(pixels)
    if pixels.ndim == 3 and pixels.shape[2] == 4 and fmt not in ALPHA_FORMATS:
        pixels = pixels[:, :, :3]
    if pixels.ndim == 3:
        code = cv2.COLOR_RGBA2BGRA if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR
        in_place = consume and pixels.flags.c_contiguous and pixels.flags.writeable
        pixels = cv2.cvtColor(pixels, code, dst=pixels if in_place else None)
    params: list[int] = []
    if fmt == "jpg":
        params = [cv2.IMWRITE_JPEG_QUALITY, 95]
    elif fmt == "webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, 95]
    kinds, blobs = [], []
    if exif:
        kinds.append(cv2.IMAGE_METADATA_EXIF)
        blobs.append(np.frombuffer(exif, np.uint8))
    if icc:
        kinds.append(cv2.IMAGE_METADATA_ICCP)
        blobs.append(np.frombuffer(icc, np.uint8))
    with capture_fd2():
        try:
            if kinds and fmt in ("png", "jpg", "webp") and hasattr(cv2, "imencodeWithMetadata"):
                ok, buf = cv2.imencodeWithMetadata("." + fmt, pixels, kinds, blobs, params)
            else:
                ok, buf = cv2.imencode("." + fmt, pixels, params)
        except cv2.error:
            ok, buf = False, None
    if not ok:
        raise ValueError(f"cannot encode a {pixels.dtype} {pixels.shape} image as .{fmt}")
    data = buf.tobytes()
    if fmt == "tif":
        data = add_tiff_metadata(data, exif, icc)
    return data


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temporary name in the same folder, then ``os.replace``: readers (and a rerun
    after a crash) see either no file or the whole file, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs should look like any new file
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_image(path: str | Path, pixels: np.ndarray, exif: bytes | None = None, icc: bytes | None = None,
                fmt: str | None = None, consume: bool = False) -> None:
    """Encode ``pixels`` (RGB(A)/gray, 8/16-bit) with EXIF/ICC where the format holds them; atomic.
    ``consume``: as in :func:`encode_image`."""
    atomic_write_bytes(path, encode_image(pixels, fmt or output_format(path), exif, icc, consume))
