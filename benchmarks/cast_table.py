"""The global cast (`colorize evaluate`'s `cast` column) of models on the full dev sets, cheaply.

    python benchmarks/cast_table.py classifier-313,unet-l1,unet-gan,colorunet cast.json [--precision float]

The outputs are made exactly as `colorize evaluate` makes them (its own colourisers) and scored
with `metrics.global_cast`'s definition (`cast_of_ab` on each side's Lab), without the costly SSIM/ΔE2000 of a full evaluation.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import colorize_cli
from colorize_cli import metrics as M
from colorize_cli.evaluate import colorizer_from_pipeline, discover, read_rgb

DEV = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "eval"
SETS = ("bsds500-test", "miniplaces-val", "imagenet-sample")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", help="comma-separated model names or files")
    ap.add_argument("out", type=Path, help="JSON: set → model → mean/std/n")
    ap.add_argument("--precision", default="float", choices=["auto", "float", "int8"])
    ap.add_argument("--limit", type=int, default=None, help="only the first N photos of each set")
    args = ap.parse_args(argv)
    models = args.models.split(",")
    cols = [colorizer_from_pipeline(colorize_cli.load(m, precision=args.precision)) for m in models]
    out = {}
    for d in SETS:
        casts: dict[str, list[float]] = {m: [] for m in ["gray", *models]}
        for it in discover(DEV / d)[:args.limit]:
            truth = read_rgb(it.path)
            ab_t = M.to_lab(truth)[..., 1:]  # once per photo, not once per model
            casts["gray"].append(M.cast_of_ab(M.to_lab(M.gray_baseline(truth))[..., 1:], ab_t))
            for m, c in zip(models, cols):
                casts[m].append(M.cast_of_ab(M.to_lab(c.image(truth))[..., 1:], ab_t))
        out[d] = {m: {"mean": float(np.mean(v)), "std": float(np.std(v)), "n": len(v)} for m, v in casts.items()}
        print(d, {m: round(s["mean"], 2) for m, s in out[d].items()}, file=sys.stderr, flush=True)
    args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
