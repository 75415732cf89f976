"""The temporal kernel and scene-cut detection: the maths, on small arrays and tiny frames."""

from __future__ import annotations

import math

import numpy as np
import pytest

from colorize_cli.lab import image_to_L
from colorize_cli.scenes import SceneDetector, cut_score, thumbnail
from colorize_cli.temporal import TemporalKernel, direct_smooth, kernel_weights
from video_clips import clip_frames


def _maps(n: int, shape=(3, 4, 5), seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.random(shape, dtype=np.float32) for _ in range(n)]


def _run(kernel: TemporalKernel, maps, cuts=()) -> list[np.ndarray]:
    out = []
    for t, m in enumerate(maps):
        if t in cuts:
            kernel.reset()
        out.append(kernel.push(m))
    return out


@pytest.mark.parametrize("window,decay", [(20, 0.2), (5, 0.0), (0, 0.2), (3, 2.0), (40, 0.05)])
def test_incremental_equals_direct_sum(window, decay):
    maps = _maps(150)
    cuts = {37, 38, 90}
    got = _run(TemporalKernel(window, decay), maps, cuts)
    want = direct_smooth(maps, window, decay, cuts)
    assert max(float(np.abs(g - w).max()) for g, w in zip(got, want)) < 1e-6


def test_no_drift_over_thousands_of_frames_without_refresh():
    # The float64 accumulator alone keeps the recurrence on the direct sum (refresh disabled).
    maps = _maps(5000, shape=(2, 3, 3), seed=1)
    for decay in (0.2, 0.0):
        kernel = TemporalKernel(20, decay, refresh=10 ** 9)
        got = _run(kernel, maps)
        assert np.abs(got[10] - direct_smooth(maps[:11], 20, decay)[-1]).max() < 1e-6
        for t in (20, 21, 999, 4999):
            want = direct_smooth(maps[t - 20:t + 1], 20, decay)[-1]
            assert np.abs(got[t] - want).max() < 1e-6, (decay, t)


def test_a_one_frame_change_decays_by_e_minus_alpha_and_is_gone_after_T_frames():
    T, alpha = 20, 0.2
    a, b = np.full((2, 2), 1.0, np.float32), np.full((2, 2), 3.0, np.float32)
    kernel = TemporalKernel(T, alpha)
    for _ in range(40):  # a full window of the steady state
        kernel.push(a)
    dev = [float(kernel.push(b)[0, 0] - 1.0)]
    for _ in range(T + 3):
        dev.append(float(kernel.push(a)[0, 0] - 1.0))
    norm = kernel_weights(T, alpha).sum()
    assert dev[0] == pytest.approx(2.0 / norm, rel=1e-6)
    for k in range(1, T + 1):  # (absolute tolerance: the output is float32 around 1.0)
        assert dev[k] == pytest.approx(dev[k - 1] * math.exp(-alpha), abs=3e-7)
    # T + 1 frames later the changed frame has left the window: exactly the steady state again.
    assert abs(dev[T + 1]) < 1e-6 and abs(dev[T + 2]) < 1e-6


def test_output_stays_a_distribution_and_starts_as_the_first_frame():
    rng = np.random.default_rng(2)
    kernel = TemporalKernel()
    first = None
    for t in range(30):
        p = rng.random((8, 3, 3)).astype(np.float32)
        p /= p.sum(0, keepdims=True)
        out = kernel.push(p)
        if t == 0:
            first = (p, out)
        np.testing.assert_allclose(out.sum(0), 1.0, atol=1e-6)
    np.testing.assert_allclose(first[1], first[0], atol=1e-7)


def test_reset_forgets_the_previous_shot():
    kernel = TemporalKernel(20, 0.2)
    for _ in range(10):
        kernel.push(np.zeros((2, 2), np.float32))
    kernel.reset()
    assert kernel.count == 0
    np.testing.assert_array_equal(kernel.push(np.ones((2, 2), np.float32)), np.ones((2, 2), np.float32))


def test_a_map_of_another_size_restarts_the_window():
    kernel = TemporalKernel(4, 0.2)
    kernel.push(np.zeros((2, 2), np.float32))
    out = kernel.push(np.ones((3, 3), np.float32))
    np.testing.assert_array_equal(out, np.ones((3, 3), np.float32))


@pytest.mark.parametrize("window,decay", [(-1, 0.2), (2.5, 0.2), (3, -0.1), (3, math.nan)])
def test_bad_parameters_are_refused(window, decay):
    with pytest.raises(ValueError):
        TemporalKernel(window, decay)


def test_scene_detector_finds_the_cut_and_nothing_else():
    frames = clip_frames(40, 96, 72, cut_at=23)
    det = SceneDetector()
    cuts = [t for t, f in enumerate(frames) if det.is_cut(image_to_L(f))]
    assert cuts == [23]


def test_flicker_and_fades_are_not_cuts():
    L = image_to_L(clip_frames(1, 96, 72)[0])
    # Exposure pumping of old prints: brightness and contrast jump, the picture does not.
    assert cut_score(thumbnail(L), thumbnail(L * 0.7 + 12)) < 1e-4
    # A nearly black frame after a normal one would be noise amplified without the std floor.
    dark = np.full_like(L, 2.0) + np.random.default_rng(0).normal(0, 0.3, L.shape).astype(np.float32)
    det = SceneDetector()
    det.is_cut(dark)
    assert not det.is_cut(dark + np.random.default_rng(1).normal(0, 0.3, L.shape).astype(np.float32))


def test_scene_threshold_must_be_positive():
    with pytest.raises(ValueError):
        SceneDetector(0)
