"""`colorunet` (Billaut et al.): a small U-Net from scratch, 32 bins learnt from the training photos."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .. import bins as binlib
from ..data import rgb_to_lab
from ..nets import ColorUNet
from .binned import BinsFamily


class ColorUNetFamily(BinsFamily):
    """32 bins at full resolution; each pixel's target is its nearest bin."""

    name = "colorunet"
    q = 32

    @classmethod
    def network(cls, pretrained: bool = True) -> torch.nn.Module:
        """`ColorUNet` (no pretrained part: `pretrained` changes nothing)."""
        return ColorUNet()

    def initial_bins(self, rgb: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The 32 most frequent ab cells of up to 4,000 packed photos (every other pixel)."""
        sample = np.asarray(rgb[np.sort(rng.choice(len(rgb), min(len(rgb), 4000), replace=False))][:, ::2, ::2])
        return binlib.learn_bins(rgb_to_lab(sample)[..., 1:], self.q)

    def encode(self, ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The nearest bin, as target and as rebalancing index."""
        idx = binlib.hard_encode(ab, self.centres_t)
        return idx, idx

    def cross_entropy(self, logp: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of the nearest bin."""
        return F.nll_loss(logp, target, reduction="none")
