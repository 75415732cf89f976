"""A disk cache of onnxruntime's optimised model files, so that later runs skip graph optimisation.

onnxruntime optimises every graph when a session is made (constant folding, fusions, and on the
CPU a layout for the machine's vector width). It can save the result
(``SessionOptions.optimized_model_filepath``); loading that file with optimisation off gives the
same graph without the work. The file is valid for one model file, one onnxruntime version,
one provider list and one CPU's instruction set, so that is its key:

    <cache>/ort/<sha256 of the model, 24 hex>-ort<version>-<providers>-<cpu flags, 8 hex>.onnx

``<cache>`` is ``$COLORIZE_CACHE``, else ``$XDG_CACHE_HOME/colorize``, else ``~/.cache/colorize``.
Writes are atomic (a temporary name in the same folder, then a rename); a cache that cannot
be created or written is skipped without a word, and so is a cached file that fails to load.

Public API::

    cache_dir() -> Path
    file_sha256(path) -> str
    model_sha256(path) -> str              # the same, hashed once per process per (path, size, mtime)
    cached_model(path, providers) -> (Path to load, Path to save to or None, hit: bool)
    commit(tmp, final)                     # the atomic rename after the session wrote ``tmp``
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path

__all__ = ["cache_dir", "cached_model", "commit", "file_sha256", "model_sha256"]


def cache_dir() -> Path:
    """The user's cache folder for colorize (not created here)."""
    env = os.environ.get("COLORIZE_CACHE", "").strip()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "colorize"


@lru_cache(maxsize=1)
def _cpu_key() -> str:
    """8 hex of the CPU's feature flags: the optimised CPU graph depends on the vector width."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            flags = next((ln for ln in f if ln.startswith(("flags", "Features"))), "")
    except OSError:
        import platform

        flags = platform.machine() + platform.processor()
    return hashlib.sha256(flags.encode()).hexdigest()[:8]


def file_sha256(path: str | Path) -> str:
    """sha256 of a model file, as `colorize models` and the model cards print it."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=16)
def _model_sha(path: str, size: int, mtime_ns: int) -> str:
    return file_sha256(path)


def model_sha256(path: str | Path) -> str:
    """The file's sha256, hashed once per process for each (path, size, mtime)."""
    path = Path(path)
    st = path.stat()
    return _model_sha(str(path.resolve()), st.st_size, st.st_mtime_ns)


def _key(path: Path, providers: list[str], ort_version: str) -> str:
    sha = model_sha256(path)
    prov = "+".join(p.replace("ExecutionProvider", "") for p in providers)
    return f"{sha[:24]}-ort{ort_version}-{prov}-{_cpu_key()}.onnx"


def cached_model(path: str | Path, providers: list[str], ort_version: str) -> tuple[Path, Path | None, bool]:
    """(the file to load, a temporary file for onnxruntime to save its optimised graph to, or
    None, whether the cache hit). On a hit the cached file loads with optimisation off; on a
    miss the original loads, optimised, and its result is saved to the temporary file, for
    :func:`commit`; with no usable cache, (path, None, False)."""
    path = Path(path)
    try:
        folder = cache_dir() / "ort"
        final = folder / _key(path, providers, ort_version)
        if final.is_file() and final.stat().st_size > 0:
            return final, None, True
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=final.stem + ".", suffix=".part.onnx", dir=folder)
        os.close(fd)
        return path, Path(tmp), False
    except OSError:
        return path, None, False


def commit(tmp: Path, final_for: Path, providers: list[str], ort_version: str) -> None:
    """Rename the file onnxruntime wrote to its cache name; drop it when anything fails."""
    try:
        final = tmp.parent / _key(Path(final_for), providers, ort_version)
        if tmp.is_file() and tmp.stat().st_size > 0:
            os.replace(tmp, final)
        else:
            tmp.unlink(missing_ok=True)
    except OSError:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
