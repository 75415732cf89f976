"""colorize_cli.lab: the merge keeps the input's lightness by bringing ab into gamut at each L."""

import cv2
import numpy as np
import pytest
from helpers import write
from onnx_fixtures import make_ab_model

from colorize_cli import lab
from colorize_cli.lab import from_float, gamut_ab, image_to_L, max_chroma_table, merge

STRONG_AB = (80.0, -90.0)


def _L_and_every_hue(n_L: int = 201, n_hue: int = 72, chroma: float = 130.0) -> tuple[np.ndarray, np.ndarray]:
    """L from 0 to 100 down the rows, every hue across the columns at one strong chroma."""
    L = np.repeat(np.linspace(0, 100, n_L, dtype=np.float32)[:, None], n_hue, axis=1)
    h = np.deg2rad(np.linspace(0, 360, n_hue, endpoint=False))
    ab = np.broadcast_to(np.stack([chroma * np.cos(h), chroma * np.sin(h)], -1), (n_L, n_hue, 2))
    return L, np.ascontiguousarray(ab, dtype=np.float32)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_merge_keeps_L_within_one_after_quantisation(dtype):
    L, ab = _L_and_every_hue()
    out = from_float(merge(L, ab), dtype)
    assert np.abs(image_to_L(out) - L).max() <= 1.0
    # The plain conversion, clipping RGB, is what this replaces: it moves L by far more.
    clipped = from_float(cv2.cvtColor(cv2.merge([L, ab[..., 0], ab[..., 1]]), cv2.COLOR_Lab2RGB), dtype)
    assert np.abs(image_to_L(clipped) - L).max() > 10


def test_out_of_gamut_chroma_shrinks_along_its_hue():
    L, ab = _L_and_every_hue()
    a, b = gamut_ab(L, ab)
    chroma = np.hypot(a, b)
    assert (chroma <= 130.0 + 1e-3).all()
    kept = chroma > 1.0
    hue_in, hue_out = np.arctan2(ab[..., 1], ab[..., 0]), np.arctan2(b, a)
    assert np.abs(np.angle(np.exp(1j * (hue_out - hue_in)))[kept]).max() < 1e-4
    # Near black and near white little can be shown (sRGB allows about 20 units of chroma per
    # unit of L from either end); mid-grey keeps real colour.
    assert chroma[L == 0].max() < 2 and chroma[L == 100].max() < 2
    assert chroma[L <= 0.5].max() < 12 and chroma[L >= 99.5].max() < 12
    assert np.median(chroma[np.abs(L - 50) < 5]) > 40


def test_in_gamut_colours_pass_unchanged():
    rgb = np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)
    lab_in = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    lab_in[..., 1:] *= 0.9  # pulled inside the gamut, away from its faces
    a, b = gamut_ab(lab_in[..., 0], lab_in[..., 1:])
    np.testing.assert_allclose(np.dstack([a, b]), lab_in[..., 1:], atol=1e-4)


def test_black_border_stays_black():
    """The old-g.png case: L 1.8 with a strong blue-violet became (2, 11, 107) at L 12."""
    L = np.full((4, 4), 1.8, np.float32)
    ab = np.broadcast_to(np.float32(STRONG_AB), (4, 4, 2))
    out = from_float(merge(L, ab), np.uint8)
    assert out.max() <= 30
    assert np.abs(image_to_L(out) - 1.8).max() <= 0.5


def test_table_limit_is_the_first_exit_along_each_hue():
    """The bisection assumes each hue ray leaves the gamut once; a dense scan checks that."""
    table = max_chroma_table()
    rows, cols = np.arange(0, table.shape[0], 8), np.arange(0, table.shape[1], 10)
    L = (rows * lab._L_STEP).astype(np.float32)[:, None]
    h = np.deg2rad(cols * lab._HUE_STEP).astype(np.float32)[None, :]
    first_exit = np.full((len(rows), len(cols)), np.inf, np.float32)
    for c in np.arange(160.0, -0.1, -0.25, dtype=np.float32):
        outside = ~lab._inside_srgb(L + 0 * h, c * np.cos(h) + 0 * L, c * np.sin(h) + 0 * L)
        first_exit[outside] = c
    assert (table[np.ix_(rows, cols)] <= first_exit + 0.01).all()
    assert table.max() == pytest.approx(133.8, abs=1.0)  # pure blue, the largest sRGB chroma


def test_wide_images_are_read_in_slices(monkeypatch):
    L, ab = _L_and_every_hue(n_L=9, n_hue=100)
    whole = gamut_ab(L, ab)
    monkeypatch.setattr(lab, "_REMAP_MAX_W", 7)
    for got, want in zip(gamut_ab(L, ab), whole):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_images_command_keeps_L_under_a_model_predicting_strong_colour(cli, tmp_path, dtype):
    """Through `colorize images`: a black-to-white gradient, a model saying ab = (80, -90)
    everywhere. Every output pixel keeps the input's L within 1; mid-tones are still coloured."""
    model = make_ab_model(tmp_path / "strong.onnx", name="strong-ab", constant_ab=STRONG_AB)
    top = np.iinfo(dtype).max
    ramp = np.linspace(0, top, 256).round().astype(dtype)
    gray = np.tile(ramp, (24, 1))
    write(tmp_path / "in" / "ramp.png", gray)
    res = cli("images", tmp_path / "in", "-o", tmp_path / "out", "--model", model)
    assert res.exit_code == 0, res
    out = cv2.imread(str(tmp_path / "out" / "ramp.png"), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert out.dtype == dtype
    L_in, L_out = image_to_L(gray), image_to_L(np.ascontiguousarray(out))
    assert np.abs(L_out - L_in).max() <= 1.0
    lab_out = cv2.cvtColor(out.astype(np.float32) / np.float32(top), cv2.COLOR_RGB2Lab)
    chroma = np.hypot(lab_out[..., 1], lab_out[..., 2])
    assert chroma[:, 100:160].mean() > 40, "mid-tones should keep strong colour"
    assert chroma[:, [0, -1]].max() < 1, "black and white stay neutral"
    assert chroma[:, 1:3].max() < 12 and chroma[:, -3:-1].max() < 12, "next to them, hardly any colour"


@pytest.mark.parametrize("chroma_max,extremes", [(3.0, False), (3.0, True), (40.0, True), (120.0, True)])
def test_the_cheap_in_gamut_test_changes_nothing(monkeypatch, chroma_max, extremes):
    """gamut_ab skips the hue lookup where no pixel's chroma exceeds what every hue can show at
    its L; the result must equal the full computation on every pixel, muted or vivid."""
    rng = np.random.default_rng(7)
    L = (rng.random((64, 97)) * 100).astype(np.float32)
    if extremes:
        L[:, :5] = rng.random((64, 5)).astype(np.float32) * 2  # near black
        L[:, -5:] = 100 - rng.random((64, 5)).astype(np.float32) * 2  # near white
    else:
        L = 20 + L * 0.6  # mid-tones only: every pixel passes the cheap test
    r, h = rng.random((64, 97)) * chroma_max, rng.random((64, 97)) * 2 * np.pi
    ab = np.stack([r * np.cos(h), r * np.sin(h)], -1).astype(np.float32)
    calls = []
    phase = cv2.phase
    monkeypatch.setattr(lab.cv2, "phase", lambda *a, **k: calls.append(1) or phase(*a, **k))
    fast = gamut_ab(L, ab)
    assert bool(calls) == extremes  # the hue lookup ran only where it had to
    monkeypatch.setattr(lab, "_chroma_floor_by_code", lambda: np.zeros(256, np.float32))  # always the full path
    full = gamut_ab(L, ab)
    # (OpenCV's threaded divide may differ in the last bit between two calls of the same input)
    np.testing.assert_allclose(fast[0], full[0], rtol=0, atol=1e-5)
    np.testing.assert_allclose(fast[1], full[1], rtol=0, atol=1e-5)
    # the floor really is a floor: at every L, no hue's limit is below it
    floor = lab._chroma_floor_by_code()
    codes = np.clip(np.rint(np.arange(0, 100.01, 0.05) * 2.55), 0, 255).astype(int)
    lim = max_chroma_table()
    idx = np.rint(np.arange(0, 100.01, 0.05) / lab._L_STEP).astype(int)
    assert (floor[codes] <= lim[idx].min(axis=1)).all()
