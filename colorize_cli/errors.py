"""Every error the library raises on purpose, in one tree; ``str(err)`` is a user-facing sentence.

::

    ColorizeError                   anything the user can act on; never shown as a traceback
    ├── ParameterError (ValueError) a bad argument value: .param names the library parameter
    ├── ModelError                  a model file that cannot be used: .path, .reason
    ├── InputError                  one input (photo, film) that cannot be done: .path, .reason
    ├── NonFiniteOutput             the model gave NaN/inf for one input: .reason; nothing written
    ├── EvaluateError               an evaluation that cannot run (no data, bad labels...)
    └── MissingDependency           a feature whose optional extra is not installed: .package, .extra
    Interrupted (KeyboardInterrupt) Ctrl-C or SIGTERM during a film, after tidying up

:func:`terminate_as_interrupt` makes SIGTERM raise the same KeyboardInterrupt as Ctrl-C, so
that ``kill`` stops a run as cleanly (the commands wrap their runs in it).

Library messages name *parameters* (``render_size``, ``max_pixels``), never command-line flags:
a program calling :func:`colorize_cli.load` has no ``--render-size``. The CLI maps parameter
names to its flags (:data:`colorize_cli.cli.common.FLAGS`) and errors to exit codes.
Programming errors (a wrongly shaped array) stay plain ``ValueError``/``TypeError``.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class ColorizeError(Exception):
    """Base class; ``str(err)`` is a complete, user-facing sentence."""


class ParameterError(ColorizeError, ValueError):
    """A parameter value the library refuses (``render_size=0``, an unknown codec...).

    ``str(err)`` is ``"<param> <detail>"``; the CLI shows the same detail after the flag."""

    def __init__(self, param: str, detail: str) -> None:
        self.param = param
        self.detail = detail
        super().__init__(f"{param} {detail}")


class ModelError(ColorizeError):
    """A model file that cannot be used: unreadable, not ONNX, or off the contract."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class InputError(ColorizeError):
    """One input image or film that cannot be processed; the batch goes on without it."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class EvaluateError(ColorizeError):
    """An evaluation that cannot run at all (nothing to score, clashing labels...)."""


class MissingDependency(ColorizeError):
    """A feature needs a library from an optional extra (:mod:`colorize_cli.extras`) that is not installed."""

    def __init__(self, package: str, extra: str, needed_by: str, alternative: str = "") -> None:
        self.package, self.extra = package, extra
        super().__init__(f"{package} is not installed and {needed_by}: "
                         f"pip install 'colorize[{extra}]'{alternative}")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM under :func:`colorize_cli.film.run.terminate_as_interrupt`) during a
    film: which film, and what was kept for the next run to resume from."""

    def __init__(self, src: Path, work_dir: Path, frames_kept: int) -> None:
        super().__init__(f"{src}: interrupted; {frames_kept} frames kept in {work_dir}")
        self.src, self.work_dir, self.frames_kept = src, work_dir, frames_kept


class NonFiniteOutput(ColorizeError):
    """The model gave NaN or infinite values: nothing may be written for that input (merged
    with L they would become a white picture)."""

    def __init__(self, model_name: str, model_path: str | Path) -> None:
        self.reason = (f"model {model_name} ({model_path}) gave NaN or infinite values for this input; "
                       "nothing written")
        super().__init__(self.reason)


def os_reason(exc: OSError, action: str | None = "read") -> str:
    """The one place an OSError becomes the reason a report gives, in the same words for photos,
    films, hints, folders and outputs: ``permission denied``, ``no such file``, ``is a
    directory``, else ``cannot <action> (<the system's words>)`` (the words alone without an
    ``action``, where the step that failed is not known)."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    words = exc.strerror or str(exc)
    return f"cannot {action} ({words})" if action else words


def failure_reason(exc: BaseException) -> str:
    """What a report says about a film that failed: an input's reason, an OS error's message
    and file, else the error's own sentence (used by local runs and Ray workers alike)."""
    if isinstance(exc, InputError):
        return exc.reason
    if isinstance(exc, OSError):
        reason = os_reason(exc, None)
        return f"{reason} ({exc.filename})" if exc.filename else reason
    return str(exc)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Let ``kill`` (SIGTERM) stop a run as cleanly as Ctrl-C: finished segments are kept and
    the half-written one is removed. Only possible in the main thread; elsewhere a no-op."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
