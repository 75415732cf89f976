"""The contact sheet: gray | each model | truth, one row per file, labelled."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from colorize_cli import metrics as M
from colorize_cli.errors import EvaluateError
from colorize_cli.io.image_io import write_image
from colorize_cli.evaluate.report import Report

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
