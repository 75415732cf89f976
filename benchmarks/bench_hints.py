"""Colour hints on 2-megapixel photos: seconds per photo with 50 strokes vs without hints.

    python benchmarks/bench_hints.py [--model NAME_OR_PATH] [--count 4] [--strokes 50] [--render-size N]

Each photo (1632×1224, generated: shading, hard-edged shapes, grain) gets ``--strokes`` random
JSON strokes (3–6 points, width 3–15 px, random colours); "hints" is parsing and rasterising
the JSON at full size plus ``Pipeline.colorize_array(..., ab_filter=hint_filter(...))``,
"automatic" is ``Pipeline.colorize_array`` alone on the same photo, interleaved photo by photo.
Reports seconds per photo for both and their ratio. Writes benchmarks/results/hints.json and
adds a row to the hints table in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from colorize_cli.model.engine import Engine  # noqa: E402
from colorize_cli.steer.hints import parse_hints_json  # noqa: E402
from colorize_cli.pipeline import Pipeline  # noqa: E402
from colorize_cli.steer.propagate import hint_filter  # noqa: E402
from colorize_cli.model.registry import find_model  # noqa: E402

from _results import save, stamp  # noqa: E402

TABLE_MARKER = "<!-- bench_hints rows: newest last -->"
W, H = 1632, 1224


def photo(rng: np.random.Generator) -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    img = 110 + 60 * np.sin(x / rng.uniform(80, 300)) * np.cos(y / rng.uniform(80, 300))
    for _ in range(12):
        cv2.rectangle(img, tuple(int(v) for v in rng.integers(0, [W, H])), tuple(int(v) for v in rng.integers(0, [W, H])),
                      float(rng.uniform(20, 235)), -1)
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def strokes_json(rng: np.random.Generator, n: int) -> str:
    strokes = []
    for _ in range(n):
        k = int(rng.integers(3, 7))
        start = rng.integers(20, [W - 20, H - 20])
        pts = np.clip(start + np.cumsum(rng.integers(-60, 61, (k, 2)), axis=0), 0, [W - 1, H - 1])
        strokes.append({"points": pts.tolist(), "width": int(rng.integers(3, 16)),
                        "color": "#%02x%02x%02x" % tuple(int(c) for c in rng.integers(30, 226, 3))})
    return json.dumps({"strokes": strokes})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model")
    ap.add_argument("--count", type=int, default=4)
    ap.add_argument("--strokes", type=int, default=50)
    ap.add_argument("--render-size", type=int)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    path = find_model(args.model)
    pipe = Pipeline(Engine(path, device=args.device), render_size=args.render_size)
    rng = np.random.default_rng(0)
    pipe.colorize_array(photo(rng))  # warm-up: session, arena
    t_auto, t_hint = [], []
    for _ in range(args.count):
        img, text = photo(rng), strokes_json(rng, args.strokes)
        t0 = time.perf_counter()
        pipe.colorize_array(img)
        t1 = time.perf_counter()
        pipe.colorize_array(img, ab_filter=hint_filter(parse_hints_json(text, img.shape, "bench")))
        t2 = time.perf_counter()
        t_auto.append(t1 - t0)
        t_hint.append(t2 - t1)
    auto, hint = float(np.median(t_auto)), float(np.median(t_hint))
    work = pipe.working_shape((H, W))
    res = stamp({"model": pipe.info.name, "working_shape": list(work), "photo": [W, H], "strokes": args.strokes,
                 "count": args.count, "seconds_automatic": auto, "seconds_hints": hint, "ratio": hint / auto})
    row = (f"| {res['date']} | {res['model']} | {work[1]}x{work[0]} | {args.strokes} | {auto:.2f} | {hint:.2f} | "
           f"x{hint / auto:.2f} | {args.count} | {res['machine']} |")
    save("hints", res, row, TABLE_MARKER)
    print(row)


if __name__ == "__main__":
    main()
