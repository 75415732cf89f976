"""The tests' own fixture makers, for benchmarks that must build exactly what the tests build.

They are loaded from their files under ``tests/`` rather than by putting ``tests/`` on
``sys.path``, where its ``conftest`` and helper modules would shadow or be shadowed by ours.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parent.parent / "tests"


def tests_module(name: str) -> ModuleType:
    """``tests/<name>.py`` as a module of its own (e.g. ``video_clips``, ``ray_cluster``)."""
    spec = importlib.util.spec_from_file_location(name, TESTS / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"no tests/{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
