"""Frames per second of ``colorize video`` end to end, against the floor, and its peak memory.

    python benchmarks/bench_video.py [--model NAME_OR_PATH] [--frames 5000] [--device auto]
    python benchmarks/bench_video.py --frames 48          # a quick check that it all works

Makes a 480p (854×480, 30000/1001 fps) black-and-white clip of ``--frames`` frames — moving
shapes, a scene cut every 10 s, a sine audio track — then times three runs, each in its own
process (so each peak RSS is its own, read from ``wait4``):

* **floor**: a plain PyAV decode + libx264 encode (CRF 18, yuv420p, default preset) of the
  same clip, frames passed straight from decoder to encoder — what any re-encode costs;
* **colorize**: ``colorize video CLIP -o OUT`` (libx264 CRF 18 as well);
* **colorize --smooth**: the same with the temporal kernel.

Reported: frames/s (frames ÷ wall time of the whole process, start-up and model load
included, which a short run exaggerates; ``in_run_fps`` is the command's own figure, model
load excluded), each colourising run's time and peak RSS as ratios to the floor's, and
"rss_growth": the peak RSS over the last half of the run over the peak in its first half
(sampled from /proc), which stays near 1 when memory is flat whatever the film's length.

Uses ``--model`` or the default installed model (as bench_images.py does). Writes benchmarks/results/video.json and adds a row to the video table
in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fixtures import tests_module  # noqa: E402
from _results import save, stamp  # noqa: E402
from bench_images import pick_model  # noqa: E402

clips = tests_module("video_clips")  # the synthetic film maker the tests use
NTSC, shapes_frame = clips.NTSC, clips.shapes_frame

W, H = 854, 480
TABLE_MARKER = "<!-- bench_video rows: newest last -->"

FLOOR = r"""
import sys, av
src, dst = sys.argv[1], sys.argv[2]
with av.open(src) as inp, av.open(dst, "w") as out:
    vi = inp.streams.video[0]
    vi.thread_type = "AUTO"
    vo = out.add_stream("libx264", rate=vi.average_rate, options={"crf": "18"})
    vo.width, vo.height, vo.pix_fmt = vi.width, vi.height, "yuv420p"
    vo.codec_context.time_base = vi.time_base
    n = 0
    for frame in inp.decode(vi):
        frame.pict_type = 0
        out.mux(vo.encode(frame))
        n += 1
    out.mux(vo.encode())
print(n)
"""


def gray_frames(n: int):
    """Black-and-white moving shapes with a cut every 300 frames, as a film would come."""
    for i in range(n):
        rgb = shapes_frame(i, W, H, shot=i // 300)
        g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        yield cv2.merge([g, g, g])


def make_film(path: Path, n: int) -> Path:
    # ultrafast: making the clip should not take longer than the benchmark itself.
    return clips.make_clip(path, n=n, frames=gray_frames(n), rate=NTSC, audio="aac",
                     options={"crf": "16", "preset": "ultrafast"})


def run(cmd: list[str], env: dict | None = None) -> dict:
    """Wall time, peak RSS (wait4) and RSS samples over time of one process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    samples: list[tuple[float, int]] = []
    done = threading.Event()

    def sample() -> None:
        status = Path(f"/proc/{proc.pid}/status")
        while not done.is_set():
            try:
                m = re.search(r"VmRSS:\s+(\d+) kB", status.read_text())
                if m:
                    samples.append((time.perf_counter() - t0, int(m.group(1)) * 1024))
            except OSError:
                pass
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read() if proc.stdout else b""
    err = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}... failed ({proc.returncode}):\n{err.decode(errors='replace')[-2000:]}")
    half = wall / 2
    first = [r for t, r in samples if t <= half]
    second = [r for t, r in samples if t > half]
    # A run too short for a few samples in each half says nothing about growth.
    growth = round(max(second) / max(first), 3) if len(first) >= 3 and len(second) >= 3 else None
    return {"wall_s": wall, "peak_rss": usage.ru_maxrss * 1024, "stdout": out.decode(errors="replace"),
            "rss_growth": growth}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model")
    ap.add_argument("--frames", type=int, default=5000)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--keep", type=Path, help="keep the clip and outputs in this folder")
    args = ap.parse_args()

    path, which = pick_model(args.model)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_video_"))
    work.mkdir(parents=True, exist_ok=True)
    clip = work / f"film_{args.frames}.mp4"
    if not clip.exists():
        t = time.perf_counter()
        make_film(clip, args.frames)
        print(f"made {clip} ({args.frames} frames, {W}x{H}) in {time.perf_counter() - t:.1f} s")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    py = sys.executable
    results: dict = {"model": None, "model_path": str(path), "model_source": which, "frames": args.frames,
                     "size": f"{W}x{H}", "runs": {}}

    floor = run([py, "-c", FLOOR, str(clip), str(work / "floor.mp4")], env)
    n = int(floor["stdout"].strip() or 0)
    results["runs"]["floor"] = {"fps": round(n / floor["wall_s"], 2), "wall_s": round(floor["wall_s"], 2),
                                "peak_rss_mb": round(floor["peak_rss"] / 2**20, 1), "rss_growth": floor["rss_growth"]}
    print(f"floor (PyAV decode + libx264 encode): {n} frames in {floor['wall_s']:.1f} s = "
          f"{n / floor['wall_s']:.1f} fps, peak RSS {floor['peak_rss'] / 2**20:.0f} MB")
    for label, extra in (("colorize", []), ("colorize_smooth", ["--smooth"])):
        out = work / f"{label}.mp4"
        out.unlink(missing_ok=True)
        r = run([py, "-m", "colorize_cli", "video", str(clip), "-o", str(out), "--model", str(path), "--json", "-q",
                 "--device", args.device, "--batch-size", str(args.batch_size), *extra], env)
        rep = json.loads(r["stdout"].strip().splitlines()[-1])
        results["model"] = results["model"] or Path(path).stem
        fps = rep["frames"] / r["wall_s"]
        results["runs"][label] = {
            "fps": round(fps, 2), "in_run_fps": round(rep["fps"], 2), "wall_s": round(r["wall_s"], 2),
            "peak_rss_mb": round(r["peak_rss"] / 2**20, 1), "rss_growth": r["rss_growth"],
            "fps_vs_floor": round(fps / results["runs"]["floor"]["fps"], 3),
            "time_vs_floor": round(r["wall_s"] / floor["wall_s"], 2),
            "rss_vs_floor": round(r["peak_rss"] / floor["peak_rss"], 2),
            "frames": rep["frames"], "scene_cuts": rep["scene_cuts"], "streams_copied": rep["streams_copied"]}
        x = results["runs"][label]
        print(f"{label}: {rep['frames']} frames in {r['wall_s']:.1f} s = {fps:.2f} fps ({rep['fps']:.2f} in-run), "
              f"x{x['time_vs_floor']} the floor's time; peak RSS {x['peak_rss_mb']:.0f} MB "
              f"(x{x['rss_vs_floor']} the floor's), RSS growth 2nd/1st half {x['rss_growth']}, "
              f"{rep['scene_cuts']} cuts")
    stamp(results)
    f, c, s = (results["runs"][k] for k in ("floor", "colorize", "colorize_smooth"))
    row = (f"| {results['date']} | {results['model']} ({'named' if 'named' in which else 'installed'}) | "
           f"{args.frames} | {f['fps']} | {c['fps']} | {s['fps']} | x{c['time_vs_floor']} | x{s['time_vs_floor']} | "
           f"{f['peak_rss_mb']:.0f} | {c['peak_rss_mb']:.0f} | {s['peak_rss_mb']:.0f} | x{s['rss_vs_floor']} | "
           f"{s['rss_growth']} | {results['machine']} |")
    save("video", results, row, marker=TABLE_MARKER)
    if not args.keep:
        for p in work.iterdir():
            p.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
