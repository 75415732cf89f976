"""colorize: colourise black-and-white photos and films with self-describing ONNX models.

The runtime is a chain of small modules, one per stage, and data flows one way::

    image_io.read_image -> lab.image_to_L -> Pipeline.prepare -> Pipeline.infer (engine.Engine)
        -> [temporal kernel, video only] -> Pipeline.to_ab (bins_to_ab) -> Pipeline.upsample
        (upsample) -> lab.merge -> image_io.write_image

``contract`` reads and checks a model file's self-description, ``registry`` finds installed
models, ``cli`` is a thin Typer layer over all of it. The runtime never imports torch.
"""

__version__ = "0.1.0"
