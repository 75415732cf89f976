"""The progress bars of ``colorize images`` and ``colorize video``: count, rate and ETA (rich)."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, \
    TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text


class RateColumn(ProgressColumn):
    def __init__(self, unit: str = "images") -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        """Items per second, or -- before the first."""
        speed = task.finished_speed or task.speed
        return Text(f"-- {self.unit}/s" if speed is None else f"{speed:.2f} {self.unit}/s",
                    style="progress.data.speed")


def make_progress(unit: str = "images") -> Progress:
    """The progress bar used by every command."""
    # Errors go to stderr; when that is the same terminal, rich routes them above the bar.
    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    RateColumn(unit), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    console=Console(file=sys.stdout), redirect_stdout=False, redirect_stderr=sys.stderr.isatty())
