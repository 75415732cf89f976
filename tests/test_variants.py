"""Precision variants: the int8 file made by exporters/quantize.py, tied to its float file,
picked on the CPU, forced by ``precision``, refused when the tie breaks."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from onnx_fixtures import make_ab_model, make_bins_model

from colorize_cli import load
from colorize_cli.model.engine import read_model_info
from colorize_cli.errors import ModelError, ParameterError
from colorize_cli.model.registry import describe_models, duplicate_names, file_sha256
from colorize_cli.model.variants import choose, int8_sibling, tie_problem, variants


@pytest.fixture(scope="module")
def train_dir(tmp_path_factory) -> Path:
    """A few generated 'training' photos (gradients and blocks) in two sub-folders."""
    root = tmp_path_factory.mktemp("train")
    rng = np.random.default_rng(1)
    for group in ("a", "b"):
        (root / group).mkdir()
        for i in range(4):
            img = (np.linspace(0, 255, 96)[None, :, None] * np.ones((64, 1, 3))).astype(np.uint8)
            img[rng.integers(0, 40):, rng.integers(0, 60):] = rng.integers(0, 255, 3)
            cv2.imwrite(str(root / group / f"{i}.png"), img)
    return root


@pytest.fixture(scope="module")
def pair(tmp_path_factory, train_dir) -> Path:
    """A folder with a float bins model and its int8 variant; returns the float file."""
    from exporters.quantize import quantize

    d = tmp_path_factory.mktemp("pair")
    src = make_bins_model(d / "fixture-bins.onnx")
    quantize(src, int8_sibling(src), train_dir, count=8)
    return src


def test_quantize_ties_the_variant_to_its_float_file(pair: Path) -> None:
    int8 = int8_sibling(pair)
    info, base = read_model_info(int8), read_model_info(pair)
    assert (info.name, info.version, info.kind) == (base.name, base.version, base.kind)
    assert info.precision == "int8" and base.precision == "float"
    assert info.variant_of == file_sha256(pair)
    assert info.label == "fixture-bins:int8" and base.label == "fixture-bins"
    assert tie_problem(info, pair) is None
    assert variants(pair) == {"float": pair, "int8": int8}
    assert variants(int8) == {"float": pair, "int8": int8}
    # the report names what was kept in float and how it was calibrated
    report = json.loads((pair.parent / "fixture-bins.int8-quantize.json").read_text())
    assert report["sha256"] == file_sha256(int8) and report["calibration"]["photos"] == 8


def test_quantize_refuses_eval_data(tmp_path: Path) -> None:
    from exporters.quantize import calibration_files

    (tmp_path / "eval" / "set").mkdir(parents=True)
    with pytest.raises(SystemExit, match="never the eval"):
        calibration_files(tmp_path / "eval", 4)


def test_runtime_picks_int8_on_cpu_and_float_when_asked(pair: Path) -> None:
    int8 = int8_sibling(pair)
    auto = load("fixture-bins", "cpu", models_dirs=[pair.parent])
    assert auto.engine.info.path == int8 and auto.engine.info.precision == "int8"
    assert "int8" in auto.engine.describe()
    forced = load("fixture-bins", "cpu", models_dirs=[pair.parent], precision="float")
    assert forced.engine.info.path == pair
    assert choose(pair, "auto", on_cpu=False) == pair  # CUDA runs the float file
    assert choose(int8, "float", on_cpu=True) == pair
    gray = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (48, 1))
    a, b = auto.colorize_array(gray), forced.colorize_array(gray)
    assert a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).mean() < 3  # close, not equal
    with pytest.raises(ParameterError, match="precision"):
        load("fixture-bins", "cpu", models_dirs=[pair.parent], precision="half")


def test_broken_tie_is_never_run(tmp_path: Path, pair: Path) -> None:
    shutil.copy(int8_sibling(pair), tmp_path / "fixture-bins.int8.onnx")
    # another float file under the same name: the int8 file was not made from it
    make_bins_model(tmp_path / "fixture-bins.onnx", meta={"version": "0.0.2"})
    problem = tie_problem(read_model_info(tmp_path / "fixture-bins.int8.onnx"), tmp_path / "fixture-bins.onnx")
    assert problem is not None and "version" in problem
    assert load("fixture-bins", "cpu", models_dirs=[tmp_path]).engine.info.precision == "float"
    with pytest.raises(ParameterError, match="no usable int8 variant"):
        load("fixture-bins", "cpu", models_dirs=[tmp_path], precision="int8")
    rows = describe_models([tmp_path], device="cpu")
    bad = next(r for r in rows if r["precision"] == "int8")
    assert bad["variant_ok"] is False and "version" in bad["error"]


def test_an_ab_model_without_variant_runs_float(tmp_path: Path) -> None:
    make_ab_model(tmp_path / "fixture-ab.onnx")
    assert load("fixture-ab", "cpu", models_dirs=[tmp_path]).engine.info.precision == "float"
    with pytest.raises(ParameterError, match="int8"):
        load("fixture-ab", "cpu", models_dirs=[tmp_path], precision="int8")


def test_contract_checks_variant_metadata(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="variant_of"):
        read_model_info(make_bins_model(tmp_path / "a.onnx", meta={"precision": "int8"}))
    with pytest.raises(ModelError, match="precision"):
        read_model_info(make_bins_model(tmp_path / "b.onnx", meta={"precision": "fp4"}))


def test_models_command_lists_one_name_and_what_runs(cli, pair: Path) -> None:
    rows = describe_models([pair.parent], device="cpu")
    assert not duplicate_names(rows)
    base = next(r for r in rows if r["precision"] == "float")
    assert base["runs"] == str(int8_sibling(pair))
    res = cli("models", "--models-dir", pair.parent, "--device", "cpu")
    assert res.exit_code == 0, res
    assert "int8" in res.stdout and "warning" not in res.stderr


def test_evaluate_scores_both_precisions(cli, pair: Path, tmp_path: Path) -> None:
    for i in range(2):
        img = np.zeros((40, 56, 3), np.uint8)
        img[:, :, i] = 200
        img[10:30] = 90
        cv2.imwrite(str(tmp_path / f"{i}.png"), img)
    res = cli("evaluate", tmp_path, "-m", "fixture-bins", "--models-dir", pair.parent, "--device", "cpu",
              "--precision", "float", "--precision", "int8", "--json", "-q")
    assert res.exit_code == 0, res
    assert '"fixture-bins"' in res.stdout and '"fixture-bins:int8"' in res.stdout


def test_float_precision_output_is_unchanged(pair: Path, tmp_path: Path, monkeypatch) -> None:
    """At equal settings and precision the pixels are what the plain float session gives, with
    the cache of optimised models cold and warm."""
    from colorize_cli.model.engine import Engine
    from colorize_cli.pipeline import Pipeline

    gray = np.tile(np.linspace(0, 255, 72, dtype=np.uint8), (40, 1))
    gray[10:20, 30:50] = 17
    monkeypatch.setenv("COLORIZE_CACHE", str(tmp_path / "cold"))
    cold = load("fixture-bins", "cpu", models_dirs=[pair.parent], precision="float").colorize_array(gray)
    warm = load("fixture-bins", "cpu", models_dirs=[pair.parent], precision="float").colorize_array(gray)
    monkeypatch.setenv("COLORIZE_CACHE", str(tmp_path / "none" / "x"))
    (tmp_path / "none").write_text("") if not (tmp_path / "none").exists() else None
    plain = Pipeline(Engine(pair, device="cpu")).colorize_array(gray)
    assert np.array_equal(cold, plain) and np.array_equal(warm, plain)
    int8_a = load("fixture-bins", "cpu", models_dirs=[pair.parent], precision="int8").colorize_array(gray)
    int8_b = Pipeline(Engine(int8_sibling(pair), device="cpu")).colorize_array(gray)
    assert np.array_equal(int8_a, int8_b)
