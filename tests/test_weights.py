"""The models shipped in weights/: on the contract, small enough, and they colourise.

No dev data is needed: a synthetic gray photo (sky-like gradient over a textured ground)
goes through each model; a real model must put some colour in it, and the default must be
one of the shipped files.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from colorize_cli.model.engine import read_model_info
from colorize_cli.model.engine import Engine
from colorize_cli.pipeline import Pipeline
from colorize_cli.model.registry import find_model

WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
SHIPPED = sorted(WEIGHTS.glob("*.onnx"))


def _gray_photo(h: int = 120, w: int = 180) -> np.ndarray:
    rng = np.random.default_rng(0)
    y = np.linspace(0, 1, h)[:, None]
    sky = 200 - 40 * y
    ground = 90 + 30 * rng.standard_normal((h, w))
    img = np.where(y < 0.5, sky, ground) * np.ones((1, w))
    return np.clip(img, 0, 255).astype(np.uint8)


def test_weights_are_shipped_with_a_valid_default(monkeypatch) -> None:
    # conftest hides installed models from every test; this one is about them.
    monkeypatch.setattr("colorize_cli.model.registry.package_weights_dir", lambda: WEIGHTS)
    names = {read_model_info(p).name for p in SHIPPED}
    assert {"colorunet", "classifier-313", "unet-gan"} <= names
    default = (WEIGHTS / "default.txt").read_text().strip()
    assert default in names
    assert find_model(None).resolve() in {p.resolve() for p in SHIPPED}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_model_colourises(path: Path) -> None:
    # A blend (exporters/blend.py) carries two networks in one graph: its weights are stored in
    # float16 (exporters/storage.py) to stay under the same bound as one network.
    assert path.stat().st_size <= 25 * 2**20
    info = read_model_info(path)
    assert info.stride in (8, 32) and info.working_size % info.stride == 0
    pipe = Pipeline(Engine(path, device="cpu", threads=1))
    gray = _gray_photo()
    out = pipe.colorize_array(gray)
    assert out.shape == (*gray.shape, 3) and out.dtype == np.uint8
    chroma = np.abs(out.astype(int) - out.mean(axis=2, keepdims=True)).mean()
    assert chroma > 1.0  # some colour, not a gray copy


def test_the_shipped_weights_are_found_from_a_checkout_or_an_install() -> None:
    # conftest's monkeypatch replaces the function itself, so call the module's own copy.
    import importlib

    registry = importlib.reload(importlib.import_module("colorize_cli.model.registry"))
    found = registry.package_weights_dir()
    assert found is not None and (found / "default.txt").is_file()
    assert {p.name for p in SHIPPED} <= {p.name for p in found.glob("*.onnx")}


FLOATS = [p for p in SHIPPED if not p.name.endswith(".int8.onnx")]


def _float32_weight_bytes(path: Path) -> int:
    """What the model's floating-point initializers take at 4 bytes per value."""
    import onnx

    floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)
    return sum(4 * int(np.prod(i.dims)) for i in onnx.load(str(path)).graph.initializer if i.data_type in floats)


@pytest.mark.parametrize("path", FLOATS, ids=lambda p: p.stem)
def test_shipped_int8_variant_is_tied_to_its_float_file(path: Path) -> None:
    from colorize_cli.model.variants import int8_sibling, tie_problem

    int8 = int8_sibling(path)
    assert int8.is_file(), f"{path.name} ships without its int8 variant (python -m exporters.quantize {path})"
    info = read_model_info(int8)
    assert info.precision == "int8" and read_model_info(path).precision == "float"
    assert tie_problem(info, path) is None  # same name, version, contract; variant_of = sha256 of the float file
    # int8 at least halves the weights' float32 bytes, however the float file stores them (a blend
    # keeps float16 on disk, exporters/storage.py).
    assert int8.stat().st_size < _float32_weight_bytes(path) / 2
