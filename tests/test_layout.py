"""The package's layout rules (issue 19), checked on the source: no module imports another
module's private names (the runtime's, and the training code's among its own modules), and no
runtime module grows past about 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "colorize_cli"
# Code outside the runtime that uses it, held to the same rule (the tests may reach inside).
USERS = [ROOT / "exporters", ROOT / "benchmarks"]
# Packages whose modules' private names stay inside them (exporters' relative imports included).
PACKAGES = ("colorize_cli", "exporters")
MAX_LINES = 400


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_name(path: Path) -> str | None:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] not in PACKAGES:
        return None
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_module(node: ast.ImportFrom, path: Path) -> str | None:
    """The module a ``from ... import`` names, a relative one resolved against ``path``."""
    if not node.level:
        return node.module
    package = list(path.relative_to(ROOT).with_suffix("").parts[:-1])
    package = package[:len(package) - (node.level - 1)]
    return ".".join(package + ([node.module] if node.module else [])) or None


def _is_module(dotted: str) -> bool:
    base = ROOT.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def private_crossings(path: Path) -> list[str]:
    """``from colorize_cli.x import _y``, ``import colorize_cli.x as m; m._y`` and
    ``from colorize_cli import x; x._y`` in one file (the same for ``exporters``, relative
    imports too), as ``file:line: text``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path)
    found: list[str] = []
    aliases: dict[str, str] = {}  # local name -> colorize_cli module it is bound to
    for node in ast.walk(tree):
        module = _imported_module(node, path) if isinstance(node, ast.ImportFrom) else None
        if module and module.split(".")[0] in PACKAGES:
            for a in node.names:
                full = f"{module}.{a.name}"
                if _is_module(full):
                    aliases[a.asname or a.name] = full
                elif _private(a.name) and module != here:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: from {module} import {a.name}")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in PACKAGES and a.asname:
                    aliases[a.asname] = a.name
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                and _private(node.attr) and aliases[node.value.id] != here):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def _sources(*roots: Path) -> list[Path]:
    return sorted(p for r in roots for p in r.rglob("*.py") if "bins_data" not in p.parts)


def test_no_module_imports_another_modules_private_names():
    found = [hit for p in _sources(PACKAGE, *USERS) for hit in private_crossings(p)]
    assert found == []


@pytest.mark.parametrize("src, text, expected", [
    # runtime modules: each form the checker must catch, and what it must let pass
    (PACKAGE / "_probe_for_test.py",
     "from colorize_cli.batch import _write_error, check_job\n"
     "from colorize_cli import lab\n"
     "import colorize_cli.film.run as run\n"
     "from colorize_cli import __version__\n"
     "x = lab._REMAP_MAX_W + lab.merge\n"
     "y = run._keyframes_identity\n",
     ["from colorize_cli.batch import _write_error", "lab._REMAP_MAX_W", "run._keyframes_identity"]),
    # relative imports inside ``exporters`` are resolved: the same forms are caught there
    (ROOT / "exporters" / "families" / "_probe_for_test.py",
     "from ..lite0 import _private_helper, Lite0Encoder\n"
     "from .. import nets\n"
     "from .base import _own_helper\n"
     "x = nets._private_block + nets.conv_bn\n",
     ["from exporters.families.base import _own_helper", "from exporters.lite0 import _private_helper",
      "nets._private_block"]),
], ids=["runtime", "training-code"])
def test_the_check_finds_a_private_import(monkeypatch, src, text, expected):
    """The checker itself."""
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: text)
    hits = private_crossings(src)
    assert sorted(h.split(": ", 1)[1] for h in hits) == expected


def test_no_runtime_module_is_over_about_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in _sources(PACKAGE)
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}

