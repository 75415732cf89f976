"""colorize: colourise black-and-white photos and films with self-describing ONNX models.

The library in four lines::

    import colorize_cli
    pipe = colorize_cli.load("unet-gan", device="auto")            # name or path; None = default
    colorize_cli.colorize_file("in.tif", "out.tif", pipeline=pipe)  # depth, alpha, EXIF/ICC kept
    rgb = pipe.colorize_array(gray)                                  # arrays in, arrays out
    for frame in colorize_cli.colorize_frames(frames, pipe, smooth=True): ...

Colour hints and keyframes steer the colour through the pipeline's ``ab_filter`` hook:
``colorize_file(src, dst, ab_filter=colorize_cli.hints_filter("photo.json", src))``,
``colorize_frames(frames, pipe, keyframes={0: colour_frame})``, ``VideoOptions(keyframes=...)``.

The runtime is a chain of small modules, one per stage, and data flows one way::

    image_io.read_image -> lab.image_to_L -> Pipeline.prepare -> Pipeline.infer (engine.Engine)
        -> [frame filter: scene detector + temporal kernel, films] -> Pipeline.to_ab (bins_to_ab)
        -> [ab filter] -> Pipeline.upsample (upsample) -> lab.merge -> image_io.write_image

:class:`Pipeline` owns that order (docs/architecture.md has the map of modules). ``contract``
reads and checks a model file's self-description, ``registry`` finds installed models, ``cli``
is a thin Typer layer over all of it. The runtime never imports torch.
"""

__version__ = "0.1.0"

from colorize_cli.api import load  # noqa: E402
from colorize_cli.batch import colorize_file  # noqa: E402
from colorize_cli.errors import (ColorizeError, EvaluateError, InputError, Interrupted,  # noqa: E402
                                 MissingDependency, ModelError, NonFiniteOutput, ParameterError)
from colorize_cli.frames import TemporalFilter, colorize_frames  # noqa: E402
from colorize_cli.pipeline import AbFilter, FrameFilter, Pipeline  # noqa: E402
from colorize_cli.steer.propagate import hints_filter  # noqa: E402
from colorize_cli.film.options import VideoOptions  # noqa: E402
from colorize_cli.film.run import colorize_video  # noqa: E402

__all__ = [
    "AbFilter",
    "ColorizeError",
    "EvaluateError",
    "FrameFilter",
    "InputError",
    "Interrupted",
    "MissingDependency",
    "ModelError",
    "NonFiniteOutput",
    "ParameterError",
    "Pipeline",
    "TemporalFilter",
    "VideoOptions",
    "__version__",
    "colorize_file",
    "colorize_frames",
    "colorize_video",
    "hints_filter",
    "load",
]

