"""The report of an evaluation: rows, per-model summaries (mean ± std, infinities counted),
the rich table, and JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from colorize_cli import metrics as M
from colorize_cli.io.image_io import atomic_write_bytes


GRAY = "gray"
TRUTH = "truth"
VIDEO_KEYS: tuple[str, ...] = ("cdc", "warp")

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
