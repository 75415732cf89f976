"""The issue's "done when": a folder of 100 mixed photos gives 100 outputs of the right size,
bit depth, alpha and metadata (small images, so it stays quick)."""

import json

import cv2
import numpy as np
from helpers import exif_blob, gradient, pil_meta, srgb_icc, write
from PIL import Image as PILImage

from colorize_cli.io.image_io import write_image


def _make(root, i):
    """One of ten kinds of input; returns (rel path, expected shape, dtype, alpha or None, exif make, icc)."""
    h, w = 20 + (i % 7) * 3, 24 + (i % 5) * 4
    sub = f"set{i % 3}/{'deep/' if i % 4 == 0 else ''}"
    kind = i % 10
    icc, make = srgb_icc(), f"cam{i}"
    if kind == 0:
        px = gradient(h, w)
        rel = f"{sub}g8_{i}.png"
        write(root / rel, px)
        return rel, (h, w, 3), np.uint8, None, None, None
    if kind == 1:
        rel = f"{sub}g16_{i}.png"
        write(root / rel, gradient(h, w, dtype=np.uint16))
        return rel, (h, w, 3), np.uint16, None, None, None
    if kind == 2:
        rel = f"{sub}rgb_{i}.jpg"
        write_image(root / rel, gradient(h, w, channels=3), exif=exif_blob(make)[6:], icc=icc)
        return rel, (h, w, 3), np.uint8, None, make, icc
    if kind == 3:
        px = gradient(h, w, channels=4)
        rel = f"{sub}rgba_{i}.png"
        write_image(root / rel, px, exif=exif_blob(make)[6:], icc=icc)
        return rel, (h, w, 4), np.uint8, px[..., 3], make, icc
    if kind == 4:
        rel = f"{sub}pal_{i}.png"
        im = PILImage.fromarray(gradient(h, w)).convert("P")
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        im.save(root / rel)
        return rel, (h, w, 3), np.uint8, None, None, None
    if kind == 5:
        rel = f"{sub}rgb16_{i}.tif"
        write_image(root / rel, gradient(h, w, dtype=np.uint16, channels=3), exif=exif_blob(make)[6:], icc=icc)
        return rel, (h, w, 3), np.uint16, None, make, icc
    if kind == 6:
        rel = f"{sub}sepia_{i}.webp"
        px = gradient(h, w, channels=3).astype(np.float32)
        px *= np.array([1.0, 0.85, 0.65], np.float32)
        write_image(root / rel, px.astype(np.uint8), icc=icc)
        return rel, (h, w, 3), np.uint8, None, None, icc
    if kind == 7:
        rel = f"{sub}la_{i}.png"
        g = gradient(h, w)
        a = np.tile(np.linspace(0, 255, w).astype(np.uint8), (h, 1))
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        PILImage.fromarray(np.dstack([g, a]), "LA").save(root / rel)
        return rel, (h, w, 4), np.uint8, a, None, None
    if kind == 8:
        rel = f"{sub}plain_{i}.bmp"
        write(root / rel, gradient(h, w, channels=3))
        return rel, (h, w, 3), np.uint8, None, None, None
    rel = f"{sub}rgba16_{i}.tif"
    px = gradient(h, w, dtype=np.uint16, channels=4)
    write_image(root / rel, px, icc=icc)
    return rel, (h, w, 4), np.uint16, px[..., 3], None, icc


def test_hundred_mixed_photos(cli, tmp_path, bins_model):
    want = [_make(tmp_path / "in", i) for i in range(100)]
    res = cli("images", tmp_path / "in", "-o", tmp_path / "out", "--model", bins_model, "--json", "--batch-size", "8")
    assert res.exit_code == 0, res
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert len(lines) == 100 and all(x["status"] == "ok" for x in lines)
    for rel, shape, dtype, alpha, make, icc in want:
        path = tmp_path / "out" / rel
        out = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert out is not None, rel
        assert out.shape == shape and out.dtype == dtype, (rel, out.shape, out.dtype)
        if alpha is not None:
            np.testing.assert_array_equal(out[..., 3], alpha, err_msg=rel)
        got_make, got_icc = pil_meta(path)
        assert got_make == make and got_icc == icc, rel
    assert len([p for p in (tmp_path / "out").rglob("*") if p.is_file()]) == 100
