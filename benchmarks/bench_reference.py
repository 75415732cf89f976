"""Colour from a reference photo: seconds per 2 MP photo and per 480p frame, with one reference
against the automatic run of the same picture.

    python benchmarks/bench_reference.py [--model NAME_OR_PATH] [--count 4] [--photos DIR] [--clip FILE]

Photos: ``--count`` photos of ``--photos`` (default ../shared/data/eval/bsds500-test) scaled to
1728×1152 (2 MP); each one's reference is its own colour photo flipped, cropped to 80 % and
rescaled (``simulate_reference``), read and its features computed once before timing, as a run
does. Frames: the first ``--count`` × 4 frames of ``--clip`` (default a DAVIS clip, 854×480),
the reference its colour first frame. "automatic" is ``Pipeline.colorize_array`` alone,
"reference" the same call with the reference's ``ab_filter`` (matching, fusion, refinement),
interleaved picture by picture; medians. Writes benchmarks/results/reference.json and adds a
row to the reference table in benchmarks/README.md.
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

from colorize_cli.model.engine import Engine  # noqa: E402
from colorize_cli.io.image_io import read_image  # noqa: E402
from colorize_cli.pipeline import Pipeline  # noqa: E402
from colorize_cli.steer.reference import (FILM_MATCH_SIZE, FILM_REACH, FeatureNet, ReferenceFilter, read_reference,  # noqa: E402
                                    simulate_reference)
from colorize_cli.model.registry import find_model  # noqa: E402

from _results import save, stamp  # noqa: E402

TABLE_MARKER = "<!-- bench_reference rows: newest last -->"
DATA = ROOT.parent / "shared" / "data"
W, H = 1728, 1152


def timed(pipe: Pipeline, pictures: list[np.ndarray], steer: list[ReferenceFilter],
          clock=time.perf_counter) -> tuple[float, float]:
    """Median seconds per picture (of ``clock``), automatic and with its reference, interleaved."""
    gray = [cv2.cvtColor(p, cv2.COLOR_RGB2GRAY) for p in pictures]
    pipe.colorize_array(gray[0], ab_filter=steer[0])  # warm-up: both sessions, arenas
    t_auto, t_ref = [], []
    for g, s in zip(gray, steer):
        t0 = clock()
        pipe.colorize_array(g)
        t1 = clock()
        pipe.colorize_array(g, ab_filter=s)
        t2 = clock()
        t_auto.append(t1 - t0)
        t_ref.append(t2 - t1)
    return float(np.median(t_auto)), float(np.median(t_ref))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model")
    ap.add_argument("--count", type=int, default=4)
    ap.add_argument("--photos", type=Path, default=DATA / "eval" / "bsds500-test")
    ap.add_argument("--clip", type=Path, default=DATA / "video" / "davis" / "dance-twirl.mp4")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--cpu-time", action="store_true", help="time CPU seconds of this process (one thread "
                    "everywhere) instead of wall seconds: steadier on a loaded machine")
    args = ap.parse_args()
    threads = 1 if args.cpu_time else None
    pipe = Pipeline(Engine(find_model(args.model), device=args.device, threads=threads))
    net = FeatureNet(threads=threads)
    files = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".png"))[:args.count]
    photos = [cv2.resize(read_image(f).pixels[:, :, :3], (W, H), interpolation=cv2.INTER_CUBIC) for f in files]
    photo_refs = [ReferenceFilter([read_reference(simulate_reference(p), net)], net) for p in photos]
    import av

    with av.open(str(args.clip)) as c:
        frames = [f.to_ndarray(format="rgb24") for _, f in zip(range(4 * args.count), c.decode(video=0))]
    film_net = FeatureNet(match_size=FILM_MATCH_SIZE, threads=threads)  # what films use
    first = ReferenceFilter([read_reference(frames[0], film_net)], film_net, reach=FILM_REACH)
    clock = time.process_time if args.cpu_time else time.perf_counter
    t_pa, t_pr = timed(pipe, photos, photo_refs, clock)
    t_fa, t_fr = timed(pipe, frames, [first] * len(frames), clock)
    fh, fw = frames[0].shape[:2]
    res = stamp({"model": pipe.info.name, "photo": [W, H], "frame": [fw, fh], "count": args.count,
                 "match_size": net.match_size, "film_match_size": film_net.match_size, "seconds_photo_automatic": t_pa, "seconds_photo_reference": t_pr,
                 "ratio_photo": t_pr / t_pa, "seconds_frame_automatic": t_fa, "seconds_frame_reference": t_fr,
                 "ratio_frame": t_fr / t_fa, "load": os.getloadavg()[0],
                 "clock": "cpu, 1 thread" if args.cpu_time else "wall"})
    row = (f"| {res['date']} | {res['model']} | {res['clock']} | {t_pa:.3f} | {t_pr:.3f} | x{t_pr / t_pa:.2f} | {t_fa:.3f} | "
           f"{t_fr:.3f} | x{t_fr / t_fa:.2f} | {args.count} / {len(frames)} | {res['load']:.1f} | {res['machine']} |")
    save("reference", res, row, TABLE_MARKER)
    print(row)


if __name__ == "__main__":
    main()
