"""Turning command-line inputs into (source file, output path) jobs.

Inputs are files, directories (walked recursively, image extensions only unless the caller
names others, hidden entries skipped), glob patterns (``'scans/**/*.tif'``), or ``-`` for paths
on standard input, one a line.
Each job keeps its path relative to the root it came from, so the output directory mirrors the
input tree: a directory's files are relative to the directory, a glob's to its fixed prefix,
stdin paths to their common parent, a plain file is just its name.

Public API::

    discover(args, stdin=None, exclude=(), extensions=IMAGE_EXTENSIONS) -> Discovery   # .jobs, .errors
    output_path(job, out_dir, fmt=None) -> Path
    output_exclusions(args, outputs) -> [Path]     # output folders never read back as input
    same_file(a, b) -> bool                        # would writing b overwrite a?
    output_target(inputs, output, file_ok) -> (path, is_file)   # what -o means, for every command
    drop_outputs(jobs, out_dir, fmt=None) -> (jobs, dropped)    # files that are other inputs' outputs
    check_writable(path, param)                    # a file written at the end: checked up front
"""

from __future__ import annotations

import errno
import glob
import os
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from colorize_cli.errors import ParameterError, os_reason
from colorize_cli.io.image_io import IMAGE_EXTENSIONS


@dataclass(frozen=True)
class Job:
    """One input file and where its output goes."""

    src: Path
    rel: Path  # where the output goes, relative to the output directory (source suffix kept)


@dataclass
class Discovery:
    """What :func:`discover` found: jobs, and (path, reason) for inputs that cannot be used."""

    jobs: list[Job] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


def real_path(path: str | Path) -> Path:
    """``path`` with symbolic links resolved, never raising: a link loop resolves as far as it
    can (``Path.resolve`` raises RuntimeError on loops)."""
    return Path(os.path.realpath(path))


def link_problem(path: str | Path) -> str | None:
    """Why a path that is listed cannot be opened, for dangling or looping symbolic links
    (checked before anything tries to read it); None when it can be opened or is no link."""
    try:
        os.stat(path)
        return None
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "symbolic link loop"
        if os.path.islink(path):
            return "broken symbolic link"
        return None  # other reasons are the reader's to report (permission denied...)


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    rp = real_path(path)
    return any(rp == r or r in rp.parents for r in roots)


def _walk(root: Path, exclude: Sequence[Path], errors: list[tuple[str, str]],
          extensions: Collection[str] = IMAGE_EXTENSIONS) -> Iterable[Path]:
    def onerror(err: OSError) -> None:
        errors.append((str(err.filename or root), os_reason(err, "list directory")))

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and not (exclude and _inside(here / d, exclude)))
        for name in sorted(filenames):
            if not name.startswith(".") and Path(name).suffix.lower() in extensions:
                problem = link_problem(here / name)
                if problem:
                    errors.append((str(here / name), problem))
                else:
                    yield here / name


def _glob_base(pattern: str) -> Path:
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _add_root(arg: str, out: Discovery, exclude: Sequence[Path], extensions: Collection[str]) -> None:
    path = Path(arg).expanduser()
    if path.is_dir():
        for f in _walk(path, exclude, out.errors, extensions):
            out.jobs.append(Job(f, f.relative_to(path)))
    elif path.exists():
        out.jobs.append(Job(path, Path(path.name)))
    elif os.path.lexists(path):
        out.errors.append((arg, link_problem(path) or "broken symbolic link"))
    else:
        out.errors.append((arg, "no such file or directory"))


def discover(args: Sequence[str], stdin: TextIO | None = None, exclude: Sequence[Path] = (),
             extensions: Collection[str] = IMAGE_EXTENSIONS) -> Discovery:
    """Expand ``args``; ``exclude`` are directories never to descend into (the output folders);
    folders are searched for files with these (lower-case, dotted) ``extensions``."""
    exclude = [real_path(e) for e in exclude]
    found = Discovery()
    for arg in args:
        if arg == "-":
            lines = [ln.rstrip("\r\n") for ln in (stdin.read().splitlines() if stdin else [])]
            paths = [ln for ln in lines if ln.strip()]
            files = [Path(p).expanduser() for p in paths]
            parents = [str(real_path(p.parent)) for p in files if p.is_file()]
            base = Path(os.path.commonpath(parents)) if parents else None
            for p in files:
                if base is not None and p.is_file():
                    full = real_path(p.parent) / p.name
                    found.jobs.append(Job(p, full.relative_to(base)))
                else:
                    _add_root(str(p), found, exclude, extensions)
        elif not Path(arg).exists() and glob.has_magic(arg):
            matches = sorted(glob.glob(os.path.expanduser(arg), recursive=True))
            if not matches:
                found.errors.append((arg, "no file matches this pattern"))
            base = _glob_base(os.path.expanduser(arg))
            for m in matches:
                mp = Path(m)
                if mp.is_dir():
                    for f in _walk(mp, exclude, found.errors, extensions):
                        found.jobs.append(Job(f, f.relative_to(base)))
                elif link_problem(mp):
                    found.errors.append((m, link_problem(mp)))  # type: ignore[arg-type]
                elif not (exclude and _inside(mp, exclude)):
                    found.jobs.append(Job(mp, mp.relative_to(base)))
        else:
            _add_root(arg, found, exclude, extensions)
    # The same file named twice (a folder and a glob inside it, say) is done once.
    seen: set[Path] = set()
    unique = []
    for job in found.jobs:
        key = real_path(job.src)
        if key not in seen:
            seen.add(key)
            unique.append(job)
    found.jobs = unique
    return found


def same_file(a: Path, b: Path) -> bool:
    """Whether writing ``b`` would overwrite ``a`` (same path, or a link to the same file)."""
    try:
        return real_path(a) == real_path(b) or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def output_exclusions(args: Sequence[str], outputs: Sequence[Path | None]) -> list[Path]:
    """The output folders that :func:`discover` must not descend into.

    An output folder inside an input folder must not be read back as input, but one that *is*
    an input folder still lets us reach the inputs (writing onto them is refused per file)."""
    dirs = [real_path(a) for a in args if a != "-" and Path(a).is_dir()]
    return [Path(o) for o in outputs if o is not None and real_path(o) not in dirs]


def output_path(job: Job, out_dir: Path, fmt: str | None = None) -> Path:
    """The output file of ``job`` under ``out_dir``, with the extension of ``fmt`` if given."""
    rel = job.rel.with_suffix("." + fmt) if fmt else job.rel
    return out_dir / rel


def output_target(inputs: Sequence[str], output: str | Path, file_ok: Callable[[Path], bool]) -> tuple[Path, bool]:
    """What ``-o`` means, the same for every command: ``(path, True)`` for an output *file*
    (one existing input file, ``-o`` not ending in ``/``, not a folder, and ``file_ok(path)``,
    e.g. an image extension), else ``(path, False)`` for a folder mirroring the input tree.

    :class:`ParameterError` (``output``; a usage error) for an empty ``-o`` and for an existing non-folder
    where a folder is needed, so that nothing runs before the mistake is found."""
    raw = str(output)
    if not raw.strip():
        raise ParameterError("output", "is empty: give an output file or folder")
    path = Path(raw).expanduser()
    folder = raw.endswith(("/", os.sep)) or path.is_dir()
    single = len(inputs) == 1 and inputs[0] != "-" and Path(inputs[0]).is_file()
    if single and not folder and file_ok(path):
        return path, True
    if os.path.lexists(path) and not path.is_dir():
        raise ParameterError("output", f"{raw}: exists and is not a folder, and these inputs need a folder "
                             "(one input file can go to a file name)")
    return path, False


def drop_outputs(jobs: Sequence[Job], out_dir: Path, fmt: str | None = None) -> tuple[list[Job], list[Job]]:
    """Jobs whose source is another job's output (``-o`` the input folder with ``--format``:
    last run's ``a.png`` beside ``a.jpg``) are not inputs; returns (kept, dropped)."""
    own = {real_path(j.src): real_path(output_path(j, out_dir, fmt)) for j in jobs}
    outputs = {dst for src, dst in own.items() if dst != src}
    kept = [j for j in jobs if real_path(j.src) not in outputs]
    return kept, [j for j in jobs if real_path(j.src) in outputs]


def check_writable(path: str | Path | None, param: str) -> None:
    """A file that will be written at the end of a long run (a report, a contact sheet):
    :class:`ParameterError` (``param``) now when it is empty, names a folder, or its folder is
    missing or not writable, so that no work is lost at the last step."""
    if path is None:
        return
    if not str(path).strip():
        raise ParameterError(param, "is empty")
    path = Path(path)
    if path.is_dir():
        raise ParameterError(param, f"{path}: is a folder; give a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ParameterError(param, f"{path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ParameterError(param, f"{path}: cannot write in {parent} (permission denied)")
