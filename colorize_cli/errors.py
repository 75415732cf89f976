"""Errors whose message is meant for the user as is: the CLI prints them, never a traceback."""

from __future__ import annotations

from pathlib import Path


class ColorizeError(Exception):
    """Base class; ``str(err)`` is a complete, user-facing sentence."""


class ModelError(ColorizeError):
    """A model file that cannot be used: unreadable, not ONNX, or off the contract."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class InputError(ColorizeError):
    """One input image that cannot be processed; the batch goes on without it."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


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
