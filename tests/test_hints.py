"""Colour hints: the three file forms, Levin et al.'s propagation, the CLI's --hints."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from helpers import write
from colorize_cli.model.engine import Engine
from colorize_cli.errors import InputError
from colorize_cli.steer.hints import Hints, color_to_ab, parse_hints_json, read_hints, simulate_hints
from colorize_cli.pipeline import Pipeline
from colorize_cli.steer.propagate import hint_filter, levin_weights, propagate

pytest.importorskip("scipy", reason="the hints extra (scipy) is not installed")

RED, BLUE = "#b04a4a", "#6078b8"


def two_regions(h: int = 48, w: int = 64, edge: int = 32) -> np.ndarray:
    """L: a flat dark left part and a flat light right part, with a strong vertical edge."""
    L = np.full((h, w), 30.0, np.float32)
    L[:, edge:] = 75.0
    return L


def hint_at(shape, patches):
    m = np.zeros(shape, np.float32)
    ab = np.zeros((*shape, 2), np.float32)
    for (y, x), c in patches:
        m[y - 1:y + 2, x - 1:x + 2] = 1.0
        ab[y - 1:y + 2, x - 1:x + 2] = c
    return m, ab


def test_levin_weights_rows_sum_to_one_and_respect_edges():
    L = two_regions()
    W = levin_weights(L)
    np.testing.assert_allclose(np.asarray(W.sum(axis=1)).ravel(), 1.0, atol=1e-9)
    w = L.shape[1]
    r = 10 * w + 31  # last pixel of the dark side: its light neighbours get almost nothing
    row = W.getrow(r).toarray().ravel()
    assert row[r + 1] < 1e-3 and row[r - 1] > 0.1


def test_one_hint_fills_a_flat_region_and_stops_at_a_strong_edge():
    L = two_regions()
    prior = np.zeros((*L.shape, 2), np.float32)
    m, hab = hint_at(L.shape, [((24, 8), (40.0, 25.0))])
    ab = propagate(L, prior, m, hab)
    left, right = ab[:, :32], ab[:, 32:]
    # the whole dark region takes the hint's colour (at least 80 % of it, even 24 px away)...
    assert (left[..., 0] > 32).all() and (left[..., 1] > 20).all()
    # ...and the light region keeps the model's prediction
    assert np.abs(right).max() < 2.0


def test_two_hints_either_side_of_an_edge_stay_apart():
    L = two_regions()
    prior = np.zeros((*L.shape, 2), np.float32)
    m, hab = hint_at(L.shape, [((24, 8), (40.0, 25.0)), ((24, 56), (-30.0, -20.0))])
    ab = propagate(L, prior, m, hab)
    np.testing.assert_allclose(ab[:, :31].reshape(-1, 2).mean(0), (40, 25), atol=3)
    np.testing.assert_allclose(ab[:, 33:].reshape(-1, 2).mean(0), (-30, -20), atol=3)
    # right at the edge the two colours do not mix
    assert ab[:, 31, 0].min() > 30 and ab[:, 32, 0].max() < -20


def test_far_from_hints_the_model_prediction_stands():
    L = np.full((40, 400), 50.0, np.float32)  # one long flat strip
    prior = np.dstack([np.full(L.shape, 10.0), np.full(L.shape, -5.0)]).astype(np.float32)
    m, hab = hint_at(L.shape, [((20, 3), (60.0, 60.0))])
    ab = propagate(L, prior, m, hab, reach=0.5)  # reach ≈ 20 px here
    assert ab[20, 3, 0] > 55
    np.testing.assert_allclose(ab[:, -50:], prior[:, -50:], atol=0.5)


def test_no_hints_leave_the_prediction_alone():
    L = two_regions()
    prior = np.random.default_rng(0).normal(0, 20, (*L.shape, 2)).astype(np.float32)
    out = propagate(L, prior, np.zeros(L.shape, np.float32), np.zeros_like(prior))
    np.testing.assert_array_equal(out, prior)


@pytest.fixture(scope="module")
def pipe(models_dir):
    return Pipeline(Engine(models_dir / "fixture-ab.onnx", device="cpu"), render_size=64)


def test_hints_steer_colour_and_L_is_untouched(pipe):
    gray = np.zeros((96, 128), np.uint8)
    gray[:, :64], gray[:, 64:] = 100, 150
    js = json.dumps({"strokes": [{"points": [[10, 20], [50, 70]], "width": 5, "color": RED}],
                     "points": [{"x": 100, "y": 50, "color": BLUE, "radius": 2}]})
    hints = parse_hints_json(js, gray.shape, "h.json")
    src = gray.astype(np.float32)[:, :, None].repeat(3, 2) / 255.0
    auto = pipe.colorize_array(src)
    out = pipe.colorize_array(src, ab_filter=hint_filter(hints))
    lab_in = cv2.cvtColor(src, cv2.COLOR_RGB2Lab)
    lab_auto, lab_out = (cv2.cvtColor(x, cv2.COLOR_RGB2Lab) for x in (auto, out))
    # L is the photo's wherever the colour is in gamut (the merge clips RGB, which moves L elsewhere);
    inside = ((out > 1e-4) & (out < 1 - 1e-4)).all(axis=2)
    assert inside.mean() > 0.5
    np.testing.assert_allclose(lab_out[..., 0][inside], lab_in[..., 0][inside], atol=0.3)  # OpenCV float round trip
    red_ab, blue_ab = np.array(color_to_ab(RED)), np.array(color_to_ab(BLUE))
    left, right = lab_out[10:86, 8:56, 1:].reshape(-1, 2).mean(0), lab_out[10:86, 72:120, 1:].reshape(-1, 2).mean(0)
    assert np.linalg.norm(left - red_ab) < 8 and np.linalg.norm(right - blue_ab) < 8
    auto_left = lab_auto[10:86, 8:56, 1:].reshape(-1, 2).mean(0)
    assert np.linalg.norm(auto_left - red_ab) > 20  # the hint, not the model, made it red


def test_json_rgba_and_scribble_forms_agree(tmp_path):
    rng = np.random.default_rng(1)
    photo = rng.integers(40, 200, (40, 50), dtype=np.uint8)
    pts = [(5, 7, "#d04020"), (30, 12, "#2050e0"), (44, 33, "#30a040")]
    js = {"points": [{"x": x, "y": y, "color": c, "radius": 1} for x, y, c in pts],
          "strokes": [{"points": [[10, 30], [25, 30]], "width": 1, "color": "#e0c020"}]}
    (tmp_path / "h.json").write_text(json.dumps(js))
    layer = np.zeros((40, 50, 4), np.uint8)
    scribble = np.dstack([photo] * 3)
    for x, y, c in pts + [(xx, 30, "#e0c020") for xx in range(10, 26)]:
        rgb = [int(c[i:i + 2], 16) for i in (1, 3, 5)]
        r = 1 if (x, y, c) in pts else 0
        layer[y - r:y + r + 1, x - r:x + r + 1] = (*rgb, 255)
        scribble[y - r:y + r + 1, x - r:x + r + 1] = rgb
    write(tmp_path / "layer.png", layer)
    write(tmp_path / "scribble.png", scribble)
    forms = [read_hints(tmp_path / n, photo) for n in ("h.json", "layer.png", "scribble.png")]
    for other in forms[1:]:
        np.testing.assert_array_equal(other.weight, forms[0].weight)
        on = forms[0].weight > 0
        np.testing.assert_allclose(other.ab[on], forms[0].ab[on], atol=1e-3)
    assert forms[0].count == 3 * 9 + 16


@pytest.mark.parametrize("text, reason", [
    ("{not json", "bad hints file"),
    ('{"points": [{"x": 80, "y": 5, "color": "#ff0000"}]}', "outside the 50×40 photo"),
    ('{"points": [{"x": 5, "y": 5, "color": "red"}]}', "is not #rrggbb"),
    ('{"strokes": [{"points": [], "color": "#ff0000"}]}', "non-empty"),
    ('{"points": [], "strokes": []}', "no points or strokes"),
    ('{"width": 100, "points": [{"x": 5, "y": 5, "color": "#ff0000"}]}', "photo is 50×40"),
    ('{"dots": []}', "unknown key"),
])
def test_bad_json_is_one_clear_reason(text, reason):
    with pytest.raises(InputError) as info:
        parse_hints_json(text, (40, 50), "h.json")
    assert reason in str(info.value) and str(info.value).startswith("h.json: ")


def test_hint_images_of_the_wrong_size_or_empty_are_refused(tmp_path):
    photo = np.full((40, 50), 100, np.uint8)
    write(tmp_path / "small.png", np.zeros((20, 20, 4), np.uint8))
    write(tmp_path / "same.png", np.dstack([photo] * 3))
    with pytest.raises(InputError, match="20×20 but the photo is 50×40"):
        read_hints(tmp_path / "small.png", photo)
    with pytest.raises(InputError, match="no hint in it"):
        read_hints(tmp_path / "same.png", photo)


def test_simulated_hints_are_fixed_by_seed_and_photo():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
    a, b = simulate_hints(truth, 10, seed=0), simulate_hints(truth, 10, seed=0)
    np.testing.assert_array_equal(a.weight, b.weight)
    np.testing.assert_array_equal(a.ab, b.ab)
    assert not np.array_equal(simulate_hints(truth, 10, seed=1).weight, a.weight)
    assert 9 <= a.count <= 90 and isinstance(a, Hints)


def _photo_tree(root):
    g = np.zeros((48, 64), np.uint8)
    g[:, :32], g[:, 32:] = 60, 180
    for rel in ("a.png", "sub/b.png", "sub/c.png"):
        write(root / rel, g)


def test_cli_hints_folder_matched_by_relative_path_and_stem(cli, tmp_path, ab_model):
    _photo_tree(tmp_path / "in")
    hints = tmp_path / "hints"
    (hints / "sub").mkdir(parents=True)
    (hints / "a.json").write_text(json.dumps({"points": [{"x": 10, "y": 10, "color": RED, "radius": 3}]}))
    (hints / "sub" / "b.json").write_text(json.dumps({"points": [{"x": 10, "y": 10, "color": BLUE, "radius": 3}]}))
    res = cli("images", tmp_path / "in", "-o", tmp_path / "out", "-m", ab_model, "--hints", hints)
    assert res.exit_code == 0, res
    ab = {rel: cv2.cvtColor(cv2.imread(str(tmp_path / "out" / rel)), cv2.COLOR_BGR2Lab)[5:40, 5:25, 1:].reshape(-1, 2)
          .mean(0) - 128 for rel in ("a.png", "sub/b.png", "sub/c.png")}
    assert ab["a.png"][0] > 20 and ab["sub/b.png"][1] < -20  # red-ish and blue-ish
    assert np.linalg.norm(ab["sub/c.png"] - ab["a.png"]) > 20  # no hints: automatic


def test_cli_bad_hint_files_get_one_line_each_and_the_batch_goes_on(cli, tmp_path, ab_model):
    _photo_tree(tmp_path / "in")
    hints = tmp_path / "hints"
    (hints / "sub").mkdir(parents=True)
    (hints / "a.json").write_text("{oops")
    (hints / "sub" / "b.json").write_text(json.dumps({"points": [{"x": 999, "y": 1, "color": RED}]}))
    (hints / "orphan.json").write_text(json.dumps({"points": []}))
    res = cli("images", tmp_path / "in", "-o", tmp_path / "out", "-m", ab_model, "--hints", hints)
    assert res.exit_code == 1, res
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("colorize: error:")]
    assert len(errors) == 3, res
    assert any("a.png" in ln and "a.json: bad hints file" in ln for ln in errors)
    assert any("b.png" in ln and "outside the 64×48 photo" in ln for ln in errors)
    assert any("orphan.json: no photo matches this hint file" in ln for ln in errors)
    assert (tmp_path / "out" / "sub" / "c.png").exists()
    assert not (tmp_path / "out" / "a.png").exists()


def test_cli_one_hints_file_needs_one_photo(cli, tmp_path, ab_model):
    _photo_tree(tmp_path / "in")
    (tmp_path / "h.json").write_text(json.dumps({"points": [{"x": 1, "y": 1, "color": RED}]}))
    res = cli("images", tmp_path / "in", "-o", tmp_path / "out", "-m", ab_model, "--hints", tmp_path / "h.json")
    assert res.exit_code == 2 and "one hints file for 3 photos" in res.stderr
    res = cli("images", tmp_path / "in" / "a.png", "-o", tmp_path / "out", "-m", ab_model, "--hints",
              tmp_path / "h.json")
    assert res.exit_code == 0, res


def test_evaluate_sim_hints_and_sim_keyframes(cli, tmp_path, ab_model):
    from video_clips import make_clip

    for i in range(2):
        y, x = np.mgrid[0:48, 0:64]
        img = np.dstack([(x * 3 + i * 40) % 256, (y * 4) % 256, np.full_like(x, 90 + 60 * i)]).astype(np.uint8)
        write(tmp_path / "set" / f"p{i}.png", img)
    make_clip(tmp_path / "set" / "clip.mp4", n=6, w=64, h=48, audio=None)
    res = cli("evaluate", tmp_path / "set", "-m", ab_model, "--sim-hints", "20", "--sim-keyframes", "first",
              "--json", "--quiet")
    assert res.exit_code == 0, res
    data = json.loads(res.stdout)
    assert data["models"] == ["gray", "fixture-ab", "fixture-ab+20pts", "fixture-ab+kf-first", "truth"]
    rows = {(r["file"], r["model"]): r for r in data["rows"]}
    for f in ("p0.png", "p1.png"):
        assert rows[f, "fixture-ab+20pts"]["psnr"] > rows[f, "fixture-ab"]["psnr"] + 1
        assert rows[f, "fixture-ab+kf-first"]["psnr"] == rows[f, "fixture-ab"]["psnr"]  # no frame to give a photo
    clip = rows["clip.mp4", "fixture-ab+kf-first"]
    assert clip["psnr"] > rows["clip.mp4", "fixture-ab"]["psnr"] + 3 and clip["cdc"] >= 0
    again = json.loads(cli("evaluate", tmp_path / "set" / "p1.png", "-m", ab_model, "--sim-hints", "20", "--json",
                           "--quiet").stdout)
    # fixed seeds: the same points every run, whatever else is in the set
    assert [r for r in again["rows"] if r["model"].endswith("pts")] == [rows["p1.png", "fixture-ab+20pts"]]


def test_ab_filter_hook_gets_maps_at_the_model_grid_whatever_its_stride(models_dir):
    pipe4 = Pipeline(Engine(models_dir / "fixture-bins4.onnx", device="cpu"))  # output stride 4
    seen = {}

    def spy(L_work, ab_work, full_shape):
        seen.update(L=L_work.shape, ab=ab_work.shape, full=full_shape, Lmax=float(L_work.max()))
        return np.zeros_like(ab_work)  # no colour at all

    gray = np.tile(np.linspace(0, 255, 100).astype(np.uint8), (70, 1))
    out = pipe4.colorize_array(gray, ab_filter=spy)
    assert seen["ab"] == (*seen["L"], 2) and seen["full"] == (70, 100) and 90 < seen["Lmax"] <= 100
    h, w = pipe4.working_shape((70, 100))
    assert seen["L"] == (h // 4, w // 4)  # the model's own (coarser) grid, L resized to it
    assert np.abs(out.astype(int)[..., 0] - out[..., 2]).max() <= 1  # the filter's ab is what came out


def test_root_api_hints_filter_steers_colorize_file_and_arrays(tmp_path, ab_model):
    import colorize_cli

    pipe = colorize_cli.load(ab_model, device="cpu")
    gray = np.full((48, 64), 120, np.uint8)
    src = write(tmp_path / "p.png", gray)
    hints = tmp_path / "p.json"
    hints.write_text(json.dumps({"points": [{"x": 30, "y": 20, "color": BLUE, "radius": 3}]}))
    colorize_cli.colorize_file(src, tmp_path / "auto.png", pipeline=pipe)
    colorize_cli.colorize_file(src, tmp_path / "hinted.png", pipeline=pipe,
                               ab_filter=colorize_cli.hints_filter(hints, src))
    b = {n: cv2.cvtColor(cv2.imread(str(tmp_path / n)), cv2.COLOR_BGR2Lab)[..., 2].astype(float).mean() - 128
         for n in ("auto.png", "hinted.png")}
    assert b["hinted.png"] < -20 < b["auto.png"] - 10  # the flat photo turned blue
    arr = pipe.colorize_array(gray, ab_filter=colorize_cli.hints_filter(hints, gray))
    assert cv2.cvtColor(arr[..., None].repeat(3, 2) if arr.ndim == 2 else arr, cv2.COLOR_RGB2Lab)[..., 2].mean() < 108
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(InputError, match="bad.json"):
        colorize_cli.hints_filter(bad, gray)
