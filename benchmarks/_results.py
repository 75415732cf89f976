"""Where the benchmarks put their numbers: benchmarks/results/<name>.json and a row in
benchmarks/README.md (shared by the bench_*.py scripts)."""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "benchmarks" / "README.md"


def stamp(results: dict) -> dict:
    """Add the machine and the date (UTC) to ``results``, for its JSON and its README row."""
    results["machine"] = f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPUs, {platform.python_version()}"
    results["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return results


def save(name: str, results: dict, row: str, marker: str | None = None) -> None:
    """Write ``results`` to benchmarks/results/<name>.json and add ``row`` (one table row, or
    several joined by newlines) to benchmarks/README.md: at the end of the table that follows
    ``marker`` when the README has it, else at the end of the file."""
    dest = ROOT / "benchmarks" / "results" / f"{name}.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(results, indent=2) + "\n")
    text = README.read_text(encoding="utf-8")
    if marker and marker in text:
        # Rows go at the end of this table, which need not be the end of the file.
        head, tail = text.split(marker, 1)
        lines = tail.split("\n")
        i = 1
        while i < len(lines) and lines[i].startswith("|"):
            i += 1
        lines.insert(i, row)
        README.write_text(head + marker + "\n".join(lines), encoding="utf-8")
    else:
        with open(README, "a", encoding="utf-8") as fh:
            fh.write(row + "\n")
    print(f"wrote {dest.relative_to(ROOT)} and a row in benchmarks/README.md")
