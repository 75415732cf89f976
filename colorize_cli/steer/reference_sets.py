"""Which colour references go with which photo or film: ``--reference FILE|DIR`` (repeatable).

Photos: a file applies to every photo; a folder is matched by relative path and name as
``--hints`` (``hints.hint_file_for``). Films: files as given and every image of a folder, read
once per process (also on cluster workers) and matched at :data:`~colorize_cli.steer.reference.FILM_MATCH_SIZE`;
their content hashes are part of a film's resume identity.

Public API::

    references_for_jobs(refs, jobs, max_pixels=..., hints_for=None)
        -> (ab_filter_for, [(bad reference, reason)], [(stray, reason)])   # photos
    reference_files(files_or_dirs) -> [file, ...]                          # films
    check_references(files, max_pixels) -> [(file, reason)]
    shared_reference_filter(ref_files, max_pixels) -> ReferenceFilter | None   # once per process
    reference_identity(ref_files) -> [sha256, ...]                         # a film's resume identity
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from colorize_cli.errors import InputError, ParameterError
from colorize_cli.extras import require
from colorize_cli.io.image_io import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS
from colorize_cli.io.inputs import Job
from colorize_cli.io.safe_read import file_problem
from colorize_cli.pipeline import AbFilter, chain_ab_filters
from colorize_cli.steer.hints import hint_file_for
from colorize_cli.steer.reference import (FILM_MATCH_SIZE, FILM_REACH, FeatureNet, Reference, ReferenceFilter,
                                          read_reference)

__all__ = ["check_references", "reference_files", "reference_identity", "references_for_jobs",
           "shared_reference_filter"]


@functools.lru_cache(maxsize=1)
def _shared_net() -> FeatureNet:
    return FeatureNet(match_size=FILM_MATCH_SIZE)


@functools.lru_cache(maxsize=32)
def _shared_reference(path: str, max_pixels: int | None) -> Reference:
    return read_reference(path, _shared_net(), max_pixels)


def reference_files(refs: Sequence[str | Path]) -> list[Path]:
    """``--reference FILE|DIR`` for films: files as given, and every image in a folder (recursive,
    hidden files skipped). :class:`ParameterError` (``reference``) for a path that does not exist."""
    out: list[Path] = []
    for r in map(Path, refs):
        if r.is_file():
            out.append(r)
        elif r.is_dir():
            found = _reference_files(r)
            if not found:
                raise ParameterError("reference", f"{r}: no image in this folder")
            out += found
        else:
            raise ParameterError("reference", f"{r}: {_not_there(r)}")
    return out


def check_references(files: Sequence[str | Path], max_pixels: int | None = DEFAULT_MAX_PIXELS
                     ) -> list[tuple[str, str]]:
    """(file, reason) for every reference that cannot be used (unreadable, gray, over
    ``max_pixels``); the usable ones are kept for :func:`shared_reference_filter`."""
    bad = []
    for f in files:
        try:
            _shared_reference(str(f), max_pixels)
        except InputError as err:
            bad.append((str(f), err.reason))
    return bad


def shared_reference_filter(refs: Sequence[str | Path], max_pixels: int | None = DEFAULT_MAX_PIXELS
                            ) -> ReferenceFilter | None:
    """The filter for reference files ``refs`` (None when there are none), each read and its
    features computed once per process and shared by every film of a run
    (``VideoOptions.references``, local or on a cluster worker)."""
    if not refs:
        return None
    require("scipy.sparse")
    return ReferenceFilter([_shared_reference(str(r), max_pixels) for r in refs], _shared_net(), reach=FILM_REACH)


def reference_identity(refs: Sequence[str | Path]) -> list[str]:
    """The sha256 of each reference file's bytes, for a film's resume identity (a file that
    cannot be read is named so; the run itself then reports it)."""
    out = []
    for r in refs:
        try:
            out.append(hashlib.sha256(Path(r).read_bytes()).hexdigest())
        except OSError as exc:
            out.append(f"unreadable: {r} ({exc.strerror or exc})")
    return out


def _not_there(r: Path) -> str:
    # Why a --reference is neither a file nor a folder: a FIFO or a device is named as one
    # (never opened), only a missing path is "no such file or folder".
    return (file_problem(r) if os.path.lexists(r) else None) or "no such file or folder"


def _reference_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _no_match(files: Sequence[Path], unmatched: Sequence[Path]) -> str:
    """Why a reference folder gives no photo a reference (``files``: its images)."""
    if not files:
        return "no image in this folder"
    if not unmatched:
        return "its images are the photos being coloured (keep references outside the input folder)"
    return (f"no photo matches any of its {len(unmatched)} image(s) (a folder is matched by relative path and "
            "name, as --hints: the photo a/b/name.tif takes DIR/a/b/name.* or DIR/name.*)")


def references_for_jobs(refs: Sequence[str | Path], jobs: Sequence[Job], max_pixels: int | None = DEFAULT_MAX_PIXELS,
                        threads: int | None = None,
                        hints_for: Callable[[Job, np.ndarray], AbFilter | None] | None = None,
                        whole_batch: bool = False,
                        ) -> tuple[Callable[[Job, np.ndarray], AbFilter | None], list[tuple[str, str]],
                                   list[tuple[str, str]]]:
    """``--reference FILE|DIR`` (repeatable) for a batch of photos. A file applies to every photo;
    a folder is matched by relative path and name as ``--hints`` (``hints.hint_file_for``), and
    its file joins the files for that photo. ``hints_for`` (``--hints``) runs after the
    references, so hints win where they are. Returns the ``BatchOptions.ab_filter_for``,
    (reference, reason) for every reference that cannot be used (unreadable, gray, over
    ``max_pixels``: each read once), and (reference, reason) for files in a folder no photo
    matches. With ``whole_batch`` (the command, which sees every photo of the run; not a
    cluster worker's share) a folder that matches no photo at all, or holds no image, is one
    (folder, reason) among the unusable references instead of a line per file: the run would
    colour every photo without it. :class:`ParameterError` (``reference``) for a path that does
    not exist."""
    require("scipy.sparse")
    net = FeatureNet(threads=threads)
    bad: list[tuple[str, str]] = []
    strays: list[tuple[str, str]] = []
    cache: dict[Path, Reference | None] = {}

    def load(p: Path) -> Reference | None:
        if p not in cache:
            try:
                cache[p] = read_reference(p, net, max_pixels)
            except InputError as err:
                cache[p] = None
                bad.append((str(p), err.reason))
        return cache[p]

    common: list[Reference] = []
    per_job: dict[Path, list[Reference]] = {}
    photos = [j.src for j in jobs]
    skip = {q.resolve() for q in photos}
    for r in map(Path, refs):
        if r.is_file():
            ref = load(r)
            common += [ref] if ref is not None else []
        elif r.is_dir():
            used: set[Path] = set()
            for j in jobs:
                f = hint_file_for(r, j.rel, photos)
                if f is not None and f.suffix.lower() in IMAGE_EXTENSIONS:
                    used.add(f.resolve())
                    ref = load(f)
                    if ref is not None:
                        per_job.setdefault(j.src, []).append(ref)
            files = _reference_files(r)
            unmatched = [p for p in files if p.resolve() not in used | skip]
            if whole_batch and not used:
                bad.append((str(r), _no_match(files, unmatched)))
                continue
            strays += [(str(p), "no photo matches this reference (matched by relative path and name)")
                       for p in unmatched]
        else:
            raise ParameterError("reference", f"{r}: {_not_there(r)}")
    shared = ReferenceFilter(common, net) if common else None

    def ab_filter_for(job: Job, pixels: np.ndarray) -> AbFilter | None:
        own = per_job.get(job.src)
        refs_filter = ReferenceFilter(common + own, net) if own else shared
        return chain_ab_filters(refs_filter, hints_for(job, pixels) if hints_for is not None else None)

    return ab_filter_for, bad, strays
