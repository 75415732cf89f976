"""Running ``colorize images`` and ``colorize video`` on a Ray cluster, through Ray Data.

Optional: ``pip install 'colorize-films[ray]'``. The driver (the machine where the command runs)
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

Three modules: :mod:`~colorize_cli.distributed.cluster` (joining the cluster, what both
drivers share), :mod:`~colorize_cli.distributed.images` (photos) and
:mod:`~colorize_cli.distributed.films` (films, whole or in pieces).

Public API::

    connect(address) -> None                    # "auto", "local" or host:port
    cluster_workers(requested=None) -> (workers, num_gpus)
    worker_args(pipeline, threads=None) -> dict    # what each worker passes to colorize_cli.load
    run_images(pipeline, jobs, options, on_result, workers=None, block=4, threads=None) -> [Result]
    run_videos(pipeline, jobs, options, on_report, split_seconds=None, workers=None, on_frames=None,
               threads=None) -> [VideoReport]
"""

from __future__ import annotations

from colorize_cli.distributed.cluster import cluster_workers, connect, worker_args
from colorize_cli.distributed.films import run_videos
from colorize_cli.distributed.images import run_images

__all__ = ["cluster_workers", "connect", "run_images", "run_videos", "worker_args"]
