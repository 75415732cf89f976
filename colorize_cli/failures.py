"""The one place that decides whether an exception is one input's failure, and says why.

A batch (photos or films) must never stop, nor print a traceback, because one file could not
be done. :func:`failure_reason` turns every failure that belongs to one file into that file's
one-line reason: our own :class:`~colorize_cli.errors.InputError` and
:class:`~colorize_cli.errors.NonFiniteOutput`, running out of memory (Python's
``MemoryError``, numpy's ``_ArrayMemoryError``, OpenCV's ``Insufficient memory``,
onnxruntime's failed allocations), OpenCV refusing an argument built from the file (a hint
stroke wider than 32767), a file nested too deeply (``RecursionError``), a number too large
(``OverflowError``), an ``OSError`` or ``ValueError`` while reading or writing it. It returns
None for what is not one file's fault (an unusable model, a bad option, Ctrl-C): those stop
the run as before.

Public API::

    failure_reason(exc, size=None) -> str | None    # size: (width, height) when known
    is_out_of_memory(exc) -> bool
    memory_shortfall(size, per_pixel=16) -> str | None   # a picture (or film) that cannot fit, told up front
    PER_FILE                                        # the exception types a per-file guard catches
"""

from __future__ import annotations

import errno

import cv2

from colorize_cli.errors import ColorizeError, InputError, NonFiniteOutput, os_reason

__all__ = ["FILM_BYTES_PER_PIXEL", "PEAK_BYTES_PER_PIXEL", "PER_FILE", "failure_reason", "is_out_of_memory", "memory_shortfall"]

#: Address space one photo takes at its peak beyond the process and the model, per pixel:
#: the decoded pixels, L, the full-resolution ab and the output (``colorize images`` on a
#: 20-megapixel JPEG: 0.25 GB of RSS above the process, 12.5 bytes a pixel; rounded up).
PEAK_BYTES_PER_PIXEL = 16
#: The same for a film, per pixel of one frame: the frames in the stage queues and the
#: encoder's lookahead (a 3-frame 3840×2160 clip: 0.33 GB of RSS above the process, 40 bytes a
#: pixel; a long film fills the queues further).
FILM_BYTES_PER_PIXEL = 60

# Words in OpenCV's and onnxruntime's messages when an allocation failed.
_OOM_WORDS = ("insufficient memory", "failed to allocate", "bad_alloc", "bad allocation", "out of memory",
              "cannot allocate memory")

#: What a per-file guard catches: everything :func:`failure_reason` may call one file's fault
#: (it still returns None, and the guard re-raises, for the rest).
PER_FILE: tuple[type[BaseException], ...] = (ColorizeError, MemoryError, RecursionError, OverflowError, OSError,
                                             ValueError, RuntimeError, ArithmeticError, cv2.error)


def _first_line(exc: BaseException) -> str:
    text = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # OpenCV's messages are "OpenCV(4.x) file:line: error: (-4:Insufficient memory) Failed to ..."
    line = lines[-1] if lines else type(exc).__name__
    if "error: (" in line:
        line = line.split("error: (", 1)[1]
        code, _, rest = line.partition(")")
        line = f"{code.split(':', 1)[-1].strip()}{': ' + rest.strip() if rest.strip() else ''}"
    return line[:200]


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says an allocation failed (Python, numpy, OpenCV or onnxruntime)."""
    if isinstance(exc, MemoryError):
        return True
    if isinstance(exc, OSError) and exc.errno in (errno.ENOMEM, errno.EAGAIN) and not exc.filename:
        return True  # no memory for a buffer, or for a thread's stack under an address-space limit
    text = str(exc).lower()
    return any(w in text for w in _OOM_WORDS)


def _headroom() -> int | None:
    """Bytes this process may still map: under ``ulimit -v``/``prlimit --as``, the limit less
    what is mapped; else what the kernel calls available (RAM and swap). None when unknown."""
    import resource

    room = []
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/status", encoding="ascii") as f:
                vm = next(int(ln.split()[1]) * 1024 for ln in f if ln.startswith("VmSize:"))
            room.append(soft - vm)
        with open("/proc/meminfo", encoding="ascii") as f:
            info = {ln.split(":")[0]: int(ln.split()[1]) * 1024 for ln in f if ln.split()[1:]}
        room.append(info["MemAvailable"] + info.get("SwapFree", 0))
    except (OSError, ValueError, KeyError, StopIteration):
        pass
    return min(room) if room else None


def memory_shortfall(size: tuple[int, int], per_pixel: int = PEAK_BYTES_PER_PIXEL) -> str | None:
    """Why a ``size`` = (width, height) picture cannot be colourised in the memory left, told
    before it is decoded (native code that runs out of memory half-way may crash the process
    instead of raising); None when it fits or nobody can tell."""
    need = per_pixel * size[0] * size[1]
    room = _headroom()
    if room is None or need <= room:
        return None
    return (f"not enough memory for {size[0]}×{size[1]}: it needs about {need / 1e9:.1f} GB and "
            f"{max(room, 0) / 1e9:.1f} GB is left")


def failure_reason(exc: BaseException, size: tuple[int, int] | None = None) -> str | None:
    """One input's failure in one line, or None when ``exc`` is not one input's fault (it
    must then propagate). ``size`` (width, height) names the picture in memory messages."""
    if isinstance(exc, (InputError, NonFiniteOutput)):
        return exc.reason
    if isinstance(exc, (KeyboardInterrupt, SystemExit)) or not isinstance(exc, Exception):
        return None
    if is_out_of_memory(exc):
        where = f" for {size[0]}×{size[1]}" if size else ""
        detail = "" if type(exc) is MemoryError and not str(exc) else f": {_first_line(exc)}"
        return f"not enough memory{where}{detail}"
    if isinstance(exc, ColorizeError):
        return None  # a model or option problem: the whole run's, not this file's
    if isinstance(exc, RecursionError):
        return "nested too deeply to read"
    if isinstance(exc, OverflowError):
        return f"a number too large to handle ({_first_line(exc)})"
    if isinstance(exc, OSError):
        return os_reason(exc) if exc.filename is None or not exc.strerror else \
            f"{exc.strerror} ({exc.filename})"
    if isinstance(exc, cv2.error):
        return f"OpenCV could not process it ({_first_line(exc)})"
    if isinstance(exc, (ValueError, ArithmeticError)):
        return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    return None
