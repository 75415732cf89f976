"""What a model is and how it runs: its self-description (``contract``), the onnxruntime
sessions (``engine``, with onnxruntime's optimised files cached by ``session_cache``), where
models are found (``registry``) and which precision variant of a model runs (``variants``)."""
