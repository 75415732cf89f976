"""The bins models (`colorunet`: 32 bins, `classifier-313`: Zhang et al.'s 313).

They learn from the class-rebalanced cross-entropy against the true colour's bin: nearest-bin
for 32 learnt bins, soft-encoded over the 5 nearest for 313. With --feat-weight they also see the
photo their annealed mean makes through the perceptual loss, and with --semantic-weight through
the ImageNet head's class probabilities.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from .. import bins as binlib
from ..nets import ExportedBins
from .base import Batch, Family


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The bins models' options."""
    ap.add_argument("--rebalance", type=float, default=0.5,
                    help="bins: λ of the class rebalancing (Zhang et al. eq. 4); 1 = none, 0.5 = theirs")


def annealed_mean(logits: torch.Tensor, centres: torch.Tensor, t: float) -> torch.Tensor:
    """The ab the runtime shows for bin logits (N, Q, h, w): the mean of the bins under softmax(logits / t)."""
    p = torch.softmax(logits / t, dim=1)
    return torch.einsum("nqhw,qc->nchw", p, centres)


class BinsFamily(Family):
    """A classifier over `q` ab bins; subclasses give the network, the bins and the target encoding."""

    kind = "bins"
    q: ClassVar[int]
    temperature: ClassVar[float] = 0.38  # of the annealed mean, in training and by default in the export

    def initial_bins(self, rgb: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The bin centres (q, 2) and their prior (q,) of a new run."""
        raise NotImplementedError

    def encode(self, ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The target for true `ab` (N, 2, h, w) and the bin (N, h, w) its rebalancing weight is read at."""
        raise NotImplementedError

    def cross_entropy(self, logp: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-pixel cross-entropy (N, h, w) of log-probabilities (N, q, h, w) against `target`."""
        raise NotImplementedError

    def prepare(self, run: Path, rgb: np.ndarray, rng: np.random.Generator, state: dict | None) -> None:
        """The bins and prior of `state` (a resumed or restarted run keeps its own) or new ones;
        `RUN/bins.npy` shows them."""
        if state is not None and "bins" in state:
            self.centres, self.prior = state["bins"], state["prior"]
        else:
            self.centres, self.prior = self.initial_bins(rgb, rng)
        np.save(run / "bins.npy", self.centres)
        self.centres_t = torch.from_numpy(np.asarray(self.centres, np.float32)).to(self.device)
        self.weights_t = torch.from_numpy(binlib.rebalance_weights(self.prior, self.args.rebalance)).to(self.device)

    def loss(self, batch: Batch, step: int) -> tuple[torch.Tensor, dict[str, float]]:
        """Rebalanced cross-entropy at the output stride, plus the weighted perceptual loss."""
        # Targets in fp32, outside autocast: bin distances in bf16 would blur the encoding.
        s = self.net.output_stride
        target, index = self.encode(F.avg_pool2d(batch.ab, s) if s > 1 else batch.ab)
        w = self.weights_t[index]
        with self.autocast():
            logits = self.net(batch.L)
        logp = F.log_softmax(logits.float(), 1)
        loss = (w * self.cross_entropy(logp, target)).mean()
        stats = {}
        if self.feat_loss is not None:
            # The photo the runtime would show: annealed mean at the training temperature.
            pab = F.interpolate(annealed_mean(logits.float(), self.centres_t, self.temperature),
                                size=batch.L_true.shape[-2:], mode="bilinear", align_corners=False)
            feat = self.feature_term(batch.L_true, pab, batch.ab)
            stats["ce"], stats["feat"] = loss.item(), feat.item()
            loss = loss + self.feat_weight * feat
        return loss, stats

    def predict_ab(self, L: torch.Tensor) -> torch.Tensor:
        """The annealed mean at the training temperature, resized bilinearly to L."""
        ab = annealed_mean(self.net(L), self.centres_t, self.temperature)
        return F.interpolate(ab, size=L.shape[-2:], mode="bilinear", align_corners=False)

    def extras(self) -> dict:
        """The bins and their prior, so that a resumed run decodes as this one."""
        return {"bins": np.asarray(self.centres, np.float32), "prior": np.asarray(self.prior)}

    @classmethod
    def committed(cls, state: dict) -> dict:
        """The bins and prior, as they are."""
        return {k: state[k] for k in ("bins", "prior") if k in state}

    @classmethod
    def exported(cls, net: torch.nn.Module) -> tuple[torch.nn.Module, str]:
        """Softmax inside the graph: the file outputs bin probabilities."""
        return ExportedBins(net), "probs"

    @classmethod
    def export_metadata(cls, bins: np.ndarray | None, temperature: float | None) -> dict[str, str]:
        """The bin centres and the default temperature of the annealed mean."""
        return {"bins": json.dumps(np.asarray(bins, np.float32).round(3).tolist()),
                "temperature": str(temperature if temperature is not None else cls.temperature)}
