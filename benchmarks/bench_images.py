"""Images per second: model only vs the whole pipeline, with and without JBU.

    python benchmarks/bench_images.py [--model NAME_OR_PATH] [--count 8] [--device auto]

Two input sizes: the model's working size (short side = working_size) and 2-megapixel photos
(1632×1224). "model only" is ``Engine.run`` on prepared L at the working shape; "pipeline" is
``Pipeline.colorize_array`` from decoded pixels to output pixels (L extraction, resize, model,
bins-to-ab, upsampling, merge, quantisation), file decode/encode excluded. One run of each.

Uses ``--model`` or the default installed model (weights/ ships four). Writes
benchmarks/results/images.json and adds a row to the photos table in benchmarks/README.md.
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

from colorize_cli.model.engine import Engine  # noqa: E402
from colorize_cli.errors import ColorizeError  # noqa: E402
from colorize_cli.io.image_io import read_image  # noqa: E402
from colorize_cli.lab import image_to_L  # noqa: E402
from colorize_cli.pipeline import Pipeline  # noqa: E402
from colorize_cli.model.registry import find_model  # noqa: E402

from _results import save, stamp  # noqa: E402  (benchmarks/, the script's own folder)

TABLE_MARKER = "<!-- bench_images rows: newest last -->"


def pick_model(spec: str | None) -> tuple[Path, str]:
    """The model to measure: ``spec``, or the default installed one (weights/ ships four)."""
    try:
        return find_model(spec), "named model" if spec else "default installed model"
    except ColorizeError as err:
        raise SystemExit(f"bench_images: {err}") from None


def photos(count: int, short: int | None, size: tuple[int, int] | None) -> list[np.ndarray]:
    files = sorted((ROOT / "samples").glob("*.*"))
    imgs = [read_image(f).pixels for f in files if f.suffix.lower() in (".png", ".jpg", ".tif")]
    if not imgs:  # no samples: a synthetic photo-like gradient
        y, x = np.mgrid[0:600, 0:800]
        imgs = [((np.sin(x / 40) * np.cos(y / 60) + 1) * 127).astype(np.uint8)]
    out = []
    for i in range(count):
        im = imgs[i % len(imgs)]
        h, w = im.shape[:2]
        if size is None:
            s = short / min(h, w)
            dsize = (round(w * s), round(h * s))
        else:
            dsize = size if w >= h else size[::-1]
        out.append(cv2.resize(im, dsize, interpolation=cv2.INTER_AREA))
    return out


def interleaved_rates(fns: list, items_per_fn: list[list]) -> list[float]:
    """Images/s of each fn over its items, timed image by image in turn (fn0(i), fn1(i), ...) so
    that background load drifting during the run hits every variant alike."""
    spent = [0.0] * len(fns)
    for i in range(len(items_per_fn[0])):
        for j, fn in enumerate(fns):
            t = time.perf_counter()
            fn(items_per_fn[j][i])
            spent[j] += time.perf_counter() - t
    return [len(items_per_fn[0]) / s for s in spent]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model")
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()

    path, which = pick_model(args.model)
    engine = Engine(path, device=args.device, batch_size=1)
    jbu = Pipeline(engine, jbu=True)
    bil = Pipeline(engine, jbu=False)
    print(f"model: {path} ({which}); {engine.describe()}")
    results: dict = {"model": engine.info.name, "model_path": str(path), "model_source": which,
                     "provider": engine.provider, "count": args.count, "sizes": {}}
    for label, short, size in (("working_size", engine.info.working_size, None), ("2MP", None, (1632, 1224))):
        imgs = photos(args.count, short, size)
        prepared = [jbu.prepare(image_to_L(im))[None, None] for im in imgs]
        engine.run(prepared[0])  # warm-up: first-run allocations are not throughput
        model_only, with_jbu, no_jbu = interleaved_rates([engine.run, jbu.colorize_array, bil.colorize_array],
                                                         [prepared, imgs, imgs])
        r = {"input": f"{imgs[0].shape[1]}x{imgs[0].shape[0]}", "working": "x".join(map(str, prepared[0].shape[:1:-1])),
             "model_only_ips": round(model_only, 2), "pipeline_jbu_ips": round(with_jbu, 2),
             "pipeline_bilinear_ips": round(no_jbu, 2),
             "pipeline_over_model_time": round(model_only / with_jbu, 2),
             "jbu_cost_time_ratio": round(no_jbu / with_jbu, 2),
             "jbu_ms_per_image": round(1000 * (1 / with_jbu - 1 / no_jbu), 1)}
        results["sizes"][label] = r
        print(f"{label:>12}: input {r['input']} -> model {r['working']}: model only {model_only:.2f} img/s, "
              f"pipeline {with_jbu:.2f} img/s with JBU, {no_jbu:.2f} without; pipeline/model time "
              f"x{r['pipeline_over_model_time']}, JBU makes the pipeline x{r['jbu_cost_time_ratio']} slower "
              f"(+{r['jbu_ms_per_image']} ms/image)")
    stamp(results)
    w, m = results["sizes"]["working_size"], results["sizes"]["2MP"]
    line = (f"| {results['date']} | {results['model']} ({'fixture' if 'fixture' in which else 'default' if 'default' in which else 'named'}) | "
            f"{results['provider'].replace('ExecutionProvider', '')} | {w['model_only_ips']} | {w['pipeline_jbu_ips']} | "
            f"{w['pipeline_bilinear_ips']} | {m['model_only_ips']} | {m['pipeline_jbu_ips']} | {m['pipeline_bilinear_ips']} | "
            f"x{m['pipeline_over_model_time']} | x{m['jbu_cost_time_ratio']} | {results['machine']} |")
    save("images", results, line, marker=TABLE_MARKER)


if __name__ == "__main__":
    main()
