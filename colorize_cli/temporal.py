"""The temporal kernel of Billaut et al.: a causal, exponentially decaying average of the
model's raw maps over the last frames of the same shot.

For frame t of a shot, with window T and decay α::

    p̂_t = Σ_{i=0..n-1} e^{-α i} · p_{t-i}  /  Σ_{i=0..n-1} e^{-α i},     n = min(T + 1, frames so far)

``p`` is the per-pixel bin distribution for ``bins`` models (so the average is itself a
distribution, decoded afterwards by the annealed mean) and the ab map for ``ab`` models. The
first frames of a shot simply average over what there is, so a shot's first frame is its own
prediction.

The sum is kept incrementally, O(1) map operations per frame whatever T is::

    S_t = p_t + r · S_{t-1} − r^{T+1} · p_{t-T-1},     r = e^{-α}

with the last T + 1 maps in a ring buffer (for the term that leaves the window). ``S`` is a
float64 accumulator: each step's rounding error is multiplied by r ≤ 1 in later steps, so
drift stays near float64 epsilon; as a belt and braces the sum is also recomputed exactly
from the ring every ``refresh`` frames (amortised O(1)). The result equals
:func:`direct_smooth` to ~1e-7 (float32 output) over any number of frames (tested).

Memory: (T + 1) float32 maps of the model's output size, e.g. 21 × 32 bins × 128 × 224 ×
4 bytes ≈ 77 MB for a 32-bin model at its working size; nothing grows with the film's length.

Public API::

    kernel_weights(window, decay) -> float64 [T + 1]           # e^{-α i}, i = 0..T
    TemporalKernel(window=20, decay=0.2, refresh=256)
    TemporalKernel.push(map) -> smoothed float32 (same shape)
    TemporalKernel.reset()                                     # a scene cut: forget the past
    TemporalKernel.count                                       # maps in the window now
    direct_smooth(maps, window, decay, cuts=()) -> [smoothed]  # the definition, for tests
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from colorize_cli.errors import ParameterError
from colorize_cli.settings import CONFIG_MAP, DEFAULTS

__all__ = ["TemporalKernel", "direct_smooth", "kernel_weights"]


# The range of ``window`` (and why 120 is enough) is in colorize_cli.settings; 0 here means no smoothing.
_MAX_WINDOW = CONFIG_MAP["window"].high


def _check(window: int, decay: float) -> None:
    if int(window) != window or not 0 <= window <= _MAX_WINDOW:
        raise ParameterError("window", f"must be a whole number from 1 to {_MAX_WINDOW}, got {window}")
    if not (math.isfinite(decay) and decay >= 0):
        raise ParameterError("decay", f"must be >= 0, got {decay}")


def kernel_weights(window: int, decay: float) -> np.ndarray:
    """Weight of the map i frames back, i = 0..T (unnormalised)."""
    _check(window, decay)
    return np.exp(-float(decay) * np.arange(int(window) + 1, dtype=np.float64))


class TemporalKernel:
    """Push each frame's raw map, get the smoothed one back; :meth:`reset` at scene cuts."""

    def __init__(self, window: int = DEFAULTS.window, decay: float = DEFAULTS.decay, refresh: int = 256) -> None:
        _check(window, decay)
        if refresh < 1:
            raise ValueError(f"refresh must be >= 1, got {refresh}")
        self.window = int(window)
        self.decay = float(decay)
        self.refresh = int(refresh)
        self._w = kernel_weights(self.window, self.decay)  # float64, r^i
        self._r = math.exp(-self.decay)
        self._r_out = math.exp(-self.decay * (self.window + 1))  # weight of the map leaving the window
        self.reset()

    @property
    def count(self) -> int:
        """Frames in the current window."""
        return self._count

    def reset(self) -> None:
        """Forget the shot so far (at a scene cut)."""
        self._ring: list[np.ndarray | None] = [None] * (self.window + 1)
        self._head = 0  # slot of the next push
        self._count = 0
        self._sum: np.ndarray | None = None
        self._since_refresh = 0

    def _exact_sum(self) -> np.ndarray:
        """Σ r^i p_{t-i} from the ring, newest first (the definition, used to refresh)."""
        size = len(self._ring)
        total = np.zeros(self._sum.shape, np.float64)  # type: ignore[union-attr]
        for i in range(self._count):
            total += self._w[i] * self._ring[(self._head - 1 - i) % size]  # type: ignore[operator]
        return total

    def push(self, m: np.ndarray) -> np.ndarray:
        """Add the next frame's raw map; returns the kernel-weighted mean over the window."""
        m = np.asarray(m)
        if self._sum is not None and m.shape != self._sum.shape:
            # A frame of another size (a stream that changes resolution) cannot share a window.
            self.reset()
        size = len(self._ring)
        new = np.array(m, np.float32, copy=True)
        if self._sum is None:
            self._sum = new.astype(np.float64)
        else:
            self._sum *= self._r
            self._sum += new
            if self._count == size:
                leaving = self._ring[self._head]  # the oldest map: p_{t-T-1}
                self._sum -= self._r_out * leaving  # type: ignore[operator]
        self._ring[self._head] = new
        self._head = (self._head + 1) % size
        self._count = min(self._count + 1, size)
        self._since_refresh += 1
        if self._since_refresh >= self.refresh:
            self._sum = self._exact_sum()
            self._since_refresh = 0
        norm = float(self._w[:self._count].sum())
        out = self._sum / norm
        return out.astype(np.float32)


def direct_smooth(maps: Sequence[np.ndarray], window: int = DEFAULTS.window, decay: float = DEFAULTS.decay,
                  cuts: Iterable[int] = ()) -> list[np.ndarray]:
    """The kernel by its definition, frame by frame (O(T) each): the reference for tests.

    ``cuts`` are indices of frames that start a new shot (the window never reaches back past
    the latest one)."""
    w = kernel_weights(window, decay)
    starts = sorted(set(int(c) for c in cuts) | {0})
    out = []
    shot = 0
    for t in range(len(maps)):
        while shot + 1 < len(starts) and starts[shot + 1] <= t:
            shot += 1
        n = min(int(window) + 1, t - starts[shot] + 1)
        acc = sum(w[i] * np.asarray(maps[t - i], np.float64) for i in range(n))
        out.append((acc / w[:n].sum()).astype(np.float32))
    return out
