"""State files of a training run: checkpoints (`RUN/ckpt.pt`), snapshots and committed states.

A checkpoint holds the full-precision network and optimiser to resume from; a committed state
(`weights/state/*.pt`, `RUN/snap-*.pt`) the network in fp16 with its step and minutes, small
enough to commit, for `exporters.train --init`. What a family adds to either (its bins, its
critic) is the family's (`exporters.families`).
"""
from __future__ import annotations

import os
from pathlib import Path

import torch


def cast_state(state: dict, dtype: torch.dtype) -> dict:
    """A state dict with its floating-point tensors cast to `dtype` (fp16 to commit, fp32 to load)."""
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}


def save_atomic(obj: dict, path: Path) -> None:
    """`torch.save` to a temporary name, then rename: an interrupted save leaves the old file."""
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def transfer_encoder(net: torch.nn.Module, state: dict) -> None:
    """Load the encoder of another family's committed state into `net`.

    Every Lite0 family shares the encoder on L, so one trained for colour (the `unet-gan`
    generator) gives a bins model a head start over the ImageNet weights, which never saw L alone.
    """
    encoder = {k[len("encoder."):]: v for k, v in cast_state(state["net"], torch.float32).items()
               if k.startswith("encoder.")}
    if not encoder:
        raise SystemExit(f"{state['model']} state has no encoder to transfer")
    net.encoder.load_state_dict(encoder)
