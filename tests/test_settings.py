"""One place for every default and range (settings.CONFIG_MAP), one object for the temporal
settings, one function for an OSError's reason (issue 19)."""

from __future__ import annotations

import inspect

import pytest

from colorize_cli.errors import ParameterError, failure_reason, os_reason
from colorize_cli.settings import CONFIG_MAP, DEFAULTS, TemporalSettings


def test_the_stages_take_their_defaults_from_the_table():
    from colorize_cli import VideoOptions, colorize_frames
    from colorize_cli.frames import TemporalFilter
    from colorize_cli.scenes import SceneDetector
    from colorize_cli.steer.keyframes import Carrier, KeyframePropagator
    from colorize_cli.steer.propagate import hint_filter
    from colorize_cli.temporal import TemporalKernel

    def defaults(fn) -> dict:
        return {k: p.default for k, p in inspect.signature(fn).parameters.items()}

    assert defaults(TemporalKernel)["window"] == defaults(TemporalFilter)["window"] == CONFIG_MAP["window"].default
    assert defaults(TemporalKernel)["decay"] == defaults(colorize_frames)["decay"] == CONFIG_MAP["decay"].default
    assert defaults(SceneDetector)["threshold"] == CONFIG_MAP["scene_threshold"].default
    assert defaults(KeyframePropagator)["reach"] == CONFIG_MAP["keyframe_reach"].default
    assert defaults(KeyframePropagator)["decay"] == defaults(Carrier)["decay"] == CONFIG_MAP["keyframe_decay"].default
    assert defaults(hint_filter)["reach"] == CONFIG_MAP["hint_reach"].default
    opts = VideoOptions()
    assert opts.temporal == TemporalSettings() and opts.segment_seconds == CONFIG_MAP["segment_seconds"].default
    with pytest.raises(AttributeError):
        DEFAULTS.window = 3


@pytest.mark.parametrize("field, value, param", [("window", 0, "window"), ("window", 121, "window"),
                                                 ("window", 2.5, "window"), ("decay", -1.0, "decay"),
                                                 ("scene_threshold", 0.0, "scene_threshold"),
                                                 ("keyframe_reach", 0, "keyframe_reach"),
                                                 ("keyframe_decay", 1.5, "keyframe_decay")])
def test_temporal_settings_name_the_bad_parameter(field, value, param):
    with pytest.raises(ParameterError) as err:
        TemporalSettings(**{field: value}).check()
    assert err.value.param == param


def test_an_os_error_has_one_set_of_words():
    assert os_reason(FileNotFoundError(2, "No such file or directory", "x")) == "no such file"
    assert os_reason(PermissionError(13, "Permission denied", "x"), "write output") == "permission denied"
    assert os_reason(IsADirectoryError(21, "Is a directory", "x")) == "is a directory"
    assert os_reason(OSError(28, "No space left on device"), "write output") == \
        "cannot write output (No space left on device)"
    assert failure_reason(OSError(28, "No space left on device", "/out/a.mp4")) == \
        "No space left on device (/out/a.mp4)"
