"""Not a speed figure: `--sim-reference first` against automatic and `--sim-keyframes first` on
colour clips, over whole clips and over the second half of each clip (where flow has drifted).

    python benchmarks/reference_clips.py [--model NAME] [--clips ../shared/data/video/davis] [--smooth] [--limit N]

The three columns are ``colorize evaluate``'s own colourisers (``colorizer_from_pipeline``,
``keyframed_colorizer(pipe, "first")``, ``referenced_colorizer(pipe, "first")``) on the gray
versions of each clip; every frame is scored against the colour truth with ``metrics.psnr_rgb``
and ``metrics.delta_e2000``. A clip's score is the mean over its frames (or over frames
⌊n/2⌋..n−1), the table the mean over clips, as ``colorize evaluate`` averages. Writes
benchmarks/results/reference_clips.json (per clip and the means).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from colorize_cli import evaluate as ev  # noqa: E402
from colorize_cli import metrics as M  # noqa: E402
from colorize_cli.api import load  # noqa: E402

from _results import stamp  # noqa: E402


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model")
    ap.add_argument("--clips", type=Path, default=ROOT.parent / "shared" / "data" / "video" / "davis")
    ap.add_argument("--smooth", action="store_true")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--only", nargs="+", help="clip names (stems) to score, in this order")
    ap.add_argument("--no-de", action="store_true", help="PSNR only (ΔE2000 of 480p frames is the slow part)")
    args = ap.parse_args()
    pipe = load(args.model, device="cpu")
    columns = [ev.colorizer_from_pipeline(pipe), ev.keyframed_colorizer(pipe, "first"),
               ev.referenced_colorizer(pipe, "first")]
    per_clip: dict[str, dict[str, dict[str, float]]] = {}
    clips = [args.clips / f"{n}.mp4" for n in args.only] if args.only else sorted(args.clips.glob("*.mp4"))
    dest = ROOT / "benchmarks" / "results" / "reference_clips.json"
    for clip in clips[:args.limit]:
        truth = frames_of(clip)
        half = len(truth) // 2
        per_clip[clip.name] = {}
        for col in columns:
            p, d = [], []
            for t, out in zip(truth, col.frames(iter(truth), smooth=args.smooth)):
                p.append(M.psnr_rgb(out, t))
                d.append(float("nan") if args.no_de else M.delta_e2000(out, t))
            per_clip[clip.name][col.name] = {"psnr": float(np.mean(p)), "de2000": float(np.mean(d)),
                                             "psnr_second_half": float(np.mean(p[half:])),
                                             "de2000_second_half": float(np.mean(d[half:])), "frames": len(p)}
        print(clip.name, json.dumps(per_clip[clip.name]), flush=True)
        dest.write_text(json.dumps(stamp({"model": pipe.info.name, "smooth": args.smooth, "per_clip": per_clip}),
                                   indent=2) + "\n")  # so far, in case the run is cut short
    means = {c.name: {k: float(np.mean([per_clip[f][c.name][k] for f in per_clip]))
                      for k in ("psnr", "de2000", "psnr_second_half", "de2000_second_half")} for c in columns}
    res = stamp({"model": pipe.info.name, "smooth": args.smooth, "clips": len(per_clip), "means": means,
                 "per_clip": per_clip})
    dest.write_text(json.dumps(res, indent=2) + "\n")
    for name, m in means.items():
        print(f"| {name} | {m['psnr']:.2f} | {m['de2000']:.2f} | {m['psnr_second_half']:.2f} | "
              f"{m['de2000_second_half']:.2f} |")


if __name__ == "__main__":
    main()
