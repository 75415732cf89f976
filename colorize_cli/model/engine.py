"""onnxruntime sessions: provider choice, threads, batching.

Public API::

    open_session(path, device="auto", threads=None, optimize=True) -> (session, provider)
    Engine(model, device="auto", threads=None, batch_size=4)
    Engine.run(L_batch: float32 [N, 1, H, W]) -> float32 [N, C, H/s, W/s]
    Engine.info: ModelInfo;  Engine.provider: str;  Engine.device: "cuda" | "cpu"
    Engine.describe(verbose=False) -> str   # the one line the CLI prints

One session per model, made once and reused for every batch (sessions are expensive to make
and hold the CUDA context). ``device="auto"`` takes CUDA only when the CUDA provider really
initialises: onnxruntime silently falls back to CPU after printing pages of errors to fd 2,
so the session is made with fd 2 captured and ``session.get_providers()`` is what decides.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from colorize_cli.model.contract import ModelInfo, model_info_from_session
from colorize_cli.errors import ModelError, ParameterError
from colorize_cli.extras import require
from colorize_cli.failures import is_out_of_memory
from colorize_cli.io.quiet import capture_fd2
from colorize_cli.io.safe_read import MODEL_LIMIT, file_problem

DEVICES = ("auto", "cuda", "cpu")
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def _ort() -> Any:
    ort = require("onnxruntime")

    # 3 = errors only; provider-loading warnings are our business, not the user's.
    ort.set_default_logger_severity(3)
    return ort


def default_threads() -> int:
    """CPUs this process may use (respects affinity masks and container CPU sets)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def available_providers() -> list[str]:
    """The execution providers this onnxruntime build offers."""
    return list(_ort().get_available_providers())


def _short_reason(text: str) -> str:
    """The most telling line of onnxruntime's CUDA failure spam, for a one-line note."""
    for pattern in (r"[\w.\-]+\.so[\w.]*: cannot open shared object file", r"CUDA driver version is insufficient",
                    r"no CUDA-capable device", r"CUDA failure \d+: [^;\n]+"):
        m = re.search(pattern, text)
        if m:
            return m.group(0)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][-160:] if lines else "the CUDA provider did not initialise"


def _calm_reason(note: str) -> str:
    """The CUDA fallback in words for a user who may never have wanted a GPU."""
    if "cannot open shared object file" in note:
        return "no CUDA libraries found"
    if "no CUDA-capable device" in note:
        return "no CUDA device found"
    if "driver version is insufficient" in note:
        return "the CUDA driver is too old for this onnxruntime"
    return "CUDA did not start (--verbose says why)"


def open_session(path: str | Path, device: str = "auto", threads: int | None = None,
                 optimize: bool = True) -> tuple[Any, str]:
    """Make an ``InferenceSession`` for ``path``; return it and a note on the provider choice.

    Raises :class:`ModelError` for a file onnxruntime cannot load and :class:`ParameterError`
    when ``device="cuda"`` cannot be honoured.
    """
    if device not in DEVICES:
        raise ParameterError("device", f"must be one of {', '.join(DEVICES)}, got {device!r}")
    path = Path(path)
    problem = file_problem(path)
    if problem:
        raise ModelError(path, "no such model file" if problem in ("no such file", "broken symbolic link")
                         else problem)
    if path.stat().st_size > MODEL_LIMIT:
        raise ModelError(path, f"{path.stat().st_size} bytes is more than an ONNX file can hold; not read")
    ort = _ort()
    so = ort.SessionOptions()
    # The CPU memory arena stays on (the default). Measured with the 313-bin test fixture, batch 4
    # at 256x384, 2 CPUs: turning it off cut peak RSS from 2045 to ~1450 MB but made every batch
    # 1.8-2x slower (430 -> 770-900 ms), the big buffers being fresh pages on each run.
    # Fatal only: a failed run is raised to us and told in one line; onnxruntime's own
    # coloured log of it would reach the terminal as well.
    so.log_severity_level = 4
    so.intra_op_num_threads = threads or default_threads()
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                   else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    want_cuda = device in ("auto", "cuda") and CUDA in ort.get_available_providers()
    if device == "cuda" and not want_cuda:
        raise ParameterError("device", "cuda: this onnxruntime build has no CUDA provider "
                            f"(it has {', '.join(ort.get_available_providers())})")
    providers = [CUDA, CPU] if want_cuda else [CPU]
    load_path, save_to, hit = path, None, False
    if optimize and not want_cuda:
        # Graph optimisation is most of a session's making: reuse onnxruntime's own optimised
        # file from the user's cache (colorize_cli.model.session_cache), or leave one there.
        from colorize_cli.model.session_cache import cached_model, commit

        load_path, save_to, hit = cached_model(path, providers, ort.__version__)
        if hit:
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        elif save_to is not None:
            so.optimized_model_filepath = str(save_to)
    with capture_fd2() as spam, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # onnxruntime also warns through Python about providers
        try:
            session = ort.InferenceSession(str(load_path), sess_options=so, providers=providers)
        except Exception as exc:  # onnxruntime raises several unrelated types
            session, error = None, exc
    if save_to is not None:
        commit(save_to, path, providers, ort.__version__)
    if session is None and hit:  # a damaged cache entry: the model itself decides
        return open_session(path, device, threads, optimize=False)[0], ""
    if session is None:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        first = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", first)
        raise ModelError(path, f"onnxruntime cannot load it as an ONNX model ({first[:300]})")
    active = session.get_providers()[0]
    note = ""
    if want_cuda and active != CUDA:
        note = _short_reason(spam.text)
        if device == "cuda":
            raise ParameterError("device", f"cuda: the CUDA provider did not initialise ({note})")
    return session, note


def read_model_info(path: str | Path) -> ModelInfo:
    """Open ``path`` just far enough to read and check its contract (cheap CPU session)."""
    session, _ = open_session(path, device="cpu", optimize=False)
    return model_info_from_session(session, path)


class Engine:
    """A model file, checked against the contract, with its session ready to run batches."""

    def __init__(self, model: str | Path | ModelInfo, device: str = "auto", threads: int | None = None,
                 batch_size: int = 4) -> None:
        path = model.path if isinstance(model, ModelInfo) else Path(model)
        if batch_size < 1:
            raise ParameterError("batch_size", f"must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self.session, self.fallback_note = open_session(path, device=device, threads=threads)
        self.info: ModelInfo = model_info_from_session(self.session, path)
        self.provider: str = self.session.get_providers()[0]
        self.device = "cuda" if self.provider == CUDA else "cpu"
        self.requested_device = device
        self.requested_precision = "auto"  # what the caller asked of colorize_cli.model.variants
        self._probe()

    def _probe(self) -> None:
        """Run a tiny input once so that graphs with dynamic shapes are checked up front."""
        side = 2 * max(self.info.stride, 16)
        side += -side % self.info.stride
        self.run(np.full((1, 1, side, side), 50.0, np.float32))

    def describe(self, verbose: bool = False) -> str:
        """One calm line: the model and where it runs; why CUDA is not used is said in a few
        words, and onnxruntime's own reason only with ``verbose``."""
        info = self.info
        where = "CUDA" if self.device == "cuda" else f"CPU ({self.session.get_session_options().intra_op_num_threads} threads)"
        line = f"model {info.name} {info.version} ({info.kind}, {info.precision}) on {where}"
        if self.fallback_note and self.requested_device == "auto":
            line += f"; {_calm_reason(self.fallback_note)}"
            if verbose:
                line += f" (onnxruntime: {self.fallback_note})"
        return line

    def run(self, L_batch: np.ndarray) -> np.ndarray:
        """Run ``[N, 1, H, W]`` L (0..100) through the model, ``batch_size`` at a time."""
        L_batch = np.ascontiguousarray(L_batch, dtype=np.float32)
        if L_batch.ndim != 4 or L_batch.shape[1] != 1:
            raise ValueError(f"Engine.run wants [N, 1, H, W], got {L_batch.shape}")
        n, _, h, w = L_batch.shape
        s = self.info.stride
        if h % s or w % s:
            raise ValueError(f"H and W must be multiples of the model stride {s}, got {h}x{w}")
        outs = []
        for start in range(0, n, self.batch_size):
            chunk = L_batch[start:start + self.batch_size]
            try:
                (out,) = self.session.run([self.info.output_name], {"L": chunk})
            except Exception as exc:
                if is_out_of_memory(exc):  # this input's size, not the model: one file's error
                    raise MemoryError(f"onnxruntime could not allocate memory for a {h}x{w} input") from None
                raise ModelError(self.info.path, f"inference failed on a {h}x{w} input: "
                                                 f"{str(exc).strip().splitlines()[0][:300]}") from None
            self._check_output(out, len(chunk), h, w)
            outs.append(out)
        return outs[0] if len(outs) == 1 else np.concatenate(outs, axis=0)

    def _check_output(self, out: np.ndarray, n: int, h: int, w: int) -> None:
        os_ = self.info.output_stride
        want = (n, self.info.out_channels, h // os_, w // os_)
        if tuple(out.shape) != want:
            raise ModelError(self.info.path, f"output {self.info.output_name!r} has shape {list(out.shape)} "
                                             f"for input {[n, 1, h, w]}, expected {list(want)} "
                                             f"(output_stride {os_}, {self.info.out_channels} channels)")
