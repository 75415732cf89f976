"""Where the time of one photo goes, stage by stage, against the floor (what bounds bench_archive).

    python benchmarks/bench_stages.py [--model NAME] [--photos DIR] [--repeats 3]

For a 2 MP and a 20 MP JPEG (a gray scan stored as 3-channel JPEG, made from the first photo of
``--photos``) it times, in this process and one after the other, each stage of the route
``colorize images`` takes: read (decode + EXIF/ICC), L (table lookup), model (L resized to the
working size + inference), guide (to ab + JBU up to the guide grid), render (bilinear to full size,
gamut-mapped Lab → RGB, quantisation, in strips on every core) and write (encode, atomic write);
the floor is a plain OpenCV ``imread`` + ``imwrite`` of the same file. Medians over
``--repeats`` after one warm-up. Also the start-up a command pays once: ``colorize --version``
in a fresh process, and loading the model.

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="default: the default model")
    ap.add_argument("--photos", type=Path, default=SHARED / "bw" / "photos")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    import colorize_cli

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "colorize_cli", "--version"], check=True, capture_output=True)
    startup = time.perf_counter() - t0
    t0 = time.perf_counter()
    pipe = colorize_cli.load(args.model)
    load_s = time.perf_counter() - t0
    results: dict = {"model": f"{pipe.info.name} {pipe.info.version}", "startup_s": round(startup, 3),
                     "load_s": round(load_s, 3), "sizes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for label, size in SIZES.items():
            src = photos_from(args.photos, Path(tmp), 1, size, gray=False)[0]
            time_stages(pipe, src, Path(tmp) / "out.jpg")  # warm-up: tables, thread pools, arena
            runs = [time_stages(pipe, src, Path(tmp) / "out.jpg") for _ in range(args.repeats)]
            med = {k: round(statistics.median(r[k] for r in runs), 4) for k in runs[0]}
            med["total"] = round(sum(v for k, v in med.items() if k != "floor"), 4)
            results["sizes"][label] = med
            print(label, med, flush=True)
    stamp(results)
    rows = []
    for label, m in results["sizes"].items():
        f = m["floor"]
        shares = ", ".join(f"{k} {m[k] * 1000:.0f} ms ({m[k] / f:.2f}×)" for k in
                           ("read", "L", "model", "guide", "render", "write"))
        rows.append(f"| {results['date']} | {results['model']} | {label} | {f * 1000:.0f} ms | {shares} | "
                    f"{m['total'] / f:.2f}× | {results['startup_s']:.2f} s + {results['load_s']:.2f} s | "
                    f"{results['machine']} |")
    save("stages", results, "\n".join(rows), TABLE_MARKER)


if __name__ == "__main__":
    main()
