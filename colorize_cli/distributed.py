"""Running ``colorize images`` and ``colorize video`` on a Ray cluster, through Ray Data.

Optional: ``pip install 'colorize[ray]'``. The driver (the machine where the command runs)
lists the inputs once, decides every output path and skips finished outputs (so a rerun
resumes), exactly as a local run does; what is left goes into a Ray Dataset, mapped by a pool
of long-lived actors that each hold one engine (one GPU each when the cluster has GPUs,
``num_gpus=1``, else CPUs). The actors call the same library functions as a local run
(:func:`colorize_cli.batch.colorize_files`, :func:`colorize_cli.film.run.colorize_video`), so
outputs are the same files, written atomically (temporary name, then rename) on storage that
every node sees; the driver prints the same JSON lines, error lines and exit codes, and its
own progress bar.

**Failures.** A worker process that dies (killed, out of memory, its node lost) is restarted
by Ray Data and its block of files retried (its defaults: actors restarted, tasks retried); outputs it
had finished are complete files and are not redone within the run, and a half-written one
never appears under its real name. Errors that are about an input (a damaged file) are
results, as locally; a model failure ends the run.

**Films.** One film per task. A film longer than ``split_seconds`` is cut into *pieces* of
whole resumable segments (:mod:`colorize_cli.film.segments`), one per task: the piece starting at
frame ``s`` first replays the T frames before ``s`` (the kernel's window; one frame without
``--smooth``, the scene detector's reference) through the scene detector and the model, without
encoding them, exactly as a local resume does, so the temporal kernel is exact at the seam. The
driver prepares the film's work folder once, and joins the segments when every piece is done:
the film equals the single-machine one (tested within 1 level).

The workers build their own copy of the driver's pipeline with :func:`colorize_cli.load`
(:func:`worker_args`: the model file by path, the same device request and stage settings).

Public API::

    connect(address) -> None                    # "auto", "local" or host:port
    cluster_workers(requested=None) -> (workers, num_gpus)
    worker_args(pipeline, threads=None) -> dict    # what each worker passes to colorize_cli.load
    run_images(pipeline, jobs, options, on_result, workers=None, block=4, threads=None) -> [Result]
    run_videos(pipeline, jobs, options, on_report, split_seconds=None, workers=None, on_frames=None,
               threads=None) -> [VideoReport]
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from colorize_cli.batch import BatchOptions, Result, check_job
from colorize_cli.errors import ColorizeError, InputError, ParameterError, failure_reason
from colorize_cli.io.inputs import Job, output_path
from colorize_cli.pipeline import Pipeline
from colorize_cli.film.options import VideoOptions, VideoReport
from colorize_cli.film.plan import Piece, ResumePlan, VideoJob, plan_pieces
from colorize_cli.film.run import Film

__all__ = ["cluster_workers", "connect", "run_images", "run_videos", "worker_args"]


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ColorizeError("--ray needs Ray: pip install 'colorize[ray]' (or pip install 'ray[data]')") from None
    return ray


def connect(address: str) -> None:
    """Join the cluster at ``address`` (``auto``: the one this machine belongs to, as found by
    RAY_ADDRESS or a running ``ray start``; ``local``: start a private one-machine cluster)."""
    ray = _ray()
    if ray.is_initialized():
        return
    try:
        # No runtime_env: one makes every worker a fresh process with that environment instead of
        # one of the raylet's prestarted ones (1.4 s more before the first result, measured).
        ray.init(address=None if address == "local" else address, logging_level=logging.WARNING,
                 log_to_driver=False, configure_logging=True)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ParameterError("ray", f"{address}: cannot join the Ray cluster "
                             f"({str(exc).strip().splitlines()[0]})") from None
    _cluster_messages_to_stderr()
    from ray.data import DataContext

    for name in ("ray", "ray.data"):  # execution notes and warnings about our own settings
        logging.getLogger(name).setLevel(logging.ERROR)
    ctx = DataContext.get_current()
    ctx.enable_progress_bars = False  # the driver shows its own, as a local run does
    ctx.print_on_execution_start = False
    ctx.verbose_progress = False


def _cluster_messages_to_stderr() -> None:
    """Ray prints the cluster's error events (a worker died, its task is retried) to stdout,
    which is for our JSON lines: send them to stderr, with our other messages."""
    try:
        import ray._private.worker as w
    except ImportError:
        return
    original = getattr(w, "print_to_stdstream", None)
    if original is None or getattr(original, "_colorize", False):
        return

    def to_stderr(data: dict, *args: Any, **kwargs: Any) -> None:
        original({**data, "is_err": True}, *args, **kwargs)

    to_stderr._colorize = True  # type: ignore[attr-defined]
    w.print_to_stdstream = to_stderr


def cluster_workers(requested: int | None = None) -> tuple[int, float]:
    """(number of actors, GPUs per actor): one per GPU when the cluster has GPUs, else one per
    node, unless ``requested``."""
    if requested is not None and requested < 1:
        raise ParameterError("workers", f"must be at least 1, got {requested}")
    ray = _ray()
    gpus = int(ray.cluster_resources().get("GPU", 0))
    nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
    if gpus:
        return (requested or gpus), 1.0
    return (requested or max(1, nodes)), 0.0


def worker_args(pipeline: Pipeline, threads: int | None = None) -> dict[str, Any]:
    """The keyword arguments of :func:`colorize_cli.load` that rebuild ``pipeline`` on a
    worker: the model by its file (so every node must see it at the same path), the device
    as requested (a worker may have the GPU the driver lacks) and every stage setting."""
    return {"model": str(pipeline.info.path), "device": pipeline.engine.requested_device,
            "precision": pipeline.engine.requested_precision, "threads": threads,
            "batch_size": pipeline.engine.batch_size, "render_size": pipeline.render_size,
            "temperature": pipeline.temperature, "jbu": pipeline.jbu}


def _remote_args(num_gpus: float) -> dict[str, Any]:
    # Ray Data restarts dead actors and retries their tasks by default (system failures only;
    # an exception raised by our code is not retried).
    return {"num_cpus": 0 if num_gpus else 1, "num_gpus": num_gpus}


# ------------------------------------------------------------------------------------ images


class _ImageWorker:
    """One engine per actor, made once; each block of rows is a local batch run."""

    def __init__(self, make_args: dict[str, Any], options: dict[str, Any]) -> None:
        from colorize_cli.api import load

        self.pipeline = load(**make_args)
        self.options = BatchOptions(**{k: Path(v) if k in ("out_dir", "confidence_dir") and v else v
                                       for k, v in options.items()})

    def __call__(self, rows: dict[str, Any]) -> dict[str, list]:
        from colorize_cli.batch import colorize_files

        jobs = [Job(Path(s), Path(r)) for s, r in zip(rows["src"], rows["rel"])]
        # The driver already skipped finished outputs; one that exists now was written by a
        # worker that died after finishing it (its block is being retried): keep it.
        opts = BatchOptions(**{**asdict(self.options), "overwrite": False})
        got: list[Result] = []
        colorize_files(self.pipeline, jobs, opts, got.append)
        out: dict[str, list] = {k: [] for k in ("input", "output", "status", "seconds", "error")}
        for res in got:
            for k, v in res.as_dict().items():
                out[k].append("" if v is None else v)
        return out


def run_images(pipeline: Pipeline, jobs: Sequence[Job], options: BatchOptions, on_result: Callable[[Result], None],
               workers: int | None = None, block: int = 4, threads: int | None = None) -> list[Result]:
    """:func:`colorize_cli.batch.colorize_files` on the cluster (joined first with
    :func:`connect`): checks and skips on the driver, the rest in blocks of ``block`` files (at
    most ``block``; fewer when there are few files per worker) mapped by ``workers`` actors,
    each with its own copy of ``pipeline``; ``on_result`` is called here, once per file, as
    results arrive."""
    if block < 1:
        raise ParameterError("batch_size", f"must be at least 1, got {block}")
    ray = _ray()
    make_args = worker_args(pipeline, threads)
    results: list[Result] = []

    def report(res: Result) -> None:
        results.append(res)
        on_result(res)

    claimed: dict[Path, Path] = {}
    todo: list[dict[str, str]] = []
    for job in jobs:
        dst, res = check_job(job, options, claimed)
        if res is not None:
            report(res)
        else:
            todo.append({"src": str(job.src), "rel": str(job.rel)})
    if not todo:
        return results
    n, gpus = cluster_workers(workers)
    n = min(n, len(todo))
    per_block = max(1, min(block, math.ceil(len(todo) / n)))
    opts = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()}
    # Outputs the driver would skip are already gone from ``todo``; workers see overwrite=False
    # only so that a retried block keeps what its dead worker finished. --overwrite's files
    # were removed from the way here, so a finished one is never older than this run.
    if options.overwrite:
        for row in todo:
            dst = output_path(Job(Path(row["src"]), Path(row["rel"])), options.out_dir, options.fmt)
            if dst.exists():
                os.unlink(dst)
    ds = ray.data.from_items(todo, override_num_blocks=math.ceil(len(todo) / per_block))
    mapped = ds.map_batches(_ImageWorker, fn_constructor_kwargs={"make_args": make_args, "options": opts},
                            batch_size=per_block, compute=ray.data.ActorPoolStrategy(size=n),
                            **_remote_args(gpus))
    try:
        for row in mapped.iter_rows():
            report(Result(input=row["input"], output=row["output"] or None, status=row["status"],
                          seconds=float(row["seconds"]), error=row["error"] or None))
    except Exception as exc:  # the cluster's wrapping of a worker's ModelError and the like
        raise ColorizeError(_first_line(exc)) from None
    return results


def _first_line(exc: BaseException) -> str:
    cause = exc
    while getattr(cause, "cause", None) is not None:
        cause = cause.cause  # RayTaskError -> the worker's own exception
    text = str(cause).strip().splitlines()
    msg = next((ln for ln in reversed(text) if ln.strip()), type(cause).__name__)
    return msg.split(": ", 1)[-1] if msg.startswith(("colorize_cli.", "ray.")) else msg


# ------------------------------------------------------------------------------------ films


@dataclass(frozen=True)
class PieceDone:
    """What a worker sends back for a :class:`Piece`: a whole film's report (or the report of a
    piece that failed), or the frames a piece encoded and, for the last piece, the film's length."""

    dst: str
    piece: bool
    last: bool
    report: str = ""  # a VideoReport as JSON
    frames: int = 0
    total: int = 0

    def as_row(self) -> dict[str, Any]:
        """The row Ray Data carries back."""
        return asdict(self)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> PieceDone:
        """The result a row stands for."""
        return cls(str(row["dst"]), bool(row["piece"]), bool(row["last"]), str(row["report"]), int(row["frames"]),
                   int(row["total"]))


@dataclass
class SplitFilm:
    """The driver's state of a film split into pieces, until every piece is done and it is joined."""

    film: Film
    pieces: int  # pieces not done yet
    t0: float
    total: int | None = None  # the film's length as decoded, from its last piece
    done: int = 0  # frames encoded by this run


class _VideoWorker:
    """One engine per actor; a row is a whole film, or one piece of a split film."""

    def __init__(self, make_args: dict[str, Any], options: dict[str, Any]) -> None:
        from colorize_cli.api import load

        self.pipeline = load(**make_args)
        self.options = VideoOptions(**options)

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        from colorize_cli.errors import ModelError
        from colorize_cli.film.run import colorize_video

        t0 = time.perf_counter()
        piece = Piece.from_row(row)
        out = PieceDone(piece.dst, piece.first is not None, piece.stop is None)
        try:
            if piece.first is None:
                rep = colorize_video(piece.src, piece.dst, self.pipeline, self.options)
                out = replace(out, report=json.dumps(rep.as_dict()))
            else:
                frames, total = self._piece(piece)
                out = replace(out, frames=frames, total=total)
        except ModelError:
            raise
        except (ColorizeError, OSError, ValueError) as exc:
            rep = VideoReport(input=piece.src, output=piece.dst, status="error", seconds=time.perf_counter() - t0,
                              error=failure_reason(exc))
            out = replace(out, report=json.dumps(rep.as_dict()))
        return out.as_row()

    def _piece(self, piece: Piece) -> tuple[int, int]:
        """Frames [first, stop) into the film's work folder; returns (frames encoded, frames in
        the film as decoded: its length when this piece is the last)."""
        from colorize_cli.film.read import probe
        from colorize_cli.film.run import prepare, run_frames

        o = self.options
        src, dst = Path(piece.src), Path(piece.dst)
        film = prepare(src, dst, probe(src, o.max_pixels), self.pipeline, o)
        film.check_started()
        n, first, stop = film.segment_frames, int(piece.first or 0), piece.stop
        k, end = first // n, (None if stop is None else stop // n)  # pieces are whole segments
        while (end is None or k < end) and film.work.segment(k) is not None:
            k += 1  # a rerun keeps the piece's finished segments
        if end is not None and k >= end:
            return 0, stop  # type: ignore[return-value]
        run = run_frames(film, self.pipeline, o, ResumePlan.starting_at(k * n, o, stop))
        return run.frames_done, run.frames_total


def run_videos(pipeline: Pipeline, jobs: Sequence[VideoJob], options: VideoOptions,
               on_report: Callable[[VideoReport], None], split_seconds: float | None = None,
               workers: int | None = None, on_frames: Callable[[int], None] | None = None,
               threads: int | None = None) -> list[VideoReport]:
    """:func:`colorize_cli.film.run.colorize_videos` on the cluster (joined first with
    :func:`connect`): one film per task, or pieces of films longer than ``split_seconds``;
    ``pipeline`` (the driver's copy of the model) is what the workers rebuild, and names what
    the segments are made with, so that the work folder pins it as a local run does."""
    from colorize_cli.film.run import check_film, prepare

    if split_seconds is not None and not split_seconds > 0:
        raise ParameterError("split_seconds", f"must be > 0, got {split_seconds}")
    options.check()
    ray = _ray()
    make_args = worker_args(pipeline, threads)
    reports: list[VideoReport] = []

    def report(rep: VideoReport) -> None:
        reports.append(rep)
        on_report(rep)

    rows: list[dict[str, Any]] = []
    films: dict[str, SplitFilm] = {}  # by output path
    for job in jobs:
        src, dst = Path(job.src), Path(job.dst)
        try:
            source = check_film(src, dst, options)
            if source is None:
                report(VideoReport(str(src), str(dst), "skipped"))
                continue
            film = prepare(src, dst, source, pipeline, options)
        except InputError as err:
            report(VideoReport(str(src), str(dst), "error", error=err.reason))
            continue
        pieces = plan_pieces(film, split_seconds)
        if len(pieces) > 1:
            film.start()
            films[str(dst)] = SplitFilm(film, len(pieces), time.perf_counter())
        rows += [p.as_row() for p in pieces]
    if not rows:
        return reports
    n_workers, gpus = cluster_workers(workers)
    ds = ray.data.from_items(rows, override_num_blocks=len(rows))
    mapped = ds.map(_VideoWorker, fn_constructor_kwargs={"make_args": make_args, "options": asdict(options)},
                    compute=ray.data.ActorPoolStrategy(size=min(n_workers, len(rows))), **_remote_args(gpus))
    failed: set[str] = set()
    try:
        for row in mapped.iter_rows():
            out = PieceDone.from_row(row)
            if out.report:  # a whole film, or a piece that failed (the film fails, once)
                rep = VideoReport(**json.loads(out.report))
                if out.piece:
                    if out.dst in failed:
                        continue
                    failed.add(out.dst)
                    films.pop(out.dst, None)
                if on_frames is not None and rep.status == "ok":
                    on_frames(rep.frames)
                report(rep)
                continue
            split = films.get(out.dst)
            if split is None:
                continue
            split.pieces -= 1
            split.done += out.frames
            if on_frames is not None:
                on_frames(out.frames)
            if out.last:
                split.total = out.total
            if split.pieces == 0:
                report(_join_film(films.pop(out.dst)))
    except ColorizeError:
        raise
    except Exception as exc:
        raise ColorizeError(_first_line(exc)) from None
    return reports


def _join_film(split: SplitFilm) -> VideoReport:
    """Every piece of a split film is done: check that the segments cover it, then join them."""
    from colorize_cli.film.run import finish, seal

    film = split.film
    rep = VideoReport(input=str(film.src), output=str(film.dst), status="ok")
    try:
        segments = seal(film, split.total, "run the same command again")
    except ColorizeError as err:
        rep.status, rep.error = "error", str(err).removeprefix(f"{film.src}: ")
        return rep
    warnings: list[str] = list(film.notes)
    finish(film, segments, rep, warnings.append)
    rep.warnings = warnings
    rep.seconds = time.perf_counter() - split.t0
    rep.fps = split.done / rep.seconds if rep.seconds > 0 else 0.0
    return rep
