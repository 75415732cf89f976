"""The model families, one module each: the network, its loss, its state and its export metadata.

    FAMILIES       name → Family subclass (what `exporters.train MODEL` accepts)
    get(name)      that class, or a one-line exit naming the choices
    add_arguments  the families' own command-line options, for `exporters.train`
    HELP           what the families' losses are, for `exporters.train --help`
"""
from __future__ import annotations

import argparse

from .. import perceptual
from . import binned, unet_gan
from .base import Batch, Family
from .classifier313 import Classifier313Family
from .colorunet import ColorUNetFamily
from .unet_gan import UNetGAN

__all__ = ["FAMILIES", "Batch", "Family", "HELP", "add_arguments", "get"]

FAMILIES: dict[str, type[Family]] = {f.name: f for f in (ColorUNetFamily, Classifier313Family, UNetGAN)}

HELP = "\n".join(m.__doc__ for m in (unet_gan, binned))


def get(name: str) -> type[Family]:
    """The family called `name`."""
    if name not in FAMILIES:
        raise SystemExit(f"unknown model {name!r}; choose from {', '.join(FAMILIES)}")
    return FAMILIES[name]


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """Every family's options, each declared once (the perceptual loss's are every family's)."""
    perceptual.add_arguments(ap, ", ".join(f"{f.default_feat_weight:g} for {name}" for name, f in FAMILIES.items()))
    unet_gan.add_arguments(ap)
    binned.add_arguments(ap)
