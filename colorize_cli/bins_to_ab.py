"""From a ``bins`` model's probabilities to ab: annealed mean, and confidence maps.

The annealed mean (Zhang et al. 2016) re-weights the distribution ``p ∝ exp(log p / T)`` and
takes its mean over the bin centres: T = 1 is the mean (desaturated), T → 0 the mode (vivid
but blotchy); the model file carries a good default.

Public API (raw maps are channel-first, as the model gives them; ab maps are H×W×2)::

    annealed_mean(probs: [Q, h, w], bins: [Q, 2], temperature) -> ab [h, w, 2]
    confidence(probs: [Q, h, w]) -> (top [h, w], ratio [h, w])   # Billaut et al.
    ab_from_raw(raw: [C, h, w]) -> ab [h, w, 2]                  # for kind "ab"
"""

from __future__ import annotations

import numpy as np

# Below this the re-weighted distribution is one-hot to float32 precision: take the mode directly.
MODE_TEMPERATURE = 1e-3
_EPS = np.float32(1e-12)


def annealed_mean(probs: np.ndarray, bins: np.ndarray, temperature: float) -> np.ndarray:
    """ab (h×w×2) from bin probabilities [Q, h, w]: p ∝ exp(log p / T), ab = Σ p·bin; T = 0 takes the top bin."""
    if probs.ndim != 3 or probs.shape[0] != len(bins):
        raise ValueError(f"probs must be [Q, h, w] with Q = {len(bins)}, got {probs.shape}")
    if not temperature >= 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    q, h, w = probs.shape
    bins = np.asarray(bins, np.float32)
    flat = probs.reshape(q, h * w).astype(np.float32, copy=False)
    if temperature <= MODE_TEMPERATURE:
        ab = bins[np.argmax(flat, axis=0)]  # (h*w, 2)
        return ab.reshape(h, w, 2)
    if temperature == 1.0:
        weights = np.maximum(flat, 0)
    else:
        weights = np.log(np.maximum(flat, _EPS))
        weights *= np.float32(1.0 / temperature)
        weights -= weights.max(axis=0, keepdims=True)  # keeps exp() in range for small T
        np.exp(weights, out=weights)
    total = weights.sum(axis=0)
    ab = bins.T @ weights  # (2, h*w)
    ab /= np.maximum(total, _EPS)
    return np.ascontiguousarray(ab.T.reshape(h, w, 2))


def confidence(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probability of the top bin, and the ratio of the top bin to the runner-up (>= 1)."""
    q = probs.shape[0]
    two = np.partition(probs, (q - 2, q - 1), axis=0)[q - 2:]
    second, top = two[0], two[1]
    return top.astype(np.float32), (top / np.maximum(second, _EPS)).astype(np.float32)


def ab_from_raw(raw: np.ndarray) -> np.ndarray:
    """An ``ab`` model's raw [2, h, w] output as an h×w×2 float32 map."""
    if raw.ndim != 3 or raw.shape[0] != 2:
        raise ValueError(f"an ab map must be [2, h, w], got {raw.shape}")
    return np.ascontiguousarray(np.moveaxis(raw.astype(np.float32, copy=False), 0, -1))
