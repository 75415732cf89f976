"""The one way input files are opened: regular files only, and never more than a bound.

Every input kind goes through here before a byte of it is read: photos, hint files (JSON and
pictures), keyframes, references of ``colorize evaluate``, films (checked, then handed to
PyAV by path) and models (checked, then handed to onnxruntime by path). A FIFO, a device
(``/dev/zero``), a socket or a folder is refused with one reason, *before* it is opened for
reading, so nothing can block on a pipe or read an endless device; the file is opened with
``O_NONBLOCK`` and checked again on the open descriptor, so a path swapped for a FIFO between
the check and the read cannot hang the run either. A regular file larger than the bound of
its kind is refused from its size, before it is read.

Public API::

    file_problem(path) -> str | None            # why this path is no input file, or None
    check_input_file(path, limit=None, what="file") -> int   # its size; InputError otherwise
    read_input_bytes(path, limit, what="file") -> bytes      # InputError for anything but a
                                                              # regular file within the limit
    HINTS_LIMIT, PICTURE_LIMIT, MODEL_LIMIT     # the bounds of each kind, in bytes
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from colorize_cli.errors import InputError, os_reason

__all__ = ["HINTS_LIMIT", "MODEL_LIMIT", "PICTURE_LIMIT", "check_input_file", "file_problem",
           "picture_limit", "read_input_bytes"]

#: A hint file in JSON: even a dense hand-drawn set is a few hundred kB.
HINTS_LIMIT = 64 << 20
#: A picture file without a pixel limit: an uncompressed 16-bit RGBA scan of 250 MP.
PICTURE_LIMIT = 2 << 30
#: A model file: protobuf itself cannot hold more than 2 GiB.
MODEL_LIMIT = 2 << 30


def picture_limit(max_pixels: int | None) -> int:
    """Bytes a picture file of at most ``max_pixels`` can reasonably take: 8 bytes a pixel
    (16-bit RGBA, uncompressed) and 16 MB of metadata; :data:`PICTURE_LIMIT` without a limit."""
    if not max_pixels:
        return PICTURE_LIMIT
    return min(PICTURE_LIMIT, 8 * max_pixels + (16 << 20))


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISFIFO(mode):
        return "not a regular file (a FIFO); skipped without reading"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "not a regular file (a device); skipped without reading"
    if stat.S_ISSOCK(mode):
        return "not a regular file (a socket); skipped without reading"
    return "not a regular file; skipped without reading"


def _too_big(size: int, limit: int, what: str) -> str:
    return f"{size} bytes is more than any {what} should take ({limit} bytes); not read"


def file_problem(path: str | Path) -> str | None:
    """Why ``path`` cannot be an input file (missing, a link loop, not a regular file...), from
    ``stat`` alone (nothing is opened); None when it is a regular file."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        if isinstance(exc, FileNotFoundError) and os.path.islink(path):
            return "broken symbolic link"
        return os_reason(exc)
    return _kind(st.st_mode)


def check_input_file(path: str | Path, limit: int | None = None, what: str = "file") -> int:
    """The size of the regular file ``path``; :class:`InputError` when it is no regular file
    or larger than ``limit``. For readers that take a path (PyAV, onnxruntime)."""
    problem = file_problem(path)
    if problem:
        raise InputError(path, problem)
    size = os.stat(path).st_size
    if limit is not None and size > limit:
        raise InputError(path, _too_big(size, limit, what))
    return size


def read_input_bytes(path: str | Path, limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them; :class:`InputError`
    with the reason for anything else. Never blocks on a FIFO and never reads a device."""
    check_input_file(path, limit, what)  # before open(): opening a FIFO or a tape has effects
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(path, os_reason(exc)) from None
    try:
        st = os.fstat(fd)  # the file actually opened: the path may have been swapped since
        problem = _kind(st.st_mode)
        if problem:
            raise InputError(path, problem)
        if st.st_size > limit:
            raise InputError(path, _too_big(st.st_size, limit, what))
        os.set_blocking(fd, True)
        chunks, got = [], 0
        while True:
            # One byte more than allowed tells a file that grew since fstat.
            chunk = os.read(fd, min(1 << 24, limit + 1 - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
            if got > limit:
                raise InputError(path, _too_big(got, limit, what))
        return b"".join(chunks)
    except OSError as exc:
        raise InputError(path, os_reason(exc)) from None
    finally:
        os.close(fd)
