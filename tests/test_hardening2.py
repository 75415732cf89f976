"""Bad and unusual input, round 2 (issue 21): an input overwritten, batches aborted by one
file, hangs, messages that did not tell the truth, and what archives expect to keep.

Every fixture is made here. The memory-limit, FIFO and /dev/zero cases run the real command
as a subprocess with a time limit, so that a hang fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import gradient, has_module, write
from onnx_fixtures import make_bins_model
from video_clips import make_clip

REPO = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "COLORIZE_MODEL_PATH": ""}


def _run(*args, limit_as: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "colorize_cli", *map(str, args)]
    if limit_as is not None:
        prlimit = shutil.which("prlimit")
        if prlimit is None:
            pytest.skip("prlimit (util-linux) is not installed")
        cmd = [prlimit, f"--as={limit_as}", *cmd]
    return subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=timeout)


def _rows(stdout: str) -> dict[str, dict]:
    return {Path(r["input"]).name: r for r in map(json.loads, stdout.splitlines())}


# ------------------------------------------------------------------ 1. outputs onto inputs


def test_confidence_into_the_input_folder_is_refused_and_the_input_keeps_its_bytes(cli, tmp_path, bins_model):
    scans = tmp_path / "scans"
    write(scans / "a.png", gradient(40, 60))
    top = write(scans / "a_top.png", gradient(30, 50)[::-1].copy())
    before = top.read_bytes()
    res = cli("images", scans, "-o", f"{tmp_path / 'out'}/", "--confidence", scans, "--model", bins_model)
    assert res.exit_code == 2, res
    errors = [ln for ln in res.stderr.splitlines() if "error" in ln]
    assert len(errors) == 1 and "--confidence" in errors[0] and "a_top.png" in errors[0], res
    assert "model fixture-bins" not in res.stderr  # refused before the model loads
    assert top.read_bytes() == before and not (tmp_path / "out").exists()


def test_confidence_into_the_output_folder_meeting_a_colour_output_is_refused(cli, tmp_path, bins_model):
    scans = tmp_path / "scans"
    write(scans / "a.png", gradient(40, 60))
    write(scans / "a_top.png", gradient(30, 50))
    out = tmp_path / "out"
    res = cli("images", scans, "-o", f"{out}/", "--confidence", f"{out}/", "--model", bins_model)
    assert res.exit_code == 2 and "same file" in res.stderr and "a_top.png" in res.stderr, res
    assert not out.exists()


def test_confidence_maps_are_never_read_back_as_inputs(cli, tmp_path, bins_model):
    scans = tmp_path / "scans"
    write(scans / "a.png", gradient(40, 60))
    args = ("images", scans, "-o", f"{tmp_path / 'out'}/", "--confidence", scans, "--model", bins_model, "--json")
    first = cli(*args)
    assert first.exit_code == 0 and (scans / "a_top.png").is_file() and (scans / "a_ratio.png").is_file(), first
    again = cli(*args)
    assert again.exit_code == 0, again
    assert list(_rows(again.stdout)) == ["a.png"] and _rows(again.stdout)["a.png"]["status"] == "skipped"
    assert sorted(p.name for p in scans.iterdir()) == ["a.png", "a_ratio.png", "a_top.png"]


def test_two_colour_outputs_on_one_path_are_refused_up_front(cli, tmp_path, bins_model):
    write(tmp_path / "in" / "a.tif", gradient(40, 60))
    write(tmp_path / "in" / "a.tiff", gradient(30, 50))
    res = cli("images", tmp_path / "in", "-o", f"{tmp_path / 'out'}/", "--format", "png", "--model", bins_model)
    assert res.exit_code == 2 and "a.tif" in res.stderr and "a.tiff" in res.stderr and "same file" in res.stderr, res
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ 2. one file never aborts a batch


def _bomb(path: Path) -> Path:
    """A real 9500×9500 PNG of about 100 kB."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.zeros((9500, 9500), np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    return _bomb(tmp_path_factory.mktemp("bomb") / "bomb_90mp.png")


@pytest.mark.parametrize("limit", ["1200000000", "1600000000"])
def test_out_of_memory_on_one_photo_is_its_line_and_the_batch_goes_on(tmp_path, bins_model, bomb, limit):
    small = write(tmp_path / "small.jpg", gradient(40, 60, channels=3))
    res = _run("images", bomb, small, "-o", f"{tmp_path / 'o'}/", "--model", bins_model, "--device", "cpu",
               "--json", limit_as=limit)
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr and "[E:onnxruntime" not in res.stderr
    rows = _rows(res.stdout)
    assert rows["small.jpg"]["status"] == "ok" and (tmp_path / "o" / "small.jpg").is_file()
    assert rows["bomb_90mp.png"]["status"] == "error"
    assert "not enough memory for 9500×9500" in rows["bomb_90mp.png"]["error"], rows
    lines = [ln for ln in res.stderr.splitlines() if "bomb_90mp.png" in ln]
    assert len(lines) == 1 and "not enough memory" in lines[0]


def test_out_of_memory_on_one_film_is_its_line_not_a_usage_error(tmp_path, bins_model):
    make_clip(tmp_path / "in" / "a_big.mkv", n=3, w=3840, h=2160, codec="ffv1", audio=None)
    make_clip(tmp_path / "in" / "b_small.mp4", n=3, audio=None)
    res = _run("video", tmp_path / "in", "-o", f"{tmp_path / 'o'}/", "--model", bins_model, "--device", "cpu",
               "--json", limit_as="1400000000", timeout=300)
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr and "[E:onnxruntime" not in res.stderr
    rows = _rows(res.stdout)
    assert rows["a_big.mkv"]["status"] == "error" and "not enough memory" in rows["a_big.mkv"]["error"], rows
    assert rows["b_small.mp4"]["status"] == "ok"


def test_bad_hint_files_are_one_line_each_and_the_batch_goes_on(cli, tmp_path, bins_model):
    photos, hints = tmp_path / "photos", tmp_path / "hints"
    for name in ("a", "b", "c"):
        write(photos / f"{name}.png", gradient(40, 60))
    hints.mkdir()
    (hints / "a.json").write_text(json.dumps({"strokes": [{"points": [[1, 1], [30, 20]], "width": 40000,
                                                           "color": "#aa2222"}]}))
    (hints / "b.json").write_text("[" * 100_000 + "]" * 100_000)
    (hints / "c.json").write_text(json.dumps({"points": [{"x": 5, "y": 5, "color": "#336699"}]}))
    res = cli("images", photos, "-o", f"{tmp_path / 'out'}/", "--hints", hints, "--model", bins_model, "--json")
    assert res.exit_code == 1, res
    assert "Traceback" not in res.stderr
    rows = _rows(res.stdout)
    assert rows["c.png"]["status"] == "ok" and (tmp_path / "out" / "c.png").is_file()
    assert rows["a.png"]["status"] == "error" and "a.json" in rows["a.png"]["error"]
    assert rows["b.png"]["status"] == "error" and "b.json" in rows["b.png"]["error"]
    assert len([ln for ln in res.stderr.splitlines() if "error:" in ln]) == 2


def test_a_hint_file_given_alone_with_a_huge_stroke_is_one_line(cli, tmp_path, bins_model):
    photo = write(tmp_path / "a.png", gradient(40, 60))
    hint = tmp_path / "a.json"
    hint.write_text(json.dumps({"strokes": [{"points": [[1, 1], [30, 20]], "width": 40000, "color": "#aa2222"}]}))
    res = cli("images", photo, "-o", f"{tmp_path / 'out'}/", "--hints", hint, "--model", bins_model)
    assert res.exit_code == 1 and "a.json" in res.stderr and "Traceback" not in res.stderr, res


@pytest.mark.parametrize("field,value", [("working_size", "100000"), ("stride", "100000"),
                                         ("output_stride", "100000")])
def test_model_metadata_is_bounded_like_render_size(tmp_path, field, value):
    from colorize_cli.model.engine import read_model_info
    from colorize_cli.errors import ModelError

    meta = {field: value}
    if field == "output_stride":
        meta["stride"] = "8"
    path = make_bins_model(tmp_path / "huge.onnx", name="huge", meta=meta)
    with pytest.raises(ModelError, match=field):
        read_model_info(path)


def test_a_model_with_a_huge_working_size_is_a_usage_error_before_any_input(cli, tmp_path):
    path = make_bins_model(tmp_path / "huge.onnx", name="huge", meta={"working_size": "100000"})
    write(tmp_path / "a.png", gradient(40, 60))
    res = cli("images", tmp_path / "a.png", "-o", f"{tmp_path / 'out'}/", "--model", path)
    assert res.exit_code == 2 and "working_size" in res.stderr and "1024" in res.stderr, res


@pytest.mark.parametrize("args", [["--segment-seconds", "inf"], ["--segment-seconds", "nan"],
                                  ["--segment-seconds", "1e308"], ["--decay", "1e308"], ["--decay", "inf"],
                                  ["--decay", "nan"]])
def test_non_finite_or_absurd_film_options_are_usage_errors_up_front(cli, tmp_path, bins_model, args):
    src = make_clip(tmp_path / "in.mp4", n=3, audio=None)
    res = cli("video", src, "-o", tmp_path / "out.mp4", "--model", bins_model, "--smooth", *args)
    assert res.exit_code == 2 and args[0] in res.stderr, res
    assert "model fixture-bins" not in res.stderr and "Traceback" not in res.stderr
    assert "RuntimeWarning" not in res.stderr and not (tmp_path / "out.mp4.partial").exists()


# ------------------------------------------------------------------ 3. no hangs, no unbounded reads


def test_a_fifo_in_an_input_folder_is_one_line_and_nothing_hangs(tmp_path, bins_model):
    d = tmp_path / "in"
    write(d / "good.png", gradient(40, 60))
    os.mkfifo(d / "p.png")
    res = _run("images", d, "-o", f"{tmp_path / 'out'}/", "--model", bins_model, "--device", "cpu", timeout=60)
    assert res.returncode == 1, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if "p.png" in ln]
    assert len(lines) == 1 and "not a regular file" in lines[0] and "FIFO" in lines[0], res.stderr
    assert (tmp_path / "out" / "good.png").is_file()


def test_a_fifo_named_as_a_film_is_one_line_and_nothing_hangs(tmp_path, bins_model):
    d = tmp_path / "in"
    make_clip(d / "good.mp4", n=3, audio=None)
    os.mkfifo(d / "p.mp4")
    res = _run("video", d, "-o", f"{tmp_path / 'out'}/", "--model", bins_model, "--device", "cpu", timeout=60)
    assert res.returncode == 1, res.stderr
    assert "p.mp4" in res.stderr and "FIFO" in res.stderr and (tmp_path / "out" / "good.mp4").is_file()


@pytest.mark.parametrize("limit", [None, "1200000000"])
def test_dev_zero_is_refused_without_reading(tmp_path, bins_model, limit):
    good = write(tmp_path / "good.png", gradient(40, 60))
    res = _run("images", "/dev/zero", good, "-o", f"{tmp_path / 'out'}/", "--model", bins_model, "--device", "cpu",
               limit_as=limit, timeout=60)
    assert res.returncode == 1, res.stderr
    assert "/dev/zero: not a regular file (a device)" in res.stderr and "Traceback" not in res.stderr
    assert (tmp_path / "out" / "good.png").is_file()


@pytest.mark.parametrize("what", ["keyframe", "hints", "model"])
def test_fifos_as_keyframes_hints_or_models_never_hang(tmp_path, bins_model, what):
    fifo_dir = tmp_path / "f"
    fifo_dir.mkdir()
    if what == "keyframe":
        os.mkfifo(fifo_dir / "000000.png")
        src = make_clip(tmp_path / "in.mp4", n=3, audio=None)
        args = ["video", src, "-o", tmp_path / "out.mp4", "--model", bins_model, "--keyframes", fifo_dir]
    elif what == "hints":
        os.mkfifo(fifo_dir / "a.json")
        src = write(tmp_path / "a.png", gradient(40, 60))
        args = ["images", src, "-o", f"{tmp_path / 'out'}/", "--model", bins_model, "--hints", fifo_dir / "a.json"]
    else:
        os.mkfifo(fifo_dir / "m.onnx")
        src = write(tmp_path / "a.png", gradient(40, 60))
        args = ["images", src, "-o", f"{tmp_path / 'out'}/", "--model", fifo_dir / "m.onnx"]
    res = _run(*args, "--device", "cpu", timeout=60)
    assert res.returncode in (1, 2) and "FIFO" in res.stderr and "Traceback" not in res.stderr, res.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_a_run_with_a_fifo_input_within_two_seconds(tmp_path, bins_model, sig):
    d = tmp_path / "in"
    os.makedirs(d)
    os.mkfifo(d / "000_pipe.png")  # first in order: the reader meets it at once
    # Photos big enough that the run is still working when the signal comes: at 40×60 a quiet
    # AVX-512 machine finished all 149 in 0.7 s, and a signal landing after the work met no handler.
    for i in range(1, 150):
        write(d / f"{i:03d}.png", gradient(400, 600))
    cmd = [sys.executable, "-m", "colorize_cli", "images", str(d), "-o", str(tmp_path / "out"), "--model",
           str(bins_model), "--batch-size", "1", "--device", "cpu"]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "out").exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(0.5)
        t0 = time.monotonic()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode in (130, 1), err
    assert took < 2.5, f"{took:.1f} s to stop"
    assert "Traceback" not in err


# ------------------------------------------------------------------ 6. resolution (DPI) kept


def _pil_save(path: Path, dpi: int, **kw) -> Path:
    from PIL import Image as PILImage

    PILImage.fromarray(gradient(40, 60, channels=3)).save(path, dpi=(dpi, dpi), **kw)
    return path


def _dpi(path: Path) -> tuple[int, int]:
    from PIL import Image as PILImage

    with PILImage.open(path) as im:
        return tuple(round(v) for v in im.info["dpi"])  # type: ignore[return-value]


def _exif_resolution(path: Path) -> tuple[float, float]:
    from PIL import Image as PILImage

    with PILImage.open(path) as im:
        ex = im.getexif()
        return float(ex[0x011A]), float(ex[0x011B])


def test_a_1200_dpi_png_keeps_phys_srgb_and_gama(cli, tmp_path, bins_model):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add(b"sRGB", b"\x00")
    info.add(b"gAMA", (45455).to_bytes(4, "big"))
    (tmp_path / "in").mkdir()
    src = _pil_save(tmp_path / "in" / "scan.png", 1200, pnginfo=info)
    res = cli("images", src, "-o", f"{tmp_path / 'out'}/", "--model", bins_model)
    assert res.exit_code == 0, res
    out = tmp_path / "out" / "scan.png"
    assert _dpi(out) == (1200, 1200)
    data = out.read_bytes()
    assert b"sRGB\x00" in data and b"gAMA" + (45455).to_bytes(4, "big") in data
    assert cv2.imread(str(out)).shape == (40, 60, 3)  # still a valid PNG


def test_a_600_dpi_jpeg_keeps_jfif_density_and_exif_resolution(cli, tmp_path, bins_model):
    from PIL import Image as PILImage

    ex = PILImage.Exif()
    ex[0x011A], ex[0x011B], ex[0x0128] = 600.0, 600.0, 2
    (tmp_path / "in").mkdir()
    src = _pil_save(tmp_path / "in" / "scan.jpg", 600, exif=ex.tobytes())
    res = cli("images", src, "-o", f"{tmp_path / 'out'}/", "--model", bins_model)
    assert res.exit_code == 0, res
    out = tmp_path / "out" / "scan.jpg"
    assert _dpi(out) == (600, 600) and _exif_resolution(out) == (600.0, 600.0)
    with PILImage.open(out) as im:
        assert im.info.get("jfif_density") == (600, 600) and im.info.get("jfif_unit") == 1


def test_a_400_dpi_tiff_keeps_x_y_resolution_and_unit(cli, tmp_path, bins_model):
    from PIL import Image as PILImage

    (tmp_path / "in").mkdir()
    src = _pil_save(tmp_path / "in" / "scan.tif", 400)
    res = cli("images", src, "-o", f"{tmp_path / 'out'}/", "--model", bins_model)
    assert res.exit_code == 0, res
    with PILImage.open(tmp_path / "out" / "scan.tif") as im:
        tags = im.tag_v2
        assert float(tags[282]) == 400 and float(tags[283]) == 400 and tags[296] == 2


def test_webp_keeps_the_resolution_its_exif_gives(cli, tmp_path, bins_model):
    from PIL import Image as PILImage

    ex = PILImage.Exif()
    ex[0x011A], ex[0x011B], ex[0x0128] = 300.0, 300.0, 2
    (tmp_path / "in").mkdir()
    src = tmp_path / "in" / "scan.webp"
    PILImage.fromarray(gradient(40, 60, channels=3)).save(src, exif=ex.tobytes())
    res = cli("images", src, "-o", f"{tmp_path / 'out'}/", "--model", bins_model)
    assert res.exit_code == 0, res
    assert _exif_resolution(tmp_path / "out" / "scan.webp") == (300.0, 300.0)


@pytest.mark.parametrize("fmt", ["png", "jpg", "tif", "bmp"])
def test_dpi_crosses_formats(cli, tmp_path, bins_model, fmt):
    (tmp_path / "in").mkdir()
    src = _pil_save(tmp_path / "in" / "scan.png", 1200)
    res = cli("images", src, "-o", f"{tmp_path / 'out'}/", "--model", bins_model, "--format", fmt)
    assert res.exit_code == 0, res
    assert _dpi(tmp_path / "out" / f"scan.{fmt}") == (1200, 1200)


# ------------------------------------------------------------------ 4. messages that tell the truth


def test_flag_names_never_rewrite_file_names_or_user_values(cli, tmp_path, bins_model):
    write(tmp_path / "render_size.png", gradient(40, 60))
    res = cli("images", tmp_path / "render_size.png", "-o", f"{tmp_path / 'out'}/", "--model", bins_model,
              "--max-pixels", "10")
    assert res.exit_code == 1 and "/render_size.png: " in res.stderr and "--render-size.png" not in res.stderr, res
    assert "--max-pixels" in res.stderr  # the message's own parameter is still the flag
    src = make_clip(tmp_path / "in.mp4", n=3, audio=None)
    res = cli("video", src, "-o", tmp_path / "out.mp4", "--model", bins_model, "--preset", "x:crf=0")
    assert res.exit_code == 2 and "x:crf=0" in res.stderr and "x:--crf" not in res.stderr, res


@pytest.mark.parametrize("command", ["images", "video", "evaluate", "models"])
def test_help_keeps_brackets_and_shows_no_python_types(command):
    res = subprocess.run([sys.executable, "-m", "colorize_cli", command, "--help"], env={**_env(), "COLUMNS": "200"},
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    for python_words in ("<bool>", "<list[", "<str>", "<int", "<float>", "<path>", "{inputs}", "{dataset}"):
        assert python_words not in res.stdout, (python_words, res.stdout)
    if command in ("images", "video"):
        words = " ".join(w for w in res.stdout.split() if w != "│")
        assert "pip install 'colorize-films[ray]'" in words, res.stdout


@pytest.mark.skipif(not has_module("skimage"), reason="the eval extra (scikit-image) is not installed")
def test_evaluate_scores_the_good_model_beside_a_nan_one_and_lists_the_failure(cli, tmp_path, bins_model):
    from test_hardening import _nan_model

    nan = _nan_model(tmp_path / "nan.onnx")
    d = tmp_path / "set"
    write(d / "a.png", gradient(40, 60, channels=3))
    write(d / "b.png", gradient(30, 50, channels=3))
    res = cli("evaluate", d, "--model", bins_model, "--model", nan, "--json")
    assert res.exit_code == 1, res
    assert "nothing was scored" not in res.stderr
    out = json.loads(res.stdout)
    assert sorted(r["file"] for r in out["rows"] if r["model"] == "fixture-bins") == ["a.png", "b.png"]
    assert not [r for r in out["rows"] if r["model"] == "fixture-nan"]
    failed = [s for s in out["skipped"] if "fixture-nan" in s["reason"]]
    assert sorted(s["file"] for s in failed) == ["a.png", "b.png"] and "NaN" in failed[0]["reason"]


def test_the_bar_rate_is_done_over_elapsed_like_the_summary():
    from rich.progress import Progress

    from colorize_cli.cli.progress import RateColumn

    now = [0.0]
    col = RateColumn("images")
    with Progress(col, get_time=lambda: now[0], disable=True) as progress:
        task = progress.add_task("x", total=4)
        now[0] = 0.80
        progress.advance(task, 1)
        for _ in range(3):  # a burst at the end: rich's own speed read 57.9/s here
            now[0] += 0.02
            progress.advance(task, 1)
        now[0] = 0.864
        text = col.render(progress.tasks[0]).plain
    assert text == f"{4 / 0.86:.2f} images/s", text


def test_a_run_that_skips_everything_prints_no_rate(cli, tmp_path, bins_model):
    write(tmp_path / "in" / "a.png", gradient(40, 60))
    args = ("images", tmp_path / "in", "-o", f"{tmp_path / 'out'}/", "--model", bins_model)
    assert cli(*args).exit_code == 0
    res = cli(*args)
    assert res.exit_code == 0 and "1 skipped" in res.stderr and "images/s" not in res.stderr, res


def test_a_resumed_film_says_so(cli, tmp_path, bins_model):
    from colorize_cli.model.engine import Engine
    from colorize_cli.errors import Interrupted
    from colorize_cli.pipeline import Pipeline
    from colorize_cli.film.options import VideoOptions
    from colorize_cli.film.run import colorize_video

    src = make_clip(tmp_path / "in.mp4", n=30, audio=None)
    dst = tmp_path / "out.mp4"
    done = [0]

    def stop_at_20(n: int) -> None:
        done[0] += n
        if done[0] >= 20:
            raise KeyboardInterrupt

    pipe = Pipeline(Engine(bins_model, device="cpu", threads=1, batch_size=4))
    with pytest.raises(Interrupted):
        colorize_video(src, dst, pipe, VideoOptions(segment_seconds=0.2), on_progress=stop_at_20)
    res = cli("video", src, "-o", dst, "--model", bins_model, "--segment-seconds", "0.2")
    assert res.exit_code == 0, res
    assert "in.mp4: resumed at frame" in res.stderr, res


@pytest.mark.parametrize("ext", ["gif", "avif"])
def test_a_gif_or_avif_without_format_is_told_about_format(cli, tmp_path, bins_model, ext):
    from PIL import Image as PILImage

    src = tmp_path / f"a.{ext}"
    try:
        PILImage.fromarray(gradient(40, 60, channels=3)).save(src)
    except (KeyError, OSError, ValueError):
        pytest.skip(f"this Pillow cannot write {ext}")
    res = cli("images", src, "-o", f"{tmp_path / 'out'}/", "--model", bins_model)
    assert res.exit_code == 1 and f"cannot write .{ext}" in res.stderr and "--format" in res.stderr, res
    assert cli("images", src, "-o", f"{tmp_path / 'out'}/", "--model", bins_model, "--format", "png").exit_code == 0


def test_models_lists_file_names_in_a_narrow_table_and_the_folders_once(cli, tmp_path, bins_model):
    deep = tmp_path / "a_rather" / "long" / "folder" / "name" / "for" / "the" / "models" / "of" / "this" / "archive"
    deep.mkdir(parents=True)
    shutil.copy(bins_model, deep / "fixture-bins.onnx")
    res = cli("models", "--models-dir", deep)
    assert res.exit_code == 0, res
    assert max(len(ln) for ln in res.stdout.splitlines()) <= 124, res.stdout
    assert "fixture-bins.onnx (1)" in res.stdout and f"(1) {deep}" in res.stdout


def test_model_folders_that_cannot_be_searched_are_warned_about(cli, tmp_path, bins_model, monkeypatch):
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **k: False if Path(p) == locked else real(p, mode, **k))
    monkeypatch.setenv("COLORIZE_MODEL_PATH", f"{locked}{os.pathsep}{a_file}")
    write(tmp_path / "a.png", gradient(40, 60))
    res = cli("images", tmp_path / "a.png", "-o", f"{tmp_path / 'out'}/", "--model", bins_model, "--models-dir",
              a_file)
    assert res.exit_code == 0, res
    warnings = [ln for ln in res.stderr.splitlines() if "warning:" in ln]
    assert any("--models-dir" in ln and "is a file, not a folder" in ln for ln in warnings), res
    assert any("COLORIZE_MODEL_PATH" in ln and "locked" in ln and "permission denied" in ln for ln in warnings), res
    assert any("COLORIZE_MODEL_PATH" in ln and "not-a-folder" in ln for ln in warnings), res
    res = cli("models", "--models-dir", a_file)
    assert "is a file, not a folder" in res.stderr, res


def test_keyframes_past_the_end_gray_or_corrupt_are_told_before_the_model(cli, tmp_path, bins_model):
    src = make_clip(tmp_path / "in.mp4", n=24, audio=None)
    keys = tmp_path / "keys"
    frame = gradient(48, 64, channels=3)
    frame[:, :, 0] = 200  # a coloured keyframe, for frame 0
    write(keys / "000000.png", frame)
    write(keys / "000500.png", frame)  # past the 24-frame film
    write(keys / "000010.png", gradient(48, 64, channels=3))  # gray
    res = cli("video", src, "-o", tmp_path / "out.mp4", "--model", bins_model, "--keyframes", keys)
    assert res.exit_code == 0, res
    warnings = [ln for ln in res.stderr.splitlines() if "warning:" in ln]
    assert any("000500.png" in ln and "never used" in ln and "24 frames" in ln for ln in warnings), res
    assert any("000010.png" in ln and "gray" in ln for ln in warnings), res
    good = (keys / "000000.png").read_bytes()
    (keys / "000012.png").write_bytes(good[: len(good) // 2])  # corrupt
    res = cli("video", src, "-o", tmp_path / "out2.mp4", "--model", bins_model, "--keyframes", keys)
    assert res.exit_code == 2, res
    errors = [ln for ln in res.stderr.splitlines() if "error:" in ln]
    assert len(errors) == 1 and "000012.png" in errors[0] and "truncated" in errors[0], res
    assert "in.mp4" not in errors[0] and "model fixture-bins" not in res.stderr


# ------------------------------------------------------------------ 5. two runs on one film output


def test_a_second_run_on_the_same_film_output_is_told_at_once(cli, tmp_path, bins_model):
    from colorize_cli.film.segments import WorkDir

    src = make_clip(tmp_path / "film.mp4", n=24, audio=None)
    dst = tmp_path / "conc.mp4"
    with WorkDir(dst).lock():  # another run is on it
        t0 = time.monotonic()
        res = cli("video", src, "-o", dst, "--model", bins_model, "--json")
        took = time.monotonic() - t0
        assert res.exit_code == 1 and "another colorize run is working on" in res.stderr, res
        assert json.loads(res.stdout)["frames"] == 0 and took < 20 and not dst.exists()
    res = cli("video", src, "-o", dst, "--model", bins_model)
    assert res.exit_code == 0 and dst.is_file(), res
    assert not list(tmp_path.glob(".*.lock")) and not (tmp_path / "conc.mp4.partial").exists()


def test_two_concurrent_runs_on_one_film_output_one_finishes_one_is_refused(tmp_path, bins_model):
    src = make_clip(tmp_path / "film.mp4", n=240, w=320, h=240, audio=None)
    dst = tmp_path / "conc.mp4"
    cmd = [sys.executable, "-m", "colorize_cli", "video", str(src), "-o", str(dst), "--model", str(bins_model),
           "--device", "cpu", "--smooth", "--json"]
    first = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "conc.mp4.partial").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        second = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=120)
        out, err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
    if first.returncode == 0 and second.returncode == 0:
        pytest.skip("the first run finished before the second started")
    assert first.returncode == 0, err
    assert second.returncode == 1 and "another colorize run is working on" in second.stderr, second.stderr
    assert json.loads(out)["frames"] == 240


@pytest.mark.skipif(not has_module("skimage"), reason="the eval extra (scikit-image) is not installed")
def test_an_evaluate_sheet_or_csv_onto_a_scored_file_is_refused_before_scoring(cli, tmp_path, bins_model):
    d = tmp_path / "set"
    target = write(d / "ok.png", gradient(40, 60, channels=3))
    before = target.read_bytes()
    for opt in ("--sheet", "--csv"):
        res = cli("evaluate", d, "--model", bins_model, opt, target)
        assert res.exit_code == 2 and "would overwrite the input" in res.stderr, res
        assert "model fixture-bins" not in res.stderr and target.read_bytes() == before
    res = cli("evaluate", d, "--model", bins_model, "--sheet", tmp_path / "r.png", "--csv", tmp_path / "r.png")
    assert res.exit_code == 2 and "same file" in res.stderr, res


def test_two_films_with_one_output_are_refused_up_front(cli, tmp_path, bins_model):
    make_clip(tmp_path / "in" / "a.webm", n=3, codec="libvpx-vp9", audio=None)
    make_clip(tmp_path / "in" / "a.mkv", n=3, audio=None)
    res = cli("video", tmp_path / "in", "-o", f"{tmp_path / 'out'}/", "--model", bins_model, "--codec", "libx264")
    assert res.exit_code == 2 and "a.mkv" in res.stderr and "same file" in res.stderr, res
    assert "model fixture-bins" not in res.stderr


def test_the_one_failure_mapping_names_each_per_file_failure_and_lets_the_rest_through():
    import errno

    from colorize_cli.errors import InputError, ModelError, ParameterError
    from colorize_cli.failures import failure_reason

    assert failure_reason(InputError("a.png", "empty file")) == "empty file"
    assert failure_reason(MemoryError(), (9500, 9500)) == "not enough memory for 9500×9500"
    cv_oom = cv2.error("OpenCV(4.12) alloc.cpp:73: error: (-4:Insufficient memory) Failed to allocate 361 bytes")
    assert failure_reason(cv_oom, (10, 20)).startswith("not enough memory for 10×20: Insufficient memory")
    assert failure_reason(OSError(errno.EAGAIN, "Resource temporarily unavailable")).startswith("not enough memory")
    assert failure_reason(RecursionError()) == "nested too deeply to read"
    assert failure_reason(OverflowError("cannot convert float infinity to integer")).startswith("a number too large")
    thick = cv2.error("OpenCV(4.12) drawing.cpp:2075: error: (-215:Assertion failed) thickness <= MAX_THICKNESS")
    assert failure_reason(thick).startswith("OpenCV could not process it (Assertion failed")
    for run_wide in (ModelError("m.onnx", "bad"), ParameterError("render_size", "bad"), KeyboardInterrupt(),
                     RuntimeError("a bug")):
        assert failure_reason(run_wide) is None


# ------------------------------------------------------------------ gaps found when the round was audited


def _coloured(h: int = 40, w: int = 60) -> np.ndarray:
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[..., 0] = 200
    rgb[..., 1] = np.linspace(30, 220, w, dtype=np.uint8)
    rgb[..., 2] = 60
    return rgb


@pytest.mark.parametrize("how", ["hints folder", "reference folder", "reference file"])
def test_no_output_lands_on_a_hint_file_or_a_reference_photo(cli, tmp_path, bins_model, how):
    photos, steer = tmp_path / "photos", tmp_path / "steer"
    write(photos / "a.png", gradient(40, 60))
    if how == "hints folder":
        hint = np.zeros((40, 60, 4), np.uint8)
        hint[10:15, 10:15] = (200, 40, 40, 255)  # an RGBA hint picture, transparent elsewhere
        kept = write(steer / "a.png", hint)
        opts = ["--hints", steer]
    else:
        kept = write(steer / "a.png", _coloured())
        opts = ["--reference", steer if how == "reference folder" else kept]
    before = kept.read_bytes()
    # -o the folder of hint files or references: a.png's colour output is steer/a.png
    res = cli("images", photos, "-o", f"{steer}/", "--model", bins_model, "--overwrite", *opts)
    assert res.exit_code == 2, res
    errors = [ln for ln in res.stderr.splitlines() if "error:" in ln]
    assert len(errors) == 1 and "would overwrite the input" in errors[0] and str(kept) in errors[0], res
    assert "model fixture-bins" not in res.stderr  # refused before the model loads
    assert kept.read_bytes() == before


def test_a_reference_that_is_a_fifo_is_named_as_one(cli, tmp_path, bins_model):
    photo = write(tmp_path / "a.png", gradient(40, 60))
    os.mkfifo(tmp_path / "ref.png")
    res = _run("images", photo, "-o", f"{tmp_path / 'out'}/", "--model", bins_model, "--device", "cpu",
               "--reference", tmp_path / "ref.png", timeout=60)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert "ref.png" in res.stderr and "FIFO" in res.stderr and "no such file" not in res.stderr, res.stderr


@pytest.mark.skipif(not has_module("skimage"), reason="the eval extra (scikit-image) is not installed")
def test_evaluate_out_of_memory_on_one_file_is_its_line_and_the_rest_is_scored(tmp_path, bins_model, bomb):
    # Under 3 GB the picture passes the check made before decoding (16 bytes a pixel) but not
    # the scoring, which holds several float64 copies of it: it used to be a numpy traceback.
    d = tmp_path / "set"
    d.mkdir()
    shutil.copy(bomb, d / "bomb_90mp.png")
    write(d / "small.png", _coloured())
    res = _run("evaluate", d, "--model", bins_model, "--device", "cpu", "--json", limit_as="3000000000",
               timeout=300)
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr and "[E:onnxruntime" not in res.stderr, res.stderr
    out = json.loads(res.stdout)
    assert sorted({r["file"] for r in out["rows"]}) == ["small.png"], out["rows"]
    (skipped,) = out["skipped"]
    assert skipped["file"] == "bomb_90mp.png" and "not enough memory for 9500×9500" in skipped["reason"], skipped


@pytest.mark.skipif(not has_module("skimage"), reason="the eval extra (scikit-image) is not installed")
def test_evaluate_names_fifos_and_devices_instead_of_passing_over_them(tmp_path, bins_model):
    d = tmp_path / "set"
    write(d / "good.png", _coloured())
    os.mkfifo(d / "p.png")
    res = _run("evaluate", d, "--model", bins_model, "--device", "cpu", "--json", timeout=60)
    assert res.returncode == 1, res.stderr
    out = json.loads(res.stdout)
    assert sorted({r["file"] for r in out["rows"]}) == ["good.png"]
    assert [s["file"] for s in out["skipped"]] == ["p.png"] and "FIFO" in out["skipped"][0]["reason"], out
    res = _run("evaluate", "/dev/zero", "--model", bins_model, "--device", "cpu", timeout=60)
    assert res.returncode == 2 and "/dev/zero: not a regular file (a device)" in res.stderr, res.stderr


def test_flag_names_never_rewrite_file_names_with_spaces(cli, tmp_path, bins_model):
    names = ["old render_size scan.png", "max_pixels (copy).png"]
    for name in names:
        write(tmp_path / name, gradient(40, 60))
    res = cli("images", *(tmp_path / n for n in names), "-o", f"{tmp_path / 'out'}/", "--model", bins_model,
              "--max-pixels", "10")
    assert res.exit_code == 1, res
    for name in names:
        lines = [ln for ln in res.stderr.splitlines() if f"error: {tmp_path / name}: 60x40" in ln]
        assert len(lines) == 1 and "--max-pixels 10" in lines[0], (name, res.stderr)
    assert "--render-size scan" not in res.stderr and "--max-pixels (copy)" not in res.stderr, res.stderr


@pytest.mark.parametrize("command", ["images", "video"])
def test_help_names_the_value_of_reference_a_path_not_a_folder(command):
    # --reference takes a photo or a folder of them; its list type was shown as DIR
    res = subprocess.run([sys.executable, "-m", "colorize_cli", command, "--help"], env={**_env(), "COLUMNS": "200"},
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    (line,) = [ln for ln in res.stdout.splitlines() if "--reference" in ln]
    assert line.split("--reference", 1)[1].split()[0] == "PATH", line


def test_the_install_name_is_the_one_in_pyproject_everywhere():
    # "colorize" and "colorize-cli" on PyPI are unrelated tools: the distribution, every hint
    # the program prints and the README say colorize-films; command and import name stay.
    import re
    import tomllib

    from colorize_cli.errors import DISTRIBUTION

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == DISTRIBUTION == "colorize-films"
    assert project["scripts"] == {"colorize": "colorize_cli.cli:main"}
    texts = {p: p.read_text(encoding="utf-8") for p in [REPO / "README.md", *(REPO / "docs").glob("*.md"),
                                                          *(REPO / "colorize_cli").rglob("*.py")]}
    wrong = re.compile(r"pip install '?(colorize|colorize-cli)(\[|\b(?![-_.]))")
    assert {str(p.relative_to(REPO)): m.group(0) for p, t in texts.items() if (m := wrong.search(t))} == {}
    assert f"pip install '{DISTRIBUTION}[cpu]'" in texts[REPO / "README.md"]
