"""evaluate: discovery, pairs matching, the scoring loop, writers and the contact sheet.

Everything is built in tmp_path; a fake colorizer stands in for a model so no ONNX file or
shared data set is needed.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("skimage", reason="the eval extra (scikit-image) is not installed")
from skimage.color import lab2rgb, rgb2lab  # noqa: E402

import colorize_cli
from colorize_cli import evaluate as E
from colorize_cli import metrics as M


def _colour_image(h: int = 40, w: int = 56, seed: int = 0) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    r = 128 + 100 * np.sin(x / 5.0 + seed)
    g = 128 + 100 * np.cos(y / 7.0 + seed)
    b = 128 + 60 * np.sin((x + y) / 9.0)
    return np.clip(np.dstack([r, g, b]), 0, 255).astype(np.uint8)


def _write(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def _write_clip(path: Path, frames: list[np.ndarray]) -> Path:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        # FFV1 is lossless, so a static clip decodes to identical frames.
        stream = out.add_stream("ffv1", rate=10)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "bgr0"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _tint_colorizer(name: str = "tint") -> E.Colorizer:
    # Uses only L, like a real model: a constant warm tint over the original lightness.
    def image(rgb: np.ndarray) -> np.ndarray:
        lab = rgb2lab(rgb)
        lab[..., 1], lab[..., 2] = 12.0, 20.0
        return M.to_uint8(lab2rgb(lab))

    return E.Colorizer(name, image)


# ---------------------------------------------------------------------------- discovery


def test_discover_finds_images_and_videos_sorted(tmp_path: Path) -> None:
    img = _colour_image()
    _write(tmp_path / "b.png", img)
    _write(tmp_path / "sub" / "a.jpg", img)
    _write(tmp_path / ".hidden" / "c.png", img)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "clip.MP4").write_bytes(b"")
    items = E.discover(tmp_path)
    assert [(i.rel, i.kind) for i in items] == [
        ("b.png", "image"), ("clip.MP4", "video"), ("sub/a.jpg", "image")]


def test_discover_refuses_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(E.EvaluateError):
        E.discover(tmp_path / "nope")


def test_match_pairs_by_path_extension_and_stem(tmp_path: Path) -> None:
    img = _colour_image()
    truth, pred = tmp_path / "truth", tmp_path / "pred"
    for rel in ["x/one.jpg", "x/two.jpg", "three.jpg", "lonely.jpg"]:
        _write(truth / rel, img)
    _write(pred / "x/one.jpg", img)       # same relative path
    _write(pred / "x/two.png", img)       # same path, other extension
    _write(pred / "flat/three.png", img)  # another folder: matched by stem
    _write(pred / "extra.png", img)       # nothing to match
    m = E.match_pairs(pred, truth)
    assert [(p.rel, t.rel) for p, t in m.pairs] == [
        ("flat/three.png", "three.jpg"), ("x/one.jpg", "x/one.jpg"), ("x/two.png", "x/two.jpg")]
    assert m.unmatched_pred == ["extra.png"]
    assert m.unmatched_truth == ["lonely.jpg"]


def test_match_pairs_leaves_ambiguous_stems_unmatched(tmp_path: Path) -> None:
    img = _colour_image()
    _write(tmp_path / "truth/a/same.jpg", img)
    _write(tmp_path / "truth/b/same.jpg", img)
    _write(tmp_path / "pred/same.png", img)
    m = E.match_pairs(tmp_path / "pred", tmp_path / "truth")
    assert m.pairs == []
    assert m.unmatched_pred == ["same.png"]
    assert m.unmatched_truth == ["a/same.jpg", "b/same.jpg"]


# ------------------------------------------------------------------------ dataset mode


def test_dataset_mode_scores_gray_models_and_truth(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _write(data / "a.png", _colour_image(seed=0))
    _write(data / "b.png", _colour_image(seed=1))
    gray_truth = np.repeat(_colour_image(seed=2)[..., :1], 3, axis=2)
    _write(data / "c_gray.png", gray_truth)
    rep = E.evaluate_dataset(data, [_tint_colorizer()], sheet_count=2)
    assert rep.models == [E.GRAY, "tint", E.TRUTH]
    assert len(rep.rows) == 3 * 3 and not rep.skipped
    summ = rep.summary
    assert set(summ) == {E.GRAY, "tint", E.TRUTH}
    assert summ[E.GRAY]["ci"]["mean"] == 0.0          # the gray baseline has no colour
    assert summ["tint"]["ci"]["mean"] > 0.0
    assert set(summ[E.TRUTH]) == set(M.TRUTH_KEYS)     # the truth row: its own measures only
    # A gray original: its CI is 0, so CI/truth is undefined and left out of the mean.
    assert summ["tint"]["ci_ratio"]["n"] == 2
    row = next(r for r in rep.rows if r["file"] == "c_gray.png" and r["model"] == E.GRAY)
    assert row["psnr"] > 100 and row["delta_e"] < 1e-6  # gray of a gray image is the image
    assert len(rep.sheet_rows) == 2 and len(rep.sheet_rows[0][1]) == 3


def test_dataset_limit_and_bad_model_output(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for i in range(3):
        _write(data / f"{i}.png", _colour_image(seed=i))
    wrong = E.Colorizer("wrong", lambda rgb: rgb[:10, :10])
    rep = E.evaluate_dataset(data, [wrong], limit=2)
    assert rep.rows == [] and [f for f, _ in rep.skipped] == ["0.png", "1.png"]
    assert "10×10" in rep.skipped[0][1]


def test_model_labels_must_not_clash(tmp_path: Path) -> None:
    _write(tmp_path / "a.png", _colour_image())
    with pytest.raises(E.EvaluateError):
        E.evaluate_dataset(tmp_path, [_tint_colorizer("gray")])


def test_video_dataset_static_clip(tmp_path: Path) -> None:
    frame = _colour_image(48, 64)
    _write_clip(tmp_path / "clips" / "static.mkv", [frame] * 5)
    rep = E.evaluate_dataset(tmp_path / "clips", [_tint_colorizer()], sheet_count=1)
    assert rep.has_video and not rep.skipped
    by_model = {r["model"]: r for r in rep.rows}
    for model in (E.GRAY, "tint", E.TRUTH):
        assert by_model[model]["cdc"] == 0.0
        assert by_model[model]["warp"] == pytest.approx(0.0, abs=1e-9)
    assert by_model[E.GRAY]["ci"] == 0.0
    assert "cdc" in rep.summary["tint"] and len(rep.sheet_rows) == 1


def test_smooth_needs_a_clip_path() -> None:
    with pytest.raises(E.EvaluateError, match="smooth=True"):
        _tint_colorizer().frames([_colour_image()], smooth=True)


def test_smooth_reaches_the_clip_path(tmp_path: Path) -> None:
    seen = []
    tint = _tint_colorizer()

    def clip(frames, smooth):
        seen.append(smooth)
        return (tint.image(f) for f in frames)

    _write_clip(tmp_path / "clips" / "c.mkv", [_colour_image(48, 64)] * 3)
    c = E.Colorizer("clipper", tint.image, clip)
    rep = E.evaluate_dataset(tmp_path / "clips", [c], smooth=True)
    assert seen == [True] and not rep.skipped


# -------------------------------------------------------------------------- pairs mode


def test_pairs_mode_with_identical_outputs_and_json_round_trip(tmp_path: Path) -> None:
    img = _colour_image()
    _write(tmp_path / "truth/a.png", img)
    _write(tmp_path / "truth/b.png", _colour_image(seed=3))
    _write(tmp_path / "pred/a.png", img)                      # perfect
    _write(tmp_path / "pred/b.png", _colour_image(seed=4))    # wrong colours
    _write(tmp_path / "pred/orphan.png", img)
    rep = E.evaluate_pairs(tmp_path / "pred", tmp_path / "truth", label="other-tool")
    assert rep.models == [E.GRAY, "other-tool", E.TRUTH]
    assert rep.unmatched_pred == ["orphan.png"]
    psnr = rep.summary["other-tool"]["psnr"]
    assert psnr["n_inf"] == 1 and psnr["n"] == 1 and math.isfinite(psnr["mean"])

    out = tmp_path / "report.json"
    E.write_json(rep, out)
    text = out.read_text()
    assert '"inf"' in text and "Infinity" not in text and "NaN" not in text
    json.loads(text)  # strict JSON
    back = E.read_json(out)
    perfect = next(r for r in back["rows"] if r["file"] == "a.png" and r["model"] == "other-tool")
    assert perfect["psnr"] == math.inf and perfect["ab_psnr"] == math.inf
    assert perfect["delta_e"] == 0.0 and perfect["ssim"] == pytest.approx(1.0)
    assert back["summary"]["other-tool"]["psnr"]["n_inf"] == 1
    assert back["unmatched_pred"] == ["orphan.png"]


def test_pairs_size_mismatch_is_skipped_with_reason(tmp_path: Path) -> None:
    _write(tmp_path / "truth/a.png", _colour_image(40, 56))
    _write(tmp_path / "pred/a.png", _colour_image(20, 28))
    rep = E.evaluate_pairs(tmp_path / "pred", tmp_path / "truth")
    assert rep.rows == [] and rep.skipped and "a.png" == rep.skipped[0][0]
    assert any("skipped a.png" in n for n in E.report_notes(rep))


def test_all_perfect_summary_is_inf_and_table_shows_it(tmp_path: Path) -> None:
    from rich.console import Console

    img = _colour_image()
    _write(tmp_path / "truth/a.png", img)
    _write(tmp_path / "pred/a.png", img)
    rep = E.evaluate_pairs(tmp_path / "pred", tmp_path / "truth")
    assert rep.summary["pred"]["psnr"]["mean"] == math.inf
    console = Console(record=True, width=250)
    console.print(E.summary_table(rep))
    text = console.export_text()
    for word in ("gray", "pred", "truth", "inf", "ΔE2000", "CI/truth"):
        assert word in text


def test_csv_has_rows_and_summary(tmp_path: Path) -> None:
    img = _colour_image()
    _write(tmp_path / "truth/a.png", img)
    _write(tmp_path / "pred/a.png", img)
    rep = E.evaluate_pairs(tmp_path / "pred", tmp_path / "truth")
    out = tmp_path / "r.csv"
    E.write_csv(rep, out)
    rows = list(csv.DictReader(out.open()))
    files = [r for r in rows if r["row"] == "file"]
    assert {r["model"] for r in files} == {E.GRAY, "pred", E.TRUTH}
    pred = next(r for r in files if r["model"] == "pred")
    assert pred["psnr"] == "inf" and float(pred["delta_e"]) == 0.0
    truth = next(r for r in files if r["model"] == E.TRUTH)
    assert truth["psnr"] == "" and float(truth["ci"]) > 0
    means = {r["model"]: r for r in rows if r["row"] == "mean"}
    assert set(means) == {E.GRAY, "pred", E.TRUTH} and means["pred"]["psnr"] == "inf"


# ------------------------------------------------------------------------ contact sheet


def test_sheet_layout_and_file(tmp_path: Path) -> None:
    rows = [("wide.png", [_colour_image(40, 80)] * 3), ("narrow.png", [_colour_image(80, 40)] * 3)]
    cols = ["gray", "a-model-with-a-rather-long-name", "truth"]
    sheet = E.make_sheet(cols, rows, tile_height=64)
    # Tiles at 64 px high: 128 wide and 32 wide; columns take the widest.
    w, h = E.sheet_size([128, 32], 3, 64)
    assert sheet.shape == (h, w, 3) and sheet.dtype == np.uint8
    assert w == E.SHEET_PAD + 3 * (128 + E.SHEET_PAD)
    assert h == E.SHEET_HEADER + 2 * (E.SHEET_LABEL + 64 + E.SHEET_PAD)

    data = tmp_path / "data"
    _write(data / "a.png", _colour_image(40, 56))
    _write(data / "b.png", _colour_image(40, 56, seed=1))
    rep = E.evaluate_dataset(data, [_tint_colorizer()], sheet_count=1)
    path = tmp_path / "sheet.png"
    size = E.write_sheet(rep, path, tile_height=80)
    written = cv2.imread(str(path))
    assert written is not None and (written.shape[1], written.shape[0]) == size
    assert size == E.sheet_size([112], 3, 80)  # 56×40 shown 80 px high is 112 px wide


def test_smooth_is_refused_before_scoring_a_clip_dataset(tmp_path: Path) -> None:
    _write_clip(tmp_path / "clips" / "c.mkv", [_colour_image(48, 64)] * 2)
    with pytest.raises(E.EvaluateError, match="smooth=True"):
        E.evaluate_dataset(tmp_path / "clips", [_tint_colorizer()], smooth=True)


def test_pipeline_adapter_passes_only_L() -> None:
    from types import SimpleNamespace

    from colorize_cli.lab import image_to_L

    seen = []

    def colorize_L(L: np.ndarray) -> np.ndarray:
        seen.append(L)
        return np.full(L.shape + (3,), 0.5, np.float32)

    c = E.colorizer_from_pipeline(SimpleNamespace(info=SimpleNamespace(name="stub", label="stub"),
                                                  colorize_L=colorize_L))
    img = _colour_image()
    out = c.image(img)
    assert c.name == "stub" and out.dtype == np.uint8 and out.shape == img.shape
    assert seen[0].ndim == 2 and np.array_equal(seen[0], image_to_L(img))


def test_real_model_through_the_runtime(tmp_path: Path, bins_model: Path) -> None:
    c = E.colorizer_from_pipeline(colorize_cli.load(str(bins_model), device="cpu"))
    assert c.name == "fixture-bins"
    _write(tmp_path / "data" / "a.png", _colour_image(48, 64))
    rep = E.evaluate_dataset(tmp_path / "data", [c])
    assert rep.models == [E.GRAY, "fixture-bins", E.TRUTH] and not rep.skipped
    assert rep.summary["fixture-bins"]["ci"]["mean"] > 0


def test_real_model_on_a_static_clip_with_smooth(tmp_path: Path, bins_model: Path) -> None:
    c = E.colorizer_from_pipeline(colorize_cli.load(str(bins_model), device="cpu"))
    assert c.clip is not None
    _write_clip(tmp_path / "clips" / "static.mkv", [_colour_image(48, 64)] * 4)
    rep = E.evaluate_dataset(tmp_path / "clips", [c], smooth=True)
    assert not rep.skipped
    row = next(r for r in rep.rows if r["model"] == "fixture-bins")
    assert row["cdc"] == 0.0 and row["warp"] == pytest.approx(0.0, abs=1e-9)


# ---------------------------------------------------------------------------------- CLI


def test_cli_dataset_mode_table_csv_and_sheet(tmp_path: Path, cli, models_dir: Path) -> None:
    _write(tmp_path / "data" / "a.png", _colour_image(48, 64))
    _write(tmp_path / "data" / "b.png", _colour_image(48, 64, seed=1))
    res = cli("evaluate", tmp_path / "data", "--models-dir", models_dir, "-m", "fixture-bins",
              "-m", "fixture-ab", "--device", "cpu", "--csv", tmp_path / "r.csv",
              "--sheet", tmp_path / "s.png", "--sheet-count", "1")
    assert res.exit_code == 0, res
    for word in ("gray", "fixture-bins", "fixture-ab", "truth", "PSNR", "ΔE2000"):
        assert word in res.stdout
    assert (tmp_path / "r.csv").is_file()
    sheet = cv2.imread(str(tmp_path / "s.png"))
    assert sheet is not None
    assert (sheet.shape[1], sheet.shape[0]) == E.sheet_size([round(64 * 160 / 48)], 4, 160)


def test_cli_pairs_mode_json(tmp_path: Path, cli) -> None:
    img = _colour_image()
    _write(tmp_path / "truth/a.png", img)
    _write(tmp_path / "out/a.png", img)
    _write(tmp_path / "out/stray.png", img)
    res = cli("evaluate", "--pred", tmp_path / "out", "--truth", tmp_path / "truth", "--json")
    assert res.exit_code == 0, res
    data = E.from_jsonable(json.loads(res.stdout))
    assert data["models"] == [E.GRAY, "out", E.TRUTH]
    assert data["summary"]["out"]["psnr"]["mean"] == math.inf
    assert data["unmatched_pred"] == ["stray.png"] and "stray.png" in res.stderr


def test_cli_usage_errors(tmp_path: Path, cli) -> None:
    assert cli("evaluate").exit_code == 2
    assert cli("evaluate", "--pred", tmp_path).exit_code == 2
    assert cli("evaluate", tmp_path, "--pred", tmp_path, "--truth", tmp_path).exit_code == 2
    res = cli("evaluate", tmp_path / "missing")  # no model installed: baseline only, then the error
    assert res.exit_code == 2 and "no such folder" in res.stderr


def test_cli_max_frames_scores_only_the_start_of_each_clip(tmp_path: Path, cli) -> None:
    still, other = _colour_image(48, 64), _colour_image(48, 64, seed=7)
    _write_clip(tmp_path / "clips" / "c.mkv", [still] * 3 + [other] * 3)  # changes after frame 3

    def truth_cdc(*extra: str) -> float:
        res = cli("evaluate", tmp_path / "clips", "--json", "--models-dir", tmp_path / "none", *extra)
        assert res.exit_code == 0, res
        rows = json.loads(res.stdout)["rows"]
        return next(r for r in rows if r["model"] == E.TRUTH)["cdc"]

    assert truth_cdc("--max-frames", "3") == 0.0
    assert truth_cdc() > 0.0


def test_evaluate_reads_with_the_runtime_limits(tmp_path: Path) -> None:
    # The runtime's reader and its max_pixels: a file over the limit is skipped with the reason.
    _write(tmp_path / "data" / "big.png", _colour_image(48, 64))
    _write(tmp_path / "data" / "small.png", _colour_image(8, 8))
    rep = E.evaluate_dataset(tmp_path / "data", [_tint_colorizer()], max_pixels=100)
    assert [f for f, _ in rep.skipped] == ["big.png"] and "over max_pixels 100" in rep.skipped[0][1]
    assert {r["file"] for r in rep.rows} == {"small.png"}


def test_written_reports_are_complete_files(tmp_path: Path) -> None:
    _write(tmp_path / "data" / "a.png", _colour_image(16, 16))
    rep = E.evaluate_dataset(tmp_path / "data", [_tint_colorizer()])
    E.write_csv(rep, tmp_path / "r.csv")
    E.write_json(rep, tmp_path / "r.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "r.csv", "r.json"]  # no temporaries left
    assert E.read_json(tmp_path / "r.json")["rows"] and "mean" in (tmp_path / "r.csv").read_text()
