"""Colour from reference photos: matching on the shipped Lite0 features, fusion with the model,
L kept; the --reference flags, their bad inputs, films and resume; evaluate --sim-reference.

The scenes are built here: two textures of the same mean lightness (horizontal stripes and a
checkerboard), so only the matcher's features can tell them apart."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers import write
from colorize_cli.model.engine import Engine
from colorize_cli.errors import InputError, Interrupted, ParameterError
from colorize_cli.pipeline import Pipeline, chain_ab_filters
from colorize_cli.steer.reference import (FEATURES_FILE, FUSION_CELLS, FeatureNet, ReferenceFilter, fuse, read_reference,
                                    reference_filter, simulate_reference)
from colorize_cli.film.options import VideoOptions
from colorize_cli.film.run import colorize_video
from video_clips import make_clip

pytest.importorskip("scipy", reason="the hints extra (scipy) is not installed")

H, W = 96, 192
RED, BLUE = (45.0, 30.0), (10.0, -45.0)  # ab


def texture(kind: str, h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    v = (y // 6) % 2 if kind == "stripes" else ((x // 12) + (y // 12)) % 2
    return np.where(v, 75.0, 35.0).astype(np.float32)


def scene(left: str, right: str, ab_left=None, ab_right=None) -> np.ndarray:
    """uint8 RGB: texture ``left`` on the left half, ``right`` on the right, coloured by the ab given."""
    lab = np.zeros((H, W, 3), np.float32)
    lab[..., 0] = np.concatenate([texture(left, H, W // 2), texture(right, H, W // 2)], 1)
    if ab_left is not None:
        lab[:, :W // 2, 1:], lab[:, W // 2:, 1:] = ab_left, ab_right
    return (np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0, 1) * 255 + 0.5).astype(np.uint8)


def ab_means(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ab of the left and right halves, away from the middle and the borders."""
    ab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 1:]
    return ab[12:-12, 12:W // 2 - 16].reshape(-1, 2).mean(0), ab[12:-12, W // 2 + 16:-12].reshape(-1, 2).mean(0)


@pytest.fixture(scope="module")
def net() -> FeatureNet:
    return FeatureNet(threads=1)


@pytest.fixture(scope="module")
def pipe(tmp_path_factory) -> Pipeline:
    from onnx_fixtures import make_ab_model

    path = make_ab_model(tmp_path_factory.mktemp("m") / "fixture-ab.onnx")
    return Pipeline(Engine(path, device="cpu", threads=1, batch_size=4), render_size=96)


def test_the_shipped_feature_net_is_small_and_not_a_colouriser():
    from colorize_cli.model.registry import list_models

    assert FEATURES_FILE.is_file() and FEATURES_FILE.stat().st_size < 16e6
    weights = FEATURES_FILE.parents[1]
    assert FEATURES_FILE not in {m.path for m in list_models([weights])}  # the registry does not list it
    card = (weights / "README.md").read_text(encoding="utf-8")
    from colorize_cli.model.registry import file_sha256

    assert file_sha256(FEATURES_FILE) in card


def test_swapped_textures_take_the_swapped_colours(pipe, net):
    ref = scene("stripes", "checker", RED, BLUE)
    gray = cv2.cvtColor(scene("checker", "stripes"), cv2.COLOR_RGB2GRAY)
    steer = ReferenceFilter([read_reference(ref, net)], net)
    out = pipe.colorize_array(gray, ab_filter=steer)
    ref_left, ref_right = ab_means(ref)
    left, right = ab_means(out)
    # the checkerboard (now on the left) is blue as in the reference, the stripes red: by texture, not place
    assert np.linalg.norm(left - ref_right) < 10 and np.linalg.norm(right - ref_left) < 10
    auto_left, _ = ab_means(pipe.colorize_array(gray))
    assert np.linalg.norm(auto_left - ref_right) > 25  # the reference, not the model, made it blue


def test_each_region_takes_its_best_reference(pipe, net):
    red_stripes = scene("stripes", "stripes", RED, RED)
    blue_checker = scene("checker", "checker", BLUE, BLUE)
    gray = cv2.cvtColor(scene("checker", "stripes"), cv2.COLOR_RGB2GRAY)
    out = pipe.colorize_array(gray, ab_filter=reference_filter([red_stripes, blue_checker], net=net))
    left, right = ab_means(out)
    assert left[1] < -25 and right[0] > 25  # blue where the checkerboard is, red where the stripes are


@pytest.mark.parametrize("cells", [FUSION_CELLS, None], ids=["capped", "full-solve"])
def test_L_is_kept_exactly(pipe, net, cells, monkeypatch):
    import colorize_cli.steer.reference as R

    grids, real = [], R.fuse
    monkeypatch.setattr(R, "fuse", lambda L, *a: grids.append(L.shape) or real(L, *a))
    steer = reference_filter(scene("stripes", "checker", RED, BLUE), net=net)
    steer.fusion_cells = cells
    gray = cv2.cvtColor(scene("checker", "stripes"), cv2.COLOR_RGB2GRAY)
    out = pipe.colorize_array(gray, ab_filter=steer)
    assert grids and grids[0][0] * grids[0][1] > FUSION_CELLS  # the fixture's ab grid is over the cap
    src = gray.astype(np.float32) / 255.0
    L_in = cv2.cvtColor(np.dstack([src] * 3), cv2.COLOR_RGB2Lab)[..., 0]
    L_out = cv2.cvtColor(out.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 0]
    inside = ((out > 0) & (out < 255)).all(axis=2)  # the merge clips out-of-gamut RGB, which moves L there
    assert inside.mean() > 0.5
    assert np.abs(L_out - L_in)[inside].max() < 1.0  # 8-bit quantisation of the output only


def test_fusion_follows_confidence_and_the_photos_edges():
    L = np.full((24, 32), 30.0, np.float32)
    L[:, 16:] = 75.0  # a strong edge
    prior = np.zeros((24, 32, 2), np.float32)
    prior[..., 0] = 10.0
    matched = np.zeros_like(prior)
    matched[..., 1] = -40.0
    np.testing.assert_allclose(fuse(L, prior, matched, np.zeros((24, 32))), prior, atol=1e-5)  # no confidence
    np.testing.assert_allclose(fuse(L, prior, matched, np.ones((24, 32))), matched, atol=0.5)  # full confidence
    conf = np.zeros((24, 32), np.float32)
    conf[:, 2:6] = 1.0  # confident only in a strip of the dark side
    out = fuse(L, prior, matched, conf)
    assert out[:, 8:14, 1].mean() < -25  # spread over its own flat region
    assert abs(out[:, 20:, 1]).max() < 1 and np.allclose(out[:, 20:, 0], 10, atol=1)  # not across the edge


def _edge_scene(h, w):
    """L with a strong vertical edge at w/2, the model's ab (a = 10) and a matched ab (b = -40)."""
    rng = np.random.default_rng(3)
    L = np.full((h, w), 30.0, np.float32)
    L[:, w // 2:] = 75.0
    L += rng.normal(0, 1.0, L.shape).astype(np.float32)  # some texture: not a degenerate solve
    prior = np.zeros((h, w, 2), np.float32)
    prior[..., 0] = 10.0 + rng.normal(0, 2.0, (h, w)).astype(np.float32)
    matched = np.zeros_like(prior)
    matched[..., 1] = -40.0
    conf = np.zeros((h, w), np.float32)
    conf[:, w // 16:w // 4] = 1.0  # confident only in a strip of the dark side
    return L, prior, matched, conf


@pytest.mark.parametrize("shape", [(32, 56), (32, 64), (24, 32)])  # classifier-313's 480p and 2:1 grids
def test_fusion_under_the_cap_is_the_uncapped_solve_bit_for_bit(shape):
    assert shape[0] * shape[1] <= FUSION_CELLS
    L, prior, matched, conf = _edge_scene(*shape)
    capped = fuse(L, prior, matched, conf)
    assert np.array_equal(capped, fuse(L, prior, matched, conf, max_cells=None))
    assert capped.dtype == np.float32


def test_fusion_over_the_cap_follows_confidence_and_edges_on_a_smaller_solve():
    h, w = 128, 224  # blend's grid of a 480p frame: 14x the cap
    assert h * w > FUSION_CELLS
    L, prior, matched, conf = _edge_scene(h, w)
    out = fuse(L, prior, matched, conf)
    assert out.shape == (h, w, 2) and out.dtype == np.float32
    assert out[:, w // 16 + 2:w // 4 - 2, 1].mean() < -35  # the reference where confident
    assert out[:, w // 4 + 4:w // 2 - 4, 1].mean() < -25  # spread over its own flat region
    # Across the edge, where nothing is confident: the model's own colour, cell by cell, to within
    # the small leak of the area-resized grid (its one column of mixed L bridges the two sides:
    # about 1.7 ab units here, against 0.0001 for the full solve; bsds500-test scores it better).
    right = out[:, w // 2 + 4:]
    assert abs(right[..., 1]).max() < 4 and abs(right[..., 1]).mean() < 2.5
    assert np.abs(right[..., 0] - prior[:, w // 2 + 4:, 0]).max() < 1
    np.testing.assert_allclose(fuse(L, prior, matched, np.zeros((h, w))), prior, atol=1e-5)  # no confidence
    uncapped = fuse(L, prior, matched, conf, max_cells=None)
    assert np.abs(out - uncapped)[..., 1].mean() < 2.0  # close to the full solve


def test_over_the_cap_the_solve_is_small(monkeypatch):
    import colorize_cli.steer.reference as R

    sizes = []
    real = R._solve
    monkeypatch.setattr(R, "_solve", lambda L, *a: sizes.append(L.shape) or real(L, *a))
    fuse(*_edge_scene(128, 224))
    fuse(*_edge_scene(32, 56))
    assert sizes[0][0] * sizes[0][1] <= FUSION_CELLS and abs(sizes[0][1] / sizes[0][0] - 224 / 128) < 0.1
    assert sizes[1] == (32, 56)


def test_chained_filters_pass_the_full_L_on(pipe, net):
    seen = {}

    def spy(L_work, ab_work, full_shape):
        seen["called"] = True
        return ab_work

    steer = reference_filter(scene("stripes", "checker", RED, BLUE), net=net)
    gray = cv2.cvtColor(scene("checker", "stripes"), cv2.COLOR_RGB2GRAY)
    alone = pipe.colorize_array(gray, ab_filter=steer)
    both = pipe.colorize_array(gray, ab_filter=chain_ab_filters(steer, spy))
    assert seen["called"] and np.array_equal(alone, both)


def test_bad_references_are_refused_with_a_reason(tmp_path, net):
    gray = write(tmp_path / "gray.png", np.dstack([texture("stripes", H, W).astype(np.uint8) * 2] * 3))
    with pytest.raises(InputError, match="gray.png: the reference is gray"):
        read_reference(gray, net)
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    with pytest.raises(InputError, match="broken.jpg"):
        read_reference(tmp_path / "broken.jpg", net)
    big = write(tmp_path / "big.png", scene("stripes", "checker", RED, BLUE))
    with pytest.raises(InputError, match="over max_pixels 1000"):
        read_reference(big, net, max_pixels=1000)
    with pytest.raises(ParameterError):
        ReferenceFilter([], net)


def test_simulated_reference_is_flipped_cropped_and_fixed_by_seed():
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 256, (60, 100, 3)).astype(np.uint8)
    a, b = simulate_reference(photo), simulate_reference(photo)
    assert a.shape == photo.shape and np.array_equal(a, b)
    assert not np.array_equal(a, simulate_reference(photo, seed=1))
    ramp = np.tile(np.arange(100, dtype=np.uint8)[None, :, None] * 2, (60, 1, 3))
    r = simulate_reference(ramp).astype(int)
    assert r[30, 5, 0] > r[30, 95, 0]  # flipped left to right


def _photos(folder: Path) -> None:
    gray = cv2.cvtColor(scene("checker", "stripes"), cv2.COLOR_RGB2GRAY)
    write(folder / "a.png", gray)
    write(folder / "sub" / "b.png", gray)


def _halves(path: Path) -> tuple[np.ndarray, np.ndarray]:
    return ab_means(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))


def test_cli_reference_file_and_folder(cli, tmp_path, ab_model):
    _photos(tmp_path / "in")
    ref = write(tmp_path / "postcard.png", scene("stripes", "checker", RED, BLUE))
    res = cli("images", tmp_path / "in", "-o", tmp_path / "out", "-m", ab_model, "--reference", ref)
    assert res.exit_code == 0, res
    for rel in ("a.png", "sub/b.png"):
        left, right = _halves(tmp_path / "out" / rel)
        assert left[1] < -20 and right[0] > 20, rel
    refs = tmp_path / "refs"
    write(refs / "sub" / "b.png", scene("stripes", "checker", BLUE, RED))  # only b.png gets one, the other way round
    write(refs / "orphan.png", scene("stripes", "checker", RED, BLUE))
    res = cli("images", tmp_path / "in", "-o", tmp_path / "out2", "-m", ab_model, "--reference", refs)
    assert res.exit_code == 1, res
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("colorize: error:")]
    assert len(errors) == 1 and "orphan.png: no photo matches this reference" in errors[0], res
    left, right = _halves(tmp_path / "out2" / "sub" / "b.png")
    assert left[0] > 20 and right[1] < -20
    auto_left, _ = _halves(tmp_path / "out2" / "a.png")
    assert np.linalg.norm(auto_left - left) > 20  # no reference for a.png: automatic


def test_cli_bad_references_one_line_each_and_no_output(cli, tmp_path, ab_model):
    _photos(tmp_path / "in")
    gray = write(tmp_path / "gray.png", cv2.cvtColor(scene("checker", "stripes"), cv2.COLOR_RGB2GRAY)[:48, :96])
    (tmp_path / "broken.jpg").write_bytes(b"oops")
    big = write(tmp_path / "big.png", scene("stripes", "checker", RED, BLUE))
    res = cli("images", tmp_path / "in", "-o", tmp_path / "out", "-m", ab_model, "--max-pixels", "10000",
              "--reference", gray, "--reference", tmp_path / "broken.jpg", "--reference", big)
    assert res.exit_code == 2, res
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("colorize: error:")]
    assert len(errors) == 3, res
    assert "gray.png: the reference is gray" in errors[0] and "broken.jpg" in errors[1]
    assert "big.png" in errors[2] and "over --max-pixels 10000" in errors[2]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.png"))
    res = cli("video", tmp_path / "none.mp4", "-o", tmp_path / "o.mp4", "-m", ab_model, "--reference", gray)
    assert res.exit_code == 2 and "the reference is gray" in res.stderr, res


def test_cli_reference_folder_that_matches_no_photo_is_one_line_and_no_output(cli, tmp_path, ab_model):
    _photos(tmp_path / "in")
    refs = tmp_path / "refs"
    for name in ("x.png", "y.png", "sub/z.png"):  # three colour photos, none named like a.png or sub/b.png
        write(refs / name, scene("stripes", "checker", RED, BLUE))
    (tmp_path / "empty").mkdir()
    for folder, reason in ((refs, "no photo matches any of its 3 image(s)"), (tmp_path / "empty", "no image in this folder")):
        res = cli("images", tmp_path / "in", "-o", tmp_path / "out", "-m", ab_model, "--reference", folder)
        assert res.exit_code == 2, res
        errors = [ln for ln in res.stderr.splitlines() if ln.startswith("colorize: error:")]
        assert len(errors) == 1 and f"{folder.name}: {reason}" in errors[0], res
        assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.png"))  # nothing coloured


def test_matching_uses_three_feature_levels_equally(net):
    """Whole-object (stride 32) and texture (stride 8) matches both count: each cell's feature row
    holds the three levels' unit vectors, each weighted 1/3 of the squared length."""
    gray = texture("checker", H, W)
    feats, grid = net.cells(gray)
    assert feats.shape == (grid[0] * grid[1], 40 + 112 + 320)
    parts = np.split(feats, [40, 40 + 112], axis=1)
    for part in parts:
        np.testing.assert_allclose((part ** 2).sum(axis=1), 1 / 3, atol=1e-4)


def test_cli_hints_win_over_the_reference_where_they_are(cli, tmp_path, ab_model):
    photo = write(tmp_path / "in" / "a.png", cv2.cvtColor(scene("checker", "stripes"), cv2.COLOR_RGB2GRAY))
    ref = write(tmp_path / "ref.png", scene("stripes", "checker", RED, BLUE))
    hints = tmp_path / "a.json"  # a green stroke down the whole right half, where the reference says red
    hints.write_text(json.dumps({"strokes": [{"points": [[150, 5], [150, 90]], "width": 60, "color": "#4a9a4a"}]}))
    res = cli("images", photo, "-o", tmp_path / "out", "-m", ab_model, "--reference", ref, "--hints", hints)
    assert res.exit_code == 0, res
    left, right = _halves(tmp_path / "out" / "a.png")
    assert left[1] < -10  # still the reference's blue where there is no hint (hints spread far: a little green)
    assert right[0] < -15  # green (a < 0) where the hint is, not the reference's red


@pytest.mark.parametrize("smooth", [False, True], ids=["plain", "smooth"])
def test_film_with_a_reference_resumes_equal(tmp_path, pipe, smooth):
    frames = []
    for i in range(12):
        g = cv2.cvtColor(scene("checker", "stripes"), cv2.COLOR_RGB2GRAY)
        frames.append(np.dstack([np.roll(g, i, axis=1)] * 3))
    src = make_clip(tmp_path / "in.mkv", frames=frames, n=12, w=W, h=H, codec="ffv1", pix_fmt="yuv444p", audio=None)
    ref = write(tmp_path / "still.png", scene("stripes", "checker", RED, BLUE))
    opts = VideoOptions(segment_seconds=0.2, codec="ffv1", references=(str(ref),), smooth=smooth)  # 6-frame segments
    whole = tmp_path / "whole.mkv"
    assert colorize_video(src, whole, pipe, opts).status == "ok"
    first = _decoded(whole)[0]
    left, right = ab_means(first)
    assert left[1] < -20 and right[0] > 20

    dst, done = tmp_path / "out.mkv", [0]

    def ctrl_c(n: int) -> None:
        done[0] += n
        if done[0] >= 7:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        colorize_video(src, dst, pipe, opts, on_progress=ctrl_c)
    rep = colorize_video(src, dst, pipe, opts)
    assert rep.status == "ok" and rep.resumed_from == 6
    assert np.array_equal(np.array(_decoded(dst)), np.array(_decoded(whole)))


def test_resume_identity_names_the_references_content(tmp_path, pipe):
    from colorize_cli.film.identity import film_identity
    from colorize_cli.film.read import probe

    src = make_clip(tmp_path / "in.mkv", n=2, w=64, h=48, codec="ffv1", pix_fmt="yuv444p", audio=None)
    ref = write(tmp_path / "still.png", scene("stripes", "checker", RED, BLUE))
    source = probe(src, None)

    class _Settings:
        @staticmethod
        def to_json() -> dict:
            return {}

    def ident() -> dict:
        return film_identity(source, pipe, VideoOptions(references=(str(ref),)), _Settings(), 6)

    before = ident()
    write(ref, scene("stripes", "checker", BLUE, RED))  # same name, other colours
    assert ident()["references"] != before["references"]


def _decoded(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_evaluate_sim_reference(cli, tmp_path, ab_model):
    for i in range(2):
        write(tmp_path / "set" / f"p{i}.png", scene("stripes", "checker", RED if i else BLUE, BLUE if i else RED))
    make_clip(tmp_path / "set" / "clip.mp4", n=6, w=64, h=48, audio=None)
    res = cli("evaluate", tmp_path / "set", "-m", ab_model, "--sim-reference", "shifted", "--sim-reference", "first",
              "--json", "--quiet")
    assert res.exit_code == 0, res
    data = json.loads(res.stdout)
    assert data["models"] == ["gray", "fixture-ab", "fixture-ab+ref-shifted", "fixture-ab+ref-first", "truth"]
    rows = {(r["file"], r["model"]): r for r in data["rows"]}
    for f in ("p0.png", "p1.png"):
        assert rows[f, "fixture-ab+ref-shifted"]["psnr"] > rows[f, "fixture-ab"]["psnr"] + 3
        assert rows[f, "fixture-ab+ref-first"]["psnr"] == rows[f, "fixture-ab"]["psnr"]  # no first frame for a photo
    assert rows["clip.mp4", "fixture-ab+ref-first"]["psnr"] > rows["clip.mp4", "fixture-ab"]["psnr"]


def test_batch_options_references_are_read_where_the_batch_runs(tmp_path, pipe):
    """The path of --ray workers: plain reference paths in BatchOptions, read by colorize_files."""
    from colorize_cli.batch import BatchOptions, colorize_files
    from colorize_cli.io.inputs import Job

    _photos(tmp_path / "in")
    ref = write(tmp_path / "postcard.png", scene("stripes", "checker", RED, BLUE))
    jobs = [Job(tmp_path / "in" / "a.png", Path("a.png"))]
    results = colorize_files(pipe, jobs, BatchOptions(out_dir=tmp_path / "out", references=(str(ref),)), lambda r: None)
    assert [r.status for r in results] == ["ok"]
    left, right = _halves(tmp_path / "out" / "a.png")
    assert left[1] < -20 and right[0] > 20
    gray = write(tmp_path / "gray.png", cv2.cvtColor(scene("checker", "stripes"), cv2.COLOR_RGB2GRAY))
    with pytest.raises(InputError, match="the reference is gray"):
        colorize_files(pipe, jobs, BatchOptions(out_dir=tmp_path / "o2", references=(str(gray),)), lambda r: None)


def test_film_keyframes_are_laid_over_the_reference(tmp_path, pipe):
    gray = cv2.cvtColor(scene("checker", "stripes"), cv2.COLOR_RGB2GRAY)
    frames = [np.dstack([np.roll(gray, i, axis=1)] * 3) for i in range(4)]
    src = make_clip(tmp_path / "in.mkv", frames=frames, n=4, w=W, h=H, codec="ffv1", pix_fmt="yuv444p", audio=None)
    ref = write(tmp_path / "still.png", scene("stripes", "checker", RED, BLUE))
    green = (-40.0, 35.0)
    lab = cv2.cvtColor(frames[0].astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    lab[..., 1:] = green
    key = write(tmp_path / "keys" / "000000.png",
                (np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0, 1) * 255 + 0.5).astype(np.uint8))
    both = tmp_path / "both.mkv"
    opts = VideoOptions(codec="ffv1", references=(str(ref),), keyframes={0: key})
    assert colorize_video(src, both, pipe, opts).status == "ok"
    left, right = ab_means(_decoded(both)[0])
    assert left[0] < -25 and right[0] < -25  # the keyframe (green), not the reference (blue | red)
    only_ref = tmp_path / "ref.mkv"
    assert colorize_video(src, only_ref, pipe, VideoOptions(codec="ffv1", references=(str(ref),))).status == "ok"
    left, right = ab_means(_decoded(only_ref)[0])
    assert left[1] < -20 and right[0] > 20
