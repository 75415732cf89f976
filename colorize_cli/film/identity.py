"""The resume identity of a film: everything its segments depend on (source file, model file,
pipeline settings, temporal settings, encoder settings, segment size, keyframes, a caller's ab
filter). :class:`~colorize_cli.film.segments.WorkDir` stores it in its manifest with its digest;
a resume with any of it changed would splice two different colourisations together, so a
changed identity starts the film over.

The dict's keys and values are a file format: a film half-done by an earlier version resumes
only if the same options give the same dict (``tests/test_golden.py`` pins it).

Public API::

    film_identity(source, pipeline, options, settings, segment_frames, ab_filter=None) -> dict
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from colorize_cli.film.encode import EncoderSettings
from colorize_cli.film.options import VideoOptions
from colorize_cli.film.read import Source
from colorize_cli.pipeline import AbFilter, Pipeline


def film_identity(src: Source, pipeline: Pipeline, options: VideoOptions, settings: EncoderSettings,
                  segment_frames: int, ab_filter: AbFilter | None = None) -> dict[str, Any]:
    """Everything the segments depend on: a resume with any of it changed would splice two
    different colourisations together."""
    info = pipeline.info
    try:
        st = Path(info.path).stat()
        model_file = {"path": str(Path(info.path).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    except OSError:
        model_file = {"path": str(info.path)}
    ident = {
        "source": src.identity(),
        "model": {"name": info.name, "version": info.version, **model_file},
        "pipeline": {"render_size": pipeline.render_size, "temperature": pipeline.temperature, "jbu": pipeline.jbu,
                     "sigma_s": pipeline.sigma_s, "sigma_r": pipeline.sigma_r},
        "kernel": options.temporal.identity(),
        "encoder": settings.to_json(),
        "segment_frames": segment_frames,
    }
    if options.keyframes:  # only named when given, so manifests without them are unchanged
        ident["keyframes"] = _keyframes_identity(options)
    if ab_filter is not None:  # only named when given, so manifests without one are unchanged
        ident["ab_filter"] = getattr(ab_filter, "__qualname__", type(ab_filter).__qualname__)
    return ident


def _keyframes_identity(options: VideoOptions) -> dict[str, Any]:
    files = {}
    for i, p in sorted((options.keyframes or {}).items()):
        try:
            st = Path(p).stat()
            files[str(i)] = [str(Path(p).resolve()), st.st_size, st.st_mtime_ns]
        except (OSError, TypeError):  # an array given through the library: no file to name
            files[str(i)] = [str(type(p).__name__)]
    return {"files": files, "reach": options.temporal.keyframe_reach}
