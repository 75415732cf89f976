"""Optional dependencies: which extra brings each library, and the error when one is missing.

The base install reads, writes and resizes (OpenCV, PyAV, Pillow); the libraries that only one
feature needs are extras, so that a plain install and the test command stay small (the rembg
pattern: the runtime build is a choice, not a dependency)::

    cpu | gpu   onnxruntime (CPU build) or onnxruntime-gpu: one of the two runs the models
    eval        scikit-image: ``colorize evaluate`` (its Lab, SSIM and CIEDE2000)
    hints       scipy: colour hints, the sparse solve of Levin et al.

Modules import these through :func:`require`, at the point of use, so that ``import
colorize_cli`` and ``colorize --help`` work without them.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from colorize_cli.errors import DISTRIBUTION, MissingDependency

__all__ = ["EXTRAS", "require"]

# top-level module -> (extra, package, what needs it, what else would do)
EXTRAS: dict[str, tuple[str, str, str, str]] = {
    "onnxruntime": ("cpu", "onnxruntime", "running a model needs it", f" (or '{DISTRIBUTION}[gpu]' for CUDA)"),
    "skimage": ("eval", "scikit-image", "colorize evaluate needs it", ""),
    "scipy": ("hints", "scipy", "colour hints need it", ""),
}


def require(module: str) -> ModuleType:
    """``module`` imported, or :class:`~colorize_cli.errors.MissingDependency` naming its extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra, package, needed_by, alternative = EXTRAS[module.split(".")[0]]
        raise MissingDependency(package, extra, needed_by, alternative) from exc
