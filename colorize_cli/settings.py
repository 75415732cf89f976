"""Every tunable default and range of the library in one table, and the one object for a film's
temporal settings.

:data:`CONFIG_MAP` (the name and idea are PySceneDetect's) maps each library parameter to its
default, its range and one line saying what it is; the modules that use a value read it from
here, and so does ``--help`` (``colorize_cli.cli``), so a default is written once. The names are
the library's parameter names (what :class:`~colorize_cli.errors.ParameterError` names and the
CLI maps to flags); where two things could share a word they do not: the temporal kernel's
``decay`` and the keyframes' ``keyframe_decay``, the keyframes' ``keyframe_reach`` (frames) and
the hints' ``hint_reach`` (a share of the photo).

:class:`TemporalSettings` is what a film's frames share over time: the temporal kernel
(``smooth``, ``window``, ``decay``), scene cuts (``scene_detect``, ``scene_threshold``) and the
keyframes' carry (``keyframe_reach``, ``keyframe_decay``). ``colorize_frames``, the film options
(:attr:`VideoOptions.temporal <colorize_cli.film.options.VideoOptions.temporal>`), the film stream,
the resume identity and the Ray workers all take it from one of those.

Public API::

    CONFIG_MAP[name] -> Setting(default, low, high, doc)
    DEFAULTS.<name> -> the default value
    TemporalSettings(smooth=False, window=20, decay=0.2, scene_detect=True, scene_threshold=0.5,
                     keyframe_reach=300, keyframe_decay=0.995)
    TemporalSettings.check();  TemporalSettings.identity() -> dict;  TemporalSettings.replay_frames() -> int
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from colorize_cli.errors import ParameterError

__all__ = ["CONFIG_MAP", "DEFAULTS", "Setting", "TemporalSettings"]


@dataclass(frozen=True)
class Setting:
    """One parameter's default and range (``low``/``high`` inclusive; None: unbounded)."""

    default: Any
    low: float | None = None
    high: float | None = None
    doc: str = ""


CONFIG_MAP: dict[str, Setting] = {
    # The temporal kernel (temporal.py). The ring holds window + 1 maps of the model's output (a
    # 313-bin model at 64×85: 6.8 MB each), and with the default decay frames 25 back weigh under
    # 1 %: 120 (5 s at 24 fps) is plenty.
    "window": Setting(20, 1, 120, "frames back the temporal kernel reaches (T)"),
    "decay": Setting(0.2, 0.0, None, "weight e^(-decay*i) of the frame i back in the temporal kernel (alpha)"),
    # Scene cuts (scenes.py): scores of a cut are far above those of motion within a shot.
    "scene_threshold": Setting(0.5, 0.0, None, "cut score above which a frame starts a new shot "
                               "(lower finds more cuts)"),
    # Keyframes (steer/keyframes.py): 300 frames is 12.5 s at 24 fps.
    "keyframe_reach": Setting(300, 1, None, "frames a keyframe's colour is carried forward and backward"),
    "keyframe_decay": Setting(0.995, 0.0, 1.0, "confidence a keyframe's colour keeps per frame carried"),
    # Colour hints (steer/propagate.py): the model prior's weight, as the reach of one hint.
    "hint_reach": Setting(2.0, 0.0, None, "how far one colour hint spreads against the model's colour"),
    # Films (film/options.py): at most this much work is lost on interruption.
    "segment_seconds": Setting(10.0, 0.01, None, "film seconds per resumable segment"),
    # Pictures (io/image_io.py): a decompression bomb guard, 100 megapixels.
    "max_pixels": Setting(100_000_000, 0, None, "pixels per picture or frame above which an input is refused"),
    # Batching (api.py).
    "batch_size": Setting(4, 1, None, "pictures or frames per model batch"),
}


class _Defaults:
    """The defaults of :data:`CONFIG_MAP` as attributes (``DEFAULTS.window``), for signatures."""

    def __init__(self, table: dict[str, Setting]) -> None:
        self.__dict__.update({name: s.default for name, s in table.items()})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("the defaults are read-only: change CONFIG_MAP")


DEFAULTS: Any = _Defaults(CONFIG_MAP)


@dataclass(frozen=True)
class TemporalSettings:
    """What a film's frames share over time: the temporal kernel, scene cuts and the keyframes'
    carry. Values are checked by :meth:`check` (and by the stages that take them)."""

    smooth: bool = False
    window: int = DEFAULTS.window
    decay: float = DEFAULTS.decay
    scene_detect: bool = True
    scene_threshold: float = DEFAULTS.scene_threshold
    keyframe_reach: int = DEFAULTS.keyframe_reach
    keyframe_decay: float = DEFAULTS.keyframe_decay

    def check(self) -> None:
        """:class:`ParameterError` naming the parameter for a value a film run would choke on."""
        low, high = CONFIG_MAP["window"].low, CONFIG_MAP["window"].high
        if int(self.window) != self.window or not low <= self.window <= high:  # type: ignore[operator]
            raise ParameterError("window", f"must be a whole number from {low} to {high}, got {self.window}")
        if not (math.isfinite(self.decay) and self.decay >= 0):
            raise ParameterError("decay", f"must be >= 0, got {self.decay}")
        if not (math.isfinite(self.scene_threshold) and self.scene_threshold > 0):
            raise ParameterError("scene_threshold", f"must be > 0, got {self.scene_threshold}")
        if self.keyframe_reach < 1:
            raise ParameterError("keyframe_reach", f"must be >= 1, got {self.keyframe_reach}")
        if not 0 < self.keyframe_decay <= 1:
            raise ParameterError("keyframe_decay", f"must be in (0, 1], got {self.keyframe_decay}")

    def replay_frames(self) -> int:
        """Frames before a restart that must be fed again for the state at the restart to be
        what it was: the kernel's window, or one (the scene detector's reference) without it."""
        return max(self.window, 1) if self.smooth else 1

    def identity(self) -> dict[str, Any]:
        """The kernel's part of a film's resume identity (a file format: the keys and values
        of earlier versions; a setting that is off is None)."""
        return {"smooth": self.smooth, "window": self.window if self.smooth else None,
                "decay": self.decay if self.smooth else None, "scene_detect": self.scene_detect,
                "scene_threshold": self.scene_threshold if self.scene_detect else None}
