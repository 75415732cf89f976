"""Every public definition of the runtime has a docstring, and the architecture page exists."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import colorize_cli

ROOT = Path(__file__).resolve().parent.parent


def _modules() -> list:
    names = [m.name for m in pkgutil.walk_packages(colorize_cli.__path__, "colorize_cli.")]
    return [importlib.import_module(n) for n in ["colorize_cli", *names] if ".weights" not in n and not n.endswith("__main__")]


def _undocumented() -> list[str]:
    missing = []
    for mod in _modules():
        if not mod.__doc__:
            missing.append(mod.__name__)
        for name, obj in vars(mod).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != mod.__name__:
                continue
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if not inspect.getdoc(obj):
                missing.append(f"{mod.__name__}.{name}")
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    fn = member.fget if isinstance(member, property) else member
                    if attr.startswith("_") or not (inspect.isfunction(fn) or isinstance(member, classmethod)):
                        continue
                    if not (fn.__doc__ if not isinstance(member, classmethod) else member.__func__.__doc__):
                        missing.append(f"{mod.__name__}.{name}.{attr}")
    return missing


def test_every_public_definition_has_a_docstring():
    assert _undocumented() == []


def test_architecture_page_names_every_runtime_module():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for mod in _modules():
        short = mod.__name__.removeprefix("colorize_cli.").replace(".", "/")
        if mod.__name__ != "colorize_cli":
            assert f"`{short}`" in page, f"docs/architecture.md does not place {mod.__name__}"


def _imports(path: Path, package: set[str]) -> set[str]:
    """The runtime modules a source file imports, at any depth (function-level imports too)."""
    import ast

    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("colorize_cli"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if sub in package else node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("colorize_cli"))
    return out


def test_no_import_cycles():
    mods = {m.__name__: Path(m.__file__) for m in _modules()}
    graph = {name: _imports(path, set(mods)) & set(mods) - {name} for name, path in mods.items()}
    # A package's __init__ imports its own submodules; those importing the package root is fine
    # only where the root does not lead back to them.
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            assert state.get(nxt) != 1, "import cycle: " + " -> ".join(trail + [node, nxt])
            if nxt not in state:
                visit(nxt, trail + [node])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


def test_api_blocks_name_only_what_exists():
    """Each module's "Public API::" block lists names that the module really defines."""
    import re

    wrong = []
    for mod in _modules():
        doc = mod.__doc__ or ""
        if "Public API::" not in doc:
            continue
        block = doc.split("Public API::", 1)[1]
        block = block.split("\n\n", 2)[1] if block.startswith("\n\n") else block
        for line in block.splitlines():
            m = re.match(r"\s+(?:\()?([A-Za-z_][\w]*)(?:\.([A-Za-z_]\w*))?", line)
            if not m or line.strip().startswith(("#", "(", "[")) or line.startswith("     "):
                continue  # continuation lines are indented further
            name, attr = m.groups()
            obj = getattr(mod, name, None)
            if obj is None or (attr and not hasattr(obj, attr) and f"self.{attr}" not in inspect.getsource(obj)):
                wrong.append(f"{mod.__name__}: {line.strip()}")
    assert wrong == []
