"""What is scored: files found and paired (:func:`discover`, :func:`find_items`, :func:`match_pairs`), and
read as ``uint8`` RGB the way the commands read them (:func:`read_rgb`, :func:`read_video`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from colorize_cli.errors import EvaluateError
from colorize_cli.io.image_io import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, read_image
from colorize_cli.io.inputs import discover as discover_inputs
from colorize_cli.lab import from_float
from colorize_cli.film.read import VIDEO_EXTENSIONS, decode_frames, probe


IMAGE_EXTS = frozenset(IMAGE_EXTENSIONS)
VIDEO_EXTS = frozenset(VIDEO_EXTENSIONS)

# --------------------------------------------------------------------------- discovery


@dataclass(frozen=True)
class Item:
    """One file to score: ``rel`` is its path relative to the folder, with ``/`` separators."""

    rel: str
    path: Path
    kind: str  # "image" or "video"


def _kind(path: Path) -> str | None:
    ext = path.suffix.lower()
    if ext in IMAGE_EXTS:
        return "image"
    if ext in VIDEO_EXTS:
        return "video"
    return None


def discover(root: str | Path) -> list[Item]:
    """Images and videos (by extension) under ``root``, recursively, sorted by relative path.

    Hidden files and folders (``.name``) are skipped: they are thumbnails and editor debris,
    never part of a data set.
    """
    return find_items(root)[0]


def find_items(root: str | Path) -> tuple[list[Item], list[tuple[str, str]]]:
    """:func:`discover`, and (relative path, ``"path: reason"``) for every entry with an image or
    video extension that cannot be read: a FIFO, a device or a socket (refused before it is
    opened), a broken link, a link loop. Those are listed as skipped, never passed over."""
    root = Path(root)
    if root.is_file() and _kind(root) is None:
        raise EvaluateError(f"{root}: not an image or video file")
    if not root.exists():
        raise EvaluateError(f"{root}: no such folder")
    found = discover_inputs([str(root)], extensions=IMAGE_EXTS | VIDEO_EXTS)
    items = [Item(job.rel.as_posix(), job.src, _kind(job.src)) for job in found.jobs]  # type: ignore[arg-type]
    problems = [(_relative(root, path), f"{path}: {reason}") for path, reason in found.errors]
    return sorted(items, key=lambda it: it.rel), sorted(problems)


def _relative(root: Path, path: str) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return path


@dataclass
class PairMatch:
    pairs: list[tuple[Item, Item]]  # (prediction, truth)
    unmatched_pred: list[str]
    unmatched_truth: list[str]
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # as find_items gives them, both sides


def match_pairs(pred_dir: str | Path, truth_dir: str | Path) -> PairMatch:
    """Match predictions to truths: by relative path, then by relative path without its
    extension (``a/x.png`` ↔ ``a/x.jpg``), then by file stem where the stem is unique on both
    sides (tools that flatten folders).  Everything left over is listed, not dropped silently.
    """
    (preds, bad_pred), (truths, bad_truth) = find_items(pred_dir), find_items(truth_dir)
    left_p = {it.rel: it for it in preds}
    left_t = {it.rel: it for it in truths}
    pairs: list[tuple[Item, Item]] = []

    def take(key: Callable[[str], str]) -> None:
        tk: dict[str, list[str]] = {}
        for rel in left_t:
            tk.setdefault(key(rel), []).append(rel)
        pk: dict[str, list[str]] = {}
        for rel in left_p:
            pk.setdefault(key(rel), []).append(rel)
        for k, prel in pk.items():
            trel = tk.get(k)
            # Ambiguity (two files share a key) is left unmatched rather than guessed.
            if trel and len(trel) == 1 and len(prel) == 1:
                pairs.append((left_p.pop(prel[0]), left_t.pop(trel[0])))

    take(lambda r: r)
    take(lambda r: r.rsplit(".", 1)[0] if "." in r.rsplit("/", 1)[-1] else r)
    take(lambda r: Path(r).stem)
    pairs.sort(key=lambda pt: pt[1].rel)
    return PairMatch(pairs, sorted(left_p), sorted(left_t), bad_pred + bad_truth)


# ------------------------------------------------------------------------------ decoding


def read_rgb(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """An image file as ``uint8`` RGB, read as ``colorize images`` reads it (alpha dropped,
    gray made RGB, 16-bit rounded to 8); :class:`~colorize_cli.errors.InputError` otherwise."""
    pixels = read_image(path, max_pixels).pixels
    if pixels.dtype != np.uint8:
        pixels = from_float(pixels.astype(np.float32) / 65535.0, np.uint8)
    if pixels.ndim == 2:
        return np.dstack([pixels] * 3)
    return np.ascontiguousarray(pixels[:, :, :3])


def read_video(path: str | Path, max_frames: int | None = None,
               max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Iterator[np.ndarray]:
    """A clip's frames as ``uint8`` RGB, lazily, decoded as ``colorize video`` decodes them
    (the same main stream, damage skipped); :class:`~colorize_cli.errors.InputError` otherwise."""
    source = probe(path, max_pixels)
    frames = decode_frames(source, warn=lambda _msg: None)
    try:
        for d in frames:
            if max_frames is not None and d.index >= max_frames:
                break
            yield d.rgb  # type: ignore[misc]
    finally:
        frames.close()
