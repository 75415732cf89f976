"""Confidence maps of a ``bins`` model, written beside a photo's colour output (``--confidence``).

Two 8-bit PNGs per photo, at the photo's size: the top bin's probability and the ratio of the top
bin to the runner-up (Billaut et al.). Each carries colorize's tag so a rerun never reads it back
as an input.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from colorize_cli.io.collisions import tag_png
from colorize_cli.io.image_io import atomic_write_bytes, encode_image
from colorize_cli.io.inputs import Job
from colorize_cli.lab import from_float
from colorize_cli.pipeline import Pipeline

CONFIDENCE_SUFFIXES = ("_top", "_ratio")


def confidence_paths(job: Job, confidence_dir: Path) -> list[Path]:
    """The confidence maps of ``job`` in ``confidence_dir``: ``<name>_top.png``, ``<name>_ratio.png``."""
    base = confidence_dir / job.rel.with_suffix("")
    return [base.with_name(base.name + suffix + ".png") for suffix in CONFIDENCE_SUFFIXES]


def write_confidence_maps(pipeline: Pipeline, raw: np.ndarray, size: tuple[int, int], paths: list[Path]) -> None:
    """Top-bin probability (0..1 → 0..255) and top/second ratio (log scale: 1 → 0, ≥100 → 255),
    tagged as colorize's own so that a rerun never takes them for inputs."""
    conf = pipeline.confidence(raw)
    if conf is None:
        return
    top, ratio = conf
    ratio_img = np.clip(np.log10(np.maximum(ratio, 1.0)) / 2.0, 0.0, 1.0)
    for path, m in zip(paths, (top, ratio_img)):
        full = cv2.resize(m.astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
        atomic_write_bytes(path, tag_png(encode_image(from_float(np.clip(full, 0, 1), np.uint8), "png")))
