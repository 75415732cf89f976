"""The three model families and the wrappers that export them to the model contract.

- `ColorUNet` (Billaut et al., Figure 2): 32-bin classifier at full resolution, from scratch.
- `Classifier313` (Zhang et al. 2016 formulation): 313-bin classifier at ¼ resolution on an
  ImageNet-pretrained EfficientNet-Lite0 encoder.
- `UNetGenerator` + `PatchDiscriminator` (Isola et al.; the ResNet-encoder cGAN recipe with a
  Lite0 encoder instead): ab regression, tanh output scaled to Lab units.

Every network takes L in 0..100 as (N, 1, H, W); the `Exported*` wrappers add what the contract
puts inside the graph (softmax for bins, Lab scaling for ab).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .lite0 import PYRAMID_CHANNELS, Lite0Encoder, load_pretrained

AB_SCALE = 110.0


def conv_bn(cin: int, cout: int, k: int = 3) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(conv_bn(cin, cout), conv_bn(cout, cout))


# --- ColorUNet -------------------------------------------------------------------------------

class DownConv(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = double_conv(cin, cout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.conv(x)
        return y, F.max_pool2d(y, 2)


class UpConv(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1)
        self.conv = double_conv(cout + cskip, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        x = self.up(x)
        return self.conv(torch.cat([x, skip], 1) if skip is not None else x)


class ColorUNet(nn.Module):
    """Three DownConv cells (32, 64, 128 filters), a 256-filter bottom, three UpConv cells.

    Skips join the middle levels (½ and ¼ resolution) as in Billaut et al.; the top level is
    rebuilt from the decoder alone. Output: logits over the 32 bins at full resolution.
    """

    stride = 8
    output_stride = 1

    def __init__(self, q: int = 32, width: int = 32) -> None:
        super().__init__()
        w = width
        self.d1, self.d2, self.d3 = DownConv(1, w), DownConv(w, 2 * w), DownConv(2 * w, 4 * w)
        self.bottom = double_conv(4 * w, 8 * w)
        self.u3 = UpConv(8 * w, 4 * w, 4 * w)
        self.u2 = UpConv(4 * w, 2 * w, 2 * w)
        self.u1 = UpConv(2 * w, 0, w)
        self.head = nn.Conv2d(w, q, 1)

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        x = L / 50.0 - 1.0
        _, x = self.d1(x)
        s2, x = self.d2(x)
        s3, x = self.d3(x)
        x = self.bottom(x)
        x = self.u3(x, s3)
        x = self.u2(x, s2)
        x = self.u1(x, None)
        return self.head(x)


# --- Lite0 decoders --------------------------------------------------------------------------

class UpBlock(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int) -> None:
        super().__init__()
        self.conv = double_conv(cin + cskip, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.conv(torch.cat([x, skip], 1))


def lite0_encoder(pretrained: bool) -> Lite0Encoder:
    encoder = Lite0Encoder()
    if pretrained:
        load_pretrained(encoder)
    return encoder


class Classifier313(nn.Module):
    """Lite0 encoder, a light top-down decoder to ¼ resolution, logits over 313 bins."""

    stride = 32
    output_stride = 4

    def __init__(self, q: int = 313, pretrained: bool = True) -> None:
        super().__init__()
        self.encoder = lite0_encoder(pretrained)
        c2, c4, c8, c16, c32 = PYRAMID_CHANNELS
        self.up16 = UpBlock(c32, c16, 160)
        self.up8 = UpBlock(160, c8, 128)
        self.up4 = UpBlock(128, c4, 128)
        self.head = nn.Sequential(conv_bn(128, 256, 1), nn.Conv2d(256, q, 1))

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        _, f4, f8, f16, f32 = self.encoder(L)
        x = self.up16(f32, f16)
        x = self.up8(x, f8)
        x = self.up4(x, f4)
        return self.head(x)


class UNetGenerator(nn.Module):
    """U-Net on the Lite0 encoder with skips at every level; ab in [-1, 1] (tanh)."""

    stride = 32
    output_stride = 1

    def __init__(self, pretrained: bool = True) -> None:
        super().__init__()
        self.encoder = lite0_encoder(pretrained)
        c2, c4, c8, c16, c32 = PYRAMID_CHANNELS
        self.up16 = UpBlock(c32, c16, 160)
        self.up8 = UpBlock(160, c8, 96)
        self.up4 = UpBlock(96, c4, 64)
        self.up2 = UpBlock(64, c2, 48)
        self.up1 = UpBlock(48, 1, 32)
        self.head = nn.Conv2d(32, 2, 3, padding=1)

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        f2, f4, f8, f16, f32 = self.encoder(L)
        x = self.up16(f32, f16)
        x = self.up8(x, f8)
        x = self.up4(x, f4)
        x = self.up2(x, f2)
        x = self.up1(x, L / 50.0 - 1.0)
        return torch.tanh(self.head(x))


class PatchDiscriminator(nn.Module):
    """70×70 PatchGAN (C64-C128-C256-C512, 4×4 kernels) on (L, ab), both scaled to [-1, 1]."""

    def __init__(self) -> None:
        super().__init__()

        def block(cin: int, cout: int, stride: int, norm: bool = True) -> list[nn.Module]:
            layers: list[nn.Module] = [nn.Conv2d(cin, cout, 4, stride, 1, bias=not norm)]
            if norm:
                layers.append(nn.BatchNorm2d(cout))
            return layers + [nn.LeakyReLU(0.2, inplace=True)]

        self.net = nn.Sequential(
            *block(3, 64, 2, norm=False), *block(64, 128, 2), *block(128, 256, 2), *block(256, 512, 1),
            nn.Conv2d(512, 1, 4, 1, 1),
        )

    def forward(self, L: torch.Tensor, ab_unit: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([L / 50.0 - 1.0, ab_unit], 1))


# --- Export wrappers -------------------------------------------------------------------------

class ExportedBins(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(L), dim=1)


class ExportedAB(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        return self.net(L) * AB_SCALE


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
