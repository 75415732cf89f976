"""`unet-gan`: a U-Net generator on the Lite0 encoder regressing ab, and a PatchGAN critic.

It follows DeOldify's "NoGAN" schedule, made for little compute:
1. steps < --gan-after: the generator alone, L1 on ab plus a feature loss — the distance between
   the ImageNet-pretrained Lite0 features of the predicted and the true colour photo — which
   pushes towards colours that make objects recognisable instead of the safe mean;
2. the next --critic-steps: the PatchGAN critic alone, on generated against real;
3. after that: a short adversarial phase. Every --snapshot-every steps the generator is saved to
   `RUN/snap-STEP.pt` with its dev scores, so the checkpoint where colour peaks before
   artefacts set in can be exported (`exporters.export RUN --snapshot STEP`).
The generator at the end of phase 1 is kept as `RUN/snap-pretrain.pt`.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F

from ..nets import AB_SCALE, ExportedAB, PatchDiscriminator, UNetGenerator
from ..state import cast_state
from .base import Batch, Family


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The NoGAN schedule's options."""
    ap.add_argument("--gan-after", type=int, default=3000, help="unet-gan: generator-only steps before the critic")
    ap.add_argument("--critic-steps", type=int, default=300, help="unet-gan: critic-only steps before the adversarial phase")
    ap.add_argument("--adv-weight", type=float, default=0.02, help="unet-gan: weight of the adversarial loss (L1 has 1)")
    ap.add_argument("--snapshot-every", type=int, default=200, help="unet-gan: adversarial steps between snapshots")


class UNetGAN(Family):
    """Generator (ab in [-1, 1] × AB_SCALE) trained by L1 + perceptual, then against the critic."""

    name = "unet-gan"
    kind = "ab"
    default_feat_weight = 0.1

    @classmethod
    def network(cls, pretrained: bool = True) -> torch.nn.Module:
        """`UNetGenerator`, its encoder ImageNet's when `pretrained`."""
        return UNetGenerator(pretrained=pretrained)

    def setup(self) -> None:
        """The critic, its optimiser and the phase boundaries."""
        self.disc = PatchDiscriminator().to(self.device, memory_format=self.memory_format)
        self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.bce = torch.nn.BCEWithLogitsLoss()
        self.gan_after = self.args.gan_after
        self.critic_end = self.args.gan_after + self.args.critic_steps
        self.fake: torch.Tensor | None = None

    def loss(self, batch: Batch, step: int) -> tuple[torch.Tensor, dict[str, float]]:
        """L1 + perceptual (+ adversarial after the critic phase); during the critic phase the
        generator only generates (a zero loss without grad)."""
        stats = {}
        if self.gan_after <= step < self.critic_end:
            with torch.no_grad(), self.autocast():
                self.fake = self.net(batch.L).float()
            return torch.zeros(()), stats
        with self.autocast():
            fake = self.net(batch.L).float()
            l1 = F.l1_loss(fake, batch.ab / AB_SCALE)
            loss = l1
            stats["l1"] = l1.item()
            if self.feat_loss is not None:
                feat = self.feature_term(batch.L_true, fake * AB_SCALE, batch.ab)
                loss = loss + self.feat_weight * feat
                stats["feat"] = feat.item()
            if step >= self.critic_end:
                d_fake = self.disc(batch.L, fake)
                g_adv = self.bce(d_fake.float(), torch.ones_like(d_fake, dtype=torch.float32))
                loss = loss + self.args.adv_weight * g_adv
                stats["g_adv"] = g_adv.item()
        self.fake = fake
        return loss, stats

    def extra_step(self, batch: Batch, step: int) -> dict[str, float]:
        """From --gan-after on: one critic step, real against this step's generated ab."""
        if step < self.gan_after:
            return {}
        with self.autocast():
            d_real = self.disc(batch.L, batch.ab / AB_SCALE)
            d_fake = self.disc(batch.L, self.fake.detach())
            d_real, d_fake = d_real.float(), d_fake.float()
            d_loss = 0.5 * (self.bce(d_real, torch.ones_like(d_real)) + self.bce(d_fake, torch.zeros_like(d_fake)))
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        return {"d": d_loss.item()}

    def snapshot_tags(self, step: int) -> list[str]:
        """`pretrain` at the end of the generator phase; the step every --snapshot-every adversarial steps."""
        tags = ["pretrain"] if step == self.gan_after else []
        if step > self.critic_end and (step - self.critic_end) % self.args.snapshot_every == 0:
            tags.append(str(step))
        return tags

    def predict_ab(self, L: torch.Tensor) -> torch.Tensor:
        """The generator's ab in Lab units."""
        return self.net(L) * AB_SCALE

    def extras(self) -> dict:
        """The critic and its optimiser."""
        return {"disc": self.disc.state_dict(), "opt_d": self.opt_d.state_dict()}

    def load_extras(self, state: dict) -> None:
        """The critic (fp16 in a committed state), and its optimiser where `state` is a checkpoint."""
        if "disc" in state:
            self.disc.load_state_dict(cast_state(state["disc"], torch.float32))
        if "opt_d" in state:
            self.opt_d.load_state_dict(state["opt_d"])

    @classmethod
    def committed(cls, state: dict) -> dict:
        """The critic in fp16 (an `--init` run continues the adversarial phase with it)."""
        return {"disc": cast_state(state["disc"], torch.float16)} if "disc" in state else {}

    @classmethod
    def exported(cls, net: torch.nn.Module) -> tuple[torch.nn.Module, str]:
        """Lab scaling inside the graph: the file outputs ab."""
        return ExportedAB(net), "ab"

    @classmethod
    def export_metadata(cls, bins: np.ndarray | None, temperature: float | None) -> dict[str, str]:
        """Nothing beyond the common keys: ab needs no decoding."""
        return {}
