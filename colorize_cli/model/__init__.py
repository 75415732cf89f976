"""What a model is and how it runs: its self-description (``contract``), the onnxruntime
sessions (``engine``) and where models are found (``registry``)."""
