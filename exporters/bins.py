"""Colour bins, class rebalancing and soft encoding.

- 313 bins: the in-gamut ab bin centres (grid 10) of Zhang et al. 2016 and their empirical
  ImageNet prior, copied from richzhang/colorization (BSD-2-Clause) into `bins_data/`.
- 32 bins: learnt as in Billaut et al.: quantise the training set's ab on a grid of 10 and keep
  the 32 most frequent cells; pixels are assigned to the nearest kept centre.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

BINS_DIR = Path(__file__).parent / "bins_data"
GRID = 10.0
AB_MIN = -110.0


def zhang_bins() -> tuple[np.ndarray, np.ndarray]:
    """The 313 bin centres (313, 2) float32 and their ImageNet prior (313,) float64."""
    pts = np.load(BINS_DIR / "pts_in_hull.npy").astype(np.float32)
    prior = np.load(BINS_DIR / "prior_probs.npy").astype(np.float64)
    return pts, prior


def grid_index(ab: np.ndarray) -> np.ndarray:
    """Index of each ab pair's cell on the 10-unit grid spanning −110..110 (23×23 cells)."""
    q = np.clip(np.floor((ab - AB_MIN) / GRID + 0.5), 0, 22).astype(np.int64)
    return q[..., 0] * 23 + q[..., 1]


def grid_centre(index: np.ndarray) -> np.ndarray:
    return np.stack([index // 23, index % 23], axis=-1).astype(np.float32) * GRID + AB_MIN


def learn_bins(ab_samples: np.ndarray, q: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """The q most frequent grid cells of `ab_samples` (..., 2) and their frequencies.

    Frequencies are recomputed after nearest-centre assignment so that they are the prior of
    the bins the network actually predicts (pixels of dropped cells go to their nearest bin).
    """
    ab = ab_samples.reshape(-1, 2)
    counts = np.bincount(grid_index(ab), minlength=23 * 23)
    keep = np.argsort(-counts, kind="stable")[:q]
    centres = grid_centre(keep)
    assigned = nearest_bin(ab, centres)
    prior = np.bincount(assigned, minlength=q).astype(np.float64)
    return centres, prior / prior.sum()


def nearest_bin(ab: np.ndarray, centres: np.ndarray, chunk: int = 1 << 20) -> np.ndarray:
    flat = ab.reshape(-1, 2).astype(np.float32)
    out = np.empty(len(flat), np.int64)
    for s in range(0, len(flat), chunk):
        d = ((flat[s : s + chunk, None, :] - centres[None]) ** 2).sum(-1)
        out[s : s + chunk] = d.argmin(1)
    return out.reshape(ab.shape[:-1])


def rebalance_weights(prior: np.ndarray, lam: float = 0.5) -> np.ndarray:
    """w ∝ ((1 − λ)·P̂ + λ/Q)⁻¹, normalised so that E_P̂[w] = 1 (Zhang et al. 2016, eq. 4)."""
    prior = np.asarray(prior, np.float64)
    prior = prior / prior.sum()
    w = 1.0 / ((1.0 - lam) * prior + lam / len(prior))
    return (w / (prior * w).sum()).astype(np.float32)


def soft_encode(ab: torch.Tensor, centres: torch.Tensor, k: int = 5, sigma: float = 5.0) -> torch.Tensor:
    """Soft targets (N, Q, H, W): Gaussian (σ) weights over the k nearest bins of each pixel.

    `ab` is (N, 2, H, W) in Lab units, `centres` (Q, 2).
    """
    n, _, h, w = ab.shape
    flat = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    d2 = torch.cdist(flat, centres).pow(2)
    dk, ik = d2.topk(k, dim=1, largest=False)
    wk = torch.softmax(-dk / (2 * sigma**2), dim=1)
    target = torch.zeros(flat.shape[0], centres.shape[0], dtype=ab.dtype, device=ab.device)
    target.scatter_(1, ik, wk)
    return target.reshape(n, h, w, -1).permute(0, 3, 1, 2)


def hard_encode(ab: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Index (N, H, W) of the nearest bin of each pixel."""
    n, _, h, w = ab.shape
    flat = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    return torch.cdist(flat, centres).argmin(1).reshape(n, h, w)
