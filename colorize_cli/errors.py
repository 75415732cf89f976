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

Library messages name *parameters* (``render_size``, ``max_pixels``), never command-line flags:
a program calling :func:`colorize_cli.load` has no ``--render-size``. The CLI maps parameter
names to its flags (:data:`colorize_cli.cli.common.FLAGS`) and errors to exit codes.
Programming errors (a wrongly shaped array) stay plain ``ValueError``/``TypeError``.
"""

from __future__ import annotations

from pathlib import Path

#: The distribution's name on PyPI, for every ``pip install`` hint (``colorize`` and
#: ``colorize-cli`` there are unrelated terminal-colouring tools); the command stays
#: ``colorize`` and the import name ``colorize_cli``.
DISTRIBUTION = "colorize-films"


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
                         f"pip install '{DISTRIBUTION}[{extra}]'{alternative}")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM under :func:`colorize_cli.video.terminate_as_interrupt`) during a
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


def os_reason(exc: OSError) -> str:
    """The reason an input file could not be opened, in the same words for photos and films."""
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    return f"cannot read ({exc.strerror or exc})"
