"""The cache of onnxruntime's optimised model files: hit on the second session, same outputs,
keyed by the model's bytes, atomic, and silent when the cache cannot be used."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx_fixtures import make_bins_model

from colorize_cli.model import session_cache
from colorize_cli.model.engine import Engine, open_session


def _files(root: Path) -> list[Path]:
    return sorted((root / "ort").glob("*")) if (root / "ort").is_dir() else []


def _run(session) -> np.ndarray:
    x = np.linspace(0, 100, 2 * 16 * 24, dtype=np.float32).reshape(2, 1, 16, 24)
    return session.run(["probs"], {"L": x})[0]


def test_second_session_loads_the_cached_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COLORIZE_CACHE", str(tmp_path / "c"))
    model = make_bins_model(tmp_path / "m.onnx")
    first, _ = open_session(model, device="cpu")
    (cached,) = _files(tmp_path / "c")  # one file, no temporary left behind
    assert cached.suffix == ".onnx" and ".part" not in cached.name
    assert cached.name.startswith(session_cache.model_sha256(model)[:24])
    seen = []
    real = session_cache.cached_model
    monkeypatch.setattr(session_cache, "cached_model", lambda *a: seen.append(real(*a)) or seen[-1])
    engine = Engine(model, device="cpu")
    assert seen and seen[0][2] is True and seen[0][0] == cached  # a hit
    assert engine.info.name == "fixture-bins" and engine.info.path == model  # contract read through the cache
    assert np.array_equal(_run(first), _run(engine.session))


def test_another_model_file_gets_its_own_entry(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COLORIZE_CACHE", str(tmp_path / "c"))
    open_session(make_bins_model(tmp_path / "a.onnx"), device="cpu")
    open_session(make_bins_model(tmp_path / "b.onnx", q=6), device="cpu")
    assert len(_files(tmp_path / "c")) == 2


def test_unwritable_cache_is_skipped(tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("COLORIZE_CACHE", str(blocker))
    session, _ = open_session(make_bins_model(tmp_path / "m.onnx"), device="cpu")
    assert _run(session).shape == (2, 8, 16, 24)


def test_damaged_cache_entry_falls_back_to_the_model(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COLORIZE_CACHE", str(tmp_path / "c"))
    model = make_bins_model(tmp_path / "m.onnx")
    ref = _run(open_session(model, device="cpu")[0])
    (cached,) = _files(tmp_path / "c")
    cached.write_bytes(b"not onnx")
    assert np.array_equal(_run(open_session(model, device="cpu")[0]), ref)


def test_cache_dir_follows_xdg(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("COLORIZE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert session_cache.cache_dir() == tmp_path / "colorize"
    monkeypatch.setenv("COLORIZE_CACHE", str(tmp_path / "own"))
    assert session_cache.cache_dir() == tmp_path / "own"
