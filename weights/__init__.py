"""Installed models: the .onnx files in this folder (docs/models.md), packaged as colorize_cli.weights.

An optional default.txt names the default model (its metadata ``name``); otherwise the first
installed model is the default.
"""
