"""Markdown tables for the model cards, from `colorize evaluate --json` reports.

    colorize evaluate ../shared/data/eval/bsds500-test --model a --model b --json > bsds.json
    python -m exporters.card bsds.json miniplaces.json

Numbers are copied from the reports, never typed by hand. "CI / truth" is the ratio of the mean
colourfulness to the truth's mean (the "no sepia wash" test); the per-image mean ratio is beside it.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

COLUMNS = [("psnr", "PSNR RGB (dB)", 2), ("ssim", "SSIM RGB", 4), ("ab_rmse", "ab RMSE", 2),
           ("delta_e", "ΔE2000", 2), ("ci", "CI", 1)]


def _cell(stats: dict, digits: int) -> str:
    if not stats or stats.get("mean") is None:
        return "–"
    inf = f" (+{stats['n_inf']} ∞)" if stats.get("n_inf") else ""
    return f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}{inf}"


def table(report: dict) -> str:
    summary = report["summary"]
    truth_ci = summary["truth"]["ci"]["mean"]
    head = ["model"] + [c[1] for c in COLUMNS] + ["CI / truth", "mean per-image CI ratio"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, stats in summary.items():
        if name == "truth":
            continue
        cells = [_cell(stats.get(key, {}), d) for key, _, d in COLUMNS]
        ratio = stats["ci"]["mean"] / truth_ci if truth_ci else float("nan")
        cells += [f"{ratio:.2f}", _cell(stats.get("ci_ratio", {}), 2)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append(f"| truth | – | – | – | – | {_cell(summary['truth']['ci'], 1)} | 1.00 | – |")
    source = report.get("source", {})
    name = Path(source.get("dataset") or source.get("truth") or "?").name
    n = len({r["file"] for r in report.get("rows", [])})
    return f"**{name}** ({n} images)\n\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m exporters.card", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reports", type=Path, nargs="+")
    args = ap.parse_args(argv)
    print("\n\n".join(table(json.loads(p.read_text())) for p in args.reports))


if __name__ == "__main__":
    main()
