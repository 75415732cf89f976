"""Training data: any folder of colour photos, packed once into an in-memory RGB array, and
batches whose gray input looks like real black-and-white film rather than CIE L*.

Decoding JPEGs is the slow part of a CPU training step, so every photo is decoded once, in
parallel worker processes, resized so its short side is `size`, centre-cropped to a square and
cached as uint8 sRGB (`cache/pack-<hash>.npy`). Photos at least twice the packed size also give
four quadrant crops at twice the scale, so the model meets their objects at two sizes.
Grayscale photos are skipped: they would teach "no colour".

Batches (`Batches`) are random resized crops (zoom 1–1/0.55) with flips, cut by a background
thread. The target ab always comes from the true colour; the gray input goes through
`film_gray`: the photo as a film stock saw it (orthochromatic … panchromatic spectral mixes,
computed in linear light), then print and scan defects — tone curves, faded low-contrast
prints, blur, grain and JPEG artefacts. A model trained on CIE L* alone meets other gray
mappings in every real scan.
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
# The shared data root beside the repository (`../shared/data`): training photos in `train/`,
# held-out dev sets in `eval/` (never trained on).
DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
TRAIN_FOLDER = DEFAULT_DATA / "train"
DEV_FOLDER = DEFAULT_DATA / "eval" / "miniplaces-val"
DEFAULT_CACHE = Path(os.environ.get("COLORIZE_CACHE", Path.home() / ".cache" / "colorize"))
PACK_VERSION = "rgb-2"

# Linear-light RGB weights of the gray a stock records. CIE Y (what L* is built on) is one
# end; orthochromatic stock (blind to red, most sensitive to blue) the other.
STOCKS = np.array([
    [0.2126, 0.7152, 0.0722],  # CIE Y: panchromatic matched to the eye
    [0.30, 0.59, 0.11],        # early panchromatic
    [0.02, 0.55, 0.43],        # orthochromatic
    [0.00, 0.35, 0.65],        # blue-sensitive (collodion, early ortho)
], np.float32)


def list_images(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in IMAGE_EXTS)


def rgb_to_lab(rgb_u8: np.ndarray) -> np.ndarray:
    """uint8 RGB (..., h, w, 3), one photo or a stack of them → float32 Lab with L in 0..100."""
    rgb = rgb_u8.astype(np.float32) / 255.0
    # OpenCV converts one image at a time: a stack goes through as one tall image.
    flat = rgb.reshape(-1, *rgb.shape[-2:]) if rgb.ndim > 3 else rgb
    return cv2.cvtColor(flat, cv2.COLOR_RGB2LAB).reshape(rgb.shape)


def _square(bgr: np.ndarray, size: int) -> np.ndarray:
    h, w = bgr.shape[:2]
    scale = size / min(h, w)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    bgr = cv2.resize(bgr, (max(size, round(w * scale)), max(size, round(h * scale))), interpolation=interp)
    h, w = bgr.shape[:2]
    y, x = (h - size) // 2, (w - size) // 2
    return bgr[y : y + size, x : x + size]


def _load(args: tuple[str, int]) -> list[np.ndarray]:
    path, size = args
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        return []
    lab = rgb_to_lab(cv2.cvtColor(_square(bgr, size), cv2.COLOR_BGR2RGB))
    if np.abs(lab[..., 1:]).mean() < 2.0:
        return []
    crops = [_square(bgr, size)]
    if min(bgr.shape[:2]) >= 2 * size:
        big = _square(bgr, 2 * size)
        crops += [big[y : y + size, x : x + size] for y in (0, size) for x in (0, size)]
    return [cv2.cvtColor(c, cv2.COLOR_BGR2RGB) for c in crops]


def pack(root: Path, size: int, cache_dir: Path, workers: int | None = None) -> np.ndarray:
    """All photos under `root` as uint8 sRGB squares (N, size, size, 3), cached on disk."""
    files = list_images(root)
    key = hashlib.sha1(f"{PACK_VERSION}|{Path(root).resolve()}|{size}|{len(files)}".encode()).hexdigest()[:12]
    cache = Path(cache_dir) / f"pack-{key}.npy"
    if cache.exists():
        return np.load(cache, mmap_mode="r")
    cache.parent.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(workers or os.cpu_count()) as pool:
        out = [c for cs in pool.map(_load, [(str(f), size) for f in files], chunksize=64) for c in cs]
    arr = np.stack(out)
    tmp = cache.with_suffix(".tmp.npy")
    np.save(tmp, arr)
    os.replace(tmp, cache)
    return np.load(cache, mmap_mode="r")


def _srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def _y_to_L(y: np.ndarray) -> np.ndarray:
    f = np.where(y > (6 / 29) ** 3, np.cbrt(y), y / (3 * (6 / 29) ** 2) + 4 / 29)
    return 116 * f - 16


def film_gray(rgb: np.ndarray, rng: np.random.Generator, p_plain: float = 0.3) -> np.ndarray:
    """Gray L (N, h, w) float32 0..100 of float sRGB photos (N, h, w, 3) as old film might show them.

    With probability `p_plain` a photo keeps its CIE L* untouched, so the model still knows the
    clean case; the others get a random stock and a random chain of print and scan defects.
    """
    n = len(rgb)
    lin = _srgb_to_linear(rgb)
    # A random point between two random stocks: a continuum of spectral responses.
    i, j = rng.integers(0, len(STOCKS), (2, n))
    t = rng.random((n, 1)).astype(np.float32)
    w = STOCKS[i] * (1 - t) + STOCKS[j] * t
    plain = rng.random(n) < p_plain
    w[plain] = STOCKS[0]
    L = _y_to_L(np.einsum("nhwc,nc->nhw", lin, w / w.sum(1, keepdims=True))).astype(np.float32)
    for k in np.flatnonzero(~plain):
        L[k] = _defects(L[k], rng)
    return L


def _defects(L: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = L / 100.0
    if rng.random() < 0.5:  # tone curve of the print or the scanner
        x = x ** np.exp(rng.uniform(-0.35, 0.35))
    if rng.random() < 0.3:  # faded print: lifted blacks, dulled whites
        lo, hi = rng.uniform(0.0, 0.25), rng.uniform(0.75, 1.0)
        x = lo + (hi - lo) * x
    if rng.random() < 0.3:  # contrast boost around mid-gray
        x = np.clip(0.5 + (x - 0.5) * rng.uniform(1.1, 1.5), 0, 1)
    if rng.random() < 0.3:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.4, 1.5))
    if rng.random() < 0.4:  # grain: slightly correlated noise, stronger in the mid-tones
        g = rng.normal(0, rng.uniform(0.01, 0.05), x.shape).astype(np.float32)
        g = cv2.GaussianBlur(g, (0, 0), 0.6) * 1.5
        x = x + g * (0.5 + 2 * x * (1 - x))
    x = np.clip(x, 0, 1).astype(np.float32)
    if rng.random() < 0.3:
        ok, enc = cv2.imencode(".jpg", np.round(x * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 90))])
        x = cv2.imdecode(enc, cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255
    return x * 100


class Batches:
    """Endless random batches (L, ab, L*) as float32 arrays (N, 1, c, c), (N, 2, c, c), (N, 1, c, c).

    L is the model's (film-like) gray input, ab and L* the true colour photo's.

    `rgb` is a packed uint8 array (N, s, s, 3); `augment=False` gives plain CIE L* inputs
    (with the mild L noise of Billaut et al.), as the first models were trained.
    """

    def __init__(self, rgb: np.ndarray, batch: int, crop: int, noise: float = 1.0, seed: int = 0,
                 prefetch: int = 4, augment: bool = True, zoom: float = 0.55) -> None:
        self.rgb, self.batch, self.crop, self.noise, self.augment, self.zoom = rgb, batch, crop, noise, augment, zoom
        self.rng = np.random.default_rng(seed)
        self.q: queue.Queue = queue.Queue(prefetch)
        threading.Thread(target=self._fill, daemon=True).start()

    def _crop(self, img: np.ndarray) -> np.ndarray:
        s, c = img.shape[0], self.crop
        side = min(s, int(round(s * self.rng.uniform(self.zoom, 1.0)))) if self.rng.random() < 0.6 else s
        side = max(side, min(s, c // 2))
        y, x = self.rng.integers(0, s - side + 1, 2)
        out = img[y : y + side, x : x + side]
        if side != c:
            out = cv2.resize(out, (c, c), interpolation=cv2.INTER_AREA if side > c else cv2.INTER_LINEAR)
        return out[:, ::-1] if self.rng.random() < 0.5 else out

    def _make(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        idx = np.sort(self.rng.integers(0, len(self.rgb), self.batch))
        rgb = np.stack([self._crop(self.rgb[i]) for i in idx]).astype(np.float32) / 255.0
        n, c = len(rgb), self.crop
        lab = cv2.cvtColor(rgb.reshape(n * c, c, 3), cv2.COLOR_RGB2LAB).reshape(n, c, c, 3)
        L = film_gray(rgb, self.rng) if self.augment else lab[..., 0].copy()
        L = L[:, None] + self.rng.normal(0, self.noise, (n, 1, c, c)).astype(np.float32)
        return np.clip(L, 0, 100), np.ascontiguousarray(lab[..., 1:].transpose(0, 3, 1, 2)), lab[:, None, ..., 0].copy()

    def _fill(self) -> None:
        while True:
            self.q.put(self._make())

    def __next__(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.q.get()

    def __iter__(self) -> "Batches":
        return self
