"""Gray "scans" made from real photos, the inputs of the photo benchmarks (shared by bench_*.py)."""

from __future__ import annotations

from pathlib import Path

import cv2


def photos_from(folder: Path, out: Path, count: int, size: tuple[int, int], gray: bool) -> list[Path]:
    """``count`` JPEGs of ``size`` (landscape; portrait sources turned) made in ``out`` from the
    photos in ``folder``; returns their paths."""
    srcs = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".tif"))
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for i in range(count):
        img = cv2.imread(str(srcs[i % len(srcs)]), cv2.IMREAD_GRAYSCALE)
        if img.shape[0] > img.shape[1]:
            img = cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE)
        big = cv2.resize(img, size, interpolation=cv2.INTER_CUBIC)
        if not gray:
            big = cv2.merge([big, big, big])
        made.append(out / f"scan{i:03d}.jpg")
        cv2.imwrite(str(made[-1]), big, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return made
