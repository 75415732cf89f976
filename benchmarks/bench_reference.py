"""Colour from a reference photo: seconds per 2 MP photo and per 480p frame, with one reference
against the automatic run of the same picture.

    python benchmarks/bench_reference.py [--model NAME_OR_PATH] [--count 4] [--photos DIR] [--clip FILE] [--precision auto] [--cpu-time] [--uncapped]

Photos: ``--count`` photos of ``--photos`` (default ../shared/data/eval/bsds500-test) scaled to
1728×1152 (2 MP); each one's reference is its own colour photo flipped, cropped to 80 % and
rescaled (``simulate_reference``), read and its features computed once before timing, as a run
does. Frames: the first ``--count`` × 4 frames of ``--clip`` (default a DAVIS clip, 854×480),
the reference its colour first frame. "automatic" is ``Pipeline.colorize_array`` alone,
"reference" the same call with the reference's ``ab_filter`` (matching, fusion, refinement),
interleaved picture by picture; medians. ``--uncapped`` also times, in the same loop, the fusion
solved on the model's whole ab grid (``fusion_cells=None``, as before ``FUSION_CELLS``) and adds
its row. Writes benchmarks/results/reference.json and adds a row (per fusion) to the reference
table in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

if "--cpu-time" in sys.argv:  # one thread for BLAS too (before numpy loads it): no spinning threads counted
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from colorize_cli.model.variants import open_engine  # noqa: E402
from colorize_cli.io.image_io import read_image  # noqa: E402
from colorize_cli.pipeline import Pipeline  # noqa: E402
from colorize_cli.steer.reference import (FILM_MATCH_SIZE, FILM_REACH, FUSION_CELLS, FeatureNet, ReferenceFilter, read_reference,  # noqa: E402
                                    simulate_reference)
from colorize_cli.model.registry import find_model  # noqa: E402

from _results import save, stamp  # noqa: E402

TABLE_MARKER = "<!-- bench_reference rows: newest last -->"
DATA = ROOT.parent / "shared" / "data"
W, H = 1728, 1152


def timed(pipe: Pipeline, pictures: list[np.ndarray], *steers: list[ReferenceFilter],
          clock=time.perf_counter) -> tuple[float, ...]:
    """Median seconds per picture (of ``clock``), automatic and with each list of references
    (one filter per picture), interleaved picture by picture."""
    gray = [cv2.cvtColor(p, cv2.COLOR_RGB2GRAY) for p in pictures]
    for steer in steers:
        pipe.colorize_array(gray[0], ab_filter=steer[0])  # warm-up: both sessions, arenas
    times: list[list[float]] = [[] for _ in range(1 + len(steers))]
    for i, g in enumerate(gray):
        t0 = clock()
        pipe.colorize_array(g)
        times[0].append(clock() - t0)
        for k, steer in enumerate(steers, 1):
            t0 = clock()
            pipe.colorize_array(g, ab_filter=steer[i])
            times[k].append(clock() - t0)
    return tuple(float(np.median(t)) for t in times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model")
    ap.add_argument("--count", type=int, default=4)
    ap.add_argument("--photos", type=Path, default=DATA / "eval" / "bsds500-test")
    ap.add_argument("--clip", type=Path, default=DATA / "video" / "davis" / "dance-twirl.mp4")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="auto", choices=("auto", "float", "int8"),
                    help="the model's variant, as the runtime picks it (auto: int8 on the CPU when installed)")
    ap.add_argument("--cpu-time", action="store_true", help="time CPU seconds of this process (one thread "
                    "everywhere) instead of wall seconds: steadier on a loaded machine")
    ap.add_argument("--uncapped", action="store_true", help="also time the fusion solved on the whole ab grid "
                    "(before FUSION_CELLS), interleaved in the same loop")
    args = ap.parse_args()
    threads = 1 if args.cpu_time else None
    pipe = Pipeline(open_engine(find_model(args.model), device=args.device, precision=args.precision, threads=threads))
    net = FeatureNet(threads=threads)
    files = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".png"))[:args.count]
    photos = [cv2.resize(read_image(f).pixels[:, :, :3], (W, H), interpolation=cv2.INTER_CUBIC) for f in files]
    photo_refs = [[read_reference(simulate_reference(p), net)] for p in photos]
    import av

    with av.open(str(args.clip)) as c:
        frames = [f.to_ndarray(format="rgb24") for _, f in zip(range(4 * args.count), c.decode(video=0))]
    film_net = FeatureNet(match_size=FILM_MATCH_SIZE, threads=threads)  # what films use
    first = [read_reference(frames[0], film_net)]
    caps = [FUSION_CELLS] + ([None] if args.uncapped else [])
    clock = time.process_time if args.cpu_time else time.perf_counter
    tp = timed(pipe, photos, *[[ReferenceFilter(r, net, fusion_cells=cap) for r in photo_refs] for cap in caps],
               clock=clock)
    tf = timed(pipe, frames, *[[ReferenceFilter(first, film_net, reach=FILM_REACH, fusion_cells=cap)] * len(frames)
                               for cap in caps], clock=clock)
    fh, fw = frames[0].shape[:2]
    precision = getattr(pipe.info, "precision", "")
    model = f"{pipe.info.name} ({precision})" if precision else pipe.info.name
    clock_name = "cpu, 1 thread" if args.cpu_time else "wall"
    load = os.getloadavg()[0]
    results, rows = [], []
    for k, cap in enumerate(caps, 1):
        t_pa, t_pr, t_fa, t_fr = tp[0], tp[k], tf[0], tf[k]
        fusion = f"fusion on <= {cap} cells" if cap else "fusion on the whole ab grid"
        res = stamp({"model": pipe.info.name, "precision": precision, "fusion_cells": cap, "photo": [W, H],
                     "frame": [fw, fh], "count": args.count,
                     "match_size": net.match_size, "film_match_size": film_net.match_size,
                     "seconds_photo_automatic": t_pa, "seconds_photo_reference": t_pr,
                     "ratio_photo": t_pr / t_pa, "seconds_frame_automatic": t_fa, "seconds_frame_reference": t_fr,
                     "ratio_frame": t_fr / t_fa, "load": load, "clock": clock_name})
        row = (f"| {res['date']} | {model}, {fusion} | {clock_name} | {t_pa:.3f} | {t_pr:.3f} | x{t_pr / t_pa:.2f} | "
               f"{t_fa:.3f} | {t_fr:.3f} | x{t_fr / t_fa:.2f} | {args.count} / {len(frames)} | {load:.1f} | "
               f"{res['machine']} |")
        results.append(res)
        rows.append(row)
    out = dict(results[0], **({"whole_grid_fusion": results[1]} if len(results) > 1 else {}))
    save("reference", out, "\n".join(rows), TABLE_MARKER)
    print("\n".join(rows), flush=True)


if __name__ == "__main__":
    main()
