"""Contact sheet of real black-and-white photos colourised by each model (no truth exists).

    python -m exporters.sheet ../shared/data/bw/photos --model colorunet --model unet-gan -o weights/sheet-bw-photos.jpg

Columns: the input as it is | each model through the runtime pipeline (`colorize images`'s
defaults). `colorize evaluate --sheet` is the one for photos with a colour truth.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from colorize_cli.model.engine import Engine
from colorize_cli.evaluate import make_sheet
from colorize_cli.io.image_io import read_image, write_image
from colorize_cli.pipeline import Pipeline
from colorize_cli.model.registry import find_model

from .data import list_images


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m exporters.sheet", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("-o", "--out", type=Path, required=True)
    ap.add_argument("--tile-height", type=int, default=200)
    args = ap.parse_args(argv)
    pipes = [Pipeline(Engine(find_model(m), device="cpu")) for m in args.model]
    rows = []
    for path in list_images(args.folder):
        image = read_image(path).pixels
        rgb = image[..., :3] if image.ndim == 3 else np.repeat(image[..., None], 3, -1)
        tiles = [rgb if rgb.dtype == np.uint8 else (rgb // 257).astype(np.uint8)]
        tiles += [pipe.colorize_array(tiles[0]) for pipe in pipes]
        rows.append((path.name, tiles))
    sheet = make_sheet(["input"] + [p.info.name for p in pipes], rows, args.tile_height)
    write_image(args.out, sheet)
    print(f"{args.out}: {sheet.shape[1]}×{sheet.shape[0]}, {len(rows)} photos")


if __name__ == "__main__":
    main()
