"""``colorize evaluate`` as a library: find files, colourise them, score them against the
originals, and write the report (``from colorize_cli import evaluate as ev``)."""

from colorize_cli.evaluate.score import (  # noqa: F401
    IMAGE_EXTS, VIDEO_EXTS, GRAY, TRUTH, VIDEO_KEYS, Item, discover, PairMatch, match_pairs,
    read_rgb, read_video, SMOOTH_UNAVAILABLE, Colorizer, colorizer_from_pipeline, hinted_colorizer,
    keyframed_colorizer, Report, ProgressFn, FrameSource, evaluate_dataset, evaluate_pairs,
    summarise_rows, TABLE_COLUMNS, VIDEO_COLUMNS, format_stat, summary_table, report_notes,
    to_jsonable, from_jsonable, report_to_dict, write_json, read_json, write_csv, SHEET_PAD,
    SHEET_HEADER, SHEET_LABEL, SHEET_BG, SHEET_FG, sheet_tile, sheet_size, make_sheet, write_sheet,
    EvaluateError,
)
