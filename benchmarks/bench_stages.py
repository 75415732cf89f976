"""Where the time of one photo goes, stage by stage, against the floor (what bounds bench_archive).

    python benchmarks/bench_stages.py [--model NAME] [--photos DIR] [--repeats 3] [--precision float --precision int8]

For a 2 MP and a 20 MP JPEG (a gray scan stored as 3-channel JPEG, made from the first photo of
``--photos``) it times, in this process and one after the other, each stage of the route
``colorize images`` takes: read (decode + EXIF/ICC), L (table lookup), model (L resized to the
working size + inference), guide (to ab + JBU up to the guide grid), render (bilinear to full size,
gamut-mapped Lab → RGB, quantisation, in strips on every core) and write (encode, atomic write);
the floor is a plain OpenCV ``imread`` + ``imwrite`` of the same file. Medians over
``--repeats`` after one warm-up. Also the start-up a command pays once: ``colorize --version``
in a fresh process, and loading the model.

Each ``--precision`` (default: float, then int8) is timed in the same run, the photos
interleaved, so the rows compare "before" (float, as every run was before int8 shipped) and
"after". Start-up is measured in fresh processes: ``import colorize_cli`` alone, and making the
model's session with an empty cache of optimised models (what every run paid before the cache)
and with the cache warm (what a run pays now).

Writes benchmarks/results/stages.json and rows in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import save, stamp  # noqa: E402
from _scans import photos_from  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
TABLE_MARKER = "<!-- bench_stages rows: newest last -->"
SIZES = {"2 MP": (1632, 1224), "20 MP": (5472, 3648)}


def time_stages(pipe, src: Path, dst: Path) -> dict[str, float]:
    from colorize_cli.fullres import luminance, render
    from colorize_cli.io.image_io import read_image, write_image
    from colorize_cli.upsample import guided_ab

    t: dict[str, float] = {}
    t0 = time.perf_counter()
    image = read_image(src)
    t["read"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    L = luminance(image.pixels)
    t["L"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    (raw,) = pipe.raw_maps([L])
    t["model"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    guide = guided_ab(pipe.to_ab(raw), L, pipe.jbu, pipe.sigma_s, pipe.sigma_r, pipe.guide_factor)
    t["guide"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pixels = render(L, guide, np.uint8)
    t["render"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    write_image(dst, pixels, consume=True)
    t["write"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    cv2.imwrite(str(dst.with_name("floor.jpg")), cv2.imread(str(src)))
    t["floor"] = time.perf_counter() - t0
    return t


def _fresh(code: str, env: dict | None = None) -> float:
    """Run ``code`` in a fresh Python; it prints one number of seconds."""
    import os

    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="default: the default model")
    ap.add_argument("--photos", type=Path, default=SHARED / "bw" / "photos")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--precision", action="append", default=None, choices=("float", "int8"))
    args = ap.parse_args()
    import colorize_cli

    precisions = args.precision or ["float", "int8"]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "colorize_cli", "--version"], check=True, capture_output=True)
    startup = time.perf_counter() - t0
    imports = min(_fresh("import time; t = time.perf_counter(); import colorize_cli, colorize_cli.api, "
                         "onnxruntime, cv2; print(time.perf_counter() - t)") for _ in range(3))
    pipes, loads = {}, {}
    with tempfile.TemporaryDirectory() as cache:
        for p in precisions:
            load = (f"import time, colorize_cli; t = time.perf_counter(); colorize_cli.load({args.model!r}, 'cpu', "
                    f"precision={p!r}); print(time.perf_counter() - t)")
            cold = []
            for i in range(3):  # a fresh cache each time: what every run paid before the cache
                cold.append(_fresh(load, {"COLORIZE_CACHE": f"{cache}/{p}{i}"}))
            warm = min(_fresh(load, {"COLORIZE_CACHE": f"{cache}/{p}0"}) for _ in range(3))
            loads[p] = {"cold_s": round(min(cold), 3), "warm_s": round(warm, 3)}
            pipes[p] = colorize_cli.load(args.model, "cpu", precision=p)
    name = next(iter(pipes.values())).info
    results: dict = {"model": f"{name.name} {name.version}", "startup_s": round(startup, 3),
                     "import_s": round(imports, 3), "load": loads, "sizes": {}}
    print(results, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for label, size in SIZES.items():
            src = photos_from(args.photos, Path(tmp), 1, size, gray=False)[0]
            runs: dict[str, list] = {p: [] for p in precisions}
            for p in precisions:
                time_stages(pipes[p], src, Path(tmp) / "out.jpg")  # warm-up: tables, thread pools, arena
            for _ in range(args.repeats):
                for p in precisions:  # interleaved: load changing during the run hits both alike
                    runs[p].append(time_stages(pipes[p], src, Path(tmp) / "out.jpg"))
            for p in precisions:
                med = {k: round(statistics.median(r[k] for r in runs[p]), 4) for k in runs[p][0]}
                med["total"] = round(sum(v for k, v in med.items() if k != "floor"), 4)
                results["sizes"][f"{label} {p}"] = med
                print(label, p, med, flush=True)
    stamp(results)
    rows = []
    for label, m in results["sizes"].items():
        f = m["floor"]
        p = label.split()[-1]
        shares = ", ".join(f"{k} {m[k] * 1000:.0f} ms ({m[k] / f:.2f}×)" for k in
                           ("read", "L", "model", "guide", "render", "write"))
        rows.append(f"| {results['date']} | {results['model']} | {label} | {f * 1000:.0f} ms | {shares} | "
                    f"{m['total'] / f:.2f}× | {results['startup_s']:.2f} s + {loads[p]['warm_s']:.2f} s "
                    f"(cold cache {loads[p]['cold_s']:.2f} s; imports {results['import_s']:.2f} s) | "
                    f"{results['machine']} |")
    save("stages", results, "\n".join(rows), TABLE_MARKER)


if __name__ == "__main__":
    main()
