"""Images per second and peak memory of every model against the ECCV16 reference, in one run.

    python benchmarks/bench_models.py [--model NAME_OR_PATH ...] [--count 8] [--photos DIR] [--device auto]

Models: each ``--model`` (repeatable; a name or a path), else every installed model
(``colorize models``), plus the ECCV16 architecture of Zhang et
al. 2016 with random weights (benchmarks/eccv16.py, exported once and cached), run exactly as
the others: same ``Engine`` and ``Pipeline``, batch size 1, JBU on.

Inputs: ``--count`` 2-megapixel gray photos, generated (1728×1152, 3:2: smooth shading at
several scales, hard-edged shapes and grain, seeded) or read from ``--photos DIR`` and scaled
to 2 MP keeping their aspect; the "working size" inputs are the same photos scaled so that
their short side is the model's working size. Four figures per model, images per second:

* model only, working size / 2 MP: ``Engine.run`` on the L the pipeline prepares (at the
  working shape in both cases: the 2 MP photo is shrunk to it first);
* pipeline, working size / 2 MP: ``Pipeline.colorize_array`` from gray pixels to RGB pixels
  (L, resize, model, bins to ab, JBU upsampling, merge, quantisation), file I/O excluded.

Each model lives in its own process (spawned, so nothing is inherited) for the whole run, and
its peak RSS is that process's VmHWM: one model's onnxruntime arena does not count against the
next. The figures are interleaved: for each photo, each figure is timed on every model in
turn (the order rotating from photo to photo), each process timing its own call so that the
pipe between the processes is not counted; background load drifting during the run therefore
hits every model alike, and the ratios to ECCV16 hold within the run even when absolute
numbers move between runs.

Writes benchmarks/results/models.json and one row per model in the models table of
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from colorize_cli.model.engine import Engine  # noqa: E402
from colorize_cli.io.image_io import IMAGE_EXTENSIONS, read_image  # noqa: E402
from colorize_cli.lab import image_to_L  # noqa: E402
from colorize_cli.pipeline import Pipeline  # noqa: E402
from colorize_cli.model.registry import list_models  # noqa: E402

from _results import save, stamp  # noqa: E402
from bench_images import pick_model  # noqa: E402
from eccv16 import NAME as REFERENCE, reference_model  # noqa: E402

TABLE_MARKER = "<!-- bench_models rows: newest last -->"
TWO_MP = (1728, 1152)  # (w, h): 1.99 MP, the 3:2 of a 35 mm frame
SIZES = ("working_size", "2MP")
WHATS = ("model", "pipeline")


def generated_photo(seed: int, size: tuple[int, int] = TWO_MP) -> np.ndarray:
    """A gray uint8 picture with what a photo has and a flat test pattern lacks: shading at
    every scale (1/f-like noise), hard edges (shapes, slightly blurred like a lens would) and
    film grain, so that the pipeline's resizes and JBU work on realistic content."""
    w, h = size
    rng = np.random.default_rng(seed)
    img = np.linspace(0.3, -0.3, h, dtype=np.float32)[:, None] * np.ones((1, w), np.float32)
    # Coarse to fine, finer scales weaker (amplitude falling with frequency, as in natural
    # images) but present: shading alone would be unnaturally smooth for the resizes and JBU.
    for cell in (512, 128, 32, 8):
        small = rng.standard_normal((h // cell + 2, w // cell + 2)).astype(np.float32)
        img += 0.25 * (cell / 512) ** 0.6 * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    shapes = np.zeros((h, w), np.float32)
    for _ in range(12):
        level = float(rng.uniform(-0.5, 0.5))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        a, b = int(rng.integers(w // 30, w // 6)), int(rng.integers(h // 30, h // 6))
        if rng.random() < 0.5:
            cv2.rectangle(shapes, (x - a, y - b), (x + a, y + b), level, -1)
        else:
            cv2.ellipse(shapes, (x, y), (a, b), float(rng.uniform(0, 180)), 0, 360, level, -1)
    img += cv2.GaussianBlur(shapes, (0, 0), 1.2)
    img = (img - img.min()) / (img.max() - img.min()) * 220 + 18
    img += rng.normal(0, 3, img.shape).astype(np.float32)  # grain, a few levels
    return np.clip(img, 0, 255).astype(np.uint8)


def scaled(im: np.ndarray, s: float) -> np.ndarray:
    """``im`` resized by the factor ``s``: area-averaged when shrinking (no aliasing), cubic when growing."""
    h, w = im.shape[:2]
    return cv2.resize(im, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


def real_photos(folder: Path, count: int) -> list[np.ndarray]:
    """``count`` photos from ``folder`` (cycling when it has fewer), each scaled to 2 MP with its
    own aspect; colour files stay colour (the pipeline takes their L)."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise SystemExit(f"--photos {folder}: no image files")
    out = []
    for i in range(count):
        im = read_image(files[i % len(files)]).pixels
        out.append(scaled(im, (TWO_MP[0] * TWO_MP[1] / (im.shape[0] * im.shape[1])) ** 0.5))
    return out


def peak_rss() -> int:
    """This process's peak resident memory in bytes. VmHWM belongs to the address space, so it
    starts afresh at exec; ru_maxrss can carry the forking parent's peak over the exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def worker(conn: Connection, path: str, device: str, photos: list[np.ndarray]) -> None:
    """One model in its own process: load, prepare the inputs, warm up, then time one call per
    request ``(size, what, i)`` and send back its seconds; ``None`` ends it with the peak RSS."""
    try:
        engine = Engine(path, device=device, batch_size=1)
        pipe = Pipeline(engine, jbu=True)
        short = engine.info.working_size
        inputs = {"2MP": photos, "working_size": [scaled(p, short / min(p.shape[:2])) for p in photos]}
        calls = {}
        for size, imgs in inputs.items():
            prepared = [pipe.prepare(image_to_L(im))[None, None] for im in imgs]
            calls[size, "model"] = (engine.run, prepared)
            calls[size, "pipeline"] = (pipe.colorize_array, imgs)
            for fn, items in (calls[size, "model"], calls[size, "pipeline"]):
                fn(items[0])  # warm-up: first-run allocations are not throughput
        conn.send({"name": engine.info.name, "provider": engine.provider, "working_size": short,
                   "input": {s: "x".join(map(str, inputs[s][0].shape[1::-1])) for s in SIZES},
                   "model_input": {s: "x".join(map(str, calls[s, "model"][1][0].shape[:1:-1])) for s in SIZES}})
    except Exception as exc:  # the parent reports it and goes on with the other models
        conn.send({"error": f"{type(exc).__name__}: {exc}"})
        return
    while (msg := conn.recv()) is not None:
        size, what, i = msg
        fn, items = calls[size, what]
        t = time.perf_counter()
        fn(items[i])
        conn.send(time.perf_counter() - t)
    conn.send(peak_rss())


@dataclass
class Runner:
    """The parent's handle on one model's process, and the seconds it has reported."""
    path: Path
    source: str
    proc: mp.process.BaseProcess
    conn: Connection
    info: dict
    spent: dict = field(default_factory=dict)

    def measure(self, size: str, what: str, i: int) -> None:
        self.conn.send((size, what, i))
        self.spent[size, what] = self.spent.get((size, what), 0.0) + self.conn.recv()

    def finish(self) -> int:
        self.conn.send(None)
        rss = self.conn.recv()
        self.proc.join()
        return rss


def start(path: Path, source: str, device: str, photos: list[np.ndarray]) -> Runner | None:
    ctx = mp.get_context("spawn")  # a fresh interpreter: no memory or threads of this process
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=worker, args=(child, str(path), device, photos), daemon=True)
    proc.start()
    child.close()
    try:
        info = parent.recv()
    except EOFError:  # killed (out of memory, a crash in onnxruntime) before it could say why
        proc.join()
        info = {"error": f"its process died (exit code {proc.exitcode})"}
    if "error" in info:
        proc.join()
        print(f"skipped {path}: {info['error']}")
        return None
    print(f"loaded {info['name']} ({source}, {path}): working size {info['working_size']}, model input "
          f"{info['model_input']['working_size']} / {info['model_input']['2MP']} (2 MP), {info['provider']}")
    return Runner(path, source, proc, parent, info)


def models_to_run(specs: list[str], models_dirs: list[str], reference: Path | None) -> list[tuple[Path, str]]:
    """(path, source) of each model to measure, the reference last."""
    if specs:
        chosen = [(pick_model(s)[0], "--model") for s in specs]
    else:
        installed = list_models(models_dirs)
        for m in installed:
            if m.info is None:
                print(f"skipped {m.path}: {m.error}")
        chosen = [(m.path, "installed") for m in installed if m.info is not None]
        if not chosen:
            raise SystemExit("bench_models: no model is installed; pass --model PATH")
    return chosen + [(reference or reference_model(), "reference")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", default=[], help="name or path; repeat for several (default: all installed)")
    ap.add_argument("--models-dir", action="append", default=[], help="also look for installed models here")
    ap.add_argument("--count", type=int, default=8, help="photos per figure")
    ap.add_argument("--photos", type=Path, help="folder of real photos (default: generated ones)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--reference", type=Path, help="an ECCV16 export to use instead of the cached one")
    args = ap.parse_args()

    photos = real_photos(args.photos, args.count) if args.photos else [generated_photo(i) for i in range(args.count)]
    runners = [r for path, source in models_to_run(args.model, args.models_dir, args.reference)
               if (r := start(path, source, args.device, photos)) is not None]
    if not runners or runners[-1].source != "reference":
        raise SystemExit("the ECCV16 reference did not load: no ratios to give")

    t0 = time.perf_counter()
    for i in range(args.count):
        for size in SIZES:
            for what in WHATS:
                # Rotate who goes first, so no model always runs right after the same other one.
                for k in range(len(runners)):
                    runners[(i + k) % len(runners)].measure(size, what, i)
    print(f"timed {args.count} photos x 4 figures x {len(runners)} models in {time.perf_counter() - t0:.1f} s")

    ref = runners[-1]
    rss = {id(r): r.finish() for r in runners}
    results: dict = {"count": args.count, "device": args.device, "reference": REFERENCE,
                     "photos": str(args.photos) if args.photos else f"generated {TWO_MP[0]}x{TWO_MP[1]} gray",
                     "models": []}
    for r in runners:
        ips = {s: {w: round(args.count / r.spent[s, w], 2) for w in WHATS} for s in SIZES}
        # Speed-up: the reference's time per image over this model's, both measured in this run.
        speedup = {s: {w: round(ref.spent[s, w] / r.spent[s, w], 2) for w in WHATS} for s in SIZES}
        m = {"model": r.info["name"], "path": str(r.path), "source": r.source, "provider": r.info["provider"],
             "working_size": r.info["working_size"], "input": r.info["input"], "model_input": r.info["model_input"],
             "images_per_s": ips, "speedup_vs_reference": speedup, "peak_rss_mb": round(rss[id(r)] / 2**20, 1),
             "rss_vs_reference": round(rss[id(r)] / rss[id(ref)], 2)}
        results["models"].append(m)
        print(f"{m['model']:>18}: img/s work {ips['working_size']['model']} model / {ips['working_size']['pipeline']} "
              f"pipeline, 2MP {ips['2MP']['model']} / {ips['2MP']['pipeline']}; vs ECCV16 "
              f"x{speedup['working_size']['model']} / x{speedup['working_size']['pipeline']} (work), "
              f"x{speedup['2MP']['model']} / x{speedup['2MP']['pipeline']} (2MP); peak RSS {m['peak_rss_mb']:.0f} MB "
              f"(x{m['rss_vs_reference']})")
    stamp(results)
    lines = [f"| {results['date']} | {m['model']} ({m['source']}) | {m['provider'].replace('ExecutionProvider', '')} | "
             f"{m['model_input']['2MP']} | "
             + " | ".join(str(m["images_per_s"][s][w]) for s in SIZES for w in WHATS) + " | "
             + " | ".join(f"x{m['speedup_vs_reference'][s][w]}" for s in SIZES for w in WHATS)
             + f" | {m['peak_rss_mb']:.0f} | x{m['rss_vs_reference']} | {args.count} | {results['machine']} |"
             for m in results["models"]]
    save("models", results, "\n".join(lines), marker=TABLE_MARKER)


if __name__ == "__main__":
    main()
