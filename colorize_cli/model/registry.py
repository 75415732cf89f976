"""Finding installed models.

Search order (first match wins):

1. directories given by the caller (``extra_dirs`` below; the CLI's ``--models-dir``);
2. directories in the ``COLORIZE_MODEL_PATH`` environment variable (``os.pathsep``-separated);
3. the package's own weights directory: ``weights/`` at the repository root, installed as the
   package ``colorize_cli.weights``.

A model is given as a name (metadata ``name`` or the file's stem) or a path to an .onnx file.
The default model is the one named in the first ``default.txt`` found in those directories or,
failing that, the first installed model.

Public API::

    search_dirs(extra_dirs=()) -> list[Path]
    search_problems(extra_dirs=()) -> list[str]              # folders given that cannot be searched
    list_models(extra_dirs=()) -> list[InstalledModel]      # every *.onnx, checked
    find_model(spec: str | None, extra_dirs=()) -> Path      # name, path or None (default)
    describe_models(extra_dirs=(), device="auto") -> [dict]   # what `colorize models` lists
    file_sha256(path) -> str                                # (colorize_cli.model.session_cache's)
    duplicate_names(models) -> {name: [paths]}              # names carried by several models
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from colorize_cli.model.contract import ModelInfo
from colorize_cli.model.engine import read_model_info
from colorize_cli.errors import ColorizeError, ModelError, ParameterError
from colorize_cli.io.safe_read import file_problem
from colorize_cli.model.session_cache import file_sha256

ENV_VAR = "COLORIZE_MODEL_PATH"
DEFAULT_FILE = "default.txt"


def package_weights_dir() -> Path | None:
    """``colorize_cli/weights`` when installed, ``<repo>/weights`` when run from a checkout."""
    try:
        import colorize_cli.weights as pkg  # only exists in an installed wheel

        for entry in getattr(pkg, "__path__", []):
            if Path(entry).is_dir():
                return Path(entry)
    except ImportError:
        pass
    repo = Path(__file__).resolve().parents[2] / "weights"  # colorize_cli/model/registry.py → <repo>
    return repo if repo.is_dir() else None


def search_dirs(extra_dirs: Sequence[str | Path] = ()) -> list[Path]:
    """The folders searched for models, in order, without duplicates."""
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


def _folder_problem(d: Path) -> str | None:
    if not d.exists():
        return "no such folder"
    if not d.is_dir():
        return "is a file, not a folder of models"
    if not os.access(d, os.R_OK | os.X_OK):
        return "cannot be read (permission denied)"
    return None


def search_problems(extra_dirs: Sequence[str | Path] = ()) -> list[str]:
    """Why folders given by the caller (``models_dir``) or in ``COLORIZE_MODEL_PATH`` cannot
    be searched; they are skipped, and were once skipped silently."""
    out = []
    for d in extra_dirs:
        problem = _folder_problem(Path(d))
        if problem:
            out.append(f"models_dir {d}: {problem}; not searched")
    for d in os.environ.get(ENV_VAR, "").split(os.pathsep):
        problem = _folder_problem(Path(d)) if d.strip() else None
        if problem:
            out.append(f"{ENV_VAR} entry {d}: {problem}; not searched")
    return out


@dataclass
class InstalledModel:
    """A model file found in a search folder, with its contract or the reason it is off it."""

    path: Path
    info: ModelInfo | None  # None when the file is off the contract
    error: str | None = None

    @property
    def name(self) -> str:
        """The metadata name, or the file stem for a file off the contract."""
        return self.info.name if self.info else self.path.stem


def _model_files(dirs: Sequence[Path]) -> list[Path]:
    files = []
    for d in dirs:
        if d.is_dir():
            files += sorted(p for p in d.glob("*.onnx") if p.is_file())
    return files


def list_models(extra_dirs: Sequence[str | Path] = ()) -> list[InstalledModel]:
    """Every ``*.onnx`` in the search folders, each checked against the contract."""
    out = []
    for path in _model_files(search_dirs(extra_dirs)):
        try:
            out.append(InstalledModel(path, read_model_info(path)))
        except ModelError as err:
            out.append(InstalledModel(path, None, err.reason))
    return out


def duplicate_names(models: Sequence[InstalledModel | dict[str, Any]]) -> dict[str, list[Path]]:
    """Names carried by more than one usable model (:class:`InstalledModel`, or rows of
    :func:`describe_models`), with their files in search order (the first is the one a
    ``model`` name resolves to)."""
    by_name: dict[str, list[Path]] = {}
    for m in models:
        if isinstance(m, dict):
            # an int8 variant shares its float file's name on purpose (colorize_cli.model.variants)
            if m["error"] is None and m.get("precision", "float") == "float":
                by_name.setdefault(m["name"], []).append(Path(m["path"]))
        elif m.info is not None and m.info.precision == "float":
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
    """Resolve a model name, path or None (the default) to a file; :class:`ParameterError`
    (param ``model``) naming what is installed, or :class:`ModelError` for a missing file."""
    dirs = search_dirs(extra_dirs)
    if spec and _looks_like_path(spec):
        path = Path(spec).expanduser()
        problem = file_problem(path)
        if problem:
            raise ModelError(path, "no such model file" if problem in ("no such file", "broken symbolic link")
                             else problem)
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
            raise ParameterError(
                "model", "not given, and no model is installed (looked in " + where + "). Put a colorize "
                f".onnx file in weights/ (see docs/models.md), point {ENV_VAR} or models_dir at a folder "
                "of them, or give the path of an .onnx file")
    # Folders in search order, first match wins: in each, a file named after the model (the
    # cheap, common case), then any file whose metadata carries that name.
    for d in dirs:
        cand = d / f"{spec}.onnx"
        if cand.is_file():
            return cand
        for path in _model_files([d]):
            try:
                info = read_model_info(path)
                if info.name == spec and info.precision == "float":
                    return path
            except ModelError:
                continue
    names = sorted({m.name for m in list_models(extra_dirs) if m.info is not None})
    known = f"installed: {', '.join(names)}" if names else "no model is installed"
    raise ParameterError("model", f"{spec!r}: unknown model ({known}; looked in {where})")


def describe_models(extra_dirs: Sequence[str | Path] = (), device: str = "auto") -> list[dict[str, Any]]:
    """One row per installed model file, as ``colorize models --json`` prints it: path, name,
    whether it is the default, size, sha256 and, for files on the contract, every metadata field
    and the execution provider it would run on with ``device`` (probed with one real session);
    ``error`` is the reason for a file off the contract, else None. Precision variants
    (:mod:`colorize_cli.model.variants`): every row has ``precision``; a float row has ``runs``, the
    file that ``--model NAME`` runs with ``device`` and ``--precision auto``; an int8 row has
    ``variant_ok`` (its tie to the float file holds) or its ``error``."""
    from colorize_cli.model.engine import CPU, open_session
    from colorize_cli.model.variants import choose, float_sibling, tie_problem

    try:
        default: Path | None = find_model(None, extra_dirs).resolve()
    except ColorizeError:
        default = None
    provider: str | None = None
    rows = []
    for m in list_models(extra_dirs):
        row: dict[str, Any] = {"path": str(m.path), "name": m.name, "default": m.path.resolve() == default,
                               "size_bytes": m.path.stat().st_size, "sha256": file_sha256(m.path), "error": m.error}
        if m.info is not None:
            if provider is None:  # one real session tells where this machine runs models
                try:
                    session, _ = open_session(m.path, device=device)
                    provider = str(session.get_providers()[0])
                except ColorizeError as err:
                    provider = f"unavailable ({err})" if device == "cuda" else CPU
            info = m.info
            row.update(version=info.version, kind=info.kind, bins=info.num_bins, working_size=info.working_size,
                       stride=info.stride, output_stride=info.output_stride, temperature=info.temperature,
                       description=info.description, license=info.license, provider=provider,
                       precision=info.precision)
            if info.precision == "float":
                row["runs"] = str(choose(m.path, "auto", on_cpu=not provider.startswith("CUDA")))
            else:
                problem = tie_problem(info, float_sibling(m.path))
                row["variant_of"], row["variant_ok"] = info.variant_of, problem is None
                if problem:
                    row["error"] = f"int8 variant not usable: {problem}"
        rows.append(row)
    return rows
