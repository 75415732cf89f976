"""How far the reduced upsampling route (JBU up to the guide size, then bilinear) is from full
JBU, in CIEDE2000, on the dev sets.

    python benchmarks/check_upsample_route.py [--model unet-l1] [--count 50] [--scale 4]

At their own size the dev photos are below the guide size, where the route *is* full JBU
(so `colorize evaluate` scores do not move at all). To see the route at work, each photo is
enlarged ``--scale`` times (bicubic, as a high-resolution scan of it would look), colourised
once by the model, and upsampled both ways; the report is ΔE2000 between the two outputs
(8-bit, as written): mean, 99th percentile and max over all pixels, and the time of each
route (full JBU + merge + quantisation, against ``Pipeline.finish`` with an output dtype). Writes benchmarks/results/upsample_route.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import stamp  # noqa: E402
import colorize_cli  # noqa: E402
from colorize_cli.lab import from_float, image_to_L, merge  # noqa: E402
from colorize_cli.upsample import joint_bilateral_upsample  # noqa: E402

SETS = ROOT.parent / "shared" / "data" / "eval"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="unet-l1")
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--scale", type=int, default=4)
    args = ap.parse_args()
    pipe = colorize_cli.load(args.model, "cpu", batch_size=1)
    results: dict = {"model": args.model, "scale": args.scale, "sets": {}}
    for name in ("bsds500-test", "miniplaces-val"):
        files = sorted((SETS / name).glob("*.*"))[:args.count]
        de_all, t_full, t_route, shapes = [], 0.0, 0.0, set()
        scale = args.scale * (2 if name == "miniplaces-val" else 1)  # 128 px photos: past the guide size
        for f in files:
            rgb = cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB)
            rgb = cv2.resize(rgb, (rgb.shape[1] * scale, rgb.shape[0] * scale), interpolation=cv2.INTER_CUBIC)
            L = image_to_L(rgb)
            shapes.add(L.shape)
            raw = pipe.infer([pipe.prepare(L)])[0]
            ab_low = pipe.to_ab(raw)
            t0 = time.perf_counter()
            full = from_float(merge(L, joint_bilateral_upsample(ab_low, L, pipe.sigma_s, pipe.sigma_r)), np.uint8)
            t1 = time.perf_counter()
            route = pipe.finish(L, raw, dtype=np.uint8)
            t2 = time.perf_counter()
            t_full, t_route = t_full + t1 - t0, t_route + t2 - t1
            de = deltaE_ciede2000(rgb2lab(full), rgb2lab(route))
            de_all.append(de.ravel().astype(np.float32))
        de = np.concatenate(de_all)
        results["sets"][name] = {"photos": len(files), "size": sorted(shapes)[0][::-1], "scale": scale,
                                 "dE2000_mean": round(float(de.mean()), 4),
                                 "dE2000_p99": round(float(np.percentile(de, 99)), 3),
                                 "dE2000_max": round(float(de.max()), 3),
                                 "full_jbu_s": round(t_full, 2), "route_s": round(t_route, 2)}
        print(name, results["sets"][name], flush=True)
    stamp(results)
    dest = ROOT / "benchmarks" / "results" / "upsample_route.json"
    dest.write_text(__import__("json").dumps(results, indent=2) + "\n")
    print(f"wrote {dest.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
