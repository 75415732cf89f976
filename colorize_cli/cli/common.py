"""What every command shares: the Typer app, exit codes, parameter → flag names, the reporter and
the model loading (the options themselves are declared in :mod:`colorize_cli.cli.options`).

:class:`Reporter` is the one owner of what a command tells the user: the progress bar, JSON
lines, notes, warnings, error lines, the counts and the exit code. Library errors name
parameters (``render_size``); :func:`flagged` turns them into the flags the user typed
(``--render-size``), and :meth:`Reporter.guard` maps errors to exit codes.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Annotated, Any, NoReturn

import typer

from colorize_cli import __version__
from colorize_cli.cli.options import ModelArgs
from colorize_cli.errors import ColorizeError, InputError, Interrupted, ModelError, ParameterError

EXIT_OK = 0  # everything done (skipped outputs count as done)
EXIT_FAILED = 1  # some inputs failed
EXIT_USAGE = 2  # bad options, no usable model, or no valid input at all
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM, as shells report SIGINT

#: Library parameter -> the flag that sets it.
FLAGS = {
    "batch_size": "--batch-size", "codec": "--codec", "confidence": "--confidence", "crf": "--crf",
    "csv": "--csv", "decay": "--decay", "sheet": "--sheet",
    "device": "--device", "precision": "--precision", "max_pixels": "--max-pixels", "model": "--model", "models_dir": "--models-dir",
    "output": "-o", "preset": "--preset", "render_size": "--render-size", "scene_threshold": "--scene-threshold",
    "segment_seconds": "--segment-seconds", "temperature": "--temperature", "threads": "--threads",
    "window": "--window", "ray": "--ray", "workers": "--workers", "split_seconds": "--split-seconds",
    "hints": "--hints", "keyframes": "--keyframes", "keyframe_reach": "--keyframe-reach",
    "sim_hints": "--sim-hints", "sim_keyframes": "--sim-keyframes", "fmt": "--format", "reference": "--reference",
    "sim_reference": "--sim-reference",
}
# Multi-word parameter names (and "crf", "fmt") are unambiguous in running text; words such as
# "window" or "codec" are not, so only ParameterError.param maps those.
# Only a parameter name standing as a word of the sentence is rewritten, never part of a file
# name (render_size.png, /data/max_pixels/) or of a value the user gave (x:crf=0, 'crf').
_IN_TEXT = re.compile(r"(?<![\w./:=\\'\"-])(" + "|".join(k for k in FLAGS if "_" in k or k in ("crf", "fmt"))
                      + r")(?![\w/:=\\'\"-]|\.\w)")

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Colourise black-and-white photos and films with self-describing ONNX models.")


def flagged(err: BaseException | str, keep: Sequence[str] = ()) -> str:
    """A library message in the CLI's words: parameter names become flags, except inside the
    paths in ``keep`` and an input's or model's own path, which are echoed as they are (a file
    named ``old render_size scan.png`` has spaces round the word, so the word rule alone took it)."""
    if isinstance(err, ParameterError):
        return f"{FLAGS.get(err.param, err.param)} {_flag_words(err.detail, keep)}"
    if isinstance(err, (InputError, ModelError)):
        return f"{err.path}: {_flag_words(err.reason, (err.path, *keep))}"
    return _flag_words(str(err), keep)


def _flag_words(text: str, keep: Sequence[str]) -> str:
    spans = sorted({k for k in keep if k}, key=len, reverse=True)
    parts = re.split("(" + "|".join(map(re.escape, spans)) + ")", text) if spans else [text]
    # re.split with one group: the kept paths are the odd parts
    return "".join(part if i % 2 else _IN_TEXT.sub(lambda m: FLAGS[m.group(1)], part) for i, part in enumerate(parts))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"colorize {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print the version and exit.")] = False) -> None:
    pass




class Reporter:
    """Everything one command run tells the user, and its exit code.

    Notes and errors go to stderr as ``colorize: ...`` lines, JSON lines to stdout; a progress
    bar is shown only on a terminal and never with ``--json`` or ``--quiet``."""

    def __init__(self, as_json: bool = False, quiet: bool = False, unit: str = "images", noun: str = "file(s)") -> None:
        self.as_json, self.quiet, self.unit, self.noun = as_json, quiet, unit, noun
        self.total: int | None = None  # inputs this run will do, once known (for the interrupt message)
        self.counts: Counter[str] = Counter()
        self.show_bar = not quiet and not as_json and sys.stdout.isatty()
        self.progress: Any = None
        self.task: Any = None

    # ---- lines

    def error(self, message: BaseException | str, keep: Sequence[str] = ()) -> None:
        """One ``colorize: error: ...`` line on stderr, in the CLI's words (:func:`flagged`; the
        paths in ``keep`` as they are)."""
        sys.stderr.write(f"colorize: error: {flagged(message, keep)}\n")
        sys.stderr.flush()

    def note(self, message: str) -> None:
        """One ``colorize: ...`` line on stderr, unless quiet."""
        if not self.quiet:
            sys.stderr.write(f"colorize: {message}\n")
            sys.stderr.flush()

    def warning(self, message: str) -> None:
        """One ``colorize: warning: ...`` line on stderr, unless quiet or JSON."""
        if not self.quiet and not self.as_json:
            sys.stderr.write(f"colorize: warning: {flagged(message)}\n")

    def json_line(self, row: Any) -> None:
        """One JSON line on stdout, with ``--json``."""
        if self.as_json:
            sys.stdout.write(json.dumps(row) + "\n")
            sys.stdout.flush()

    # ---- results and counts

    def result(self, status: str, input: str, error: str | None, row: dict[str, Any], advance: bool = True) -> None:
        """One input done: counted by ``status`` ("ok", "skipped", "error"), an error line if it
        failed, its JSON line, and a step of the progress bar."""
        self.counts[status] += 1
        if status == "error":
            self.error(f"{input}: {error}", keep=(str(input),))
        self.json_line(row)
        if advance:
            self.advance()

    def missing(self, missing: list[tuple[str, str]], have_jobs: bool, error_row: Callable[[str, str], Any],
                what: str) -> None:
        """One error line (and JSON row) per input that cannot be used; then, with nothing left
        to do, exit: usage error when every input named was unusable, else 0 with a note."""
        for path, reason in missing:
            self.error(f"{path}: {reason}", keep=(str(path),))
            self.json_line(error_row(path, reason))
        self.counts["missing"] += len(missing)
        if not have_jobs:
            if missing:
                raise typer.Exit(EXIT_USAGE)
            self.note(f"no {what} found")
            raise typer.Exit(EXIT_OK)

    @property
    def failed(self) -> int:
        """Inputs that failed or could not be found."""
        return self.counts["error"] + self.counts["missing"]

    def exit(self, code: int | None = None) -> NoReturn:
        """End the command: ``code``, or 1 when something failed, else 0."""
        raise typer.Exit(code if code is not None else (EXIT_FAILED if self.failed else EXIT_OK))

    def usage_error(self, err: BaseException | str) -> NoReturn:
        """An error line and exit 2."""
        self.error(err)
        raise typer.Exit(EXIT_USAGE)

    # ---- progress

    @contextlib.contextmanager
    def bar(self, description: str | None = None, total: int | None = None) -> Iterator[None]:
        """Show the progress bar (if any) while the body runs; with ``description``, one task."""
        if not self.show_bar:
            yield
            return
        from colorize_cli.cli.progress import make_progress

        self.progress = make_progress(self.unit)
        with self.progress:
            if description is not None:
                self.task = self.progress.add_task(description, total=total)
            yield

    def start_task(self, description: str, total: int | None) -> None:
        """A new bar line (one per film)."""
        if self.progress is not None:
            self.task = self.progress.add_task(description, total=total)

    def advance(self, n: int = 1) -> None:
        """``n`` more units done."""
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task, n)

    def update(self, completed: int, total: int | None) -> None:
        """Set the bar to ``completed`` of ``total``."""
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=completed, total=total)

    def complete_task(self) -> None:
        """The estimate was only an estimate: show the current task complete."""
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, total=next(t.completed for t in self.progress.tasks if t.id == self.task))
            self.task = None

    # ---- errors to exit codes

    def _done(self) -> str:
        return f"{self.counts['ok'] + self.counts['skipped']} of {self.total} {self.noun}"

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Library errors while a command runs: Ctrl-C or SIGTERM says what is done and how to
        resume (130); any other :class:`ColorizeError` (bad option, unusable model) is 2."""
        try:
            yield
        except Interrupted as exc:
            self.error(f"{exc.src}: interrupted; {self._done()} done, and {exc.frames_kept} finished frames of "
                       f"this one are kept in {exc.work_dir}; run the same command again to resume",
                       keep=(str(exc.src), str(exc.work_dir)))
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except KeyboardInterrupt:
            if self.total is None:
                self.error("interrupted")
            elif self.noun == "image(s)":
                self.error(f"interrupted; {self._done()} are done and kept; run the same command again to resume "
                           "(finished outputs are skipped)")
            else:
                self.error(f"interrupted; {self._done()} done; run the same command again to resume")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except ColorizeError as err:
            self.usage_error(err)


def load_pipeline(reporter: Reporter, args: ModelArgs, confidence: bool = False) -> Any:
    """:func:`colorize_cli.load` for a command's model options (``args``): an unusable model or
    option is a usage error (exit 2), else a note says which model runs where; ``--threads`` over
    the CPUs is capped with a warning, and bins-only options given to another model (``confidence``:
    ``--confidence`` was given) get one note."""
    from colorize_cli.api import capped_threads, load, unused_options
    from colorize_cli.model.registry import search_problems

    for problem in search_problems(args.models_dir or []):
        reporter.warning(problem)
    use, cap = capped_threads(args.threads)
    if cap is not None:
        reporter.warning(f"--threads {args.threads} is more than the {cap} CPUs available; using {cap}")
    with reporter.guard():
        pipeline = load(args.model, args.device.value, threads=use, batch_size=args.batch_size,
                        render_size=args.render_size, temperature=args.temperature, jbu=args.jbu,
                        models_dirs=args.models_dir or [], precision=args.precision.value)
    reporter.note(pipeline.engine.describe(args.verbose))
    given = [name for name, on in (("temperature", args.temperature is not None), ("confidence", confidence)) if on]
    unused = [FLAGS[name] for name in unused_options(pipeline, given)]
    if unused:
        reporter.note(f"{' and '.join(unused)} apply to bins models only; model {pipeline.info.name} is an "
                      f"{pipeline.info.kind} model, so {'they have' if len(unused) > 1 else 'it has'} no effect")
    return pipeline


def ray_connect(reporter: Reporter, address: str) -> None:
    """Join the Ray cluster of ``--ray``, or exit 2 with the reason (Ray missing, nothing at
    the address)."""
    from colorize_cli.distributed import connect

    with reporter.guard():
        connect(address)


def stdin_for(inputs: list[str]) -> Any:
    """sys.stdin when ``-`` (paths on stdin) is among the inputs, else None; ``-`` twice is a usage error."""
    if inputs.count("-") > 1:
        raise typer.BadParameter("'-' (paths on stdin) may be given once", param_hint="INPUTS")
    return sys.stdin if "-" in inputs else None
