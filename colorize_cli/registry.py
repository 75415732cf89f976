"""Finding installed models.

Search order (first match wins):

1. directories given with ``--models-dir`` (``extra_dirs`` below);
2. directories in the ``COLORIZE_MODEL_PATH`` environment variable (``os.pathsep``-separated);
3. the package's own weights directory: ``weights/`` at the repository root, installed as the
   package ``colorize_cli.weights``.

``--model`` takes a model name (metadata ``name`` or the file's stem) or a path to an .onnx file.
The default model is the one named in the first ``default.txt`` found in those directories or,
failing that, the first installed model.

Public API::

    search_dirs(extra_dirs=()) -> list[Path]
    list_models(extra_dirs=()) -> list[InstalledModel]      # every *.onnx, checked
    find_model(spec: str | None, extra_dirs=()) -> Path      # name, path or None (default)
    duplicate_names(models) -> {name: [paths]}              # names carried by several models
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from colorize_cli.contract import ModelInfo, read_model_info
from colorize_cli.errors import ColorizeError, ModelError

ENV_VAR = "COLORIZE_MODEL_PATH"
DEFAULT_FILE = "default.txt"


def file_sha256(path: str | Path) -> str:
    """sha256 of a model file, as `colorize models` and the model cards print it."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def package_weights_dir() -> Path | None:
    """``colorize_cli/weights`` when installed, ``<repo>/weights`` when run from a checkout."""
    try:
        import colorize_cli.weights as pkg  # only exists in an installed wheel

        for entry in getattr(pkg, "__path__", []):
            if Path(entry).is_dir():
                return Path(entry)
    except ImportError:
        pass
    repo = Path(__file__).resolve().parent.parent / "weights"
    return repo if repo.is_dir() else None


def search_dirs(extra_dirs: Sequence[str | Path] = ()) -> list[Path]:
    dirs = [Path(d) for d in extra_dirs]
    dirs += [Path(d) for d in os.environ.get(ENV_VAR, "").split(os.pathsep) if d.strip()]
    pkg = package_weights_dir()
    if pkg is not None:
        dirs.append(pkg)
    seen: set[Path] = set()
    unique = []
    for d in dirs:
        key = d.resolve() if d.exists() else d
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return unique


@dataclass
class InstalledModel:
    path: Path
    info: ModelInfo | None  # None when the file is off the contract
    error: str | None = None

    @property
    def name(self) -> str:
        return self.info.name if self.info else self.path.stem


def _model_files(dirs: Sequence[Path]) -> list[Path]:
    files = []
    for d in dirs:
        if d.is_dir():
            files += sorted(p for p in d.glob("*.onnx") if p.is_file())
    return files


def list_models(extra_dirs: Sequence[str | Path] = ()) -> list[InstalledModel]:
    out = []
    for path in _model_files(search_dirs(extra_dirs)):
        try:
            out.append(InstalledModel(path, read_model_info(path)))
        except ModelError as err:
            out.append(InstalledModel(path, None, err.reason))
    return out


def duplicate_names(models: Sequence[InstalledModel]) -> dict[str, list[Path]]:
    """Names carried by more than one usable model, with their files in search order (the
    first is the one ``--model NAME`` takes)."""
    by_name: dict[str, list[Path]] = {}
    for m in models:
        if m.info is not None:
            by_name.setdefault(m.name, []).append(m.path)
    return {name: paths for name, paths in by_name.items() if len(paths) > 1}


def _default_name(dirs: Sequence[Path]) -> str | None:
    for d in dirs:
        f = d / DEFAULT_FILE
        if f.is_file():
            name = f.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            if name and name[0].strip():
                return name[0].strip()
    return None


def _looks_like_path(spec: str) -> bool:
    return spec.endswith(".onnx") or os.sep in spec or "/" in spec or Path(spec).is_file()


def find_model(spec: str | None, extra_dirs: Sequence[str | Path] = ()) -> Path:
    """Resolve ``--model`` to a file; :class:`ColorizeError` with a helpful message otherwise."""
    dirs = search_dirs(extra_dirs)
    if spec and _looks_like_path(spec):
        path = Path(spec).expanduser()
        if not path.is_file():
            raise ModelError(path, "no such model file")
        return path
    where = ", ".join(str(d) for d in dirs) or "(no model directory)"
    if spec is None:
        spec = _default_name(dirs)
        if spec is None:
            files = _model_files(dirs)
            for path in files:
                try:
                    read_model_info(path)
                    return path
                except ModelError:
                    continue
            raise ColorizeError(
                "no model is installed (looked in " + where + "). Put a colorize .onnx file in weights/ "
                f"(see docs/models.md), point {ENV_VAR} or --models-dir at a folder of them, "
                "or pass --model path/to/model.onnx")
    # Folders in search order, first match wins: in each, a file named after the model (the
    # cheap, common case), then any file whose metadata carries that name.
    for d in dirs:
        cand = d / f"{spec}.onnx"
        if cand.is_file():
            return cand
        for path in _model_files([d]):
            try:
                if read_model_info(path).name == spec:
                    return path
            except ModelError:
                continue
    names = sorted({m.name for m in list_models(extra_dirs) if m.info is not None})
    known = f"installed: {', '.join(names)}" if names else "no model is installed"
    raise ColorizeError(f"unknown model {spec!r} ({known}; looked in {where})")
