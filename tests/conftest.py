"""Shared fixtures: tiny ONNX models (tests/onnx_fixtures.py) and a CLI runner; helper
functions shared by several test modules are in tests/helpers.py.

Nothing here needs ../shared or trained weights: every model is built on the fly.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from onnx_fixtures import make_ab_model, make_bins_model  # noqa: E402


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("models")
    make_bins_model(d / "fixture-bins.onnx")
    make_ab_model(d / "fixture-ab.onnx")
    make_bins_model(d / "fixture-bins4.onnx", name="fixture-bins4", output_stride=4, stride=16)
    return d


@pytest.fixture(scope="session")
def bins_model(models_dir) -> Path:
    return models_dir / "fixture-bins.onnx"


@pytest.fixture(scope="session")
def ab_model(models_dir) -> Path:
    return models_dir / "fixture-ab.onnx"


@pytest.fixture(scope="session")
def _empty_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("no_models")


@pytest.fixture(scope="session")
def _session_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("colorize-cache")


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch, _session_cache):
    """onnxruntime's optimised files go to a temporary cache, never the user's."""
    monkeypatch.setenv("COLORIZE_CACHE", str(_session_cache))


@pytest.fixture(autouse=True)
def _isolated_models(monkeypatch, _empty_dir):
    """No test sees models installed on the machine (weights/ or the user's env var)."""
    empty = _empty_dir
    monkeypatch.setenv("COLORIZE_MODEL_PATH", "")
    monkeypatch.setattr("colorize_cli.model.registry.package_weights_dir", lambda: empty)


class CLIResult:
    def __init__(self, exit_code: int, stdout: str, stderr: str) -> None:
        self.exit_code, self.stdout, self.stderr = exit_code, stdout, stderr

    def __repr__(self) -> str:
        return f"exit {self.exit_code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


@pytest.fixture
def cli():
    """Run ``colorize ARGS`` in-process; returns exit code, stdout and stderr."""
    from typer.testing import CliRunner

    from colorize_cli.cli import app

    def run(*args: str, input: str | None = None) -> CLIResult:
        res = CliRunner().invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)
        return CLIResult(res.exit_code, res.stdout, res.stderr)

    return run


@pytest.fixture
def as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
