"""The picture of docs/reference.md: gray, the reference, automatic, with the reference.

    python -m exporters.reference_example PHOTO [PHOTO ...] [--reference REF] -o docs/reference-example.jpg

Without ``--reference`` the reference is the photo's own colour version flipped, cropped to a
random 80 % window and rescaled (``colorize evaluate --sim-reference shifted``, seed 0). The
gray input is the photo's L; "automatic" and "with the reference" are the default model through
the runtime pipeline, as ``colorize images`` (with ``--reference``) writes them.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from colorize_cli.api import load
from colorize_cli.evaluate import make_sheet
from colorize_cli.io.image_io import read_image, write_image
from colorize_cli.lab import from_float, image_to_L, merge
from colorize_cli.steer.reference import reference_filter, simulate_reference


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("photos", type=Path, nargs="+")
    ap.add_argument("--reference", type=Path)
    ap.add_argument("-o", "--out", type=Path, required=True)
    ap.add_argument("--tile-height", type=int, default=240)
    args = ap.parse_args(argv)
    pipe = load(None, device="cpu")
    rows = []
    for photo in args.photos:
        rgb = read_image(photo).pixels[:, :, :3]
        ref = read_image(args.reference).pixels[:, :, :3] if args.reference else simulate_reference(rgb)
        L = image_to_L(rgb)
        gray = from_float(merge(L, np.zeros((*L.shape, 2), np.float32)), np.uint8)
        auto = from_float(pipe.colorize_L(L), np.uint8)
        steered = from_float(pipe.colorize_L(L, reference_filter(ref)), np.uint8)
        rows.append((photo.name, [gray, ref, auto, steered]))
    sheet = make_sheet(["gray", "reference", f"automatic ({pipe.info.name})", "with the reference"], rows,
                       args.tile_height)
    write_image(args.out, sheet)


if __name__ == "__main__":
    main()
