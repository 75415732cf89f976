"""Training data: any folder of colour photos, packed once into an in-memory Lab array.

Decoding JPEGs is the slow part of a CPU training step, so every photo is decoded once, in
parallel worker processes, resized so its short side is `size` and centre-cropped to a square,
converted to CIE Lab and cached as float16 (`cache/<hash>.npz`). Batches are then random crops,
flips and mild L noise (Billaut et al.) cut from that array by a background thread, so the
network never waits on I/O. Grayscale photos are skipped: they would teach "no colour".
"""
from __future__ import annotations

import hashlib
import os
import queue
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def list_images(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in IMAGE_EXTS)


def rgb_to_lab(rgb_u8: np.ndarray) -> np.ndarray:
    """uint8 RGB (..., 3) → float32 Lab with L in 0..100."""
    return cv2.cvtColor(rgb_u8.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def _load_square(args: tuple[str, int]) -> np.ndarray | None:
    path, size = args
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    h, w = bgr.shape[:2]
    scale = size / min(h, w)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    bgr = cv2.resize(bgr, (max(size, round(w * scale)), max(size, round(h * scale))), interpolation=interp)
    h, w = bgr.shape[:2]
    y, x = (h - size) // 2, (w - size) // 2
    lab = rgb_to_lab(cv2.cvtColor(bgr[y : y + size, x : x + size], cv2.COLOR_BGR2RGB))
    if np.abs(lab[..., 1:]).mean() < 2.0:
        return None
    return lab.astype(np.float16)


def pack(root: Path, size: int, cache_dir: Path, workers: int | None = None) -> np.ndarray:
    """All photos under `root` as float16 Lab (N, size, size, 3), cached on disk."""
    files = list_images(root)
    key = hashlib.sha1(f"{Path(root).resolve()}|{size}|{len(files)}".encode()).hexdigest()[:12]
    cache = Path(cache_dir) / f"pack-{key}.npy"
    if cache.exists():
        return np.load(cache, mmap_mode="r")
    cache.parent.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(workers or os.cpu_count()) as pool:
        out = [x for x in pool.map(_load_square, [(str(f), size) for f in files], chunksize=64) if x is not None]
    arr = np.stack(out)
    tmp = cache.with_suffix(".tmp.npy")
    np.save(tmp, arr)
    os.replace(tmp, cache)
    return arr


class Batches:
    """Endless random batches (L, ab) as float32 arrays (N, 1, c, c) and (N, 2, c, c)."""

    def __init__(self, lab: np.ndarray, batch: int, crop: int, noise: float = 1.0, seed: int = 0,
                 prefetch: int = 4) -> None:
        self.lab, self.batch, self.crop, self.noise = lab, batch, crop, noise
        self.rng = np.random.default_rng(seed)
        self.q: queue.Queue = queue.Queue(prefetch)
        threading.Thread(target=self._fill, daemon=True).start()

    def _make(self) -> tuple[np.ndarray, np.ndarray]:
        n, s = len(self.lab), self.lab.shape[1]
        idx = np.sort(self.rng.integers(0, n, self.batch))
        y, x = self.rng.integers(0, s - self.crop + 1, 2)
        lab = np.asarray(self.lab[idx, y : y + self.crop, x : x + self.crop], np.float32)
        flip = self.rng.random(self.batch) < 0.5
        lab[flip] = lab[flip, :, ::-1]
        lab = lab.transpose(0, 3, 1, 2)
        L = lab[:, :1] + self.rng.normal(0, self.noise, lab[:, :1].shape).astype(np.float32)
        return np.clip(L, 0, 100), np.ascontiguousarray(lab[:, 1:])

    def _fill(self) -> None:
        while True:
            self.q.put(self._make())

    def __next__(self) -> tuple[np.ndarray, np.ndarray]:
        return self.q.get()

    def __iter__(self) -> "Batches":
        return self
