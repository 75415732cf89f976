"""A held-out slice scored during training: is the model getting better, and more colourful?"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from colorize_cli.lab import merge
from colorize_cli.metrics import cast_of_ab, colourfulness

from .data import list_images, rgb_to_lab


class DevSet:
    """A fixed slice of a held-out folder, at the training resolution, for quick progress checks."""

    def __init__(self, root: Path, size: int, count: int = 96) -> None:
        import cv2

        labs = []
        for p in list_images(root)[:count]:
            bgr = cv2.resize(cv2.imread(str(p)), (size, size), interpolation=cv2.INTER_AREA)
            labs.append(rgb_to_lab(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
        self.lab = np.stack(labs) if labs else np.zeros((0, size, size, 3), np.float32)

    @torch.no_grad()
    def score(self, net: torch.nn.Module, predict_ab: Callable[[torch.Tensor], torch.Tensor], device: str) -> dict:
        """PSNR of `predict_ab(L)` (ab in Lab units at L's size, `net` in eval mode meanwhile), that of
        plain gray, the colourfulness relative to the truth's and the global cast (Lab distance of the
        mean ab from the truth's); {} without dev photos."""
        if not len(self.lab):
            return {}
        net.eval()
        L = torch.from_numpy(self.lab[..., :1].transpose(0, 3, 1, 2).copy()).to(device)
        ab = predict_ab(L).float().cpu().numpy().transpose(0, 2, 3, 1)
        net.train()
        psnr, ci, ci_t, gray_psnr, cast = [], [], [], [], []
        for lab, pab in zip(self.lab, ab):
            L_img = np.ascontiguousarray(lab[..., 0])
            truth = merge(L_img, lab[..., 1:])
            pred = merge(L_img, pab)
            gray = merge(L_img, np.zeros_like(pab))
            psnr.append(-10 * np.log10(np.mean((pred - truth) ** 2) + 1e-12))
            gray_psnr.append(-10 * np.log10(np.mean((gray - truth) ** 2) + 1e-12))
            ci.append(colourfulness(pred))
            ci_t.append(colourfulness(truth))
            cast.append(cast_of_ab(pab, lab[..., 1:]))
        return {"psnr": float(np.mean(psnr)), "gray_psnr": float(np.mean(gray_psnr)),
                "ci_ratio": float(np.mean(ci) / max(np.mean(ci_t), 1e-6)), "cast": float(np.mean(cast))}
