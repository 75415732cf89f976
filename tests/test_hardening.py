"""Bad and unusual input found by an outside campaign (issue 12): each test reproduces one
finding (memory blow-ups, tracebacks, output that changes from run to run) and checks the fix.

Every fixture is made here: tiny ONNX models (onnx_fixtures.py) and clips (video_clips.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import onnx
import pytest
from conftest import gradient, write
from onnx import numpy_helper
from onnx_fixtures import make_ab_model, make_bins_model
from video_clips import make_clip

from colorize_cli.engine import Engine
from colorize_cli.lab import image_to_L
from colorize_cli.pipeline import MAX_ASPECT, Pipeline, working_shape
from colorize_cli.video import VideoOptions, colorize_video
from colorize_cli.videoio import Source, encoder_settings, open_encoder, to_video_frame

REPO = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "COLORIZE_MODEL_PATH": ""}


def _decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]


def _video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]


@pytest.fixture(scope="module")
def pipe(tmp_path_factory) -> Pipeline:
    path = make_bins_model(tmp_path_factory.mktemp("m") / "fixture-bins.onnx")
    return Pipeline(Engine(path, device="cpu", threads=1, batch_size=4))


# ------------------------------------------------------------------ 1. extreme aspect ratios


@pytest.mark.parametrize("shape", [(1, 4000), (8, 4000), (4000, 1), (1000, 8), (1, 1), (3, 100_000)])
def test_working_size_bounds_both_sides_and_the_area(shape):
    h, w = working_shape(shape, 256, 8)
    assert h % 8 == 0 and w % 8 == 0 and min(h, w) >= 8
    assert max(h, w) <= MAX_ASPECT * 256 + 8 and h * w <= MAX_ASPECT * 256 * 256 + 8 * 1032
    # Ordinary pictures keep the short side they always had, and the aspect ratio.
    assert working_shape((300, 400), 256, 8) == (256, 344)
    assert working_shape((400, 1600), 256, 8) == (256, 1024)


def _prlimit() -> str:
    exe = shutil.which("prlimit")
    if exe is None:
        pytest.skip("prlimit (util-linux) is not installed")
    return exe


# An address-space limit that the normal run stays far under and that the unbounded working
# size overran (a 1×4000 strip asked OpenCV and onnxruntime for gigabytes).
AS_LIMIT = str(3 * 1024 ** 3)


def test_strip_images_colourise_in_bounded_memory_and_the_batch_goes_on(tmp_path, bins_model):
    d = tmp_path / "in"
    write(d / "a_strip_1x4000.png", gradient(1, 4000))
    write(d / "b_strip_8x4000.png", gradient(8, 4000))
    write(d / "c_strip_4000x1.png", gradient(4000, 1))
    write(d / "d_good.png", gradient(40, 60))
    res = subprocess.run([_prlimit(), f"--as={AS_LIMIT}", sys.executable, "-m", "colorize_cli", "images", str(d),
                          "-o", str(tmp_path / "out"), "--model", str(bins_model), "--device", "cpu", "--json"],
                         env=_env(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["status"] for r in rows] == ["ok"] * 4
    for name, shape in (("a_strip_1x4000.png", (1, 4000)), ("b_strip_8x4000.png", (8, 4000)),
                        ("c_strip_4000x1.png", (4000, 1)), ("d_good.png", (40, 60))):
        assert cv2.imread(str(tmp_path / "out" / name)).shape[:2] == shape


def test_strip_films_colourise_in_bounded_memory(tmp_path, bins_model):
    src = make_clip(tmp_path / "strip.mp4", n=12, w=1000, h=8, audio=None)
    dst = tmp_path / "out.mp4"
    res = subprocess.run([_prlimit(), f"--as={AS_LIMIT}", sys.executable, "-m", "colorize_cli", "video", str(src),
                          "-o", str(dst), "--model", str(bins_model), "--device", "cpu"],
                         env=_env(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert len(_decoded(dst)) == 12 and not (tmp_path / "out.mp4.partial").exists()


# ------------------------------------------------------------------ 3. symbolic link loops


def _loop(d: Path, ext: str) -> None:
    os.symlink(f"m2{ext}", d / f"m1{ext}")
    os.symlink(f"m1{ext}", d / f"m2{ext}")


def test_a_symlink_loop_in_an_image_folder_is_one_error_each(cli, tmp_path, bins_model):
    d = tmp_path / "in"
    write(d / "good.png", gradient(40, 60))
    _loop(d, ".png")
    res = cli("images", d, "-o", tmp_path / "out", "--model", bins_model)
    assert res.exit_code == 1, res
    assert res.stderr.count("symbolic link loop") == 2 and "Traceback" not in res.stderr
    assert (tmp_path / "out" / "good.png").is_file()


def test_a_symlink_loop_in_a_film_folder_is_one_error_each(cli, tmp_path, bins_model):
    d = tmp_path / "in"
    make_clip(d / "good.mp4", n=4, audio=None)
    _loop(d, ".mp4")
    res = cli("video", d, "-o", f"{tmp_path / 'out'}/", "--model", bins_model)
    assert res.exit_code == 1, res
    assert res.stderr.count("symbolic link loop") == 2
    assert (tmp_path / "out" / "good.mp4").is_file()


def test_a_symlink_loop_named_directly_or_by_a_glob(cli, tmp_path, bins_model):
    d = tmp_path / "in"
    write(d / "good.png", gradient(40, 60))
    _loop(d, ".png")
    res = cli("images", d / "m1.png", str(d / "*.png"), "-o", tmp_path / "out", "--model", bins_model)
    assert res.exit_code == 1, res
    assert "m1.png: symbolic link loop" in res.stderr and (tmp_path / "out" / "good.png").is_file()


# ------------------------------------------------------------------ 4. the same film, the same output

# A film's timestamps on a 1 ms clock at 29 fps step 34 or 35 ms; with such timing libx264
# gave different bits for the same frames in about one run in two (at 320×240 and up).
_W, _H, _N = 320, 240, 40


def _jittery_frames() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    base = cv2.resize(rng.integers(0, 255, (_H // 8, _W // 8, 3), np.uint8), (_W, _H),
                      interpolation=cv2.INTER_LINEAR)
    return [np.roll(base, i, axis=1) for i in range(_N)]


def test_x264_gives_the_same_bits_for_the_same_frames_every_time():
    src = Source(path=Path("x.mp4"), stream_index=0, width=_W, height=_H, time_base=Fraction(1, 1000),
                 rate=Fraction(29), sar=None, pix_fmt="yuv420p", frames_estimate=_N, duration=None)
    settings, _ = encoder_settings(src, "libx264", None, None, "mp4")
    frames = _jittery_frames()

    def encode() -> str:
        ctx, h = open_encoder(settings), hashlib.sha256()
        for i, rgb in enumerate(frames):
            frame = to_video_frame(rgb, settings)
            frame.pts, frame.time_base = i * 34, settings.time_base
            for p in ctx.encode(frame):
                h.update(bytes(p))
        for p in ctx.encode(None):
            h.update(bytes(p))
        return h.hexdigest()

    assert len({encode() for _ in range(8)}) == 1


def test_a_frame_gives_the_same_colour_alone_and_in_full_or_partial_batches(pipe):
    frames = [gradient(48, 64, channels=3), np.roll(gradient(48, 64, channels=3), 9, axis=1),
              gradient(48, 64, channels=3)[::-1].copy(), np.full((48, 64, 3), 128, np.uint8)]
    Ls = [pipe.prepare(image_to_L(f)) for f in frames]
    alone = pipe.infer([Ls[0]])[0]
    for batch in (Ls, Ls[:3], Ls[:2]):
        raw = pipe.infer(batch)[0]
        a, b = (pipe.colorize_L(image_to_L(frames[0])) for _ in range(2))
        assert np.abs(raw - alone).max() < 1e-5
        assert np.abs(np.round(a * 255) - np.round(b * 255)).max() <= 1


def test_a_resumed_x264_film_equals_an_uninterrupted_one_and_reruns_are_identical(tmp_path, pipe):
    from colorize_cli.video import Interrupted

    src = make_clip(tmp_path / "in.mp4", n=36, w=_W, h=_H, cut_at=22, audio=None, time_base=Fraction(1, 1000),
                    pts=[round(i * 1000 / 29) for i in range(36)], rate=29)
    opts = VideoOptions(smooth=True, window=6, segment_seconds=0.2)
    refs = []
    for k in range(2):
        refs.append(tmp_path / f"ref{k}.mp4")
        colorize_video(src, refs[-1], pipe, opts)
    assert _video_packets(refs[0]) == _video_packets(refs[1])  # the files differ only in the mux time

    dst = tmp_path / "out.mp4"
    done = [0]

    def stop_at_20(n: int) -> None:
        done[0] += n
        if done[0] == 20:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        colorize_video(src, dst, pipe, opts, on_progress=stop_at_20)
    rep = colorize_video(src, dst, pipe, opts)
    assert rep.status == "ok" and rep.resumed_from > 0
    assert np.array_equal(np.array(_decoded(dst)), np.array(_decoded(refs[0])))


# ------------------------------------------------------------------ 5. non-finite model output


def _nan_model(path: Path) -> Path:
    make_ab_model(path, name="fixture-nan")
    m = onnx.load(str(path))
    for init in m.graph.initializer:
        if init.name == "hundred":
            init.CopyFrom(numpy_helper.from_array(np.array(np.nan, np.float32), "hundred"))
    onnx.save(m, str(path))
    return path


def test_nan_from_the_model_is_an_error_naming_model_and_file_and_nothing_is_written(cli, tmp_path):
    model = _nan_model(tmp_path / "nan.onnx")
    write(tmp_path / "in" / "a.png", gradient(40, 60))
    write(tmp_path / "in" / "b.png", gradient(30, 30))
    res = cli("images", tmp_path / "in", "-o", tmp_path / "out", "--model", model)
    assert res.exit_code == 1, res
    lines = [ln for ln in res.stderr.splitlines() if "NaN" in ln]
    assert len(lines) == 2 and all("fixture-nan" in ln and ".png" in ln for ln in lines)
    assert not list((tmp_path / "out").rglob("*.png"))


def test_nan_from_the_model_fails_the_film_with_no_output(cli, tmp_path):
    model = _nan_model(tmp_path / "nan.onnx")
    src = make_clip(tmp_path / "in.mp4", n=6, audio=None)
    res = cli("video", src, "-o", tmp_path / "out.mp4", "--model", model)
    assert res.exit_code == 1, res
    assert "fixture-nan" in res.stderr and "NaN" in res.stderr and "in.mp4" in res.stderr
    assert not (tmp_path / "out.mp4").exists() and not (tmp_path / "out.mp4.partial").exists()
