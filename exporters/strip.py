"""Film strip: evenly spaced frames of each black-and-white film above the same frames of its
colourised version, one pair of rows per film.

    colorize video ../shared/data/bw/films -o /tmp/films-colour --smooth
    python -m exporters.strip ../shared/data/bw/films /tmp/films-colour -o docs/film-strip.jpg

A colourised film is matched to its source by stem (any container). There is no truth for real
films: the strip is for judging by eye, with the flicker measures of `colorize evaluate`.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import av
import cv2
import numpy as np

from colorize_cli.io.image_io import write_image


def frames_at(path: Path, count: int) -> list[np.ndarray]:
    """`count` evenly spaced RGB frames of the first video stream (decoded in order, kept sparse)."""
    with av.open(str(path)) as box:
        total = box.streams.video[0].frames or sum(1 for _ in box.decode(video=0))
    want = set(np.linspace(0, total - 1, count).round().astype(int).tolist())
    out = []
    with av.open(str(path)) as box:
        for i, frame in enumerate(box.decode(video=0)):
            if i in want:
                out.append(frame.to_ndarray(format="rgb24"))
    return out


def _row(frames: list[np.ndarray], height: int) -> np.ndarray:
    tiles = [cv2.resize(f, (round(f.shape[1] * height / f.shape[0]), height), interpolation=cv2.INTER_AREA) for f in frames]
    gap = np.full((height, 4, 3), 255, np.uint8)
    return np.concatenate([t for tile in tiles for t in (tile, gap)][:-1], 1)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m exporters.strip", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("films", type=Path, help="folder of source films")
    ap.add_argument("coloured", type=Path, help="folder of their colourised versions (same stems)")
    ap.add_argument("-o", "--out", type=Path, required=True)
    ap.add_argument("--frames", type=int, default=5, help="frames per film")
    ap.add_argument("--height", type=int, default=120, help="tile height in pixels")
    args = ap.parse_args(argv)
    rows = []
    for src in sorted(p for p in args.films.iterdir() if p.is_file()):
        match = sorted(args.coloured.glob(src.stem + ".*"))
        if not match:
            print(f"{src.name}: no colourised version in {args.coloured}, skipped")
            continue
        rows += [_row(frames_at(src, args.frames), args.height), _row(frames_at(match[0], args.frames), args.height)]
        rows.append(np.full((10, 1, 3), 255, np.uint8))
    width = max(r.shape[1] for r in rows)
    sheet = np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows[:-1]], 0)
    write_image(args.out, sheet)
    print(f"{args.out}: {sheet.shape[1]}×{sheet.shape[0]}, {len(rows) // 3} films")


if __name__ == "__main__":
    main()
