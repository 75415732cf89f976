"""``colorize images --ray``: photos in blocks, mapped by a pool of actors that each hold one
engine and run :func:`colorize_cli.batch.colorize_files` on their block.

Public API::

    run_images(pipeline, jobs, options, on_result, workers=None, block=4, threads=None) -> [Result]
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from colorize_cli.batch import BatchOptions, Result, check_job
from colorize_cli.distributed.cluster import cluster_workers, first_line, ray_module, remote_args, worker_args
from colorize_cli.errors import ColorizeError, ParameterError
from colorize_cli.io.inputs import Job, output_path
from colorize_cli.pipeline import Pipeline


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
    ray = ray_module()
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
                            **remote_args(gpus))
    try:
        for row in mapped.iter_rows():
            report(Result(input=row["input"], output=row["output"] or None, status=row["status"],
                          seconds=float(row["seconds"]), error=row["error"] or None))
    except Exception as exc:  # the cluster's wrapping of a worker's ModelError and the like
        raise ColorizeError(first_line(exc)) from None
    return results
