"""Hand-coloured keyframes carried through a shot by optical flow.

A keyframe is a colour picture of one frame of the film (named by its 0-based index,
``000120.png``), coloured in any editor or by ``colorize images --hints``. Only its a and b
are used; every frame keeps its own L.

**Carrying.** A keyframe's ab (and a confidence of 1) is carried frame to frame, forward and
backward through its shot, by dense optical flow on L at the working size (OpenCV DIS). Each
step warps ab and confidence along the flow and multiplies the confidence by

* the forward–backward consistency of the flow: with ``e = |f_ab + f_ba(x + f_ab)|²`` and
  Sundaram et al.'s (2010) tolerance ``s = 0.01 (|f_ab|² + |f_ba|²) + 0.5``, ``clip(2 − e/s, 0, 1)``:
  1 within the tolerance, 0 at twice it (occluded or new pixels);
* the lightness constancy, ``clip(2 − |ΔL| / 8, 0, 1)``: a matched pixel whose L changed by
  more than 8 units (16: nothing) is not the same surface;
* ``decay`` (per frame), so that flow drift over long distances hands back to the model.

Carrying stops at scene cuts (the same detector as the temporal kernel) and ``reach`` frames
from the keyframe.

**Blending.** At frame t with a keyframe k₁ before and k₂ after it in the shot, the two carried
colours are mixed with weights ``w₁ = (k₂ − t)/(k₂ − k₁)``, ``w₂ = 1 − w₁`` times their
confidences, and the confidence of the mix is ``1 − (1 − c₁)(1 − c₂)``; one keyframe alone has
weight 1. The model's prediction fills in the rest: ``ab = w · carried + (1 − w) · model`` with
``w = c^0.25`` (``TRUST``: the carried colour stays better than the model's well below full
confidence), as an ``ab_filter`` of the pipeline (so ``--smooth``, upsampling and the merge apply as ever).

**Memory and streaming.** The forward carry is one state (ab and confidence at the working
size). The backward carry from k₂ needs the frames before it in reverse order; when the
stream first needs it, the frames ``[t, k₂]`` are read again through ``lookahead(t, k₂)`` (a
second decode for films) as 8-bit L at the working size, and the carried maps are kept until
the stream passes them: at most ``reach`` frames of ab and confidence, never the whole film.
Every carried map depends only on the frames between it and its keyframe, so a run resumed
anywhere gives the same result as an uninterrupted one (:meth:`KeyframePropagator.replay_from`
says where the forward state must be rebuilt from).

Public API::

    read_keyframe_dir(folder) -> ({index: path}, [(path, reason)])
    keyframe_ab(rgb, work_shape) -> ab at the working size
    Carrier(decay=0.995).step(L8_from, L8_to, ab, conf) -> (ab, conf)
    KeyframePropagator(keyframes, prepare, lookahead=None, reach=300, decay=0.995,
                       scene_threshold=None)
    KeyframePropagator.push(index, L_full, cut, emit=True) -> ab_filter | None
    KeyframePropagator.replay_from(resume) -> first frame to replay
    replay_start(keys, resume, reach=300) -> first frame to replay (the same, without a propagator)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import cv2
import numpy as np

from colorize_cli.errors import InputError, ParameterError
from colorize_cli.io.image_io import IMAGE_EXTENSIONS, read_image
from colorize_cli.lab import to_float_rgb
from colorize_cli.pipeline import AbFilter
from colorize_cli.scenes import SceneDetector
from colorize_cli.settings import DEFAULTS

__all__ = ["Carrier", "KeyframePropagator", "keyframe_ab", "read_keyframe_dir",
           "replay_start"]

# The defaults of reach (frames a keyframe's colour is carried) and decay (confidence kept per
# frame carried) are keyframe_reach and keyframe_decay in colorize_cli.settings.CONFIG_MAP.
# The blend weight is confidence ** TRUST. Measured on DAVIS clips (first frame given, unet-l1):
# even where the flow checks leave little confidence, the carried colour is closer to the truth
# than the model's (mean ab error 6 vs 7-19 at confidence 0.02-0.3, 3-4 vs 7-22 above 0.6), so
# the weight rises faster than the confidence. 0.25 gained 0.1-0.3 dB PSNR per clip over 1 and
# lowered CDC; 0.5 gained half as much.
TRUST = 0.25
L_TOLERANCE = 8.0  # L units a matched pixel may change and still count as the same surface
_INDEX = re.compile(r"^\d+$")

Keyframe = "np.ndarray | str | Path"


def read_keyframe_dir(folder: str | Path) -> tuple[dict[int, Path], list[tuple[str, str]]]:
    """Keyframes in ``folder``: image files named by a 0-based frame index (``000120.png``);
    (path, reason) for every other image there and for two files naming one frame."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ParameterError("keyframes", f"{folder}: no such folder")
    found: dict[int, Path] = {}
    errors: list[tuple[str, str]] = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or not p.is_file() or p.suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        if not _INDEX.match(p.stem):
            errors.append((str(p), "a keyframe must be named by its 0-based frame index, e.g. 000120.png"))
            continue
        i = int(p.stem)
        if i in found:
            errors.append((str(p), f"frame {i} already has a keyframe ({found[i].name})"))
            continue
        found[i] = p
    return found, errors


def replay_start(keys: Iterable[int], resume: int, reach: int = DEFAULTS.keyframe_reach) -> int:
    """The first frame a run resumed at ``resume`` must feed again (without output) so that the
    forward carry is what it was: the last keyframe before ``resume``, if within ``reach``."""
    before = [int(k) for k in keys if int(k) < resume and resume - int(k) <= reach]
    return max(before) if before else resume


def keyframe_ab(rgb: np.ndarray, work_shape: tuple[int, int]) -> np.ndarray:
    """a and b of a keyframe (RGB(A) or gray pixels), area-averaged to ``work_shape`` = (h, w)."""
    lab = cv2.cvtColor(to_float_rgb(rgb), cv2.COLOR_RGB2Lab)
    h, w = work_shape
    return np.ascontiguousarray(cv2.resize(lab[:, :, 1:], (w, h), interpolation=cv2.INTER_AREA))


def to_L8(L_work: np.ndarray) -> np.ndarray:
    """Working-size L (0..100) as 8-bit, what the flow is computed on."""
    return np.clip(L_work * 2.55 + 0.5, 0, 255).astype(np.uint8)


class Carrier:
    """One step of carrying ab and confidence from one frame to the next (either direction)."""

    def __init__(self, decay: float = DEFAULTS.keyframe_decay) -> None:
        if not 0 < decay <= 1:
            raise ValueError(f"keyframe decay must be in (0, 1], got {decay}")
        self.decay = decay
        self.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def step(self, L8_from: np.ndarray, L8_to: np.ndarray, ab: np.ndarray, conf: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
        """ab and confidence of frame ``from`` (8-bit L ``L8_from``) carried to frame ``to``
        along the flow between them, the confidence lowered by the flow and lightness checks."""
        h, w = L8_to.shape
        f_tf = self.dis.calc(L8_to, L8_from, None)  # to(x) ≈ from(x + f_tf(x))
        f_ft = self.dis.calc(L8_from, L8_to, None)
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        mx, my = gx + f_tf[..., 0], gy + f_tf[..., 1]
        back = cv2.remap(f_ft, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        err = ((f_tf + back) ** 2).sum(axis=2)
        scale = 0.01 * ((f_tf ** 2).sum(axis=2) + (back ** 2).sum(axis=2)) + 0.5
        # Soft thresholds, not Gaussians: every step of a long carry would otherwise lose a little
        # confidence to the flow's ordinary sub-pixel error.
        q = np.clip(2.0 - err / scale, 0.0, 1.0)
        L_from = cv2.remap(L8_from, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        q *= np.clip(2.0 - np.abs(L_from - L8_to.astype(np.float32)) / (2.55 * L_TOLERANCE), 0.0, 1.0)
        ab_to = cv2.remap(ab, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        conf_to = cv2.remap(conf, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return ab_to, (conf_to * q * self.decay).astype(np.float32)


def _blend(carried: list[tuple[float, np.ndarray, np.ndarray]]) -> AbFilter:
    """The ab_filter for one frame: carried colours (distance weight, ab, confidence) over the model."""
    num = sum(w * c[:, :, None] * ab for w, ab, c in carried)
    den = sum(w * c for w, _, c in carried)
    miss = np.ones_like(carried[0][2])
    for _, _, c in carried:
        miss = miss * (1 - c)
    conf = (1 - miss) ** TRUST
    mix = num / np.maximum(den, 1e-6)[:, :, None]

    def apply(L_work: np.ndarray, ab_work: np.ndarray, full_shape: tuple[int, int]) -> np.ndarray:
        h, w = ab_work.shape[:2]
        c, m = conf, mix
        if c.shape != (h, w):  # a model with output_stride > 1 predicts on a coarser grid
            c = cv2.resize(c, (w, h), interpolation=cv2.INTER_AREA)
            m = cv2.resize(m.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
        return ab_work + c[:, :, None] * (m - ab_work)

    return apply


class KeyframePropagator:
    """Feed every frame of a film in order with :meth:`push`; get its ``ab_filter``.

    ``keyframes`` maps frame indices to colour pictures (arrays or image files) of the
    frame's size; ``prepare`` maps a full-size L to the working size (``Pipeline.prepare``);
    ``lookahead(a, b)`` yields the full-size L of frames a..b again (needed for keyframes
    after the first frame); ``scene_threshold`` None disables cut detection in lookaheads
    (pass the same as the stream's detector)."""

    def __init__(self, keyframes: Mapping[int, "np.ndarray | str | Path"],
                 prepare: Callable[[np.ndarray], np.ndarray],
                 lookahead: Callable[[int, int], Iterable[np.ndarray]] | None = None,
                 reach: int = DEFAULTS.keyframe_reach, decay: float = DEFAULTS.keyframe_decay,
                 scene_threshold: float | None = None) -> None:
        if reach < 1:
            raise ParameterError("keyframe_reach", f"must be >= 1 frame, got {reach}")
        self.keys = sorted(int(k) for k in keyframes)
        if self.keys and self.keys[0] < 0:
            raise ParameterError("keyframes", f"index {self.keys[0]} is negative")
        self.sources = dict(keyframes)
        self.prepare = prepare
        self.lookahead = lookahead
        self.reach = int(reach)
        self.scene_threshold = scene_threshold
        self.carrier = Carrier(decay)
        self._fwd: tuple[int, np.ndarray, np.ndarray] | None = None  # (keyframe, ab, conf)
        self._prev_L8: np.ndarray | None = None
        self._back: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}  # frame -> (keyframe, ab, conf)
        self._back_for: int | None = None

    def _load(self, k: int, full_shape: tuple[int, int], work_shape: tuple[int, int]) -> np.ndarray:
        src = self.sources[k]
        if isinstance(src, (str, Path)):
            pixels = read_image(src).pixels
            name = str(src)
        else:
            pixels, name = np.asarray(src), f"keyframe {k}"
        if pixels.shape[:2] != tuple(full_shape):
            raise InputError(name, f"keyframe {k} is {pixels.shape[1]}×{pixels.shape[0]} but the film's frames "
                                   f"are {full_shape[1]}×{full_shape[0]}")
        return keyframe_ab(pixels, work_shape)

    def replay_from(self, resume: int) -> int:
        """The first frame a run resumed at ``resume`` must push again (with ``emit=False``)
        so that the forward carry is what it was: the last keyframe before it, if in reach."""
        return replay_start(self.keys, resume, self.reach)

    def _next_key(self, t: int) -> int | None:
        after = [k for k in self.keys if k > t]
        return after[0] if after else None

    def _backward(self, t: int, k2: int, full_shape: tuple[int, int]) -> None:
        """Carry keyframe k2 back over frames t..k2-1 (read again through lookahead)."""
        if self.lookahead is None:
            raise ValueError("keyframes after the first frame need a way to read frames again (lookahead)")
        detector = SceneDetector(self.scene_threshold) if self.scene_threshold is not None else None
        L8s: list[np.ndarray] = []
        cuts: list[bool] = []
        for L in self.lookahead(t, k2):
            cuts.append(detector.is_cut(L) if detector is not None else False)
            L8s.append(to_L8(self.prepare(L)))
        if len(L8s) != k2 - t + 1:
            raise InputError("keyframes", f"keyframe {k2} is beyond the end of the film")
        self._back = {}
        self._back_for = k2
        ab = self._load(k2, full_shape, L8s[-1].shape)
        conf = np.ones(L8s[-1].shape, np.float32)
        for j in range(k2 - 1, t - 1, -1):
            if cuts[j + 1 - t]:  # frame j+1 starts a new shot: nothing crosses back into j
                break
            ab, conf = self.carrier.step(L8s[j + 1 - t], L8s[j - t], ab, conf)
            self._back[j] = (k2, ab.astype(np.float16), conf.astype(np.float16))

    def push(self, index: int, L_full: np.ndarray, cut: bool, emit: bool = True) -> AbFilter | None:
        """Frame ``index`` (in order, from any start) with its full-size L and whether it starts
        a new shot; its ab_filter (None: nothing carried here, the model alone), or None when
        ``emit`` is False (frames replayed only to rebuild the forward carry)."""
        L_work = self.prepare(L_full)
        L8 = to_L8(L_work)
        full_shape = L_full.shape[:2]
        if index in self.sources:
            self._fwd = (index, self._load(index, full_shape, L8.shape), np.ones(L8.shape, np.float32))
        elif self._fwd is not None and (cut or self._prev_L8 is None or index - self._fwd[0] > self.reach):
            self._fwd = None
        elif self._fwd is not None:
            k, ab, conf = self._fwd
            self._fwd = (k, *self.carrier.step(self._prev_L8, L8, ab, conf))
        self._prev_L8 = L8
        if not emit:
            return None
        k2 = self._next_key(index)
        if k2 is not None and k2 - index <= self.reach and self._back_for != k2 and index not in self.sources:
            self._backward(index, k2, full_shape)
        back = self._back.pop(index, None)
        carried: list[tuple[float, np.ndarray, np.ndarray]] = []
        if self._fwd is not None and back is not None:
            k1, k2 = self._fwd[0], back[0]
            w1 = (k2 - index) / (k2 - k1)
            carried = [(w1, self._fwd[1], self._fwd[2]),
                       (1 - w1, back[1].astype(np.float32), back[2].astype(np.float32))]
        elif self._fwd is not None:
            carried = [(1.0, self._fwd[1], self._fwd[2])]
        elif back is not None:
            carried = [(1.0, back[1].astype(np.float32), back[2].astype(np.float32))]
        return _blend(carried) if carried else None
