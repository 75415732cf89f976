"""What a film run is asked to do (:class:`VideoOptions`, checked once by
:meth:`VideoOptions.check`) and what happened (:class:`VideoReport`, one JSON line per film).

Public API::

    VideoOptions(smooth=False, window=20, decay=0.2, scene_detect=True, scene_threshold=0.5,
                 codec=None, crf=None, preset=None, max_pixels=100_000_000,
                 segment_seconds=10.0, overwrite=False, keyframes=None, keyframe_reach=300)
    VideoOptions.check()              # ParameterError naming the bad parameter
    VideoOptions.temporal -> TemporalSettings;  VideoOptions.segment_frames(rate) -> int
    VideoReport(input, output, status, ...).as_dict()
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from colorize_cli.errors import ParameterError
from colorize_cli.film.encode import AUTO_CODECS, check_crf, check_preset, resolve_codec
from colorize_cli.settings import DEFAULTS, TemporalSettings

DEFAULT_SEGMENT_SECONDS = DEFAULTS.segment_seconds  # the table's value, under the name the CLI shows


@dataclass
class VideoOptions:
    """Everything about a film run except the model (the :class:`Pipeline` carries that)."""

    smooth: bool = False
    window: int = DEFAULTS.window
    decay: float = DEFAULTS.decay
    scene_detect: bool = True
    scene_threshold: float = DEFAULTS.scene_threshold
    codec: str | None = None  # None: libx264, or what the output container takes (VP9/AV1 for WebM)
    crf: int | None = None
    preset: str | None = None
    max_pixels: int | None = DEFAULTS.max_pixels
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS
    overwrite: bool = False
    queue_frames: int | None = None  # per queue; default 2 × batch size, at least 4
    keyframes: dict[int, Path] | None = None  # frame index -> hand-coloured picture of that frame
    keyframe_reach: int = DEFAULTS.keyframe_reach  # frames a keyframe's colour is carried either way

    @classmethod
    def of(cls, temporal: TemporalSettings, **others: Any) -> VideoOptions:
        """Options with the temporal settings ``temporal`` (the keyframes' decay is not a film
        option: it keeps its default) and ``others`` as given."""
        return cls(smooth=temporal.smooth, window=temporal.window, decay=temporal.decay,
                   scene_detect=temporal.scene_detect, scene_threshold=temporal.scene_threshold,
                   keyframe_reach=temporal.keyframe_reach, **others)

    @property
    def temporal(self) -> TemporalSettings:
        """The temporal settings of this run, as the one object the stream, the resume plan,
        the resume identity and the Ray workers read."""
        return TemporalSettings(self.smooth, self.window, self.decay, self.scene_detect, self.scene_threshold,
                                self.keyframe_reach)

    def segment_frames(self, rate: float | Fraction) -> int:
        """Frames per resumable segment at ``rate`` frames per second: about
        ``segment_seconds``, at least one (the one place this is computed)."""
        return max(1, int(round(self.segment_seconds * float(rate))))

    def check(self) -> None:
        """:class:`ParameterError` naming the parameter for values the run would choke on later."""
        self.temporal.check()
        if not self.segment_seconds > 0:
            raise ParameterError("segment_seconds", f"must be > 0, got {self.segment_seconds}")
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
