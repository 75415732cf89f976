"""Keyframes: colour carried by optical flow through a shot, stopped at cuts; the video command."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from helpers import write
from colorize_cli.model.engine import Engine
from colorize_cli.steer.keyframes import Carrier, KeyframePropagator, read_keyframe_dir, to_L8
from colorize_cli.pipeline import Pipeline
from colorize_cli.frames import colorize_frames as _colorize_frames
from colorize_cli.errors import Interrupted
from colorize_cli.film.options import VideoOptions
from colorize_cli.film.run import colorize_video
from video_clips import make_clip

W, H = 128, 96
GREEN = (95, 175, 95)  # about the disc's lightness (so in gamut), and a < 0 where the model gives a > 0


def colorize_frames(frames, pipe, **kw) -> list[np.ndarray]:
    return list(_colorize_frames(frames, pipe, **kw))


def disc_frame(i: int, shot: int = 0, colour=None) -> np.ndarray:
    """A textured gray background and a bright disc moving right 3 px per frame; shot 1 is a
    different picture (dark, the disc elsewhere). ``colour`` paints the disc (a keyframe)."""
    y, x = np.mgrid[0:H, 0:W]
    bg = (90 + 25 * np.sin(x / 7.0) * np.cos(y / 9.0)).astype(np.uint8) if shot == 0 else \
        (40 + 20 * np.sin(y / 5.0)).astype(np.uint8)
    img = np.dstack([bg] * 3)
    cx, cy = (20 + 3 * i, 48) if shot == 0 else (90, 30)
    cv2.circle(img, (cx, cy), 14, colour or (150, 150, 150), -1)
    return img


def disc_mask(i: int, r: int = 9) -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    cv2.circle(m, (20 + 3 * i, 48), r, 1, -1)
    return m.astype(bool)


def a_of(rgb: np.ndarray, mask: np.ndarray) -> float:
    return float(cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[..., 1][mask].mean()) - 128


@pytest.fixture(scope="module")
def pipe(tmp_path_factory) -> Pipeline:
    from onnx_fixtures import make_ab_model

    path = make_ab_model(tmp_path_factory.mktemp("m") / "fixture-ab.onnx")
    return Pipeline(Engine(path, device="cpu", threads=1, batch_size=4), render_size=96)


def test_carrier_moves_colour_with_the_flow():
    f0, f1 = (to_L8(cv2.cvtColor(disc_frame(i), cv2.COLOR_RGB2Lab)[..., 0].astype(np.float32) * 100 / 255)
              for i in (0, 4))
    ab = np.zeros((H, W, 2), np.float32)
    ab[disc_mask(0)] = (50, 30)
    ab1, conf = Carrier(decay=1.0).step(f0, f1, ab, np.ones((H, W), np.float32))
    assert ab1[disc_mask(4)][:, 0].mean() > 40  # the colour moved with the disc...
    assert ab1[disc_mask(0) & ~disc_mask(4, 16)][:, 0].mean() < 10  # ...and left its old place
    assert conf[disc_mask(4)].mean() > 0.7


def test_keyframe_colour_follows_a_moving_shape_and_stops_at_a_cut(pipe):
    frames = [disc_frame(i) for i in range(16)] + [disc_frame(i, shot=1) for i in range(16, 24)]
    key = disc_frame(0, colour=GREEN)
    out = colorize_frames(frames, pipe, keyframes={0: key})
    auto = colorize_frames(frames, pipe)
    for i in (0, 5, 10, 15):
        assert a_of(out[i], disc_mask(i)) < -25, i  # green on the disc, wherever it is now
        assert a_of(auto[i], disc_mask(i)) > 10, i
        bg = ~disc_mask(i, 20)
        assert abs(a_of(out[i], bg)) < 6 and a_of(auto[i], bg) < -20, i  # the keyframe's neutral background
    for i in range(16, 24):  # the next shot is the model's alone
        np.testing.assert_array_equal(out[i], auto[i])


def test_two_keyframes_both_contribute_by_distance(pipe):
    frames = [disc_frame(i) for i in range(13)]
    magenta = (190, 115, 190)
    out = colorize_frames(frames, pipe, keyframes={0: disc_frame(0, colour=GREEN), 12: disc_frame(12, colour=magenta)})
    a = [a_of(out[i], disc_mask(i)) for i in (1, 6, 11)]
    assert a[0] < a[1] < a[2]  # from the green keyframe's colour towards the magenta one's
    assert a[0] < -20 and a[2] > 20


def test_backward_carry_does_not_cross_a_cut(pipe):
    frames = [disc_frame(i, shot=1) for i in range(6)] + [disc_frame(i) for i in range(6, 14)]
    out = colorize_frames(frames, pipe, keyframes={13: disc_frame(13, colour=GREEN)})
    auto = colorize_frames(frames, pipe)
    assert a_of(out[8], disc_mask(8)) < -20
    for i in range(6):
        np.testing.assert_array_equal(out[i], auto[i])


def test_propagator_holds_at_most_reach_frames():
    frames = [cv2.cvtColor(disc_frame(i), cv2.COLOR_RGB2Lab)[..., 0].astype(np.float32) * 100 / 255 for i in range(40)]
    reads = []

    def lookahead(a, b):
        reads.append((a, b))
        return iter(frames[a:b + 1])

    prop = KeyframePropagator({30: disc_frame(30, colour=GREEN)}, lambda L: L, lookahead, reach=10)
    got = [prop.push(i, L, False) for i, L in enumerate(frames)]
    assert reads == [(20, 30)]
    assert all(g is None for g in got[:20]) and all(g is not None for g in got[20:])
    assert not prop._back  # every carried map was handed out and dropped


def test_read_keyframe_dir(tmp_path):
    write(tmp_path / "000012.png", disc_frame(0))
    write(tmp_path / "7.jpg", disc_frame(0))
    write(tmp_path / "frame.png", disc_frame(0))
    (tmp_path / "notes.txt").write_text("x")
    found, errors = read_keyframe_dir(tmp_path)
    assert sorted(found) == [7, 12]
    assert len(errors) == 1 and "frame.png" in errors[0][0] and "0-based frame index" in errors[0][1]


def decoded(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_video_keyframes_resume_equals_uninterrupted(tmp_path, pipe):
    src = make_clip(tmp_path / "in.mkv", frames=[disc_frame(i) for i in range(24)], n=24, codec="ffv1",
                    pix_fmt="yuv444p", audio=None)
    keys = tmp_path / "keys"
    write(keys / "000002.png", disc_frame(2, colour=GREEN))
    write(keys / "000020.png", disc_frame(20, colour=(190, 115, 190)))
    found, _ = read_keyframe_dir(keys)
    opts = VideoOptions(segment_seconds=0.2, codec="ffv1", keyframes=found)  # 6-frame segments
    ref = tmp_path / "ref.mkv"
    assert colorize_video(src, ref, pipe, opts).status == "ok"
    auto = tmp_path / "auto.mkv"
    colorize_video(src, auto, pipe, VideoOptions(segment_seconds=0.2, codec="ffv1"))
    r, a = decoded(ref), decoded(auto)
    assert a_of(r[5], disc_mask(5)) < -20 and a_of(a[5], disc_mask(5)) > 10

    dst = tmp_path / "out.mkv"
    done = [0]

    def ctrl_c(n: int) -> None:
        done[0] += n
        if done[0] == 14:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        colorize_video(src, dst, pipe, opts, on_progress=ctrl_c)
    rep = colorize_video(src, dst, pipe, opts)
    assert rep.status == "ok" and rep.resumed_from == 12
    assert np.array_equal(np.array(decoded(dst)), np.array(r))


def test_cli_keyframes(cli, tmp_path, ab_model):
    src = make_clip(tmp_path / "in.mp4", frames=[disc_frame(i) for i in range(12)], n=12, audio=None)
    keys = tmp_path / "keys"
    write(keys / "000000.png", disc_frame(0, colour=GREEN))
    res = cli("video", src, "-o", tmp_path / "out.mp4", "-m", ab_model, "--keyframes", keys, "--render-size", "96")
    assert res.exit_code == 0, res
    out = decoded(tmp_path / "out.mp4")
    assert len(out) == 12 and a_of(out[9], disc_mask(9)) < -20
    write(keys / "first.png", disc_frame(0))
    res = cli("video", src, "-o", tmp_path / "o2.mp4", "-m", ab_model, "--keyframes", keys)
    assert res.exit_code == 2 and "first.png: a keyframe must be named by its 0-based frame index" in res.stderr
    (keys / "first.png").unlink()
    write(keys / "000003.png", np.zeros((10, 10, 3), np.uint8))
    res = cli("video", src, "-o", tmp_path / "o3.mp4", "-m", ab_model, "--keyframes", keys)
    assert res.exit_code == 1 and "keyframe 3 is 10×10 but the film's frames are 128×96" in res.stderr


def test_keyframes_and_a_callers_ab_filter_chain_in_that_order(pipe):
    frames = [disc_frame(i) for i in range(4)]
    seen = []

    def neutral(L_work, ab_work, full_shape):
        seen.append(float(ab_work[..., 0].min()))  # sees the keyframe's green (a < 0) already blended in
        return np.zeros_like(ab_work)

    out = colorize_frames(frames, pipe, keyframes={0: disc_frame(0, colour=GREEN)}, ab_filter=neutral)
    assert len(seen) == 4 and max(seen) < -20
    for f in out:  # the caller's filter has the last word: no colour at all
        assert np.abs(f.astype(int)[..., 0] - f[..., 2]).max() <= 2


def test_cli_keyframes_and_hints_refuse_ray(cli, tmp_path, ab_model):
    src = make_clip(tmp_path / "in.mp4", frames=[disc_frame(i) for i in range(4)], n=4, audio=None)
    keys = tmp_path / "keys"
    write(keys / "000000.png", disc_frame(0, colour=GREEN))
    res = cli("video", src, "-o", tmp_path / "out.mp4", "-m", ab_model, "--keyframes", keys, "--ray", "local")
    assert res.exit_code == 2 and "--keyframes runs on this machine only" in res.stderr
    photo = write(tmp_path / "p.png", disc_frame(0))
    (tmp_path / "p.json").write_text('{"points": [{"x": 5, "y": 5, "color": "#ff0000"}]}')
    res = cli("images", photo, "-o", tmp_path / "o", "-m", ab_model, "--hints", tmp_path / "p.json", "--ray", "local")
    assert res.exit_code == 2 and "--hints runs on this machine only" in res.stderr
    assert not (tmp_path / "out.mp4").exists() and not (tmp_path / "o").exists()
