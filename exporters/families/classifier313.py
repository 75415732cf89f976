"""`classifier-313` (Zhang et al. 2016): 313 in-gamut bins at ¼ resolution on the Lite0 encoder."""
from __future__ import annotations

import numpy as np
import torch

from .. import bins as binlib
from ..nets import Classifier313
from .binned import BinsFamily


class Classifier313Family(BinsFamily):
    """Zhang et al.'s bins and ImageNet prior; soft targets over the 5 nearest bins."""

    name = "classifier-313"
    q = 313
    channels_last = False  # NHWC made oneDNN faster for the other two families, not for this one

    @classmethod
    def network(cls, pretrained: bool = True) -> torch.nn.Module:
        """`Classifier313`, its encoder ImageNet's when `pretrained`."""
        return Classifier313(pretrained=pretrained)

    def initial_bins(self, rgb: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Zhang et al.'s 313 centres and ImageNet prior, whatever the training photos."""
        return binlib.zhang_bins()

    def encode(self, ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The soft encoding, rebalanced at its most likely bin."""
        target = binlib.soft_encode(ab, self.centres_t)
        return target, target.argmax(1)

    def cross_entropy(self, logp: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy against the soft target distribution."""
        return -(target * logp).sum(1)
