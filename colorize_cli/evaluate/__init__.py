"""``colorize evaluate``: score colourisations against the colour originals (issue #3).

Two modes:

* **dataset** — a folder of colour photos (or clips) is made gray (L of CIE Lab), colourised
  by each model through the runtime's own pipeline, and scored against the originals;
* **pairs** — ``--pred DIR --truth DIR`` scores outputs made by anything, matched by relative
  path, then by relative path without extension, then by unique file stem.

In both modes the **gray baseline** (the truth's L with no colour, see
:func:`colorize_cli.metrics.gray_baseline`) is scored too, so every number has its floor
beside it, and the truth's own colourfulness / harmony / balance are reported as the
``truth`` row.  Measures are in :mod:`colorize_cli.metrics`; this package finds the files
(``data``), wraps the models (``colourisers``), runs the loop (``score``), summarises (mean ± std, infinities counted rather than averaged) and writes
JSON, CSV (``report``) and a contact sheet (``sheet``).  The CLI command is a thin layer over :func:`evaluate_dataset`,
:func:`evaluate_pairs`, :func:`summary_table` and the writers.

Files are found, read and written with the runtime's own I/O: discovery is
:func:`colorize_cli.io.inputs.discover` (same extensions, hidden entries skipped), photos are read
by :func:`colorize_cli.io.image_io.read_image` and clips by :mod:`colorize_cli.film.read` (the
same stream choice and damage handling as ``colorize video``), both under ``max_pixels``; every
file written goes to a temporary name first. Models run through
:meth:`Pipeline.colorize_L <colorize_cli.pipeline.Pipeline.colorize_L>` and
:func:`colorize_cli.frames.colorize_frames`, the commands' own paths.
"""

from colorize_cli.errors import EvaluateError
from colorize_cli.evaluate.data import (
    IMAGE_EXTS, VIDEO_EXTS, Item, discover, find_items, PairMatch, match_pairs, read_rgb, read_video,
)
from colorize_cli.evaluate.colourisers import (
    SMOOTH_UNAVAILABLE, Colorizer, colorizer_from_pipeline, hinted_colorizer, keyframed_colorizer, referenced_colorizer,
)
from colorize_cli.evaluate.report import (
    GRAY, TRUTH, VIDEO_KEYS, Report, summarise_rows, TABLE_COLUMNS, VIDEO_COLUMNS, format_stat, summary_table,
    report_notes, to_jsonable, from_jsonable, report_to_dict, write_json, read_json, write_csv,
)
from colorize_cli.evaluate.sheet import (
    SHEET_PAD, SHEET_HEADER, SHEET_LABEL, SHEET_BG, SHEET_FG, sheet_tile, sheet_size, make_sheet, write_sheet,
)
from colorize_cli.evaluate.score import (
    ProgressFn, FrameSource, evaluate_dataset, evaluate_pairs,
)

__all__ = [
    "EvaluateError", "IMAGE_EXTS", "VIDEO_EXTS", "Item", "discover", "find_items", "PairMatch", "match_pairs", "read_rgb",
    "read_video", "SMOOTH_UNAVAILABLE", "Colorizer", "colorizer_from_pipeline", "hinted_colorizer",
    "keyframed_colorizer", "referenced_colorizer", "GRAY", "TRUTH", "VIDEO_KEYS", "Report", "summarise_rows", "TABLE_COLUMNS",
    "VIDEO_COLUMNS", "format_stat", "summary_table", "report_notes", "to_jsonable", "from_jsonable",
    "report_to_dict", "write_json", "read_json", "write_csv", "SHEET_PAD", "SHEET_HEADER", "SHEET_LABEL",
    "SHEET_BG", "SHEET_FG", "sheet_tile", "sheet_size", "make_sheet", "write_sheet", "ProgressFn",
    "FrameSource", "evaluate_dataset", "evaluate_pairs",
]
