"""Choose a model's default working size and annealed-mean temperature on dev sets.

    python -m exporters.tune weights/classifier-313.onnx --sizes 96,128,160 \\
        --temperatures 0.2,0.38,0.6 --dev ../shared/data/eval/miniplaces-val --dev ../shared/data/eval/bsds500-test

Runs the exported file through the runtime pipeline (onnxruntime, JBU, merge with the original
L: exactly what `colorize images` does), once per working size, decodes the same model output
at every temperature, and prints PSNR (RGB), ΔE2000 and colourfulness relative to the truth for
each (size, temperature), per dev set. Only dev sets: never a training folder, never one photo.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from colorize_cli import metrics
from colorize_cli.model.engine import Engine
from colorize_cli.lab import from_float, image_to_L
from colorize_cli.pipeline import Pipeline

from .data import list_images


def score(model: Path, dev: Path, sizes: list[int], temps: list[float | None], limit: int) -> list[dict]:
    """One row per (working size, temperature): mean PSNR, ΔE2000 and colourfulness ratio on ``dev``."""
    engine = Engine(model, device="cpu", batch_size=8)
    truths = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in list_images(dev)[:limit]]
    Ls = [image_to_L(t) for t in truths]
    truth_ci = float(np.mean([metrics.colourfulness(t) for t in truths]))
    rows = []
    for size in sizes:
        pipe = Pipeline(engine, render_size=size)
        raws = pipe.raw_maps(Ls)  # the model runs once per size; each temperature re-decodes its output
        for t in temps:
            psnr, de, ci = [], [], []
            for L, raw, truth in zip(Ls, raws, truths):
                pred = from_float(pipe.finish(L, raw, temperature=t))
                psnr.append(metrics.psnr_rgb(pred, truth))
                de.append(metrics.delta_e2000(pred, truth))
                ci.append(metrics.colourfulness(pred))
            rows.append({"dev": dev.name, "size": size, "temperature": t, "psnr": float(np.mean(psnr)),
                         "delta_e": float(np.mean(de)), "ci_ratio": float(np.mean(ci)) / truth_ci})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    """The command line (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m exporters.tune", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("--dev", type=Path, action="append", required=True)
    ap.add_argument("--sizes", default="128")
    ap.add_argument("--temperatures", default="", help="comma list; empty: the model's own (ab models: ignored)")
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--out", type=Path, help="write all rows as JSON here")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    temps: list[float | None] = [float(t) for t in args.temperatures.split(",") if t] or [None]
    rows = [r for dev in args.dev for r in score(args.model, dev, sizes, temps, args.limit)]
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
