"""Colour from reference photos: semantic correspondence on pretrained features, no training.

A reference is a colour photograph of the same place, uniform or actors. Both the gray input
and the reference (made gray the same way: the runtime's L, ``lab.image_to_L``) are resized to
a short side of ``match_size`` (256 for photos, 192 for films) and run through the ImageNet Lite0 trunk
(``weights/features/lite0-features.onnx``, exported by ``exporters/features.py``). Per cell of
the input's stride-8 grid:

* **similarity** to every cell of every reference: the mean over the levels (strides 8, 16, 32,
  the coarse ones upsampled bilinearly to the stride-8 grid) of the cosine similarity of the
  L2-normalised features, so whole-object (stride 32) and texture (stride 8) matches both count;
* **colour**: the ab of the reference cells (area-averaged), weighted by a softmax of the
  similarity at temperature ``TEMPERATURE`` over all references' cells, so each region of the
  input takes the best-matching regions of whichever reference holds them;
* **confidence**: the best similarity, mapped linearly from ``CONF_LOW`` (0) to ``CONF_HIGH`` (1).

**Fusion and refinement** (an ``ab_filter`` of the pipeline, at the model's ab grid): the
matched ab and its confidence c are resized to the grid, and the result u solves the sparse system

    (I − W + diag(FIT · c + λ)) (u − p) = FIT · c · (m − p)

with p the model's ab, m the matched ab, W the Levin et al. affinities on the photo's own L
(``propagate.levin_weights``) and λ from ``propagate.prior_weight_for``: the matched colour where
it is confident, spread along the photo's edges, the model's prediction where no match is
confident. L is never touched (the pipeline merges with the photo's own L).

The solve runs on at most ``FUSION_CELLS`` cells: a larger ab grid (an ``ab`` model such as
``blend`` predicts at the full working size) is solved on an area-resized copy of L, p, m and c,
and only the correction u − p is brought back to the grid, by the joint bilateral upsampling
guided by the grid's own L (``upsample.joint_bilateral_upsample``), then added to p there. A grid
of at most ``FUSION_CELLS`` cells (classifier-313's stride-4 grid of photos up to 2:1) is solved
as it is.

Reference features are computed once, when the filter is made, and shared by every photo or
frame; the input's features once per photo or frame. The filter holds no state between calls,
so a film resumed anywhere gives the same frames as an uninterrupted run.

Public API::

    FEATURES_FILE                                   # the shipped feature net
    FeatureNet(path=FEATURES_FILE, threads=None)    # .cells(L_full) -> (features n×C, grid (h, w))
    Reference(name, features, ab, grid, digest)     # one reference's cells
    read_reference(path_or_pixels, net, max_pixels=DEFAULT_MAX_PIXELS, name=None) -> Reference
    ReferenceFilter(references, net)                # the ab_filter; .match(L_full) -> (ab, conf, grid)
    reference_filter(refs, max_pixels=..., threads=None) -> ReferenceFilter   # root API

Which references go with which photo or film (``--reference FILE|DIR``): :mod:`colorize_cli.steer.reference_sets`.
    simulate_reference(truth_rgb, seed=0) -> rgb    # evaluate --sim-reference shifted
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from colorize_cli.errors import InputError, ModelError, ParameterError
from colorize_cli.extras import require
from colorize_cli.io.image_io import DEFAULT_MAX_PIXELS, read_image
from colorize_cli.lab import to_float_rgb
from colorize_cli.steer.propagate import levin_weights, prior_weight_for
from colorize_cli.upsample import joint_bilateral_upsample

__all__ = ["CONF_HIGH", "CONF_LOW", "FEATURES_FILE", "FILM_MATCH_SIZE", "FILM_REACH", "FIT", "FUSION_CELLS", "FeatureNet", "GRAY_CHROMA", "MATCH_SIZE", "Reference",
           "ReferenceFilter", "TEMPERATURE", "read_reference", "reference_filter",
           "simulate_reference"]

def _features_file() -> Path:
    """``weights/features/lite0-features.onnx`` of the checkout, else of the installed package."""
    from colorize_cli.model.registry import package_weights_dir

    rel = Path("features") / "lite0-features.onnx"
    here = Path(__file__).resolve().parents[2] / "weights" / rel
    pkg = package_weights_dir()
    return here if here.is_file() or pkg is None else pkg / rel


FEATURES_FILE = _features_file()
MATCH_SIZE = 256  # short side both pictures are matched at (stride-8 grid: 32 cells)
# Films match at a smaller size: per 480p frame, 256 cost 1.9× the automatic frame and 192 1.4×
# (CPU time, one thread, classifier-313), for 0.2–0.7 dB less on two DAVIS clips.
FILM_MATCH_SIZE = 192
LEVEL_WEIGHTS = (1.0, 1.0, 1.0)  # strides 8, 16, 32
TEMPERATURE = 0.02
CONF_LOW, CONF_HIGH = 0.45, 0.75
FIT = 1.0
REACH = 2.0  # how far a confident match's correction spreads, × the short side (propagate's reach)
# Films: a still from elsewhere in the film meets content it does not show, and a few confident
# but wrong cells spread far with reach 2. Measured on 5 second-half frames each of two DAVIS clips
# (first frame as reference): reach 2 → 0.1 took bmx-trees from 20.39 to 21.38 dB (automatic
# 22.40) and dog from 33.83 to 33.67 dB.
FILM_REACH = 0.1
# The fusion's sparse solve runs on at most this many cells (see fuse). With blend (int8, ab grid
# at the full working size: 128×224 = 28,672 cells per 480p frame, 16× classifier-313's stride-4
# grid) the full solve took 0.306 s CPU per frame against 0.009 s for classifier-313's 32×56, and
# the reference cost ×2.5–2.8 per 2 MP photo and ×4.1 per 480p frame against the automatic run
# (aims ×2 and ×1.5). Solved on ≤ 2048 cells with the correction upsampled it cost ×1.42 / ×1.57,
# with 30.65 dB / ΔE2000 4.57 against 30.30 / 4.50 on 16 bsds500-test photos with their shifted
# references (docs/reference.md, "Cost"). 2048 = 32 × 64: classifier-313's grid (working short
# side 128, stride 4) of any photo up to 2:1 is under it and solved exactly as before.
FUSION_CELLS = 2048
GRAY_CHROMA = 4.0  # a reference whose 99th percentile of chroma √(a²+b²) is below this carries no colour
_STRIDE = 32  # the net's input must be a multiple of this
_MAX_ASPECT = 4


def _match_shape(shape: tuple[int, int], size: int) -> tuple[int, int]:
    H, W = shape
    scale = min(size / min(H, W), _MAX_ASPECT * size / max(H, W))
    return (max(_STRIDE, int(round(H * scale / _STRIDE)) * _STRIDE),
            max(_STRIDE, int(round(W * scale / _STRIDE)) * _STRIDE))


def _resize(x: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    h, w = hw
    if x.shape[:2] == (h, w):
        return x
    shrink = h * w < x.shape[0] * x.shape[1]
    return cv2.resize(x, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _lerp(n: int, m: int) -> np.ndarray:
    """The m × n matrix of bilinear interpolation from n to m samples (pixel centres aligned)."""
    x = np.clip((np.arange(m) + 0.5) * n / m - 0.5, 0, n - 1)
    i = np.minimum(np.floor(x).astype(int), n - 2) if n > 1 else np.zeros(m, int)
    t = (x - i).astype(np.float32) if n > 1 else np.zeros(m, np.float32)
    out = np.zeros((m, n), np.float32)
    out[np.arange(m), i] += 1 - t
    if n > 1:
        out[np.arange(m), i + 1] += t
    return out


class FeatureNet:
    """The Lite0 feature pyramid (onnxruntime), as unit vectors per cell of the stride-8 grid."""

    def __init__(self, path: str | Path = FEATURES_FILE, threads: int | None = None,
                 match_size: int = MATCH_SIZE) -> None:
        from colorize_cli.model.engine import open_session

        path = Path(path)
        if not path.is_file():
            raise ModelError(path, "the reference feature net is missing (weights/features/; "
                                   "python -m exporters.features rebuilds it)")
        self.path = path
        self.session, _ = open_session(path, "cpu", threads)
        self.match_size = int(match_size)
        w = np.asarray(LEVEL_WEIGHTS, np.float32)
        self._level_scale = np.sqrt(w / w.sum())

    def grid(self, shape: tuple[int, int]) -> tuple[int, int]:
        """The stride-8 grid (h, w) of a picture of ``shape`` (H, W)."""
        h, w = _match_shape(shape, self.match_size)
        return h // 8, w // 8

    def cells(self, L_full: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
        """Features (n × C float32, rows of unit length) of the gray picture ``L_full`` (0..100),
        one row per stride-8 cell, and the grid (h, w)."""
        hw = _match_shape(L_full.shape[:2], self.match_size)
        x = _resize(np.asarray(L_full, np.float32), hw) / 50.0 - 1.0
        outs = self.session.run(None, {"gray": x[None, None].astype(np.float32)})
        gh, gw = hw[0] // 8, hw[1] // 8
        parts = []
        for f, s in zip(outs, self._level_scale):
            ch, h, w = f.shape[1:]
            f = f[0]
            if (h, w) != (gh, gw):  # bilinear, as two matrix products (OpenCV caps the channels)
                f = (f.reshape(ch * h, w) @ _lerp(w, gw).T).reshape(ch, h, gw).transpose(1, 0, 2)
                f = (_lerp(h, gh) @ f.reshape(h, ch * gw)).reshape(gh, ch, gw)
                f = f.transpose(0, 2, 1).reshape(gh * gw, ch)
            else:
                f = f.reshape(ch, gh * gw).T
            f = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-6)
            parts.append(f * s)
        return np.ascontiguousarray(np.concatenate(parts, axis=1), np.float32), (gh, gw)


@dataclass
class Reference:
    """One reference photo as cells: unit ``features`` (n × C), ``ab`` (n × 2, area-averaged per
    cell), its ``grid`` (h, w), and the sha256 of its pixels (a film's resume identity)."""

    name: str
    features: np.ndarray
    ab: np.ndarray
    grid: tuple[int, int]
    digest: str


def _pixels(src: np.ndarray | str | Path, max_pixels: int | None) -> tuple[np.ndarray, str]:
    if isinstance(src, (str, Path)):
        return read_image(src, max_pixels).pixels, str(src)
    pixels = np.asarray(src)
    if max_pixels and pixels.shape[0] * pixels.shape[1] > max_pixels:
        raise InputError("reference", f"{pixels.shape[1]}x{pixels.shape[0]} = {pixels.shape[0] * pixels.shape[1]} "
                                      f"pixels is over max_pixels {max_pixels}")
    return pixels, "reference"


def read_reference(src: np.ndarray | str | Path, net: FeatureNet, max_pixels: int | None = DEFAULT_MAX_PIXELS,
                   name: str | None = None) -> Reference:
    """A reference from its file (read with the ``max_pixels`` bound) or pixels. :class:`InputError`
    naming it when it cannot be read, is larger than ``max_pixels``, or is gray (no colour to give)."""
    pixels, label = _pixels(src, max_pixels)
    label = name or label
    lab = cv2.cvtColor(to_float_rgb(pixels), cv2.COLOR_RGB2Lab)
    chroma = np.hypot(lab[:, :, 1], lab[:, :, 2])
    if pixels.ndim == 2 or float(np.percentile(chroma, 99)) < GRAY_CHROMA:
        raise InputError(label, "the reference is gray: it carries no colour to give (a reference must be a colour "
                                "photo)")
    feats, grid = net.cells(np.ascontiguousarray(lab[:, :, 0]))
    ab = _resize(np.ascontiguousarray(lab[:, :, 1:]), (grid[0], grid[1])).reshape(-1, 2)
    digest = hashlib.sha256(np.ascontiguousarray(pixels).tobytes()).hexdigest()
    return Reference(label, feats, np.ascontiguousarray(ab, np.float32), grid, digest)


class ReferenceFilter:
    """The ``ab_filter`` that colours a photo or frame from ``references`` (see the module doc).
    It asks the pipeline for the full-resolution L (``wants_full_L``) to match at ``match_size``."""

    wants_full_L = True

    def __init__(self, references: Sequence[Reference], net: FeatureNet, temperature: float = TEMPERATURE,
                 fit: float = FIT, reach: float = REACH, fusion_cells: int | None = FUSION_CELLS) -> None:
        if not references:
            raise ParameterError("reference", "no reference given")
        self.references = list(references)
        self.net = net
        self.temperature = float(temperature)
        self.fit = float(fit)
        self.reach = float(reach)
        self.fusion_cells = fusion_cells  # None: the full grid is solved (benchmarks' "before")
        self._feats = np.concatenate([r.features for r in self.references]).T.copy()  # C × n_ref
        ab = np.concatenate([r.ab for r in self.references])
        self._ab1 = np.concatenate([ab, np.ones((len(ab), 1), np.float32)], axis=1)

    @property
    def identity(self) -> dict[str, object]:
        """What the output depends on, for a film's resume manifest."""
        return {"kind": "reference", "references": [r.digest for r in self.references],
                "match_size": self.net.match_size, "temperature": self.temperature, "fit": self.fit, "reach": self.reach,
                "levels": list(LEVEL_WEIGHTS), "confidence": [CONF_LOW, CONF_HIGH], "fusion_cells": self.fusion_cells}

    def match(self, L_full: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        """Matched ab (h×w×2) and confidence (h×w) on the input's stride-8 grid (h, w)."""
        feats, grid = self.net.cells(L_full)
        ab = np.empty((feats.shape[0], 2), np.float32)
        best = np.empty(feats.shape[0], np.float32)
        step = max(1, (1 << 22) // max(1, self._feats.shape[1]))  # rows per block: ~16 MB of similarities
        for i in range(0, feats.shape[0], step):
            s = feats[i:i + step] @ self._feats
            top = s.max(axis=1, keepdims=True)
            s -= top
            s *= np.float32(1.0 / self.temperature)
            np.exp(s, out=s)
            num = s @ self._ab1  # Σ p·a, Σ p·b and Σ p in one product
            ab[i:i + step] = num[:, :2] / num[:, 2:]
            best[i:i + step] = top[:, 0]
        conf = np.clip((best - CONF_LOW) / (CONF_HIGH - CONF_LOW), 0.0, 1.0)
        return ab.reshape(*grid, 2), conf.reshape(grid), grid

    def __call__(self, L_work: np.ndarray, ab_work: np.ndarray, full_shape: tuple[int, int],
                 L_full: np.ndarray | None = None) -> np.ndarray:
        h, w = ab_work.shape[:2]
        # Without the full L (a caller that does not pass it) match on the working L.
        m, c, _ = self.match(L_full if L_full is not None else L_work)
        m, c = _resize(m, (h, w)), _resize(c, (h, w))
        return fuse(L_work, ab_work, m, c, self.fit, self.reach, self.fusion_cells)


def fuse(L_work: np.ndarray, prior_ab: np.ndarray, matched_ab: np.ndarray, conf: np.ndarray,
         fit: float = FIT, reach: float = REACH, max_cells: int | None = FUSION_CELLS) -> np.ndarray:
    """The model's ``prior_ab`` corrected towards ``matched_ab`` by confidence ``conf`` and spread
    along the edges of ``L_work``: the sparse solve of the module doc (h×w×2 float32). A grid of
    more than ``max_cells`` cells (``None``: no cap) is solved on an area-resized grid of at most
    ``max_cells`` cells, and the correction is upsampled guided by ``L_work`` (the module doc)."""
    h, w = L_work.shape
    if max_cells is None or h * w <= max_cells:
        return _solve(L_work, prior_ab, matched_ab, conf, fit, reach)
    s = (max_cells / (h * w)) ** 0.5
    hw = (max(1, int(h * s)), max(1, int(w * s)))  # rounded down: at most max_cells cells

    def small(x: np.ndarray) -> np.ndarray:
        return _resize(np.ascontiguousarray(x, np.float32), hw)

    L = np.asarray(L_work, np.float32)
    p = small(prior_ab)
    d = _solve(small(L), p, small(matched_ab), small(np.clip(conf, 0.0, 1.0)), fit, reach) - p
    d = joint_bilateral_upsample(d, L)  # the pipeline's own σs, σr: upsample's defaults
    return (np.asarray(prior_ab, np.float32) + d).astype(np.float32)



def _solve(L_work: np.ndarray, prior_ab: np.ndarray, matched_ab: np.ndarray, conf: np.ndarray,
           fit: float, reach: float) -> np.ndarray:
    """The sparse solve on the grid of ``L_work`` itself."""
    sp = require("scipy.sparse")
    splu = require("scipy.sparse.linalg").splu
    h, w = L_work.shape
    n = h * w
    c = fit * np.clip(np.asarray(conf, np.float64), 0.0, 1.0).ravel()
    A = sp.identity(n, format="csr") - levin_weights(L_work) + sp.diags(c + prior_weight_for((h, w), reach))
    rhs = c[:, None] * (np.asarray(matched_ab, np.float64) - prior_ab).reshape(n, 2)
    d = splu(A.tocsc()).solve(rhs)
    return (prior_ab + d.reshape(h, w, 2)).astype(np.float32)


def reference_filter(refs: Sequence[np.ndarray | str | Path] | np.ndarray | str | Path,
                     max_pixels: int | None = DEFAULT_MAX_PIXELS, threads: int | None = None,
                     net: FeatureNet | None = None, match_size: int = MATCH_SIZE, reach: float = REACH
                     ) -> ReferenceFilter:
    """The root API's way to references: the ``ab_filter`` that colours from one or more colour
    photos (files or RGB pixels), for ``Pipeline.colorize_array``, ``colorize_file``,
    ``colorize_files``, ``colorize_frames`` and ``colorize_video``. Every reference is read and
    its features computed here, once (``match_size`` and ``reach``: films use :data:`FILM_MATCH_SIZE`
    and :data:`FILM_REACH`).
    A bad reference is an :class:`InputError` naming it."""
    if isinstance(refs, (str, Path, np.ndarray)):  # one reference (a list of arrays is many)
        refs = [refs]
    require("scipy.sparse")
    net = net or FeatureNet(threads=threads, match_size=match_size)
    return ReferenceFilter([read_reference(r, net, max_pixels) for r in refs], net, reach=reach)  # type: ignore[union-attr]


def simulate_reference(truth_rgb: np.ndarray, seed: int = 0) -> np.ndarray:
    """A simulated reference (``evaluate --sim-reference shifted``): the colour photo flipped left
    to right, cropped to a random window of 80 % of its width and height, and rescaled to the
    photo's size. The window depends only on ``seed`` and the photo's pixels."""
    H, W = truth_rgb.shape[:2]
    rng = np.random.default_rng([seed, zlib.crc32(np.ascontiguousarray(truth_rgb).tobytes())])
    h, w = max(1, int(round(0.8 * H))), max(1, int(round(0.8 * W)))
    y, x = int(rng.integers(0, H - h + 1)), int(rng.integers(0, W - w + 1))
    crop = np.ascontiguousarray(truth_rgb[:, ::-1][y:y + h, x:x + w])
    return cv2.resize(crop, (W, H), interpolation=cv2.INTER_LINEAR)
