"""Files in and out: pictures (``image_io``, ``tiff_meta``), input discovery and output paths
(``inputs``), and quieting C libraries' stderr (``quiet``)."""
