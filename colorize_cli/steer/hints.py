"""Colour hints for a photo: reading the three file forms and rasterising them.

A hint says "the colour here is this one": it sets a and b of CIE Lab, never L (the photo's
own lightness is always kept). Three forms, all in the photo's pixel coordinates (x right,
y down, origin at the top-left corner):

* **JSON**::

      {"points":  [{"x": 120, "y": 48, "color": "#6b8e23", "radius": 2}],
       "strokes": [{"points": [[10, 10], [80, 14], [90, 40]], "width": 5, "color": "#aa2222"}],
       "width": 640, "height": 480}

  ``radius`` (default 1, a 3×3 patch; 0 is one pixel) and ``width`` (default 3) are in
  pixels; ``width``/``height`` at the top are optional and, when given, must match the photo
  (so hints drawn on a resized copy are refused instead of landing in the wrong place).
* **RGBA image** of the photo's size: every pixel with alpha ≥ 128 is a hint of its RGB.
* **Scribbled copy** of the photo (no transparency; the convention of Levin et al. 2004):
  every pixel that differs from the photo is a hint of its RGB.

The hint's ab is that of its sRGB colour (OpenCV's Lab, D65), whatever the photo's L there.

Public API::

    Hints(weight, ab)                          # full-resolution weight H×W in [0, 1], ab H×W×2
    Hints.at_size((h, w)) -> (weight, ab)      # area-averaged to the working size
    Hints.from_points(shape, xy, ab, radius=1) # arrays of points (simulated users)
    read_hints(path, photo_pixels) -> Hints    # InputError naming the file and the reason
    parse_hints_json(text, shape, name) -> Hints
    color_to_ab("#rrggbb") -> (a, b)
    hint_file_for(hints_dir, rel) -> Path | None    # by relative path and stem
    match_hint_files(hints, jobs) -> ({src: hint file}, [(hint file, reason)])  # --hints FILE|DIR
    simulate_hints(truth_rgb, n, seed=0) -> Hints   # a simulated user: n points of the truth's colour
    HINT_EXTENSIONS
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from colorize_cli.errors import InputError, ParameterError, os_reason
from colorize_cli.io.image_io import IMAGE_EXTENSIONS, read_image
from colorize_cli.lab import to_float_rgb

__all__ = ["HINT_EXTENSIONS", "Hints", "color_to_ab", "hint_file_for", "match_hint_files", "parse_hints_json",
           "read_hints", "simulate_hints"]

HINT_EXTENSIONS = (".json", *sorted(e for e in IMAGE_EXTENSIONS if e not in (".jpg", ".jpeg", ".jpe")),
                   ".jpg", ".jpeg")
# A scribble pixel is a hint when it differs from the photo by more than this (sum over RGB in
# 0..1, as in Levin et al.'s code, raised a little so that 8-bit rounding is never a hint).
SCRIBBLE_TOLERANCE = 0.03
ALPHA_THRESHOLD = 0.5
DEFAULT_POINT_RADIUS = 1
DEFAULT_STROKE_WIDTH = 3


@dataclass
class Hints:
    """Hints rasterised at the photo's full resolution: ``weight`` H×W float32 in [0, 1] (the
    share of the pixel a hint covers) and ``ab`` H×W×2 float32 (meaningful where weight > 0)."""

    weight: np.ndarray
    ab: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W): the photo's size."""
        return int(self.weight.shape[0]), int(self.weight.shape[1])

    @property
    def count(self) -> int:
        """Pixels that carry a hint."""
        return int(np.count_nonzero(self.weight))

    def at_size(self, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """(weight, ab) at ``size`` = (h, w): each working pixel gets the covered share and the
        mean hint colour of the full-resolution pixels it spans."""
        h, w = size
        if (h, w) == self.shape:
            return self.weight, self.ab
        interp = cv2.INTER_AREA if h * w < self.weight.size else cv2.INTER_LINEAR
        wt = cv2.resize(self.weight, (w, h), interpolation=interp)
        s = cv2.resize(self.ab * self.weight[:, :, None], (w, h), interpolation=interp)
        ab = s / np.maximum(wt, 1e-6)[:, :, None]
        return np.clip(wt, 0.0, 1.0), ab.astype(np.float32)

    @classmethod
    def from_points(cls, shape: tuple[int, int], xy: np.ndarray, ab: np.ndarray,
                    radius: int = DEFAULT_POINT_RADIUS) -> "Hints":
        """Square (2r+1)² patches at integer ``xy`` (N×2) of colour ``ab`` (N×2), clipped to the photo."""
        H, W = shape
        weight = np.zeros((H, W), np.float32)
        out = np.zeros((H, W, 2), np.float32)
        for (x, y), c in zip(np.asarray(xy, int), np.asarray(ab, np.float32)):
            ys, xs = slice(max(0, y - radius), y + radius + 1), slice(max(0, x - radius), x + radius + 1)
            weight[ys, xs] = 1.0
            out[ys, xs] = c
        return cls(weight, out)


def color_to_ab(color: str) -> tuple[float, float]:
    """a and b of an sRGB ``#rrggbb`` (or ``#rgb``) colour; ValueError for anything else."""
    s = color.strip() if isinstance(color, str) else ""
    if s.startswith("#") and len(s) == 4:
        s = "#" + "".join(ch * 2 for ch in s[1:])
    if not (s.startswith("#") and len(s) == 7):
        raise ValueError(f"colour {color!r} is not #rrggbb")
    try:
        rgb = [int(s[i:i + 2], 16) for i in (1, 3, 5)]
    except ValueError:
        raise ValueError(f"colour {color!r} is not #rrggbb") from None
    lab = cv2.cvtColor(np.array([[rgb]], np.float32) / 255.0, cv2.COLOR_RGB2Lab)[0, 0]
    return float(lab[1]), float(lab[2])


def _rgb_to_ab(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(cv2.cvtColor(rgb.astype(np.float32), cv2.COLOR_RGB2Lab)[:, :, 1:])


def _number(v: object, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"{what} must be a number, got {v!r}")
    return float(v)


def _inside(x: float, y: float, shape: tuple[int, int], what: str) -> tuple[int, int]:
    H, W = shape
    xi, yi = int(round(x)), int(round(y))
    if not (0 <= xi < W and 0 <= yi < H):
        raise ValueError(f"{what} at ({x:g}, {y:g}) is outside the {W}×{H} photo")
    return xi, yi


def parse_hints_json(text: str, shape: tuple[int, int], name: str | Path = "hints") -> Hints:
    """Rasterise JSON hints for a photo of ``shape`` = (H, W); InputError(name, reason) if the
    file is malformed, a hint lies outside the photo, or there is no hint at all."""
    H, W = shape
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict):
            raise ValueError("the top level must be an object with \"points\" and/or \"strokes\"")
        unknown = set(doc) - {"points", "strokes", "width", "height"}
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))}; expected points, strokes, width, height")
        for key, size in (("width", W), ("height", H)):
            if key in doc and int(_number(doc[key], key)) != size:
                raise ValueError(f"hints were drawn on a {doc.get('width', '?')}×{doc.get('height', '?')} "
                                 f"image but the photo is {W}×{H}")
        points, strokes = doc.get("points", []), doc.get("strokes", [])
        if not isinstance(points, list) or not isinstance(strokes, list):
            raise ValueError("\"points\" and \"strokes\" must be lists")
        # One label per hint, drawn in file order (a later hint covers an earlier one), then
        # turned into colours in one vectorised lookup.
        labels = np.zeros((H, W), np.int32)
        colours: list[tuple[float, float]] = []
        for i, p in enumerate(points):
            what = f"point {i + 1}"
            if not isinstance(p, dict):
                raise ValueError(f"{what} must be an object with x, y and color")
            x, y = _number(p.get("x"), f"{what}: x"), _number(p.get("y"), f"{what}: y")
            r = _number(p.get("radius", DEFAULT_POINT_RADIUS), f"{what}: radius")
            if r < 0:
                raise ValueError(f"{what}: radius must be >= 0")
            xi, yi = _inside(x, y, shape, what)
            colours.append(color_to_ab(p.get("color", "")))
            ri = int(round(r))
            labels[max(0, yi - ri):yi + ri + 1, max(0, xi - ri):xi + ri + 1] = len(colours)
        for i, s in enumerate(strokes):
            what = f"stroke {i + 1}"
            if not isinstance(s, dict) or not isinstance(s.get("points"), list) or not s["points"]:
                raise ValueError(f"{what} must be an object with a non-empty \"points\" list of [x, y]")
            width = _number(s.get("width", DEFAULT_STROKE_WIDTH), f"{what}: width")
            if width < 1:
                raise ValueError(f"{what}: width must be >= 1")
            pts = []
            for j, xy in enumerate(s["points"]):
                if not (isinstance(xy, (list, tuple)) and len(xy) == 2):
                    raise ValueError(f"{what}: point {j + 1} must be [x, y]")
                pts.append(_inside(_number(xy[0], f"{what}: x"), _number(xy[1], f"{what}: y"), shape, what))
            colours.append(color_to_ab(s.get("color", "")))
            poly = np.array(pts, np.int32).reshape(-1, 1, 2)
            cv2.polylines(labels, [poly], False, len(colours), thickness=max(1, int(round(width))))
            if len(pts) == 1:
                cv2.circle(labels, pts[0], max(0, int(round(width / 2)) - 1), len(colours), -1)
    except ValueError as err:  # json.JSONDecodeError is a ValueError
        raise InputError(name, f"bad hints file: {err}") from None
    if not colours:
        raise InputError(name, "bad hints file: no points or strokes in it")
    table = np.concatenate([np.zeros((1, 2), np.float32), np.array(colours, np.float32)])
    return Hints((labels > 0).astype(np.float32), table[labels])


def _image_hints(pixels: np.ndarray, photo: np.ndarray, name: str | Path) -> Hints:
    H, W = photo.shape[:2]
    if pixels.shape[:2] != (H, W):
        raise InputError(name, f"the hints image is {pixels.shape[1]}×{pixels.shape[0]} "
                               f"but the photo is {W}×{H}")
    rgb = to_float_rgb(pixels)
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        alpha = pixels[:, :, 3].astype(np.float32) / (65535.0 if pixels.dtype == np.uint16 else 255.0)
        if alpha.min() < 1.0:  # a transparent layer: its opaque pixels are the hints
            mask = alpha >= ALPHA_THRESHOLD
            return _checked(Hints(mask.astype(np.float32), _rgb_to_ab(rgb)), name)
    diff = np.abs(rgb - to_float_rgb(photo)).sum(axis=2)
    return _checked(Hints((diff > SCRIBBLE_TOLERANCE).astype(np.float32), _rgb_to_ab(rgb)), name)


def _checked(h: Hints, name: str | Path) -> Hints:
    if h.count == 0:
        raise InputError(name, "bad hints file: no hint in it (no opaque pixel, or no pixel that differs "
                               "from the photo)")
    return h


def read_hints(path: str | Path, photo: np.ndarray) -> Hints:
    """The hints in ``path`` for the photo whose pixels are ``photo`` (RGB(A) or gray, as read);
    the form is told by the extension (.json) and, for images, by transparency."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InputError(path, "bad hints file: not UTF-8 text") from None
        except OSError as exc:
            raise InputError(path, os_reason(exc, "read hints")) from None
        return parse_hints_json(text, photo.shape[:2], path)
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise InputError(path, "hints must be a .json file or an image")
    return _image_hints(read_image(path).pixels, photo, path)


def hint_file_for(hints_dir: Path, rel: Path, exclude: Sequence[Path] = ()) -> Path | None:
    """The hints for the photo at ``rel`` (relative to its input folder) in ``hints_dir``:
    the same relative path with the same stem and any hint extension (.json first), else the
    same stem at the top of ``hints_dir``. Files in ``exclude`` (the photos themselves, when
    hints sit beside them) never count."""
    skip = {p.resolve() for p in exclude}
    for folder in dict.fromkeys([hints_dir / rel.parent, hints_dir]):
        for ext in HINT_EXTENSIONS:
            for cand in (folder / (rel.stem + ext), folder / (rel.stem + ext.upper())):
                if cand.is_file() and cand.resolve() not in skip:
                    return cand
    return None


def match_hint_files(hints: Path, jobs: Sequence) -> tuple[dict[Path, Path], list[tuple[str, str]]]:
    """Which hint file goes with which photo (``jobs`` have ``src`` and ``rel``, as from
    :func:`colorize_cli.io.inputs.discover`): {photo src: hint file}, and (file, reason) for every
    hint file in a ``hints`` folder that no photo matches. A single file ``hints`` needs
    exactly one photo; :class:`ParameterError` (``hints``) otherwise or when ``hints`` does not exist."""
    hints = Path(hints)
    if hints.is_file():
        if len(jobs) != 1:
            raise ParameterError("hints", f"{hints}: one hints file for {len(jobs)} photos; "
                                 "give a folder of hint files named like the photos")
        return {jobs[0].src: hints}, []
    if not hints.is_dir():
        raise ParameterError("hints", f"{hints}: no such file or folder")
    photos = [j.src for j in jobs]
    found = {j.src: f for j in jobs if (f := hint_file_for(hints, j.rel, photos)) is not None}
    used = {f.resolve() for f in found.values()} | {p.resolve() for p in photos}
    strays = sorted(p for p in hints.rglob("*") if p.is_file() and p.suffix.lower() in HINT_EXTENSIONS
                    and not any(part.startswith(".") for part in p.relative_to(hints).parts)
                    and p.resolve() not in used)
    return found, [(str(p), "no photo matches this hint file (matched by relative path and name)") for p in strays]


def simulate_hints(truth_rgb: np.ndarray, n: int, seed: int = 0) -> Hints:
    """A simulated user (after Zhang et al. 2017): ``n`` points drawn uniformly over the photo,
    each a 3×3 patch set to the mean ab of the colour original there. The draw depends only on
    ``seed`` and the photo's pixels, so a rerun (or another model) gets the same points."""
    H, W = truth_rgb.shape[:2]
    if H < 3 or W < 3:
        raise ValueError(f"a {W}×{H} photo is too small for 3×3 hints")
    rng = np.random.default_rng([seed, zlib.crc32(np.ascontiguousarray(truth_rgb).tobytes())])
    xy = np.stack([rng.integers(1, W - 1, n), rng.integers(1, H - 1, n)], axis=1)
    ab = _rgb_to_ab(to_float_rgb(truth_rgb))
    mean_ab = cv2.blur(ab, (3, 3))[xy[:, 1], xy[:, 0]]
    return Hints.from_points((H, W), xy, mean_ab, radius=1)
