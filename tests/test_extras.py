"""Optional extras: without one, its feature stops with one line naming the extra to install,
and everything else still works (the README's test command installs none of them)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from helpers import write

import colorize_cli
from colorize_cli.model.engine import Engine
from colorize_cli.extras import EXTRAS, require


def hide(monkeypatch: pytest.MonkeyPatch, top: str) -> None:
    """Make ``top`` and its submodules unimportable, as if the extra were not installed."""
    for name in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, top, None)


@pytest.mark.parametrize("top", sorted(EXTRAS))
def test_require_names_the_extra_that_brings_a_missing_library(monkeypatch, top):
    hide(monkeypatch, top)
    with pytest.raises(colorize_cli.MissingDependency) as err:
        require(top + ".anything")
    extra = EXTRAS[top][0]
    assert err.value.extra == extra and f"pip install 'colorize[{extra}]'" in str(err.value)
    assert isinstance(err.value, colorize_cli.ColorizeError)


def test_without_onnxruntime_loading_a_model_says_which_extra(monkeypatch, ab_model):
    hide(monkeypatch, "onnxruntime")
    with pytest.raises(colorize_cli.MissingDependency, match=r"colorize\[cpu\]'.*colorize\[gpu\]'"):
        Engine(ab_model)


def test_without_scipy_hints_stop_before_any_photo_and_plain_runs_still_work(monkeypatch, cli, tmp_path, ab_model):
    hide(monkeypatch, "scipy")
    g = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (48, 1))
    write(tmp_path / "in" / "a.png", g)
    (tmp_path / "a.json").write_text(json.dumps({"points": [{"x": 5, "y": 5, "color": "#b04a4a"}]}))
    res = cli("images", tmp_path / "in", "-o", tmp_path / "hinted", "-m", ab_model, "--hints", tmp_path / "a.json")
    assert res.exit_code == 2, res
    errors = [ln for ln in res.stderr.splitlines() if "error" in ln]
    assert len(errors) == 1 and "scipy" in errors[0] and "colorize[hints]" in errors[0], res
    assert not (tmp_path / "hinted").exists() or not any((tmp_path / "hinted").iterdir())
    res = cli("images", tmp_path / "in", "-o", tmp_path / "plain", "-m", ab_model)
    assert res.exit_code == 0 and (tmp_path / "plain" / "a.png").exists(), res


def test_without_scikit_image_evaluate_says_which_extra(monkeypatch, cli, tmp_path, ab_model):
    hide(monkeypatch, "skimage")
    write(tmp_path / "set" / "a.png", np.full((32, 32, 3), 120, np.uint8))
    res = cli("evaluate", tmp_path / "set", "-m", ab_model)
    assert res.exit_code == 2, res
    assert "scikit-image is not installed" in res.stderr and "colorize[eval]" in res.stderr, res
