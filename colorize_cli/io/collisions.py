"""One check, before any work, that no output of a run lands on an input or on another output.

Every command lists what it will write (colour outputs, confidence maps, contact sheets, CSV
files, films) as :class:`Output` rows and its inputs as paths; :func:`check_collisions`
refuses the whole run with one :class:`~colorize_cli.errors.ParameterError` naming the
option, the path and what it would clobber. Nothing is read or written before it.

Confidence maps (``<name>_top.png``, ``<name>_ratio.png``) carry a tag
(:func:`tag_png`, :func:`is_tagged`) so that a rerun can tell last run's maps, which are
outputs and never inputs, from a user's own picture that happens to have such a name.

Public API::

    Output(path, param, what, src=None)       # param: the library parameter that chose the path
    check_collisions(inputs, outputs)         # ParameterError on the first clash
    tag_png(data) -> bytes;  is_tagged(path) -> bool
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from colorize_cli.errors import ParameterError
from colorize_cli.io.inputs import real_path

__all__ = ["Output", "check_collisions", "is_tagged", "tag_png"]

_TAG = b"colorize\x00confidence map"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_AFTER_IHDR = 8 + 25  # signature, then the 13-byte IHDR chunk with its length, type and CRC


@dataclass(frozen=True)
class Output:
    """One file a run will write: where, which parameter chose it, and what it is ("the
    confidence map of scans/a.png"); ``src``, for a colour output, the input it is made from
    (landing on that one input is that input's own error, told when it comes up)."""

    path: Path
    param: str
    what: str
    src: Path | None = None


def check_collisions(inputs: Iterable[Path], outputs: Iterable[Output]) -> None:
    """:class:`ParameterError` (the output's parameter) when an output would overwrite an
    input, or two outputs of this run share one path; symbolic links are followed."""
    sources = {real_path(p): Path(p) for p in inputs}
    taken: dict[Path, Output] = {}
    for out in outputs:
        key = real_path(out.path)
        if key in sources and not (out.src is not None and real_path(out.src) == key):
            raise ParameterError(out.param, f"{out.path}: {out.what} would overwrite the input {sources[key]}; "
                                 "choose another folder")
        if key in taken:
            raise ParameterError(out.param, f"{out.path}: {out.what} and {taken[key].what} would be the same "
                                 "file, and one would be lost; choose another folder")
        taken[key] = out


def tag_png(data: bytes) -> bytes:
    """PNG bytes with a ``tEXt`` chunk saying colorize made them, right after the header."""
    if not data.startswith(_PNG_SIGNATURE):
        return data
    chunk = struct.pack(">I", len(_TAG)) + b"tEXt" + _TAG + struct.pack(">I", zlib.crc32(b"tEXt" + _TAG))
    return data[:_AFTER_IHDR] + chunk + data[_AFTER_IHDR:]


def is_tagged(path: str | Path) -> bool:
    """Whether ``path`` is a PNG that :func:`tag_png` tagged (reads its first 80 bytes only,
    and only from a regular file)."""
    from colorize_cli.io.safe_read import file_problem

    if file_problem(path):
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(_AFTER_IHDR + 8 + len(_TAG) + 4)
    except OSError:
        return False
    return head.startswith(_PNG_SIGNATURE) and head[_AFTER_IHDR + 4:_AFTER_IHDR + 8 + len(_TAG)] == b"tEXt" + _TAG
