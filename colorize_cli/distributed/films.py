"""``colorize video --ray``: one film per task, or the pieces of a film split in whole
segments (:func:`colorize_cli.film.plan.plan_pieces`), through the same ``film/`` steps as a
local run: the driver checks and prepares each film and starts a split film's work folder,
the workers run whole films (:func:`colorize_cli.film.run.colorize_video`) or pieces
(:func:`colorize_cli.film.run.run_frames`), and the driver seals and joins a split film when
its last piece is done.

Public API::

    run_videos(pipeline, jobs, options, on_report, split_seconds=None, workers=None, on_frames=None,
               threads=None) -> [VideoReport]
    PieceDone(dst, piece, last, report, frames, total)   # what a worker sends back
    SplitFilm(film, pieces, t0)                          # the driver's state of a split film
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from colorize_cli.distributed.cluster import cluster_workers, first_line, ray_module, remote_args, worker_args
from colorize_cli.errors import ColorizeError, InputError, ParameterError, failure_reason
from colorize_cli.film.options import VideoOptions, VideoReport
from colorize_cli.film.plan import Piece, ResumePlan, VideoJob, plan_pieces
from colorize_cli.film.run import Film
from colorize_cli.pipeline import Pipeline


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
        from colorize_cli.film.plan import Checked
        from colorize_cli.film.read import probe
        from colorize_cli.film.run import prepare, run_frames

        o = self.options
        src, dst = Path(piece.src), Path(piece.dst)
        if piece.output is None:
            raise ColorizeError(f"{dst}: a piece of a split film came without its container and codec")
        # The driver chose the container and codec (check_film): the piece carries them.
        film = prepare(src, dst, Checked(probe(src, o.max_pixels), piece.output), self.pipeline, o)
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
    ray = ray_module()
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
            checked = check_film(src, dst, options)
            if checked is None:
                report(VideoReport(str(src), str(dst), "skipped"))
                continue
            film = prepare(src, dst, checked, pipeline, options)
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
                    compute=ray.data.ActorPoolStrategy(size=min(n_workers, len(rows))), **remote_args(gpus))
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
        raise ColorizeError(first_line(exc)) from None
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
