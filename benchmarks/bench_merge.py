"""What bringing ab into gamut costs in the merge, per megapixel.

    python benchmarks/bench_merge.py [--megapixels 20] [--repeats 5]

Times ``lab.merge`` (gamut mapping at each pixel's L, then Lab → sRGB) against the plain
conversion it replaced (Lab → sRGB with RGB clipped), interleaved repeat by repeat on the same
generated L and ab at full resolution (a 20 MP scan by default: 5472×3648), plus 8-bit
quantisation as the images command writes it. Also reports the one-time cost of building the
max-chroma table (once per process). Writes benchmarks/results/merge.json and adds a row to
the merge table in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from colorize_cli import lab  # noqa: E402

from _results import save, stamp  # noqa: E402  (benchmarks/, the script's own folder)

TABLE_MARKER = "<!-- bench_merge rows: newest last -->"


def clip_merge(L: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """The merge before gamut mapping: cvtColor clips out-of-gamut colours per RGB channel."""
    rgb = cv2.cvtColor(cv2.merge([L, ab[:, :, 0], ab[:, :, 1]]), cv2.COLOR_Lab2RGB)
    return np.clip(rgb, 0.0, 1.0, out=rgb)


def inputs(megapixels: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A scan-like L (ramps, black border, grain) and a model-like ab (smooth, often strong)."""
    w = int(round(np.sqrt(megapixels * 1e6 * 3 / 2)))
    h = int(round(w * 2 / 3))
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    L = 100 * (0.5 + 0.45 * np.sin(x / w * 7) * np.cos(y / h * 5)) + rng.normal(0, 3, (h, w)).astype(np.float32)
    L[: h // 20], L[:, : w // 20] = 1.5, 1.5
    L = np.clip(L, 0, 100).astype(np.float32)
    ab = np.dstack([90 * np.cos(x / w * 11), 90 * np.sin(y / h * 9)]).astype(np.float32)
    return L, ab


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--megapixels", type=float, default=20.0)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    t0 = time.perf_counter()
    lab.max_chroma_table()
    table_s = time.perf_counter() - t0

    L, ab = inputs(args.megapixels)
    mp = L.size / 1e6
    times: dict[str, list[float]] = {"clip": [], "gamut": [], "gamut+8bit": []}
    for _ in range(args.repeats):
        for name, fn in (("clip", lambda: clip_merge(L, ab)), ("gamut", lambda: lab.merge(L, ab)),
                         ("gamut+8bit", lambda: lab.from_float(lab.merge(L, ab), np.uint8))):
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    ms_per_mp = {k: 1000 * float(np.median(v)) / mp for k, v in times.items()}
    results = stamp({"shape": list(L.shape), "megapixels": round(mp, 2), "repeats": args.repeats,
                     "table_build_ms": round(1000 * table_s, 1),
                     "ms_per_mp": {k: round(v, 2) for k, v in ms_per_mp.items()},
                     "gamut_over_clip": round(ms_per_mp["gamut"] / ms_per_mp["clip"], 2)})
    row = (f"| {results['date']} | {L.shape[1]}×{L.shape[0]} | {ms_per_mp['clip']:.1f} | {ms_per_mp['gamut']:.1f} "
           f"| {ms_per_mp['gamut+8bit']:.1f} | x{results['gamut_over_clip']} | {results['table_build_ms']} "
           f"| {args.repeats} | {results['machine']} |")
    print(row)
    save("merge", results, row, marker=TABLE_MARKER)


if __name__ == "__main__":
    main()
