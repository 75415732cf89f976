"""What a film run is asked to do (:class:`VideoOptions`, checked once by
:meth:`VideoOptions.check`) and what happened (:class:`VideoReport`, one JSON line per film).

Public API::

    VideoOptions(smooth=False, window=20, decay=0.2, scene_detect=True, scene_threshold=0.5,
                 codec=None, crf=None, preset=None, max_pixels=100_000_000,
                 segment_seconds=10.0, overwrite=False, keyframes=None, keyframe_reach=300)
    VideoOptions.check()              # ParameterError naming the bad parameter
    VideoReport(input, output, status, ...).as_dict()
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any


from colorize_cli.errors import ParameterError
from colorize_cli.io.image_io import DEFAULT_MAX_PIXELS
from colorize_cli.steer.keyframes import DEFAULT_REACH as KEYFRAME_REACH
from colorize_cli.scenes import DEFAULT_THRESHOLD, SceneDetector
from colorize_cli.temporal import DEFAULT_DECAY, DEFAULT_WINDOW, MAX_WINDOW, TemporalKernel
from colorize_cli.film.encode import AUTO_CODECS, check_crf, check_preset, resolve_codec


DEFAULT_SEGMENT_SECONDS = 10.0


@dataclass
class VideoOptions:
    """Everything about a film run except the model (the :class:`Pipeline` carries that)."""

    smooth: bool = False
    window: int = DEFAULT_WINDOW
    decay: float = DEFAULT_DECAY
    scene_detect: bool = True
    scene_threshold: float = DEFAULT_THRESHOLD
    codec: str | None = None  # None: libx264, or what the output container takes (VP9/AV1 for WebM)
    crf: int | None = None
    preset: str | None = None
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS
    overwrite: bool = False
    queue_frames: int | None = None  # per queue; default 2 × batch size, at least 4
    keyframes: dict[int, Path] | None = None  # frame index -> hand-coloured picture of that frame
    keyframe_reach: int = KEYFRAME_REACH  # frames a keyframe's colour is carried either way

    def segment_frames(self, rate: float | Fraction) -> int:
        """Frames per resumable segment at ``rate`` frames per second: about
        ``segment_seconds``, at least one (the one place this is computed)."""
        return max(1, int(round(self.segment_seconds * float(rate))))

    def check(self) -> None:
        """:class:`ParameterError` naming the parameter for values the run would choke on later."""
        TemporalKernel(self.window, self.decay)
        if self.window < 1:  # the kernel takes 0 (no smoothing), a film run wants smooth=False instead
            raise ParameterError("window", f"must be a whole number from 1 to {MAX_WINDOW}, got {self.window}")
        SceneDetector(self.scene_threshold)
        if not self.segment_seconds > 0:
            raise ParameterError("segment_seconds", f"must be > 0, got {self.segment_seconds}")
        if self.keyframe_reach < 1:
            raise ParameterError("keyframe_reach", f"must be >= 1, got {self.keyframe_reach}")
        codec = resolve_codec(self.codec or AUTO_CODECS[0])
        check_crf(codec, self.crf)
        check_preset(codec, self.preset)


@dataclass
class VideoReport:
    """What happened to one film (the JSON line of ``colorize video --json``)."""

    input: str
    output: str | None
    status: str  # "ok" | "skipped" | "error"
    frames: int = 0
    seconds: float = 0.0
    fps: float = 0.0  # frames colourised by this run per second of this run
    resumed_from: int = 0
    scene_cuts: int = 0
    streams_copied: list[str] = field(default_factory=list)
    streams_reencoded: list[str] = field(default_factory=list)
    streams_dropped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A plain dict, for JSON."""
        return asdict(self)
