import numpy as np
import pytest

from colorize_cli.bins_to_ab import ab_from_raw, annealed_mean, confidence

BINS = np.array([[-40, 10], [0, 0], [30, 60], [80, -20]], np.float32)


def _probs() -> np.ndarray:
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2, (4, 5, 6)).astype(np.float32)
    p = np.exp(logits)
    return p / p.sum(0, keepdims=True)


def test_t1_is_the_mean():
    p = _probs()
    ab = annealed_mean(p, BINS, 1.0)
    want = np.einsum("qhw,qc->hwc", p, BINS)
    assert ab.shape == (5, 6, 2)
    np.testing.assert_allclose(ab, want, atol=1e-3)


@pytest.mark.parametrize("t", [0.0, 1e-4, 1e-3])
def test_t_to_zero_is_the_mode(t):
    p = _probs()
    ab = annealed_mean(p, BINS, t)
    want = BINS[np.argmax(p, axis=0)]
    np.testing.assert_allclose(ab, want, atol=1e-2)


def test_intermediate_temperature_matches_the_formula():
    p = _probs()
    t = 0.38
    q = np.exp(np.log(p) / t)
    q /= q.sum(0, keepdims=True)
    np.testing.assert_allclose(annealed_mean(p, BINS, t), np.einsum("qhw,qc->hwc", q, BINS), atol=1e-3)


def test_lower_temperature_is_more_saturated():
    p = _probs()
    sat = [np.linalg.norm(annealed_mean(p, BINS, t), axis=-1).mean() for t in (1.0, 0.38, 0.05)]
    assert sat[0] < sat[1] < sat[2]


def test_zero_probabilities_do_not_make_nans():
    p = np.zeros((4, 2, 2), np.float32)
    p[2] = 1.0
    for t in (1.0, 0.38, 0.0):
        ab = annealed_mean(p, BINS, t)
        assert np.isfinite(ab).all()
        np.testing.assert_allclose(ab, np.broadcast_to(BINS[2], (2, 2, 2)), atol=1e-3)


def test_confidence_top_and_ratio():
    p = np.array([0.5, 0.25, 0.15, 0.1], np.float32).reshape(4, 1, 1)
    top, ratio = confidence(p)
    assert top[0, 0] == pytest.approx(0.5)
    assert ratio[0, 0] == pytest.approx(2.0)


def test_ab_from_raw_is_channel_last():
    raw = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    ab = ab_from_raw(raw)
    assert ab.shape == (3, 4, 2) and ab[1, 2, 0] == raw[0, 1, 2] and ab[1, 2, 1] == raw[1, 1, 2]


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError):
        annealed_mean(np.ones((3, 2, 2), np.float32), BINS, 1.0)
    with pytest.raises(ValueError):
        ab_from_raw(np.ones((3, 2, 2), np.float32))
