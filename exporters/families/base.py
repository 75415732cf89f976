"""What the training loop, the exporter and the averager know of a model family.

A family is one class: its network (`network`), its loss on a batch (`loss`), an optional second
optimiser step (`extra_step`: the critic of a GAN), what it adds to the run's state files
(`extras`, `load_extras`, `committed`), its prediction for the dev scores (`predict_ab`), its
snapshot schedule (`snapshot_tags`) and its part of the exported model's metadata
(`exported`, `export_metadata`). The loop (`exporters.train`) owns everything else.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from ..perceptual import FeatureLoss, lab_to_rgb


@dataclass(frozen=True)
class Batch:
    """One training batch on the device.

    `L` is the film-like gray input (N, 1, H, W) 0..100 in the run's memory format, `ab` the true
    colour (N, 2, H, W) in Lab units and `L_true` the photo's own L* (N, 1, H, W), with which
    `ab` makes the true colour photo.
    """

    L: torch.Tensor
    ab: torch.Tensor
    L_true: torch.Tensor

    @classmethod
    def from_numpy(cls, arrays: tuple[np.ndarray, np.ndarray, np.ndarray], device: str,
                   memory_format: torch.memory_format) -> "Batch":
        """A batch of `exporters.data.Batches` moved to `device`."""
        L, ab, L_true = (torch.from_numpy(a).to(device) for a in arrays)
        return cls(L.contiguous(memory_format=memory_format), ab, L_true)


class Family:
    """A model family in training: its network and, around it, its loss and its state.

    Subclasses set the class attributes and implement `network`, `loss` and `predict_ab`; the
    other methods default to a family with nothing beyond the network.
    """

    name: ClassVar[str]
    kind: ClassVar[str]  # what the exported model outputs: "bins" or "ab" (docs/models.md)
    channels_last: ClassVar[bool] = True  # NHWC by default: oneDNN's convolutions are faster with it
    default_feat_weight: ClassVar[float] = 0.0  # default weight of the perceptual loss (`--feat-weight`)

    def __init__(self, args: argparse.Namespace, device: str, memory_format: torch.memory_format,
                 autocast: Callable[[], AbstractContextManager], pretrained: bool = True) -> None:
        """Build the network (ImageNet encoder when `pretrained`), the family's own modules, then
        the perceptual loss when its weight is above 0; `autocast` opens the run's bf16 region."""
        self.args, self.device, self.memory_format, self.autocast = args, device, memory_format, autocast
        self.net = self.network(pretrained).to(device, memory_format=memory_format)
        self.setup()
        self.feat_weight = args.feat_weight if args.feat_weight is not None else self.default_feat_weight
        self.feat_loss = (FeatureLoss(args.semantic_weight).to(device, memory_format=memory_format)
                          if self.feat_weight > 0 else None)

    @classmethod
    def network(cls, pretrained: bool = True) -> torch.nn.Module:
        """The family's network, L (N, 1, H, W) 0..100 → its raw output."""
        raise NotImplementedError

    def setup(self) -> None:
        """Build the family's modules beyond the network (after it, before the perceptual loss)."""

    def prepare(self, run: Path, rgb: np.ndarray, rng: np.random.Generator, state: dict | None) -> None:
        """Before the first step: take what the loss needs from `state` (the checkpoint or the
        family's committed state this run continues from) or, without one, from the packed
        training photos `rgb`; write what the run folder should show."""

    def loss(self, batch: Batch, step: int) -> tuple[torch.Tensor, dict[str, float]]:
        """The network's loss on `batch` at `step` (a tensor without grad: no step this time) and
        the terms worth logging."""
        raise NotImplementedError

    def extra_step(self, batch: Batch, step: int) -> dict[str, float]:
        """A second optimiser step after the network's (a critic's); the terms worth logging."""
        return {}

    def snapshot_tags(self, step: int) -> list[str]:
        """The snapshots (`RUN/snap-TAG.pt`) to write once `step` steps are done."""
        return []

    def predict_ab(self, L: torch.Tensor) -> torch.Tensor:
        """ab in Lab units at L's resolution (dev metrics only: bilinear, not the runtime's JBU)."""
        raise NotImplementedError

    def feature_term(self, L_true: torch.Tensor, ab_pred: torch.Tensor, ab_true: torch.Tensor) -> torch.Tensor:
        """The perceptual loss of the photo `ab_pred` makes with the true L* against the true photo."""
        with self.autocast():
            return self.feat_loss(lab_to_rgb(L_true, ab_pred), lab_to_rgb(L_true, ab_true)).float()

    def extras(self) -> dict:
        """The family's entries of a checkpoint, beside the network and its optimiser."""
        return {}

    def load_extras(self, state: dict) -> None:
        """Load the family's entries of a checkpoint or a committed state."""

    @classmethod
    def committed(cls, state: dict) -> dict:
        """The family's entries of a committed state (fp16, no optimiser) made from `state`: a
        checkpoint or `extras()`."""
        return {}

    @classmethod
    def exported(cls, net: torch.nn.Module) -> tuple[torch.nn.Module, str]:
        """The module the ONNX file holds (the contract's output inside the graph) and its output name."""
        raise NotImplementedError

    @classmethod
    def export_metadata(cls, bins: np.ndarray | None, temperature: float | None) -> dict[str, str]:
        """The family's own keys of the contract's metadata (docs/models.md)."""
        return {}
