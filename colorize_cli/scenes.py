"""Scene-cut detection on the L channel, so that the temporal kernel restarts at each cut and
one shot's colours never bleed into the next.

Each frame's L is shrunk (area average) to a 64×36 thumbnail and normalised to zero mean and
unit standard deviation; the score of frame t is the mean absolute difference between its
thumbnail and frame t−1's::

    z = (thumb − mean) / max(std, 4 L units)          score_t = mean |z_t − z_{t−1}|

Why this measure:

* the thumbnail averages away grain, noise and small motion, which dominate a pixel-level
  difference on old film, while a new shot changes the layout of the whole picture;
* the normalisation makes it blind to flicker and exposure pumping (a global change of
  brightness or contrast), common in scanned prints and never a cut;
* the floor on the standard deviation keeps near-uniform frames (fades to black, blank
  leader) from amplifying noise into false cuts.

Two unrelated pictures score about 1.1 (the mean |X − Y| of two independent unit Gaussians is
2/√π); the same shot, even with a fast pan, usually stays under 0.3. The default threshold
the default threshold, 0.5 (``scene_threshold`` in :data:`colorize_cli.settings.CONFIG_MAP`), sits between; ``--scene-threshold`` moves it (lower finds
more cuts). Gradual transitions (dissolves, fades) are not cuts, and the kernel blending
across them is what a dissolve does anyway.

Public API::

    thumbnail(L) -> float32 36×64, normalised
    cut_score(prev_thumb, thumb) -> float
    SceneDetector(threshold=0.5)
    SceneDetector.is_cut(L) -> bool        # True when L starts a new shot (never for the first frame)
    SceneDetector.reset()
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from colorize_cli.errors import ParameterError
from colorize_cli.settings import DEFAULTS

THUMB_SIZE = (64, 36)  # (width, height), as OpenCV takes it
STD_FLOOR = 4.0  # L units
__all__ = ["SceneDetector", "cut_score", "thumbnail"]


def thumbnail(L: np.ndarray) -> np.ndarray:
    """A small, contrast-normalised copy of L that cut scores compare."""
    small = cv2.resize(np.asarray(L, np.float32), THUMB_SIZE, interpolation=cv2.INTER_AREA)
    small -= small.mean()
    small /= max(float(small.std()), STD_FLOOR)
    return small


def cut_score(prev_thumb: np.ndarray, thumb: np.ndarray) -> float:
    """Mean absolute difference of two thumbnails: large at a cut."""
    return float(np.mean(np.abs(thumb - prev_thumb)))


class SceneDetector:
    """Feed every frame's L in order; :meth:`is_cut` says whether it starts a new shot."""

    def __init__(self, threshold: float = DEFAULTS.scene_threshold) -> None:
        if not (math.isfinite(threshold) and threshold > 0):
            raise ParameterError("scene_threshold", f"must be > 0, got {threshold}")
        self.threshold = float(threshold)
        self.last_score = 0.0
        self._prev: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the previous frame: the next one starts a shot."""
        self._prev = None
        self.last_score = 0.0

    def is_cut(self, L: np.ndarray) -> bool:
        """Feed the next frame's L; True when it starts a new shot."""
        thumb = thumbnail(L)
        prev, self._prev = self._prev, thumb
        if prev is None:
            self.last_score = 0.0
            return False
        self.last_score = cut_score(prev, thumb)
        return self.last_score >= self.threshold
