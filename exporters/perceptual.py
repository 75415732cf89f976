"""The perceptual loss every family can add: how differently an ImageNet classifier sees the
predicted colour photo and the true one.

A per-pixel loss cannot tell a wrong hue on a face from one on a wall; the classifier can.
`--feat-weight` weighs the L1 between the frozen Lite0's features, `--semantic-weight` the KL
between its class probabilities.
"""
from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F


def add_arguments(ap: argparse.ArgumentParser, feat_defaults: str) -> None:
    """`--feat-weight` (its default per family, described by `feat_defaults`) and `--semantic-weight`."""
    ap.add_argument("--feat-weight", type=float, default=None,
                    help=f"weight of the Lite0 feature loss on the colour photo (default: {feat_defaults}; "
                         "the bins models' feature loss sees the photo of their annealed mean)")
    ap.add_argument("--semantic-weight", type=float, default=0.0,
                    help="with the feature loss: weight of the KL between Lite0's ImageNet class probabilities "
                         "of the predicted and the true photo")


def lab_to_rgb(L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """Differentiable CIE Lab (D65, as OpenCV) → sRGB in 0..1, (N,1,H,W) + (N,2,H,W) → (N,3,H,W)."""
    fy = (L + 16.0) / 116.0
    f = torch.cat([fy + ab[:, :1] / 500.0, fy, fy - ab[:, 1:] / 200.0], 1)
    d = 6.0 / 29.0
    xyz = torch.where(f > d, f ** 3, 3 * d * d * (f - 4.0 / 29.0))
    xyz = xyz * torch.tensor([0.950456, 1.0, 1.088754], device=L.device).view(1, 3, 1, 1)
    m = torch.tensor([[3.2404542, -1.5371385, -0.4985314], [-0.9692660, 1.8760108, 0.0415560],
                      [0.0556434, -0.2040259, 1.0572252]], device=L.device)
    lin = torch.einsum("rc,nchw->nrhw", m, xyz).clamp(1e-6, 1.0)
    return torch.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


class FeatureLoss(torch.nn.Module):
    """How differently the frozen ImageNet Lite0 sees two sRGB images in 0..1.

    The L1 between its features at strides 4–32, plus `semantic` × the KL divergence of its
    class probabilities (the prediction's from the truth's): colours that change what the
    classifier recognises cost more than colours that only miss the exact shade.
    """

    def __init__(self, semantic: float = 0.0) -> None:
        super().__init__()
        from .semantic import load_classifier

        self.net = load_classifier().requires_grad_(False)
        self.semantic = semantic

    def train(self, mode: bool = True) -> "FeatureLoss":
        """Stays in eval mode: the batch-norm statistics stay ImageNet's."""
        return super().train(False)

    def _see(self, rgb: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        feats = self.net.pyramid(rgb * 2.0 - 1.0)
        return feats[1:], self.net.head(feats[-1]) if self.semantic else None

    def forward(self, pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
        """The loss of `pred` against `truth`, both (N, 3, H, W) sRGB in 0..1."""
        with torch.no_grad():
            ft, lt = self._see(truth)
        fp, lp = self._see(pred)
        loss = sum(F.l1_loss(a, b) for a, b in zip(fp, ft)) / len(fp)
        if self.semantic:
            loss = loss + self.semantic * F.kl_div(F.log_softmax(lp.float(), 1), F.log_softmax(lt.float(), 1),
                                                   log_target=True, reduction="batchmean")
        return loss
