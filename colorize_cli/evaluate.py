"""``colorize evaluate``: score colourisations against the colour originals (issue #3).

Two modes:

* **dataset** — a folder of colour photos (or clips) is made gray (L of CIE Lab), colourised
  by each model through the runtime's own pipeline, and scored against the originals;
* **pairs** — ``--pred DIR --truth DIR`` scores outputs made by anything, matched by relative
  path, then by relative path without extension, then by unique file stem.

In both modes the **gray baseline** (the truth's L with no colour, see
:func:`colorize_cli.metrics.gray_baseline`) is scored too, so every number has its floor
beside it, and the truth's own colourfulness / harmony / balance are reported as the
``truth`` row.  Measures are in :mod:`colorize_cli.metrics`; this module finds the files,
runs the loop, summarises (mean ± std, infinities counted rather than averaged) and writes
JSON, CSV and a contact sheet.  The CLI command is a thin layer over :func:`evaluate_dataset`,
:func:`evaluate_pairs`, :func:`summary_table` and the writers.

Files are found, read and written with the runtime's own I/O: discovery is
:func:`colorize_cli.inputs.discover` (same extensions, hidden entries skipped), photos are read
by :func:`colorize_cli.image_io.read_image` and clips by :mod:`colorize_cli.video_read` (the
same stream choice and damage handling as ``colorize video``), both under ``max_pixels``; every
file written goes to a temporary name first. Models run through
:meth:`Pipeline.colorize_L <colorize_cli.pipeline.Pipeline.colorize_L>` and
:func:`colorize_cli.frames.colorize_frames`, the commands' own paths.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import json
import math
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np

from colorize_cli import metrics as M
from colorize_cli.errors import ColorizeError, EvaluateError, ParameterError
from colorize_cli.extras import require
from colorize_cli.image_io import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, atomic_write_bytes, read_image, write_image
from colorize_cli.inputs import discover as discover_inputs
from colorize_cli.lab import from_float
from colorize_cli.video_read import VIDEO_EXTENSIONS, decode_frames, probe

__all__ = [
    "IMAGE_EXTS",
    "VIDEO_EXTS",
    "GRAY",
    "TRUTH",
    "EvaluateError",
    "Item",
    "PairMatch",
    "Colorizer",
    "Report",
    "discover",
    "match_pairs",
    "SMOOTH_UNAVAILABLE",
    "colorizer_from_pipeline",
    "hinted_colorizer",
    "keyframed_colorizer",
    "read_rgb",
    "read_video",
    "evaluate_dataset",
    "evaluate_pairs",
    "summarise_rows",
    "summary_table",
    "report_notes",
    "to_jsonable",
    "from_jsonable",
    "report_to_dict",
    "write_json",
    "read_json",
    "write_csv",
    "make_sheet",
    "write_sheet",
]

IMAGE_EXTS = frozenset(IMAGE_EXTENSIONS)
VIDEO_EXTS = frozenset(VIDEO_EXTENSIONS)

GRAY = "gray"
TRUTH = "truth"
VIDEO_KEYS: tuple[str, ...] = ("cdc", "warp")


# --------------------------------------------------------------------------- discovery


@dataclass(frozen=True)
class Item:
    """One file to score: ``rel`` is its path relative to the folder, with ``/`` separators."""

    rel: str
    path: Path
    kind: str  # "image" or "video"


def _kind(path: Path) -> str | None:
    ext = path.suffix.lower()
    if ext in IMAGE_EXTS:
        return "image"
    if ext in VIDEO_EXTS:
        return "video"
    return None


def discover(root: str | Path) -> list[Item]:
    """Images and videos (by extension) under ``root``, recursively, sorted by relative path.

    Hidden files and folders (``.name``) are skipped: they are thumbnails and editor debris,
    never part of a data set.
    """
    root = Path(root)
    if root.is_file() and _kind(root) is None:
        raise EvaluateError(f"{root}: not an image or video file")
    if not root.exists():
        raise EvaluateError(f"{root}: no such folder")
    found = discover_inputs([str(root)], extensions=IMAGE_EXTS | VIDEO_EXTS)
    items = [Item(job.rel.as_posix(), job.src, _kind(job.src)) for job in found.jobs]  # type: ignore[arg-type]
    return sorted(items, key=lambda it: it.rel)


@dataclass
class PairMatch:
    pairs: list[tuple[Item, Item]]  # (prediction, truth)
    unmatched_pred: list[str]
    unmatched_truth: list[str]


def match_pairs(pred_dir: str | Path, truth_dir: str | Path) -> PairMatch:
    """Match predictions to truths: by relative path, then by relative path without its
    extension (``a/x.png`` ↔ ``a/x.jpg``), then by file stem where the stem is unique on both
    sides (tools that flatten folders).  Everything left over is listed, not dropped silently.
    """
    preds, truths = discover(pred_dir), discover(truth_dir)
    left_p = {it.rel: it for it in preds}
    left_t = {it.rel: it for it in truths}
    pairs: list[tuple[Item, Item]] = []

    def take(key: Callable[[str], str]) -> None:
        tk: dict[str, list[str]] = {}
        for rel in left_t:
            tk.setdefault(key(rel), []).append(rel)
        pk: dict[str, list[str]] = {}
        for rel in left_p:
            pk.setdefault(key(rel), []).append(rel)
        for k, prel in pk.items():
            trel = tk.get(k)
            # Ambiguity (two files share a key) is left unmatched rather than guessed.
            if trel and len(trel) == 1 and len(prel) == 1:
                pairs.append((left_p.pop(prel[0]), left_t.pop(trel[0])))

    take(lambda r: r)
    take(lambda r: r.rsplit(".", 1)[0] if "." in r.rsplit("/", 1)[-1] else r)
    take(lambda r: Path(r).stem)
    pairs.sort(key=lambda pt: pt[1].rel)
    return PairMatch(pairs, sorted(left_p), sorted(left_t))


# ------------------------------------------------------------------------------ decoding


def read_rgb(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """An image file as ``uint8`` RGB, read as ``colorize images`` reads it (alpha dropped,
    gray made RGB, 16-bit rounded to 8); :class:`~colorize_cli.errors.InputError` otherwise."""
    pixels = read_image(path, max_pixels).pixels
    if pixels.dtype != np.uint8:
        pixels = from_float(pixels.astype(np.float32) / 65535.0, np.uint8)
    if pixels.ndim == 2:
        return np.dstack([pixels] * 3)
    return np.ascontiguousarray(pixels[:, :, :3])


def read_video(path: str | Path, max_frames: int | None = None,
               max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Iterator[np.ndarray]:
    """A clip's frames as ``uint8`` RGB, lazily, decoded as ``colorize video`` decodes them
    (the same main stream, damage skipped); :class:`~colorize_cli.errors.InputError` otherwise."""
    source = probe(path, max_pixels)
    frames = decode_frames(source, warn=lambda _msg: None)
    try:
        for d in frames:
            if max_frames is not None and d.index >= max_frames:
                break
            yield d.rgb  # type: ignore[misc]
    finally:
        frames.close()


# -------------------------------------------------------------------- colourising (runtime)


SMOOTH_UNAVAILABLE = (
    "smooth=True on videos needs a colorizer with a clip path (the video command's temporal "
    "kernel); this one only colourises single pictures, so score without smoothing")


@dataclass
class Colorizer:
    """A model ready to colourise: ``image(rgb) -> rgb`` for one picture, and optionally
    ``clip(rgbs, smooth) -> rgbs`` for a whole clip (the video command's path, where the
    temporal kernel lives).

    It is handed the colour originals (``uint8`` RGB) and must use **only their lightness**:
    the runtime adapters take the runtime's own L (``lab.image_to_L``, exactly what
    ``colorize images`` / ``video`` compute for a black-and-white input) and pass nothing else
    to the model, so no colour can leak into the prediction.  Output: RGB of the same size.
    """

    name: str
    image: Callable[[np.ndarray], np.ndarray]
    clip: Callable[[Iterable[np.ndarray], bool], Iterator[np.ndarray]] | None = None

    def frames(self, originals: Iterable[np.ndarray], smooth: bool = False) -> Iterator[np.ndarray]:
        """The colourised frames of a clip (the clip path, or picture by picture)."""
        if self.clip is not None:
            return self.clip(originals, smooth)
        if smooth:
            raise EvaluateError(SMOOTH_UNAVAILABLE)
        return (self.image(f) for f in originals)


def colorizer_from_pipeline(pipeline: Any) -> Colorizer:
    """The one place evaluate touches the runtime: wrap a ``Pipeline`` (e.g. from
    :func:`colorize_cli.load`) as a :class:`Colorizer` labelled with the model's name.

    Photos go through ``pipeline.colorize_L`` (output quantised like an 8-bit file, as
    ``colorize images`` writes it); clips through :func:`colorize_cli.frames.colorize_frames`
    — the ``colorize video`` path with scene detection and, for ``smooth``, the temporal kernel.
    """
    from colorize_cli.frames import colorize_frames
    from colorize_cli.lab import image_to_L

    def image(rgb: np.ndarray) -> np.ndarray:
        # Only the lightness goes in: the colour original cannot leak into the prediction.
        return from_float(pipeline.colorize_L(image_to_L(rgb)), np.uint8)

    def clip(frames: Iterable[np.ndarray], smooth: bool) -> Iterator[np.ndarray]:
        # uint8 in, uint8 out; the video path also takes only each frame's L.
        return colorize_frames(frames, pipeline, smooth=smooth)

    return Colorizer(name=pipeline.info.label, image=image, clip=clip)


def hinted_colorizer(pipeline: Any, n_points: int, seed: int = 0) -> Colorizer:
    """``--sim-hints N``: the pipeline steered by N simulated hints per photo
    (:func:`colorize_cli.hints.simulate_hints`, fixed seed), labelled ``<model>+<N>pts``.
    The truth's colour enters only through those N 3×3 patches; clips are scored frame by
    frame, each frame with its own N points."""
    from colorize_cli.hints import simulate_hints
    from colorize_cli.lab import image_to_L
    from colorize_cli.propagate import hint_filter

    def image(rgb: np.ndarray) -> np.ndarray:
        return from_float(pipeline.colorize_L(image_to_L(rgb), hint_filter(simulate_hints(rgb, n_points, seed))),
                          np.uint8)

    return Colorizer(name=f"{pipeline.info.label}+{n_points}pts", image=image)


def keyframed_colorizer(pipeline: Any, which: str = "first") -> Colorizer:
    """``--sim-keyframes first``: each clip gets its first frame in true colour as a keyframe,
    propagated as by ``colorize video --keyframes``; labelled ``<model>+kf-first``. Photos
    have no frame to give and are colourised automatically."""
    from colorize_cli.frames import colorize_frames
    from colorize_cli.lab import image_to_L

    if which != "first":
        raise ParameterError("which", f"must be 'first' (the clip's first frame in true colour), got {which!r}")

    def image(rgb: np.ndarray) -> np.ndarray:
        return from_float(pipeline.colorize_L(image_to_L(rgb)), np.uint8)

    def clip(frames: Iterable[np.ndarray], smooth: bool) -> Iterator[np.ndarray]:
        it = iter(frames)
        first = next(it, None)
        if first is None:
            return iter(())
        return colorize_frames(itertools.chain([first], it), pipeline, smooth=smooth, keyframes={0: first})

    return Colorizer(name=f"{pipeline.info.label}+kf-{which}", image=image, clip=clip)


# ---------------------------------------------------------------------------- the report


@dataclass
class Report:
    """Everything an evaluation produced.

    ``rows`` holds one dict per (file, model): ``file``, ``model``, ``kind`` and the
    :data:`~colorize_cli.metrics.METRIC_KEYS` (plus ``cdc`` and ``warp`` for videos); the
    ``truth`` rows carry only the truth's own measures.  ``models`` is the column order:
    gray, the models, truth.
    """

    mode: str
    source: dict[str, str]
    models: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    unmatched_pred: list[str] = field(default_factory=list)
    unmatched_truth: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    sheet_columns: list[str] = field(default_factory=list)
    sheet_rows: list[tuple[str, list[np.ndarray]]] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, dict[str, dict[str, float | int]]]:
        """Per model and measure: mean, std, n, n_inf."""
        return summarise_rows(self.rows, self.models)

    @property
    def has_video(self) -> bool:
        """Whether any scored file is a clip."""
        return any(r.get("kind") == "video" for r in self.rows)


ProgressFn = Callable[[int, int, str], None]


def _truth_row(rel: str, kind: str, truth_scores: Mapping[str, float]) -> dict[str, Any]:
    return {"file": rel, "model": TRUTH, "kind": kind, **truth_scores}


def _score_image(
    rel: str,
    truth: np.ndarray,
    preds: Mapping[str, np.ndarray],
    report: Report,
    sheet_height: int,
    want_sheet: bool,
) -> None:
    lab_t = M.to_lab(truth)
    ts = M.truth_scores(truth)
    for name, pred in preds.items():
        s = M.image_scores(pred, truth, truth_lab=lab_t, truth_ci=ts["ci"])
        report.rows.append({"file": rel, "model": name, "kind": "image", **s})
    report.rows.append(_truth_row(rel, "image", ts))
    if want_sheet:
        tiles = [sheet_tile(preds[n], sheet_height) for n in report.sheet_columns[:-1]]
        report.sheet_rows.append((rel, tiles + [sheet_tile(truth, sheet_height)]))


class _ClipScorer:
    """Streams one clip for one column: per-frame scores, histograms, warp errors."""

    def __init__(self) -> None:
        self.frame_scores: list[dict[str, float]] = []
        self.hists: list[np.ndarray] = []
        self.warps: list[float] = []
        self.prev: np.ndarray | None = None

    def add(self, frame: np.ndarray, scores: dict[str, float], flow: M.Flow | None) -> None:
        self.frame_scores.append(scores)
        self.hists.append(M.channel_histograms(frame))
        if self.prev is not None and flow is not None:
            self.warps.append(M.pair_warp_error(self.prev, frame, flow))
        self.prev = frame

    def result(self, keys: Sequence[str]) -> dict[str, float]:
        # A clip's score is the mean over its frames, infinities handled as in summarise():
        # inf only if every frame is perfect, so one exact frame cannot hide the rest.
        out = {k: M.summarise(s[k] for s in self.frame_scores)["mean"] for k in keys}
        out["cdc"] = M.cdc_from_histograms(self.hists) if len(self.hists) >= 2 else math.nan
        warps = [w for w in self.warps if not math.isnan(w)]
        out["warp"] = float(np.mean(warps)) if warps else math.nan
        return out


FrameSource = Callable[[], Iterator[np.ndarray]]


def _score_clip(
    rel: str,
    open_truth: FrameSource,
    columns: Sequence[tuple[str, Callable[[Iterator[np.ndarray]], Iterator[np.ndarray]]]],
    report: Report,
    sheet_height: int,
    want_sheet: bool,
) -> None:
    """Score a clip without holding it in memory: one pass for the truth, then one pass per
    column, each zipping a fresh decode of the truth with that column's output stream.

    A column gets its own decode of the truth to turn into its input, so a model can read
    the clip as a stream at its own pace (a temporal kernel may look ahead).  The flow for
    the warp error is recomputed from the truth in every pass — the real motion, the same
    for every column — so differences between columns come from their colours alone; that
    costs CPU but keeps memory flat for long clips.
    """
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    first: dict[str, np.ndarray] = {}

    truth_sc = _ClipScorer()
    prev = None
    for truth in open_truth():
        flow = M.consistent_flow(prev, truth, dis) if prev is not None else None
        truth_sc.add(truth, M.truth_scores(truth), flow)
        if prev is None:
            first[TRUTH] = truth
        prev = truth
    if not truth_sc.frame_scores:
        raise ColorizeError(f"{rel}: the clip has no frames")

    rows = []
    for name, make in columns:
        sc = _ClipScorer()
        prev = None
        outs = make(open_truth())
        for truth in open_truth():
            out = next(outs, None)
            if out is None:
                raise ColorizeError(f"{rel}: {name} gave fewer frames than the original has")
            out = _check_out(out, truth, name, rel)
            flow = M.consistent_flow(prev, truth, dis) if prev is not None else None
            ci_t = M.colourfulness(truth)
            sc.add(out, M.image_scores(out, truth, truth_ci=ci_t), flow)
            if prev is None:
                first[name] = out
            prev = truth
        if next(outs, None) is not None:
            raise ColorizeError(f"{rel}: {name} gave more frames than the original has")
        rows.append({"file": rel, "model": name, "kind": "video", **sc.result(M.METRIC_KEYS)})
    report.rows.extend(rows)
    report.rows.append({"file": rel, "model": TRUTH, "kind": "video",
                        **truth_sc.result(M.TRUTH_KEYS)})
    if want_sheet:
        report.sheet_rows.append(
            (rel, [sheet_tile(first[n], sheet_height) for n in report.sheet_columns]))


def _gray_stream(frames: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    return (M.gray_baseline(f) for f in frames)


def _check_out(out: np.ndarray, truth: np.ndarray, name: str, rel: str) -> np.ndarray:
    out = np.asarray(out)
    if out.shape != truth.shape:
        raise ColorizeError(
            f"{rel}: {name} gave a {out.shape[1]}×{out.shape[0]} image for a "
            f"{truth.shape[1]}×{truth.shape[0]} original")
    return out


def _opener(path: Path, max_frames: int | None, max_pixels: int | None) -> FrameSource:
    return lambda: read_video(path, max_frames, max_pixels)


def _progress(progress: ProgressFn | None, i: int, n: int, rel: str) -> None:
    if progress is not None:
        progress(i, n, rel)


def evaluate_dataset(
    root: str | Path,
    colorizers: Sequence[Colorizer],
    *,
    limit: int | None = None,
    sheet_count: int = 0,
    sheet_height: int = 160,
    max_frames: int | None = None,
    smooth: bool = False,
    progress: ProgressFn | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Report:
    """Dataset mode: gray every original, colourise it with each colorizer, score all.

    Files that cannot be read or colourised are listed in ``report.skipped`` with the reason
    and the run goes on.  ``smooth`` runs clips through the video command's temporal kernel
    (refused up front if a colorizer cannot); on photos it changes nothing. Files over
    ``max_pixels`` (per frame) are skipped like unreadable ones.
    """
    require("skimage")
    names = [c.name for c in colorizers]
    if len(set(names)) != len(names) or {GRAY, TRUTH} & set(names):
        raise EvaluateError(f"model labels must be unique and not {GRAY!r}/{TRUTH!r}: {names}")
    items = discover(root)
    if not items:
        raise EvaluateError(f"{root}: no images or videos found")
    items = items[:limit] if limit else items
    if smooth and any(it.kind == "video" for it in items) and any(c.clip is None for c in colorizers):
        raise EvaluateError(SMOOTH_UNAVAILABLE)
    report = Report("dataset", {"dataset": str(root)}, [GRAY, *names, TRUTH])
    report.sheet_columns = [GRAY, *names, TRUTH]
    for i, it in enumerate(items):
        _progress(progress, i, len(items), it.rel)
        want_sheet = len(report.sheet_rows) < sheet_count
        try:
            if it.kind == "image":
                truth = read_rgb(it.path, max_pixels)
                preds = {GRAY: M.gray_baseline(truth)}
                for c in colorizers:
                    preds[c.name] = _check_out(c.image(truth), truth, c.name, it.rel)
                _score_image(it.rel, truth, preds, report, sheet_height, want_sheet)
            else:
                cols = [(GRAY, _gray_stream)] + [
                    (c.name, functools.partial(c.frames, smooth=smooth)) for c in colorizers]
                _score_clip(it.rel, _opener(it.path, max_frames, max_pixels), cols, report,
                            sheet_height, want_sheet)
        except (ColorizeError, M.TooSmall) as err:
            _drop_rows(report, it.rel)
            report.skipped.append((it.rel, str(err)))
    _progress(progress, len(items), len(items), "")
    return report


def evaluate_pairs(
    pred_dir: str | Path,
    truth_dir: str | Path,
    *,
    label: str = "pred",
    limit: int | None = None,
    sheet_count: int = 0,
    sheet_height: int = 160,
    max_frames: int | None = None,
    progress: ProgressFn | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Report:
    """Pairs mode: score existing outputs against their originals (plus the gray baseline)."""
    require("skimage")
    if label in (GRAY, TRUTH):
        raise EvaluateError(f"the prediction label cannot be {label!r}")
    m = match_pairs(pred_dir, truth_dir)
    report = Report("pairs", {"pred": str(pred_dir), "truth": str(truth_dir)},
                    [GRAY, label, TRUTH], unmatched_pred=m.unmatched_pred,
                    unmatched_truth=m.unmatched_truth)
    report.sheet_columns = [GRAY, label, TRUTH]
    pairs = m.pairs[:limit] if limit else m.pairs
    for i, (p, t) in enumerate(pairs):
        _progress(progress, i, len(pairs), t.rel)
        want_sheet = len(report.sheet_rows) < sheet_count
        try:
            if p.kind != t.kind:
                raise ColorizeError(f"{p.rel} is a {p.kind} but {t.rel} is a {t.kind}")
            if t.kind == "image":
                truth = read_rgb(t.path, max_pixels)
                pred = _check_out(read_rgb(p.path, max_pixels), truth, label, t.rel)
                _score_image(t.rel, truth, {GRAY: M.gray_baseline(truth), label: pred},
                             report, sheet_height, want_sheet)
            else:
                pred_open = _opener(p.path, max_frames, max_pixels)
                cols = [(GRAY, _gray_stream), (label, lambda _truth: pred_open())]
                _score_clip(t.rel, _opener(t.path, max_frames, max_pixels), cols, report, sheet_height,
                            want_sheet)
        except (ColorizeError, M.TooSmall) as err:
            _drop_rows(report, t.rel)
            report.skipped.append((t.rel, str(err)))
    _progress(progress, len(pairs), len(pairs), "")
    return report


def _drop_rows(report: Report, rel: str) -> None:
    # A file that failed halfway must not leave some columns scored and others not.
    report.rows[:] = [r for r in report.rows if r["file"] != rel]
    report.sheet_rows[:] = [s for s in report.sheet_rows if s[0] != rel]


# ---------------------------------------------------------------------------- summaries


def _metric_keys(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    keys = list(M.METRIC_KEYS) if M is not None else []
    if any(r.get("kind") == "video" for r in rows):
        keys += list(VIDEO_KEYS)
    return keys


def summarise_rows(
    rows: Sequence[Mapping[str, Any]], models: Sequence[str] | None = None
) -> dict[str, dict[str, dict[str, float | int]]]:
    """``{model: {metric: {"mean", "std", "n", "n_inf"}}}`` over the per-file rows; a metric a
    model has no value for (the truth's PSNR, a photo's CDC) is left out."""
    order = list(models) if models else list(dict.fromkeys(r["model"] for r in rows))
    out: dict[str, dict[str, dict[str, float | int]]] = {}
    for model in order:
        mine = [r for r in rows if r["model"] == model]
        out[model] = {}
        for k in _metric_keys(rows):
            vals = [r[k] for r in mine if r.get(k) is not None]
            if vals:
                out[model][k] = M.summarise(vals)
    return out


# -------------------------------------------------------------------------- rich table

# (metric key, column title, decimals)
TABLE_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("psnr", "PSNR", 2),
    ("ssim", "SSIM", 4),
    ("ab_rmse", "ab RMSE", 2),
    ("ab_psnr", "ab PSNR", 2),
    ("ab_ssim", "ab SSIM", 4),
    ("ci", "CI", 1),
    ("ci_ratio", "CI/truth", 3),
    ("harmony", "harmony", 4),
    ("balance", "balance", 3),
    ("delta_e", "ΔE2000", 2),
)
VIDEO_COLUMNS: tuple[tuple[str, str, int], ...] = (("cdc", "CDC", 5), ("warp", "warp", 5))


def format_stat(st: Mapping[str, float | int] | None, decimals: int) -> str:
    """``mean ± std``; ``inf`` when every value was infinite; ``(+k inf)`` when some were."""
    if not st:
        return "—"
    mean, std, n_inf = st["mean"], st["std"], st["n_inf"]
    if math.isinf(mean):
        return "inf"
    if math.isnan(mean):
        return "—"
    text = f"{mean:.{decimals}f} ± {std:.{decimals}f}"
    return f"{text} (+{n_inf} inf)" if n_inf else text


def summary_table(report: Report, width: int | None = None) -> Any:
    """The summary as a :class:`rich.table.Table`: a row per column of the report (gray, each
    model, truth) and a column per measure.  Given the terminal ``width``, a table that would
    not fit is transposed (a row per measure) rather than squeezed into unreadable cells."""
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table

    summ = report.summary
    cols = TABLE_COLUMNS + (VIDEO_COLUMNS if report.has_video else ())
    n_files = len({r["file"] for r in report.rows})
    title = f"colorize evaluate — {n_files} file(s), mean ± std"
    caption = ("gray = the original L with no colour (the floor); "
               "truth = the originals' own CI, harmony and balance")
    cells = {m: [format_stat(summ.get(m, {}).get(k), d) for k, _, d in cols] for m in report.models}

    table = Table(title=title, caption=caption)
    table.add_column("model", no_wrap=True)
    for _, name, _ in cols:
        table.add_column(name, justify="right", no_wrap=True)
    for model in report.models:
        table.add_row(model, *cells[model], style="dim" if model in (GRAY, TRUTH) else None)
    if width is None:
        return table
    wide = Console(width=100_000)
    if Measurement.get(wide, wide.options, table).maximum <= width:
        return table

    tall = Table(title=title, caption=caption)
    tall.add_column("measure", no_wrap=True)
    for model in report.models:
        tall.add_column(model, justify="right", style="dim" if model in (GRAY, TRUTH) else None)
    for i, (_, name, _) in enumerate(cols):
        tall.add_row(name, *(cells[m][i] for m in report.models))
    return tall


def report_notes(report: Report) -> list[str]:
    """Lines worth printing under the table: unmatched and skipped files."""
    notes = []
    if report.unmatched_pred:
        notes.append(f"{len(report.unmatched_pred)} prediction(s) with no original: "
                     + ", ".join(report.unmatched_pred))
    if report.unmatched_truth:
        notes.append(f"{len(report.unmatched_truth)} original(s) with no prediction: "
                     + ", ".join(report.unmatched_truth))
    for rel, why in report.skipped:
        notes.append(f"skipped {rel}: {why}")
    return notes


# ------------------------------------------------------------------------- JSON and CSV


def _enc_float(x: float) -> float | str | None:
    # JSON has no infinity; "inf" keeps a perfect PSNR readable and round-trippable.
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def to_jsonable(obj: Any) -> Any:
    """Plain-JSON copy of ``obj``: ±inf → ``"inf"``/``"-inf"``, NaN → ``null``, numpy → Python."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return _enc_float(float(obj))
    return obj


def from_jsonable(obj: Any) -> Any:
    """Inverse of :func:`to_jsonable` for numbers: ``"inf"``/``"-inf"`` → float, ``null`` stays
    ``None``."""
    if isinstance(obj, dict):
        return {k: from_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_jsonable(v) for v in obj]
    if obj == "inf":
        return math.inf
    if obj == "-inf":
        return -math.inf
    return obj


def report_to_dict(report: Report) -> dict[str, Any]:
    """The report as plain data (images for the sheet left out)."""
    from colorize_cli import __version__

    return to_jsonable({
        "colorize": __version__,
        "mode": report.mode,
        "source": report.source,
        "models": report.models,
        "conventions": {
            "rgb": "PSNR (peak 1 on [0,1] RGB) and SSIM (7x7) on RGB, scikit-image",
            "ab": "Lab from scikit-image (sRGB, D65); ab RMSE in Lab units over a and b "
                  "pooled; ab PSNR with peak 255 (8-bit Lab range); ab SSIM on a+128, b+128, "
                  "5x5 uniform window, c1 6.5025, c2 58.5225, mean of a and b",
            "ci": "Hasler & Süsstrunk colourfulness on the 0..255 scale",
            "hue": "HSV hue in turns [0,1); harmony 1/(1+var); balance = entropy in bits of "
                   "a 36-bin hue histogram",
            "delta_e": "mean CIEDE2000 (scikit-image)",
            "video": "per-frame measures averaged per clip; cdc = TCVC JS divergence (nats), "
                     "gaps 1,2,4 weighted 1/3; warp = mean squared RGB ([0,1]) error after "
                     "DIS-flow warping t+1 onto t, flow from the truth, consistent pixels",
            "summary": "mean and population std of finite values; +inf counted in n_inf",
        },
        "summary": report.summary,
        "rows": report.rows,
        "unmatched_pred": report.unmatched_pred,
        "unmatched_truth": report.unmatched_truth,
        "skipped": [{"file": f, "reason": r} for f, r in report.skipped],
    })


def write_json(report: Report, dest: str | Path | TextIO | None = None) -> None:
    """JSON of :func:`report_to_dict` to a path, an open stream, or stdout (``None``)."""
    data = report_to_dict(report)
    # allow_nan=False: a NaN or inf that slipped past to_jsonable is a bug, not output.
    if dest is None or isinstance(dest, io.TextIOBase) or hasattr(dest, "write"):
        out = sys.stdout if dest is None else dest
        json.dump(data, out, indent=2, ensure_ascii=False, allow_nan=False)  # type: ignore[arg-type]
        out.write("\n")  # type: ignore[union-attr]
    else:
        atomic_write_bytes(dest, (json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
                                  + "\n").encode("utf-8"))


def read_json(path: str | Path) -> dict[str, Any]:
    """Load a report written by :func:`write_json`, infinities restored."""
    return from_jsonable(json.loads(Path(path).read_text(encoding="utf-8")))


def write_csv(report: Report, path: str | Path) -> None:
    """One CSV: a row per (file, model) with ``row=file``, then per model the summary as rows
    ``row=mean|std|n|n_inf``.  inf is written ``inf``; a missing or undefined value is empty."""
    keys = _metric_keys(report.rows)

    def cell(v: Any) -> Any:
        if v is None:
            return ""
        if isinstance(v, float):
            enc = _enc_float(v)
            return "" if enc is None else enc
        return v

    fh = io.StringIO(newline="")
    w = csv.writer(fh)
    w.writerow(["row", "file", "model", "kind", *keys])
    for r in report.rows:
        w.writerow(["file", r["file"], r["model"], r.get("kind", ""), *(cell(r.get(k)) for k in keys)])
    for model, stats in report.summary.items():
        for stat in ("mean", "std", "n", "n_inf"):
            w.writerow([stat, "", model, "", *(cell(stats[k][stat]) if k in stats else "" for k in keys)])
    atomic_write_bytes(path, fh.getvalue().encode("utf-8"))


# ------------------------------------------------------------------------ contact sheet

SHEET_PAD = 8
SHEET_HEADER = 30
SHEET_LABEL = 22
SHEET_BG = (24, 24, 24)
SHEET_FG = (235, 235, 235)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def sheet_tile(img: np.ndarray, height: int) -> np.ndarray:
    """``img`` as ``uint8`` RGB scaled to ``height`` rows, aspect kept."""
    img8 = M.to_uint8(img) if M is not None else np.asarray(img, np.uint8)
    h, w = img8.shape[:2]
    new_w = max(1, round(w * height / h))
    interp = cv2.INTER_AREA if height < h else cv2.INTER_CUBIC
    return cv2.resize(img8, (new_w, height), interpolation=interp)


def _fit_text(text: str, max_w: int, scale: float) -> tuple[str, float]:
    # Shrink the font a little, then elide the middle: names keep their start and their end
    # (the end of a path is usually what tells two files apart).
    def width(t: str, s: float) -> int:
        return cv2.getTextSize(t, _FONT, s, 1)[0][0]

    for s in (scale, scale * 0.85, scale * 0.7):
        if width(text, s) <= max_w:
            return text, s
    s = scale * 0.7
    for keep in range(len(text) - 1, 1, -1):
        head = (keep + 1) // 2
        tail = keep - head
        cand = text[:head] + ".." + (text[-tail:] if tail else "")
        if width(cand, s) <= max_w:
            return cand, s
    return "..", s


def _put(canvas: np.ndarray, text: str, x: int, y: int, max_w: int, scale: float) -> None:
    text, s = _fit_text(text.encode("ascii", "replace").decode(), max_w, scale)
    cv2.putText(canvas, text, (x, y), _FONT, s, SHEET_FG, 1, cv2.LINE_AA)


def sheet_size(tile_widths: Sequence[int], n_cols: int, tile_height: int) -> tuple[int, int]:
    """(width, height) of a sheet whose rows' tiles are ``tile_widths`` wide."""
    col_w = max(tile_widths)
    n_rows = len(tile_widths)
    width = SHEET_PAD + n_cols * (col_w + SHEET_PAD)
    height = SHEET_HEADER + n_rows * (SHEET_LABEL + tile_height + SHEET_PAD)
    return width, height


def make_sheet(
    columns: Sequence[str],
    rows: Sequence[tuple[str, Sequence[np.ndarray]]],
    tile_height: int = 160,
) -> np.ndarray:
    """A contact sheet (RGB ``uint8``): a header of column labels, then per image a file-name
    strip and its tiles side by side.  Tiles are scaled to ``tile_height``; columns are as wide
    as the widest tile and narrower tiles are centred."""
    if not rows:
        raise EvaluateError("the contact sheet has no images")
    tiles = [[t if t.shape[0] == tile_height else sheet_tile(t, tile_height) for t in ts]
             for _, ts in rows]
    if any(len(ts) != len(columns) for ts in tiles):
        raise ValueError("every sheet row needs one tile per column")
    widths = [max(t.shape[1] for t in ts) for ts in tiles]
    W, H = sheet_size(widths, len(columns), tile_height)
    col_w = max(widths)
    canvas = np.empty((H, W, 3), np.uint8)
    canvas[:] = SHEET_BG
    for c, name in enumerate(columns):
        x0 = SHEET_PAD + c * (col_w + SHEET_PAD)
        tw = cv2.getTextSize(name, _FONT, 0.6, 1)[0][0]
        _put(canvas, name, x0 + max(0, (col_w - tw) // 2), SHEET_HEADER - 10, col_w, 0.6)
    y = SHEET_HEADER
    for (rel, _), ts in zip(rows, tiles):
        _put(canvas, rel, SHEET_PAD, y + SHEET_LABEL - 6, W - 2 * SHEET_PAD, 0.45)
        y += SHEET_LABEL
        for c, t in enumerate(ts):
            x0 = SHEET_PAD + c * (col_w + SHEET_PAD) + (col_w - t.shape[1]) // 2
            canvas[y : y + tile_height, x0 : x0 + t.shape[1]] = t
        y += tile_height + SHEET_PAD
    return canvas


def write_sheet(report: Report, path: str | Path, tile_height: int = 160) -> tuple[int, int]:
    """Write the report's contact sheet; returns its (width, height)."""
    sheet = make_sheet(report.sheet_columns, report.sheet_rows, tile_height)
    ext = Path(path).suffix.lower().lstrip(".") or "png"
    try:
        write_image(path, sheet, fmt=ext)
    except ValueError as err:
        raise EvaluateError(f"{path}: cannot write a .{ext} image ({err})") from None
    return sheet.shape[1], sheet.shape[0]
