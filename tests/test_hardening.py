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
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import onnx
import pytest
from helpers import gradient, has_module, stop_when, write
from onnx import numpy_helper
from onnx_fixtures import make_ab_model, make_bins_model
from video_clips import make_clip

from colorize_cli.model.engine import Engine
from colorize_cli.lab import image_to_L, merge
from colorize_cli.pipeline import MAX_ASPECT, Pipeline, working_shape
from colorize_cli.film.options import VideoOptions
from colorize_cli.film.run import colorize_video
from colorize_cli.film.encode import encoder_settings, open_encoder, to_video_frame
from colorize_cli.film.read import Source

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
    # At --render-size 256 the unbounded working size was 256×32000 per frame.
    res = subprocess.run([_prlimit(), f"--as={AS_LIMIT}", sys.executable, "-m", "colorize_cli", "video", str(src),
                          "-o", str(dst), "--model", str(bins_model), "--device", "cpu", "--render-size", "256"],
                         env=_env(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert len(_decoded(dst)) == 12 and not (tmp_path / "out.mp4.partial").exists()


# ------------------------------------------------------------------ 3. symbolic link loops


def _loop(d: Path, ext: str) -> None:
    d.mkdir(parents=True, exist_ok=True)
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
    L0 = image_to_L(frames[0])
    Ls = [pipe.prepare(image_to_L(f)) for f in frames]

    def levels(raw: np.ndarray) -> np.ndarray:
        return np.round(merge(L0, pipe.upsample(pipe.to_ab(raw), L0)) * 255)

    alone = pipe.infer([Ls[0]])[0]
    for batch in (Ls, Ls[:3], Ls[:2], [Ls[0], Ls[0]]):  # full (4), partial (3, 2), and with itself
        raw = pipe.infer(batch)[0]
        assert np.abs(levels(raw) - levels(alone)).max() <= 1


def test_a_resumed_x264_film_equals_an_uninterrupted_one_and_reruns_are_identical(tmp_path, pipe):
    from colorize_cli.errors import Interrupted

    src = make_clip(tmp_path / "in.mp4", n=36, w=_W, h=_H, cut_at=22, audio=None, time_base=Fraction(1, 1000),
                    pts=[round(i * 1000 / 29) for i in range(36)], rate=29)
    opts = VideoOptions(smooth=True, window=6, segment_seconds=0.2)
    refs = [tmp_path / f"ref{k}.mp4" for k in range(3)]
    colorize_video(src, refs[0], pipe, opts)
    # Two more at once (each loads the other), one with another batch size.
    pipe3 = Pipeline(Engine(pipe.info.path, device="cpu", threads=1, batch_size=3))
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda job: colorize_video(src, job[0], job[1], opts), [(refs[1], pipe), (refs[2], pipe3)]))
    want = _video_packets(refs[0])
    assert _video_packets(refs[1]) == want and _video_packets(refs[2]) == want  # files differ only in mux time

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


# ------------------------------------------------------------------ 2. --render-size bound


def test_a_huge_render_size_is_a_usage_error_before_any_work(cli, tmp_path, bins_model):
    write(tmp_path / "a.png", gradient(300, 400))
    res = cli("images", tmp_path / "a.png", "-o", tmp_path / "out/", "--model", bins_model, "--render-size", "4000")
    assert res.exit_code == 2 and "--render-size" in res.stderr and "1024" in res.stderr, res
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="render_size"):
        Pipeline(Engine(bins_model, device="cpu"), render_size=4000)


# ------------------------------------------------------------------ 6. evaluate


@pytest.mark.skipif(not has_module("skimage"), reason="the eval extra (scikit-image) is not installed")
def test_evaluate_lists_a_1x1_image_as_unscorable_and_scores_the_rest(cli, tmp_path, bins_model):
    d = tmp_path / "set"
    write(d / "tiny.png", np.full((1, 1, 3), 120, np.uint8))
    write(d / "ok.png", gradient(40, 60, channels=3))
    res = cli("evaluate", d, "--model", bins_model, "--json")
    assert res.exit_code == 1, res  # something could not be scored
    out = json.loads(res.stdout)
    assert [r["file"] for r in out["rows"] if r["model"] == "fixture-bins"] == ["ok.png"]
    assert [s["file"] for s in out["skipped"]] == ["tiny.png"] and "too small" in out["skipped"][0]["reason"]


def test_evaluate_checks_the_sheet_and_csv_paths_before_scoring(cli, tmp_path, bins_model):
    write(tmp_path / "set" / "ok.png", gradient(40, 60, channels=3))
    for opt in ("--sheet", "--csv"):
        res = cli("evaluate", tmp_path / "set", "--model", bins_model, opt, tmp_path / "missing" / "x.png")
        assert res.exit_code == 2 and "does not exist" in res.stderr and "Traceback" not in res.stderr, res
        assert "model fixture-bins" not in res.stderr  # refused before the model was even loaded


# ------------------------------------------------------------------ 7. what -o means


def test_one_image_and_o_with_an_image_extension_writes_that_file(cli, tmp_path, bins_model):
    src = write(tmp_path / "a.png", gradient(40, 60))
    res = cli("images", src, "-o", tmp_path / "named.jpg", "--model", bins_model)
    assert res.exit_code == 0, res
    assert cv2.imread(str(tmp_path / "named.jpg")).shape == (40, 60, 3)
    res = cli("images", src, "-o", f"{tmp_path / 'dir.png'}/", "--model", bins_model)  # trailing / : a folder
    assert res.exit_code == 0 and (tmp_path / "dir.png" / "a.png").is_file(), res


def test_one_film_and_o_ending_in_a_slash_is_a_folder(cli, tmp_path, bins_model):
    src = make_clip(tmp_path / "in.mp4", n=4, audio=None)
    res = cli("video", src, "-o", f"{tmp_path / 'newdir'}/", "--model", bins_model)
    assert res.exit_code == 0, res
    assert len(_decoded(tmp_path / "newdir" / "in.mp4")) == 4


@pytest.mark.parametrize("command", ["images", "video"])
def test_o_an_existing_file_for_several_inputs_or_empty_is_a_usage_error_before_the_model(cli, tmp_path, bins_model,
                                                                                          command):
    d = tmp_path / "in"
    if command == "images":
        write(d / "a.png", gradient(40, 60))
        write(d / "b.png", gradient(40, 60))
    else:
        make_clip(d / "a.mp4", n=3, audio=None)
        make_clip(d / "b.mp4", n=3, audio=None)
    (tmp_path / "taken").write_text("not a folder")
    for target in (tmp_path / "taken", ""):
        res = cli(command, d, "-o", target, "--model", bins_model)
        assert res.exit_code == 2 and "model fixture-bins" not in res.stderr, res
        assert "not a folder" in res.stderr or "empty" in res.stderr
    assert (tmp_path / "taken").read_text() == "not a folder"


def test_o_the_input_folder_with_format_does_not_read_last_runs_outputs(cli, tmp_path, bins_model):
    d = tmp_path / "scans"
    write(d / "a.jpg", gradient(40, 60))
    write(d / "b.jpg", gradient(30, 50))
    first = cli("images", d, "-o", d, "--format", "png", "--model", bins_model, "--json")
    assert first.exit_code == 0, first
    again = cli("images", d, "-o", d, "--format", "png", "--model", bins_model, "--json")
    assert again.exit_code == 0, again
    rows = [json.loads(line) for line in again.stdout.splitlines()]
    assert sorted(Path(r["input"]).name for r in rows) == ["a.jpg", "b.jpg"]
    assert {r["status"] for r in rows} == {"skipped"}


def test_an_unrelated_file_at_a_films_output_path_is_not_taken_as_done(tmp_path, pipe):
    src = make_clip(tmp_path / "in.mp4", n=4, audio=None)
    dst = tmp_path / "out.mp4"
    dst.write_bytes(b"someone else's file")
    rep = colorize_video(src, dst, pipe)
    assert rep.status == "error" and "not made by colorize" in rep.error and dst.read_bytes() == b"someone else's file"
    assert colorize_video(src, dst, pipe, VideoOptions(overwrite=True)).status == "ok"
    assert colorize_video(src, dst, pipe).status == "skipped"  # ours: the rerun resumes by skipping it


# ------------------------------------------------------------------ 8. options checked up front


@pytest.mark.parametrize("args,words", [
    (["--temperature", "inf"], "--temperature"), (["--temperature", "nan"], "--temperature"),
    (["--temperature", "0"], "--temperature"), (["--crf", "60"], "between 0 and 51"),
    (["--codec", "vp9", "--crf", "70"], "between 0 and 63"), (["--preset", "warp9"], "--preset"),
    (["--window", "0"], "--window"), (["--window", "100000"], "--window"),
])
def test_bad_video_options_are_usage_errors_before_any_work(cli, tmp_path, bins_model, args, words):
    src = make_clip(tmp_path / "in.mp4", n=3, audio=None)
    res = cli("video", src, "-o", tmp_path / "out.mp4", "--model", bins_model, *args)
    assert res.exit_code == 2 and words in res.stderr, res
    assert "model fixture-bins" not in res.stderr and not (tmp_path / "out.mp4.partial").exists()


def test_threads_over_the_cpus_are_capped_with_a_warning(cli, tmp_path, bins_model):
    from colorize_cli.model.engine import default_threads

    write(tmp_path / "a.png", gradient(40, 60))
    res = cli("images", tmp_path / "a.png", "-o", tmp_path / "out/", "--model", bins_model, "--threads", "4096")
    assert res.exit_code == 0, res
    assert "warning: --threads 4096" in res.stderr and f"CPU ({default_threads()} threads)" in res.stderr


def test_temperature_and_confidence_for_an_ab_model_get_one_note(cli, tmp_path, ab_model):
    write(tmp_path / "a.png", gradient(40, 60))
    res = cli("images", tmp_path / "a.png", "-o", tmp_path / "out/", "--model", ab_model, "--temperature", "0.3",
              "--confidence", tmp_path / "conf")
    assert res.exit_code == 0, res
    notes = [ln for ln in res.stderr.splitlines() if "bins models only" in ln]
    assert len(notes) == 1 and "--temperature and --confidence" in notes[0]


# ------------------------------------------------------------------ 9. messages


def test_a_non_image_to_images_is_not_told_to_change_format(cli, tmp_path, bins_model):
    (tmp_path / "notes.txt").write_text("hello")
    res = cli("images", tmp_path / "notes.txt", "-o", tmp_path / "out/", "--model", bins_model)
    assert res.exit_code == 1 and "notes.txt" in res.stderr and "--format" not in res.stderr, res


def test_a_still_image_to_video_is_not_a_film(cli, tmp_path, bins_model):
    src = write(tmp_path / "photo.png", gradient(40, 60))
    res = cli("video", src, "-o", tmp_path / "out.mkv", "--model", bins_model)
    assert res.exit_code == 1 and "a still image, not a film" in res.stderr, res
    assert not (tmp_path / "out.mkv").exists()


def test_sigterm_says_what_sigint_says(tmp_path, bins_model):
    import signal

    d = tmp_path / "in"
    for i in range(200):
        write(d / f"{i:03d}.png", gradient(40, 60))
    cmd = [sys.executable, "-m", "colorize_cli", "images", str(d), "-o", str(tmp_path / "out"), "--model",
           str(bins_model), "--batch-size", "1", "--device", "cpu"]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err = stop_when(proc, (tmp_path / "out" / "001.png").exists, signal.SIGTERM)
    assert proc.returncode == 130, err
    assert "image(s) are done and kept" in err and "run the same command again to resume" in err


def test_the_cpu_note_is_calm_and_details_wait_for_verbose():
    from colorize_cli.model.engine import _calm_reason

    spam = "libcublasLt.so.13: cannot open shared object file"
    assert _calm_reason(spam) == "no CUDA libraries found"
    assert "--verbose" in _calm_reason("something else entirely")


def test_ten_bit_input_warns_that_the_output_is_8_bit(tmp_path, pipe):
    src = make_clip(tmp_path / "in.mkv", n=3, codec="ffv1", pix_fmt="yuv420p10le", audio=None)
    warnings: list[str] = []
    rep = colorize_video(src, tmp_path / "out.mkv", pipe, warn=warnings.append)
    assert rep.status == "ok" and any("10-bit" in w and "8-bit" in w for w in warnings), warnings


def test_with_two_video_streams_the_colourised_one_keeps_its_index(tmp_path, pipe):
    src = tmp_path / "two.mkv"
    with av.open(str(src), "w") as out:  # a small preview first, the film second
        small = out.add_stream("ffv1", rate=25)
        small.width, small.height, small.pix_fmt = 32, 24, "yuv420p"
        big = out.add_stream("ffv1", rate=25)
        big.width, big.height, big.pix_fmt = 64, 48, "yuv420p"
        for i in range(4):
            for s, (w, h) in ((small, (32, 24)), (big, (64, 48))):
                f = av.VideoFrame.from_ndarray(np.full((h, w, 3), 40 * i, np.uint8), format="rgb24")
                f.pts = i
                for p in s.encode(f):
                    out.mux(p)
        for s in (small, big):
            for p in s.encode(None):
                out.mux(p)
    dst = tmp_path / "out.mkv"
    assert colorize_video(src, dst, pipe).status == "ok"
    with av.open(str(dst)) as c:
        assert [(s.index, s.codec_context.width) for s in c.streams.video] == [(0, 32), (1, 64)]
        assert c.streams.video[1].codec_context.name == "h264"


def test_webm_output_picks_a_codec_webm_takes(cli, tmp_path, bins_model):
    src = make_clip(tmp_path / "in.mp4", n=3, audio=None)
    res = cli("video", src, "-o", tmp_path / "out.webm", "--model", bins_model)
    assert res.exit_code == 0, res
    with av.open(str(tmp_path / "out.webm")) as c:
        assert c.streams.video[0].codec_context.name in ("vp9", "libvpx-vp9", "av1", "libdav1d", "vp8")


# ------------------------------------------------------------------ 10. model lookup


def test_models_dir_wins_over_the_env_var_and_the_installed_by_metadata_name_too(cli, tmp_path, monkeypatch):
    from colorize_cli.model.registry import find_model

    first, env, installed = tmp_path / "first", tmp_path / "env", tmp_path / "installed"
    make_bins_model(first / "renamed-file.onnx", name="same")  # found by its metadata name only
    make_bins_model(env / "same.onnx", name="same")
    make_bins_model(installed / "same.onnx", name="same")
    monkeypatch.setenv("COLORIZE_MODEL_PATH", str(env))
    monkeypatch.setattr("colorize_cli.model.registry.package_weights_dir", lambda: installed)
    assert find_model("same", [first]) == first / "renamed-file.onnx"
    assert find_model("same") == env / "same.onnx"
    res = cli("models")
    assert "warning: 2 models are named same" in res.stderr, res
