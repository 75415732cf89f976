"""Scoring: each file made gray, colourised by every :class:`~colorize_cli.evaluate.colourisers.Colorizer`
and measured against its original (:func:`evaluate_dataset`), or outputs made elsewhere matched to
their originals (:func:`evaluate_pairs`); the gray baseline always beside them."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from colorize_cli import metrics as M
from colorize_cli.errors import ColorizeError, EvaluateError, ModelError, NonFiniteOutput
from colorize_cli.extras import require
from colorize_cli.failures import PER_FILE, failure_reason
from colorize_cli.io.image_io import DEFAULT_MAX_PIXELS
from colorize_cli.evaluate.colourisers import SMOOTH_UNAVAILABLE, Colorizer
from colorize_cli.evaluate.sheet import sheet_tile
from colorize_cli.evaluate.data import find_items, match_pairs, read_rgb, read_video
from colorize_cli.evaluate.report import GRAY, TRUTH, Report


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
    items, unreadable = find_items(root)
    if not items:
        raise EvaluateError(unreadable[0][1] if unreadable else f"{root}: no images or videos found")
    items = items[:limit] if limit else items
    if smooth and any(it.kind == "video" for it in items) and any(c.clip is None for c in colorizers):
        raise EvaluateError(SMOOTH_UNAVAILABLE)
    report = Report("dataset", {"dataset": str(root)}, [GRAY, *names, TRUTH])
    report.sheet_columns = [GRAY, *names, TRUTH]
    report.skipped += unreadable  # FIFOs, devices, broken links: each named, none opened
    for i, it in enumerate(items):
        _progress(progress, i, len(items), it.rel)
        want_sheet = len(report.sheet_rows) < sheet_count
        size = None
        try:
            if it.kind == "image":
                truth = read_rgb(it.path, max_pixels)
                size = (int(truth.shape[1]), int(truth.shape[0]))
                preds = {GRAY: M.gray_baseline(truth)}
                for c in colorizers:
                    try:
                        preds[c.name] = _check_out(c.image(truth), truth, c.name, it.rel)
                    except (NonFiniteOutput, ModelError) as err:  # that model's failure: the others are scored
                        report.skipped.append((it.rel, f"model {c.name} not scored: {err}"))
                _score_image(it.rel, truth, preds, report, sheet_height,
                             want_sheet and len(preds) == len(colorizers) + 1)
            else:
                cols = [(GRAY, _gray_stream)] + [
                    (c.name, functools.partial(c.frames, smooth=smooth)) for c in colorizers]
                _score_clip(it.rel, _opener(it.path, max_frames, max_pixels), cols, report,
                            sheet_height, want_sheet)
        except (ColorizeError, M.TooSmall) as err:
            _drop_rows(report, it.rel)
            report.skipped.append((it.rel, str(err)))
        except PER_FILE as err:  # out of memory, OpenCV...: that file's line, as colorize images says it
            if not _skip_failed(report, it.rel, it.path, err, size):
                raise
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
    report.skipped += m.unreadable
    pairs = m.pairs[:limit] if limit else m.pairs
    for i, (p, t) in enumerate(pairs):
        _progress(progress, i, len(pairs), t.rel)
        want_sheet = len(report.sheet_rows) < sheet_count
        size = None
        try:
            if p.kind != t.kind:
                raise ColorizeError(f"{p.rel} is a {p.kind} but {t.rel} is a {t.kind}")
            if t.kind == "image":
                truth = read_rgb(t.path, max_pixels)
                size = (int(truth.shape[1]), int(truth.shape[0]))
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
        except PER_FILE as err:
            if not _skip_failed(report, t.rel, t.path, err, size):
                raise
    _progress(progress, len(pairs), len(pairs), "")
    return report


def _skip_failed(report: Report, rel: str, path: Path, err: BaseException, size: tuple[int, int] | None) -> bool:
    # The one failure mapping (colorize_cli.failures): one file's failure is listed and the
    # others are scored; False for what is not one file's fault (it goes on up). ``size``
    # (width, height) once the picture is read, for "not enough memory for W×H".
    reason = failure_reason(err, size)
    if reason is None:
        return False
    _drop_rows(report, rel)
    report.skipped.append((rel, f"{path}: {reason}"))
    return True


def _drop_rows(report: Report, rel: str) -> None:
    # A file that failed halfway must not leave some columns scored and others not.
    report.rows[:] = [r for r in report.rows if r["file"] != rel]
    report.sheet_rows[:] = [s for s in report.sheet_rows if s[0] != rel]
