"""Archive scale: photos and films against the floor, and Ray against a local run, in one run.

    python benchmarks/bench_archive.py [--model NAME] [--fast-model NAME ...]
        [--photos DIR] [--davis CLIP] [--film720 CLIP] [--ray-images 100] [--skip-ray]
        [--precision float --precision int8] [--smooth-only] [--skip-720p] [--skip-images] [--skip-stages]

Every photo and film figure is measured for each ``--precision`` (default: float, the variant
every run used before int8 shipped, then int8, what ``auto`` picks on the CPU), interleaved in
the same run, so "before" and "after" share the machine's state. The cache of onnxruntime's
optimised model files is warmed for every model and precision first (its cold cost is in
bench_stages.py).

Every figure is a ratio measured in this run, each command in its own process (peak RSS from
``wait4``):

* **images**: eight 2 MP JPEGs and three 20 MP JPEGs (made here from ``--photos``, gray
  scans stored as 3-channel JPEG, and the 20 MP ones also as 1-channel gray JPEG), ``colorize
  images DIR -o OUT`` wall time, start-up and model load included, against the **floor**: a
  plain OpenCV ``imread`` + colour ``imwrite`` of the same files, timed inside its process
  (start-up excluded, so the ratio is conservative). Peak RSS per pixel of the largest image.
* **film**: a real 480p clip (DAVIS) and a real 720p film, ``colorize video`` with and
  without ``--smooth``, for the default model (and on the 480p clip every other installed one,
  to find the fastest), frames/s against the floor
  (PyAV decode + libx264 CRF 18 encode of the same file, frames straight from decoder to
  encoder, in its own process). Plus the time share of each stage, from one in-process run
  with the stages' functions wrapped: decode, L, model, render (ab, upsampling, Lab → RGB,
  quantisation), RGB → YUV, encode — busy seconds of each over the run's wall time (stages
  run in overlapping threads, so shares can add up to more than 1).
* **ray**: a local two-CPU Ray head started here (tests/ray_cluster.py), ``--ray`` with one
  worker and with two against ``--ray-images`` photos (1 MP), and the local run on the same
  files (its ratio is the Ray overhead), and Ray's own fixed cost: a process that imports Ray,
  joins the cluster and runs a Ray Data job of as many blocks whose one actor does nothing.
  Needs ``pip install '.[ray]'``.

Writes benchmarks/results/archive.json and rows in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fixtures import tests_module  # noqa: E402
from _results import save, stamp  # noqa: E402
from _scans import photos_from  # noqa: E402
from bench_video import FLOOR as FILM_FLOOR  # noqa: E402
from bench_video import run  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
COLORIZE = [sys.executable, "-m", "colorize_cli"]
TABLE_MARKER = "<!-- bench_archive rows: newest last -->"

IMAGE_FLOOR = r"""
import sys, time, glob, cv2
files = sorted(glob.glob(sys.argv[1] + "/*.jpg"))
t = time.perf_counter()
for i, f in enumerate(files):
    cv2.imwrite(f"{sys.argv[2]}/{i}.jpg", cv2.imread(f))
print(time.perf_counter() - t)
"""

RAY_FLOOR = r"""
import sys, logging, math, ray
class Noop:
    def __call__(self, rows):
        return rows
ray.init(address=sys.argv[1], logging_level=logging.ERROR, log_to_driver=False)
n = int(sys.argv[2])
ds = ray.data.from_items([{"i": i} for i in range(n)], override_num_blocks=math.ceil(n / 4))
sum(1 for _ in ds.map_batches(Noop, batch_size=4, compute=ray.data.ActorPoolStrategy(size=1), num_cpus=1).iter_rows())
"""

WARM = r"""
import sys, colorize_cli
colorize_cli.load(sys.argv[1], "cpu", precision=sys.argv[2])
"""

STAGES = r"""
import sys, time, json, threading
from collections import defaultdict
busy = defaultdict(float)
lock = threading.Lock()
def timed(name, fn):
    def g(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            with lock:
                busy[name] += time.perf_counter() - t
    return g
import colorize_cli.film.run as V, colorize_cli.film.stream as ST, colorize_cli.film.read as IO, colorize_cli.film.segments as SEG
from colorize_cli.pipeline import Pipeline
import colorize_cli
def decode(*a, **k):
    it = IO.decode_frames(*a, **k)
    while True:
        t = time.perf_counter()
        try:
            d = next(it)
        except StopIteration:
            return
        finally:
            with lock:
                busy["decode"] += time.perf_counter() - t
        yield d
ST.decode_frames = decode  # the stage threads (film/stream.py) call these by their own names
ST.luminance = timed("L", ST.luminance)
ST.to_video_frame = timed("rgb_to_yuv", ST.to_video_frame)
for n, s in (("infer", "model"), ("prepare", "model"), ("finish", "render")):
    setattr(Pipeline, n, timed(s, getattr(Pipeline, n)))
SEG.SegmentWriter.add = timed("encode", SEG.SegmentWriter.add)
SEG.SegmentWriter.close_segment = timed("encode", SEG.SegmentWriter.close_segment)
p = colorize_cli.load(sys.argv[3], "cpu", batch_size=4, precision=sys.argv[5])
t = time.perf_counter()
rep = V.colorize_video(sys.argv[1], sys.argv[2], p, V.VideoOptions(smooth=sys.argv[4] == "1", overwrite=True))
wall = time.perf_counter() - t
print(json.dumps({"wall_s": wall, "frames": rep.frames, "fps": rep.frames / wall,
                  "shares": {k: round(v / wall, 3) for k, v in busy.items()}}))
"""


def bench_images(tmp: Path, model: str, photos: Path, precisions: list[str]) -> list[dict]:
    rows = []
    for label, count, size, gray in (("2 MP", 8, (1632, 1224), False), ("20 MP", 3, (5472, 3648), False),
                                     ("20 MP gray", 3, (5472, 3648), True)):
        d = tmp / label.replace(" ", "_")
        photos_from(photos, d, count, size, gray)
        px = size[0] * size[1]
        (tmp / "floor").mkdir(exist_ok=True)
        floor = min(float(run([sys.executable, "-c", IMAGE_FLOOR, str(d), str(tmp / "floor")])["stdout"])
                    for _ in range(2))
        for precision in precisions:
            got = run(COLORIZE + ["images", str(d), "-o", str(tmp / "out"), "-m", model, "--overwrite", "-q",
                                  "--precision", precision])
            rows.append({"set": f"{count} × {label}", "precision": precision, "floor_s": round(floor, 3),
                         "colorize_s": round(got["wall_s"], 3), "ratio": round(got["wall_s"] / floor, 2),
                         "peak_rss_mb": round(got["peak_rss"] / 2**20), "bytes_per_pixel": round(got["peak_rss"] / px, 1)})
            print(rows[-1], flush=True)
    return rows


def bench_film(tmp: Path, clip: Path, label: str, models: dict[str, str], precisions: list[str],
               smooths: tuple[bool, ...] = (False, True)) -> list[dict]:
    floor = run([sys.executable, "-c", FILM_FLOOR, str(clip), str(tmp / "floor.mp4")])
    frames = int(floor["stdout"].strip())
    floor_fps = frames / floor["wall_s"]
    rows = []
    for which, model in models.items():
        for smooth, precision in [(s, p) for s in smooths for p in precisions]:
            cmd = COLORIZE + ["video", str(clip), "-o", str(tmp / "out.mp4"), "-m", model, "--overwrite", "--json", "-q",
                              "--precision", precision]
            got = run(cmd + (["--smooth"] if smooth else []))
            fps = frames / got["wall_s"]
            rep = json.loads(got["stdout"].splitlines()[-1])
            rows.append({"film": label, "model": f"{which} ({Path(model).stem})", "smooth": smooth,
                         "precision": precision,
                         "floor_fps": round(floor_fps, 1), "fps": round(fps, 1), "in_run_fps": round(rep["fps"], 1),
                         "ratio": round(fps / floor_fps, 2), "in_run_ratio": round(rep["fps"] / floor_fps, 2)})
            print(rows[-1], flush=True)
    return rows


def stage_shares(tmp: Path, clip: Path, model: str, smooth: bool, precision: str) -> dict:
    got = run([sys.executable, "-c", STAGES, str(clip), str(tmp / "stages.mp4"), model, "1" if smooth else "0",
               precision])
    return json.loads(got["stdout"].splitlines()[-1])


def bench_ray(tmp: Path, model: str, photos: Path, count: int) -> dict:
    d = tmp / "ray_in"
    photos_from(photos, d, count, (1224, 816), False)
    cluster = tests_module("ray_cluster")  # the local Ray cluster the tests use
    ENV, local_cluster = cluster.ENV, cluster.local_cluster

    env = {**os.environ, **ENV}
    out: dict = {"images": count}
    with local_cluster(nodes=1, cpus=2) as address:
        for name, extra in (("local", []), ("ray_1_worker", ["--ray", address, "--workers", "1"]),
                            ("ray_2_workers", ["--ray", address, "--workers", "2", "--threads", "1"])):
            got = run(COLORIZE + ["images", str(d), "-o", str(tmp / f"ray_out_{name}"), "-m", model, "-q"] + extra,
                      env=env)
            out[name + "_s"] = round(got["wall_s"], 2)
            print(name, out[name + "_s"], flush=True)
        # Ray's own fixed cost, for the same number of blocks: a process that imports Ray, joins
        # the cluster and runs a Ray Data job whose one actor does nothing.
        got = run([sys.executable, "-c", RAY_FLOOR, address, str(count)], env=env)
        out["ray_noop_job_s"] = round(got["wall_s"], 2)
        print("ray no-op job", out["ray_noop_job_s"], flush=True)
    out["ray_overhead"] = round(out["ray_1_worker_s"] / out["local_s"], 2)
    out["two_vs_one_worker"] = round(out["ray_1_worker_s"] / out["ray_2_workers_s"], 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="default: the default model")
    ap.add_argument("--fast-model", action="append", default=None,
                    help="models to time on the 480p clip as well (repeatable; default: every installed one)")
    ap.add_argument("--photos", type=Path, default=SHARED / "bw" / "photos")
    ap.add_argument("--davis", type=Path, default=SHARED / "video" / "davis" / "dog.mp4")
    ap.add_argument("--film720", type=Path, default=SHARED / "bw" / "films" / "legacy-v04.mp4")
    ap.add_argument("--ray-images", type=int, default=100)
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--precision", action="append", default=None, choices=("auto", "float", "int8"),
                    help="repeatable; default: float and int8")
    ap.add_argument("--smooth-only", action="store_true", help="films with --smooth only (the issue's figure)")
    ap.add_argument("--skip-720p", action="store_true")
    ap.add_argument("--skip-images", action="store_true", help="films only (to split a run into shorter pauses)")
    ap.add_argument("--skip-stages", action="store_true")
    args = ap.parse_args()
    precisions = args.precision or ["float", "int8"]
    smooths = (True,) if args.smooth_only else (False, True)
    from colorize_cli.model.registry import find_model, list_models

    model = str(find_model(args.model))
    others = [str(find_model(m)) for m in args.fast_model] if args.fast_model else \
        [str(m.path) for m in list_models()]
    others = [m for m in others if Path(m).resolve() != Path(model).resolve()]
    others = [m for m in others if not m.endswith(".int8.onnx")]  # variants run through --precision
    results: dict = {"model": model, "other_models": others, "precisions": precisions}
    for m in [model, *others]:
        for p in precisions:
            run([sys.executable, "-c", WARM, m, p])
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        results["images"] = [] if args.skip_images else bench_images(tmp, model, args.photos, precisions)
        results["film"] = bench_film(tmp, args.davis, "480p " + args.davis.name,
                                     {"default": model, **{Path(m).stem: m for m in others}}, precisions, smooths)
        if not args.skip_720p:
            results["film"] += bench_film(tmp, args.film720, "720p " + args.film720.name, {"default": model},
                                          precisions, smooths)
        results["stages"] = {} if args.skip_stages else {
            f"480p {Path(model).stem} --smooth {p}": stage_shares(tmp, args.davis, model, True, p) for p in precisions}
        print(results["stages"], flush=True)
        if not args.skip_ray:
            results["ray"] = bench_ray(tmp, model, args.photos, args.ray_images)
    stamp(results)
    lines = [f"| {results['date']} | images {r['set']} {r['precision']} | {r['ratio']}× floor ({r['colorize_s']} s vs {r['floor_s']} s), "
             f"{r['bytes_per_pixel']} B/px peak |" for r in results["images"]]
    lines += [f"| {results['date']} | film {r['film']} {r['model']}{' --smooth' if r['smooth'] else ''} "
              f"{r['precision']} | "
              f"{r['ratio']}× floor fps ({r['fps']} vs {r['floor_fps']}; in-run {r['in_run_ratio']}×) |"
              for r in results["film"]]
    for name, s in results["stages"].items():
        shares = ", ".join(f"{k} {v:.2f}" for k, v in sorted(s["shares"].items(), key=lambda kv: -kv[1]))
        lines.append(f"| {results['date']} | stage shares, {name} | {s['fps']:.1f} fps in-process; busy s ÷ wall: "
                     f"{shares} |")
    if "ray" in results:
        r = results["ray"]
        lines.append(f"| {results['date']} | ray, {r['images']} images | overhead {r['ray_overhead']}× local "
                     f"({r['ray_1_worker_s']} s vs {r['local_s']} s; Ray's own no-op job {r['ray_noop_job_s']} s); "
                     f"2 workers {r['two_vs_one_worker']}× faster than 1 |")
    save("archive", results, "\n".join(lines), TABLE_MARKER)


if __name__ == "__main__":
    main()
