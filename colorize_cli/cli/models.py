"""``colorize models``: what is installed and where it would run (:func:`registry.describe_models`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from colorize_cli.cli.common import EXIT_FAILED, EXIT_OK, Reporter, app
from colorize_cli.cli.help_format import ReadableCommand
from colorize_cli.cli.options import Device, DeviceOpt, ModelsDirOpt


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def _file(path: str, folders: list[str]) -> str:
    """A model's file name and the number of its folder in the list under the table."""
    return f"{Path(path).name} ({folders.index(str(Path(path).parent)) + 1})"


def _table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    # Full paths made the table 190 columns wide: the table names each file, and the folders
    # they are in are listed once below it (--json has every full path).
    folders = list(dict.fromkeys(str(Path(r["path"]).parent) for r in rows))
    table = Table(title="colorize models", title_justify="left")
    # The provider is one per machine and stands in the caption, which keeps the file names whole.
    providers = sorted({r["provider"].replace("ExecutionProvider", "") for r in rows if not r["error"]})
    for col in ("name", "version", "kind", "bins", "work size", "precision", "file size", "sha256", "file"):
        table.add_column(col, no_wrap=col != "file", overflow="fold", min_width=24 if col == "file" else None)
    for r in rows:
        name = r["name"] + (" *" if r["default"] else "")
        if r["error"]:
            table.add_row(name, r.get("version", "-"), r.get("kind", "invalid"), "-", "-", r.get("precision", "-"),
                          _size(r["size_bytes"]), r["sha256"][:12], _file(r["path"], folders), style="red")
            continue
        # A float file whose int8 variant is what --model NAME runs here reads "float→int8".
        runs = r["precision"] if r["precision"] != "float" or r["runs"] == r["path"] else "float→int8"
        table.add_row(name, r["version"], r["kind"], str(r["bins"] or "-"), str(r["working_size"]), runs,
                      _size(r["size_bytes"]), r["sha256"][:12], _file(r["path"], folders))
    table.caption = (f"runs on: {', '.join(providers) or '-'}; * default model; float→int8: --model NAME runs its int8 variant here (--precision auto: int8 "
                     "on the CPU when installed, float on CUDA); --json gives full paths, full sha256 and every field")
    console = Console()
    if not console.is_terminal:
        console.width = 124  # piped output: one row per model, not folded
    console.print(table)
    for i, folder in enumerate(folders, 1):
        console.print(f"({i}) {folder}", markup=False, highlight=False, soft_wrap=True)


@app.command(cls=ReadableCommand)
def models(
    models_dir: ModelsDirOpt = None,
    device: DeviceOpt = Device.auto,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON list on stdout, for scripts.")] = False,
) -> None:
    """List installed models and the provider each would run on."""
    from colorize_cli.model.registry import ENV_VAR, describe_models, duplicate_names, search_dirs, search_problems

    rep = Reporter(as_json)
    for problem in search_problems(models_dir or []):
        rep.warning(problem)
    rows = describe_models(models_dir or [], device.value)
    for row in rows:
        if row["error"]:
            rep.error(f"{row['path']}: {row['error']}", keep=(str(row['path']),))
    for name, paths in duplicate_names(rows).items():
        rep.warning(f"{len(paths)} models are named {name}: {', '.join(str(p) for p in paths)}; "
                    f"--model {name} takes the first (--models-dir, then {ENV_VAR}, then the installed ones)")
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    elif not rows:
        dirs = ", ".join(str(d) for d in search_dirs(models_dir or [])) or "(none)"
        typer.echo(f"No models installed. Looked in: {dirs}. Add .onnx files (docs/models.md) to weights/, "
                   f"set {ENV_VAR}, or pass --models-dir.")
    else:
        _table(rows)
    rep.exit(EXIT_FAILED if any(r["error"] for r in rows) else EXIT_OK)
