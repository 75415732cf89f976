"""colorize video: streaming, faithful output, resume, bad input, the CLI.

Every clip is made here with PyAV (tests/video_clips.py): 64×48, at most a few dozen frames,
so the whole file runs in seconds on one core.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from colorize_cli import metrics as M
from colorize_cli.model.engine import Engine
from colorize_cli.lab import from_float, image_to_L
from colorize_cli.pipeline import Pipeline
from colorize_cli.errors import Interrupted
from colorize_cli.frames import TemporalFilter, colorize_frames
from colorize_cli.film.options import VideoOptions
from colorize_cli.film.run import colorize_video
from colorize_cli.film.segments import WorkDir
from helpers import stop_when
from video_clips import NTSC, clip_frames, make_clip

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pipe(tmp_path_factory) -> Pipeline:
    from onnx_fixtures import make_bins_model

    path = make_bins_model(tmp_path_factory.mktemp("m") / "fixture-bins.onnx")
    return Pipeline(Engine(path, device="cpu", threads=1, batch_size=4))


@pytest.fixture(scope="module")
def ab_pipe(tmp_path_factory) -> Pipeline:
    from onnx_fixtures import make_ab_model

    path = make_ab_model(tmp_path_factory.mktemp("m") / "fixture-ab.onnx", output_stride=2, stride=8)
    return Pipeline(Engine(path, device="cpu", threads=1, batch_size=4))


def frame_times(path: Path) -> list[Fraction]:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return [f.pts * f.time_base for f in c.decode(v)]


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]


def packets(path: Path, kind: str) -> list[tuple[bytes, Fraction | None]]:
    with av.open(str(path)) as c:
        s = [s for s in c.streams if s.type == kind][0]
        return [(bytes(p), p.pts * p.time_base if p.pts is not None else None) for p in c.demux(s) if p.size]


# ------------------------------------------------------------------------ frames in memory


def test_colorize_frames_without_smoothing_is_the_photo_pipeline(pipe):
    frames = clip_frames(6)
    got = list(colorize_frames(frames, pipe, smooth=False))
    for f, g in zip(frames, got):
        assert g.dtype == np.uint8 and g.shape == f.shape
        np.testing.assert_array_equal(g, from_float(pipe.colorize_L(image_to_L(f)), np.uint8))


def _ab_jitter(frames: list[np.ndarray]) -> float:
    ab = [cv2.cvtColor(f.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)[..., 1:] for f in frames]
    return float(np.mean([np.abs(a - b).mean() for a, b in zip(ab, ab[1:])]))


def test_smoothing_steadies_colour_and_lowers_cdc(pipe):
    # Gray frames of a static picture with per-frame exposure noise: the raw model colours jitter.
    rng = np.random.default_rng(0)
    base = clip_frames(1)[0].astype(np.float32)
    frames = [np.clip(base + rng.normal(0, 6), 0, 255).astype(np.uint8) for _ in range(24)]
    plain = list(colorize_frames(frames, pipe, smooth=False))
    smooth = list(colorize_frames(frames, pipe, smooth=True, window=20, decay=0.2, scene_detect=False))
    assert _ab_jitter(smooth) < 0.6 * _ab_jitter(plain)
    assert M.cdc(smooth) < M.cdc(plain)  # CDC also sees the L noise, which no kernel on colour removes


def test_a_scene_cut_restarts_the_kernel(pipe):
    frames = clip_frames(16, cut_at=9)
    whole = list(colorize_frames(frames, pipe, smooth=True))
    after = list(colorize_frames(frames[9:], pipe, smooth=True))
    for a, b in zip(whole[9:], after):
        np.testing.assert_array_equal(a, b)  # nothing of the first shot leaks into the second
    blind = list(colorize_frames(frames, pipe, smooth=True, scene_detect=False))
    assert np.abs(blind[9].astype(int) - after[0].astype(int)).max() > 3


def test_colorize_frames_is_lazy_and_keeps_float_and_16_bit(ab_pipe):
    pulled = []

    def source():
        for i, f in enumerate(clip_frames(5)):
            pulled.append(i)
            yield f.astype(np.uint16) * 257 if i % 2 else f.astype(np.float32) / 255

    it = colorize_frames(source(), ab_pipe, smooth=True, batch_size=2)
    first = next(it)
    assert pulled == [0, 1] and first.dtype == np.float32
    rest = list(it)
    assert [r.dtype for r in rest] == [np.uint16, np.float32, np.uint16, np.float32]


def test_temporal_filter_reports_cuts(pipe):
    tf = TemporalFilter(smooth=True)
    Ls = [image_to_L(f) for f in clip_frames(12, cut_at=5)]
    pipe.raw_maps(Ls, tf)
    assert [i for i, cut in enumerate(tf.take_cuts()) if cut] == [5]
    assert tf.take_cuts() == []


# ------------------------------------------------------------------------ films


def test_faithful_output_ntsc_rate_audio_metadata_rotation_sar(tmp_path, pipe):
    src = make_clip(tmp_path / "in.mp4", n=30, cut_at=15, rotation=90, sar=Fraction(4, 3),
                    metadata={"title": "Old film", "creation_time": "2001-05-06T07:08:09.000000Z"})
    dst = tmp_path / "out.mp4"
    rep = colorize_video(src, dst, pipe, VideoOptions(smooth=True))
    assert rep.status == "ok" and rep.frames == 30 and rep.scene_cuts == 1
    assert rep.streams_copied == ["audio#1 aac (fra)"]
    times_in, times_out = frame_times(src), frame_times(dst)
    assert times_out == times_in and times_in[1] == Fraction(1001, 30000)
    assert packets(dst, "audio") == packets(src, "audio")  # byte for byte, same timestamps
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        vi, vo = a.streams.video[0], b.streams.video[0]
        assert (vo.codec_context.name, vo.format.name) == ("h264", "yuv420p")
        assert (vo.width, vo.height, vo.sample_aspect_ratio) == (64, 48, Fraction(4, 3))
        assert vo.average_rate == NTSC
        assert b.metadata["title"] == "Old film" and b.metadata["creation_time"] == a.metadata["creation_time"]
        assert vo.metadata.get("language") == "eng" and b.streams.audio[0].metadata.get("language") == "fra"
        fo = next(b.decode(vo))
        assert fo.rotation == next(a.decode(vi)).rotation == 90
    out = decoded(dst)
    assert np.abs(out[3][..., 0].astype(int) - out[3][..., 2].astype(int)).mean() > 3  # colour, not gray
    assert not WorkDir(dst).path.exists()


def test_variable_frame_rate_keeps_every_timestamp(tmp_path, pipe):
    pts = [0, 40, 80, 100, 200, 210, 220, 400, 433, 466, 500, 900]
    src = make_clip(tmp_path / "vfr.mkv", frames=clip_frames(len(pts)), pts=pts, time_base=Fraction(1, 1000),
                    rate=25, audio=None)
    dst = tmp_path / "vfr-out.mkv"
    assert colorize_video(src, dst, pipe, VideoOptions(segment_seconds=0.2)).status == "ok"
    assert frame_times(dst) == [Fraction(p, 1000) for p in pts]


def test_a_clock_that_starts_late_is_moved_to_zero_with_sync_kept(tmp_path, pipe):
    src = make_clip(tmp_path / "cap.ts", n=10, audio="mp2", time_base=Fraction(1, 90000), start=3600.0)
    with av.open(str(src)) as c:
        start = Fraction(c.start_time, 1_000_000)
    assert start > 3590  # a capture whose clock says one hour in
    dst = tmp_path / "cap.mp4"
    rep = colorize_video(src, dst, pipe)
    assert rep.status == "ok" and rep.streams_copied == ["audio#1 mp2 (fra)"]
    t_in, t_out = frame_times(src), frame_times(dst)
    shift = t_in[0] - t_out[0]
    assert abs(shift - start) < Fraction(1, 1000) and t_out == [t - shift for t in t_in]
    a_in, a_out = packets(src, "audio"), packets(dst, "audio")
    assert [d for d, _ in a_in] == [d for d, _ in a_out]
    # In sync to well under a millisecond (an MP4 edit list stores the video's start in ms).
    assert all(abs(ti - shift - to) < Fraction(1, 10000) for (_, ti), (_, to) in zip(a_in, a_out))


def test_streams_copied_where_the_container_takes_them_else_reencoded(tmp_path, pipe):
    src = make_clip(tmp_path / "s.mkv", n=20, audio="pcm_s16le", subtitles=True)
    rep = colorize_video(src, tmp_path / "o.mkv", pipe, VideoOptions(codec="ffv1"))
    assert rep.status == "ok" and not rep.streams_dropped
    assert [s.split()[1] for s in rep.streams_copied] == ["pcm_s16le", "srt"]
    assert packets(tmp_path / "o.mkv", "subtitle") == packets(src, "subtitle")
    assert packets(tmp_path / "o.mkv", "audio") == packets(src, "audio")
    with av.open(str(tmp_path / "o.mkv")) as c:
        assert c.streams.video[0].codec_context.name == "ffv1"
    seen = []
    rep = colorize_video(src, tmp_path / "o.mp4", pipe, VideoOptions(), warn=seen.append)
    # MP4 takes PCM but not SubRip: the subtitles become mov_text, with the same text and times.
    assert rep.status == "ok" and rep.streams_reencoded == ["subtitle#2 srt"] and not rep.streams_dropped
    assert any("subtitle#2" in w and "re-encoded to mov_text" in w for w in seen)
    subs = [(data[2:], t) for data, t in packets(tmp_path / "o.mp4", "subtitle") if len(data) > 2]
    assert subs == [(text, t) for text, t in packets(src, "subtitle")]
    assert len(frame_times(tmp_path / "o.mp4")) == 20
    # WebM cannot take PCM: re-encoded (Opus) with a warning, never silently lost.
    rep = colorize_video(src, tmp_path / "o.webm", pipe, VideoOptions(codec="vp9"), warn=seen.append)
    assert rep.status == "ok" and rep.streams_reencoded[0] == "audio#1 pcm_s16le (fra)"
    with av.open(str(tmp_path / "o.webm")) as c:
        assert c.streams.audio[0].codec_context.name == "opus"
        n = sum(f.samples for f in c.decode(c.streams.audio[0]))
    assert abs(n / 48000 - 20 * 1001 / 30000) < 0.05


@pytest.mark.parametrize("smooth", [False, True])
def test_resume_after_an_interruption_gives_the_same_film(tmp_path, pipe, smooth):
    # Lossless FFV1, because multi-threaded x264 is not bit-reproducible from run to run.
    src = make_clip(tmp_path / "in.mp4", n=36, cut_at=22)
    opts = VideoOptions(smooth=smooth, window=6, segment_seconds=0.2, codec="ffv1")  # segments of 6 frames
    ref = tmp_path / "ref.mp4"
    colorize_video(src, ref, pipe, opts)

    dst = tmp_path / ("out" + ref.suffix)
    done = [0]

    def ctrl_c_at_frame_20(n: int) -> None:
        done[0] += n
        if done[0] == 20:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted) as info:
        colorize_video(src, dst, pipe, opts, on_progress=ctrl_c_at_frame_20)
    assert info.value.frames_kept == 18 and not dst.exists()
    work = WorkDir(dst).path
    assert sorted(p.name for p in work.iterdir() if p.suffix == ".pkt") == [f"seg-0000{k}.pkt" for k in range(3)]
    assert not list(work.glob(".*.tmp"))  # the half-written segment is gone

    rep = colorize_video(src, dst, pipe, opts)
    assert rep.status == "ok" and rep.resumed_from == 18 and rep.frames == 36 and rep.scene_cuts == 1
    # The kernel was replayed exactly across the restart: not one pixel differs.
    assert np.array_equal(np.array(decoded(dst)), np.array(decoded(ref)))
    assert frame_times(dst) == frame_times(ref) == frame_times(src)
    assert packets(dst, "audio") == packets(src, "audio")
    assert not work.exists()


def test_resume_with_other_options_starts_over(tmp_path, pipe):
    src = make_clip(tmp_path / "in.mp4", n=12, audio=None)
    dst = tmp_path / "out.mp4"

    def stop(n: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        colorize_video(src, dst, pipe, VideoOptions(segment_seconds=0.1), on_progress=stop)
    notes = []
    rep = colorize_video(src, dst, pipe, VideoOptions(segment_seconds=0.1, smooth=True), warn=notes.append)
    assert rep.status == "ok" and rep.resumed_from == 0 and any("starting over" in n for n in notes)


def test_existing_output_is_skipped_and_overwrite_redoes_it(tmp_path, pipe):
    src = make_clip(tmp_path / "in.mp4", n=4, audio=None)
    dst = tmp_path / "out.mp4"
    assert colorize_video(src, dst, pipe).status == "ok"
    made = dst.read_bytes()
    assert colorize_video(src, dst, pipe).status == "skipped" and dst.read_bytes() == made
    assert colorize_video(src, dst, pipe, VideoOptions(overwrite=True)).status == "ok"
    assert len(frame_times(dst)) == 4


def test_the_final_film_has_the_permissions_of_any_new_file(tmp_path, pipe):
    src = make_clip(tmp_path / "in.mp4", n=3, audio=None)
    old = os.umask(0o022)
    try:
        colorize_video(src, tmp_path / "out.mp4", pipe)
    finally:
        os.umask(old)
    assert (tmp_path / "out.mp4").stat().st_mode & 0o777 == 0o644


def _corrupt_video_packets(path: Path, which: tuple[int, ...]) -> Path:
    """Overwrite the last three quarters of some video packets with noise, in place."""
    with av.open(str(path)) as c:
        where = [(p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size]
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(3)
    for i in which:
        pos, size = where[i]
        data[pos + size // 4:pos + size] = rng.integers(0, 256, size - size // 4, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def test_bad_inputs_each_get_a_clear_reason(tmp_path, pipe):
    text = tmp_path / "notes.mp4"
    text.write_text("not a film at all\n" * 20)
    empty = tmp_path / "empty.mkv"
    empty.write_bytes(b"")
    audio_only = tmp_path / "audio.mka"
    with av.open(str(audio_only), "w") as out:
        s = out.add_stream("pcm_s16le", rate=8000, layout="mono")
        af = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        af.sample_rate = 8000
        out.mux(s.encode(af))
        out.mux(s.encode())
    big = make_clip(tmp_path / "big.mp4", n=2, audio=None)
    cases = {text: "not a video", empty: "empty file", audio_only: "no video stream (1 audio)",
             big: "over --max-pixels"}
    for path, reason in cases.items():
        rep = colorize_video(path, tmp_path / "o" / (path.stem + ".mkv"), pipe, VideoOptions(max_pixels=1000))
        assert rep.status == "error" and reason in rep.error, (path, rep.error)
        assert not (tmp_path / "o" / (path.stem + ".mkv")).exists()


def test_truncated_and_corrupt_films_colourise_what_decodes(tmp_path, pipe):
    src = make_clip(tmp_path / "cut.mkv", n=40, audio=None, options={"g": "5", "preset": "ultrafast"})
    data = src.read_bytes()
    src.write_bytes(data[: len(data) // 2])
    seen = []
    rep = colorize_video(src, tmp_path / "cut-out.mkv", pipe, warn=seen.append)
    assert rep.status == "ok" and 5 < rep.frames < 30
    assert any("truncated" in w or "ends early" in w for w in seen), seen

    bad = _corrupt_video_packets(make_clip(tmp_path / "bad.mkv", n=40, audio="pcm_s16le",
                                           options={"g": "5", "preset": "ultrafast"}), (10, 11, 20, 21))
    times_in = frame_times(bad)
    seen = []
    rep = colorize_video(bad, tmp_path / "bad-out.mkv", pipe, warn=seen.append)
    assert rep.status == "ok" and rep.frames == len(times_in) >= 30
    assert frame_times(tmp_path / "bad-out.mkv") == times_in  # the frames that decode keep their timing
    assert any("decoded with damage" in w for w in seen), seen
    assert packets(tmp_path / "bad-out.mkv", "audio") == packets(bad, "audio")


# ------------------------------------------------------------------------ the command


def test_cli_folder_in_folder_out_json_and_skips(cli, tmp_path, bins_model):
    reels = tmp_path / "reels"
    make_clip(reels / "a.mp4", n=6)
    make_clip(reels / "sub" / "b.webm", n=6, codec="libvpx-vp9", audio="libopus", options={})
    (reels / "readme.txt").write_text("not a film")
    out = tmp_path / "colour"
    res = cli("video", reels, "-o", out, "--model", bins_model, "--smooth", "--crf", "16", "--json")
    assert res.exit_code == 0, res
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["status"] for r in rows] == ["ok", "ok"]
    # Without --codec a .webm keeps its name and gets a codec WebM takes (VP9).
    assert {Path(r["output"]).relative_to(out).as_posix() for r in rows} == {"a.mp4", "sub/b.webm"}
    assert all(r["frames"] == 6 and r["fps"] > 0 for r in rows)
    assert rows[0]["streams_copied"] == ["audio#1 aac (fra)"] and "scene_cuts" in rows[0]
    res = cli("video", reels, "-o", out, "--model", bins_model, "--smooth", "--crf", "16", "--json")
    assert [json.loads(line)["status"] for line in res.stdout.splitlines()] == ["skipped", "skipped"]


def test_cli_exit_codes_and_one_line_errors(cli, tmp_path, bins_model):
    good = make_clip(tmp_path / "in" / "good.mp4", n=4, audio=None)
    (tmp_path / "in" / "bad.mp4").write_text("garbage")
    res = cli("video", tmp_path / "in", "-o", tmp_path / "out", "--model", bins_model)
    assert res.exit_code == 1
    assert f"colorize: error: {tmp_path / 'in' / 'bad.mp4'}: not a video" in res.stderr
    assert (tmp_path / "out" / "good.mp4").exists()
    assert cli("video", good, "-o", tmp_path / "x.webm", "--codec", "libx264", "--model", bins_model).exit_code == 2
    assert cli("video", good, "-o", tmp_path / "x.mp4", "--codec", "nope", "--model", bins_model).exit_code == 2
    assert cli("video", tmp_path / "missing.mp4", "-o", tmp_path / "x.mp4", "--model", bins_model).exit_code == 2


def test_ctrl_c_in_a_real_process_leaves_no_final_file_and_the_rerun_resumes(tmp_path, bins_model):
    src = make_clip(tmp_path / "in.mp4", n=48, audio="aac")
    dst = tmp_path / "out.mp4"
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLORIZE_MODEL_PATH": ""}
    cmd = [sys.executable, "-m", "colorize_cli", "video", str(src), "-o", str(dst), "--model", str(bins_model),
           "--smooth", "--segment-seconds", "0.1", "--render-size", "256", "--batch-size", "1", "--device", "cpu"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    work = WorkDir(dst).path
    err = stop_when(proc, lambda: any(work.glob("seg-00001.json")), signal.SIGINT)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err and not dst.exists()
    assert not list(tmp_path.glob(".*colorize-tmp*"))
    res = subprocess.run(cmd + ["--json"], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    row = json.loads(res.stdout)
    assert row["resumed_from"] > 0 and row["frames"] == 48
    assert frame_times(dst) == frame_times(src) and packets(dst, "audio") == packets(src, "audio")


def test_join_plan_is_decided_per_stream_without_writing(tmp_path):
    from colorize_cli.film.join import plan_streams

    src = make_clip(tmp_path / "in.mkv", n=4, subtitles=True)
    with av.open(str(src)) as c:
        main = c.streams.video[0].index
        mkv = {p.description.split()[0]: p.action for p in plan_streams(c, main, "matroska")}
        mp4 = {p.description.split()[0]: (p.action, p.reason) for p in plan_streams(c, main, "mp4")}
        avi = {p.description.split()[0]: p.action for p in plan_streams(c, main, "avi")}
    assert mkv == {"audio#1": "copy", "subtitle#2": "copy"}
    assert mp4 == {"audio#1": ("copy", ""), "subtitle#2": ("reencode", "mov_text")}
    assert avi["subtitle#2"] == "drop"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv"]
