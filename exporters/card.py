"""Markdown tables for the model cards, from `colorize evaluate --json` reports.

    colorize evaluate ../shared/data/eval/bsds500-test --model a --model b --json > bsds.json
    python -m exporters.card bsds.json miniplaces.json

    python -m exporters.semantic --model a --model b --json semantic.json
    python -m exporters.card bsds.json imagenet.json --semantic semantic.json

Numbers are copied from the reports, never typed by hand. "CI / truth" is the ratio of the mean
colourfulness to the truth's mean (the "no sepia wash" test); the per-image mean ratio is beside it.
With ``--semantic``, the table of the same data set gains the ImageNet classifier's top-1 / top-5
(truth = the colour photos); a semantic report with no matching table gets a table of its own.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

COLUMNS = [("psnr", "PSNR RGB (dB)", 2), ("ssim", "SSIM RGB", 4), ("ab_rmse", "ab RMSE", 2),
           ("delta_e", "ΔE2000", 2), ("cast", "cast", 2),
           ("ci", "CI", 1)]
SEMANTIC_HEAD = ["ImageNet top-1 %", "ImageNet top-5 %"]


def _cell(stats: dict, digits: int) -> str:
    if not stats or stats.get("mean") is None:
        return "–"
    inf = f" (+{stats['n_inf']} ∞)" if stats.get("n_inf") else ""
    return f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}{inf}"


def _dataset(report: dict) -> str:
    source = report.get("source", {})
    return Path(source.get("dataset") or source.get("truth") or "?").name


def _semantic_cells(semantic: dict | None, name: str) -> list[str]:
    if semantic is None:
        return []
    acc = semantic["summary"].get(name)
    return [f"{acc['top1']:.1f}", f"{acc['top5']:.1f}"] if acc else ["–", "–"]


def semantic_table(report: dict) -> str:
    """The `exporters.semantic` report alone: top-1 / top-5 per version of the photos."""
    lines = ["| version | " + " | ".join(SEMANTIC_HEAD) + " |", "|---|---|---|"]
    for name in report["summary"]:
        label = "colour (truth)" if name == "truth" else name
        lines.append(f"| {label} | " + " | ".join(_semantic_cells(report, name)) + " |")
    return f"**{_dataset(report)}** ({report['n']} images, Lite0 ImageNet classifier)\n\n" + "\n".join(lines)


def table(report: dict, semantic: dict | None = None) -> str:
    """The card table of one `colorize evaluate` report, with the semantic columns when
    ``semantic`` (an `exporters.semantic` report on the same data set) is given."""
    summary = report["summary"]
    truth_ci = summary["truth"]["ci"]["mean"]
    head = ["model"] + [c[1] for c in COLUMNS] + ["CI / truth", "mean per-image CI ratio"]
    head += SEMANTIC_HEAD if semantic else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, stats in summary.items():
        if name == "truth":
            continue
        cells = [_cell(stats.get(key, {}), d) for key, _, d in COLUMNS]
        ratio = stats["ci"]["mean"] / truth_ci if truth_ci else float("nan")
        cells += [f"{ratio:.2f}", _cell(stats.get("ci_ratio", {}), 2)] + _semantic_cells(semantic, name)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    truth = ["–"] * (len(COLUMNS) - 1) + [_cell(summary["truth"]["ci"], 1), "1.00", "–"] + _semantic_cells(semantic, "truth")
    lines.append("| truth | " + " | ".join(truth) + " |")
    n = len({r["file"] for r in report.get("rows", [])})
    return f"**{_dataset(report)}** ({n} images)\n\n" + "\n".join(lines)


def merge_reports(reports: list[dict]) -> list[dict]:
    """One report per data set: models scored in separate runs (e.g. retrained ones) share a table.

    The gray and truth rows are the same in every run on one data set; the first run's are kept.
    """
    merged: dict[str, dict] = {}
    for r in reports:
        key = _dataset(r)
        if key not in merged:
            merged[key] = {**r, "summary": dict(r["summary"]), "rows": list(r.get("rows", []))}
            continue
        into = merged[key]
        for name, stats in r["summary"].items():
            into["summary"].setdefault(name, stats)
        into["rows"] += r.get("rows", [])
    return list(merged.values())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m exporters.card", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reports", type=Path, nargs="*")
    ap.add_argument("--semantic", type=Path, action="append", default=[],
                    help="an `exporters.semantic --json` report (repeatable)")
    args = ap.parse_args(argv)
    reports = merge_reports([json.loads(p.read_text()) for p in args.reports])
    semantics = {_dataset(r): r for r in merge_reports([json.loads(p.read_text()) for p in args.semantic])}
    out = [table(r, semantics.pop(_dataset(r), None)) for r in reports]
    out += [semantic_table(r) for r in semantics.values()]
    print("\n\n".join(out))


if __name__ == "__main__":
    main()
