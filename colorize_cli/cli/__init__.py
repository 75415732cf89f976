"""The ``colorize`` command: a thin Typer layer over the library, one module per command.

``colorize images`` (:mod:`.images`), ``colorize video`` (:mod:`.video`), ``colorize models``
(:mod:`.models`) and ``colorize evaluate`` (:mod:`.evaluate`). Each command parses its options,
calls one library function and reports through :class:`~colorize_cli.cli.common.Reporter`,
which owns the progress bar, JSON lines, error lines, counts and the exit code.

Exit codes (:mod:`colorize_cli.cli.common`): 0 all done (skipped files count as done); 1 some
inputs failed; 2 usage error — bad options, an unusable model, or no valid input at all (every
path named was missing); 130 interrupted. Per-file problems are one line each on stderr:
``colorize: error: <path>: <reason>``.
"""

from __future__ import annotations

import os

from colorize_cli.cli import evaluate, images, models, video  # noqa: F401  (each registers its command)
from colorize_cli.cli.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, app

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "app", "main"]


def main() -> None:
    """The console script: run the app; a closed pipe (``colorize ... | head``) is not an error."""
    # Click's own usage errors already exit 2; everything else we raise is typer.Exit.
    try:
        app(prog_name="colorize")
    except BrokenPipeError:
        os._exit(EXIT_OK)
