"""``--help`` in words a person reads: no Python type names, no markup swallowing brackets.

Typer shows each parameter's Python type (``<bool>``, ``<list[str]>``, ``<int range>``) and
writes required arguments as ``{inputs}``; and with rich markup on, a help text saying
``pip install 'colorize-films[ray]'`` loses ``[ray]`` as an unknown style tag.
:class:`ReadableCommand` (``@app.command(cls=ReadableCommand)``) fixes both for every
parameter of a command at once: help texts are escaped for rich, flags show no value, and
other values show a metavar (``N``, ``PATH``, ``DIR``, ``TEXT``...) unless one was given.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from typer.core import TyperArgument, TyperCommand, TyperOption

__all__ = ["ReadableCommand", "metavar_for"]

# Typer's display type (without the angle brackets) -> what --help shows instead.
_WORDS = {"int range": "N", "int": "N", "float range": "NUMBER", "float": "NUMBER", "str": "TEXT",
          "path": "PATH", "file": "PATH", "directory": "DIR", "list[Path]": "DIR", "list[str]": "TEXT"}


def metavar_for(display_type: str | None) -> str | None:
    """The readable metavar for one of Typer's display types (``<int range>`` -> ``N``);
    choices (``<auto|cuda|cpu>``) lose only their angle brackets."""
    if not display_type:
        return display_type
    bare = display_type.strip("<>").removesuffix("...")
    if "|" in bare:
        return bare
    return _WORDS.get(bare, bare.upper())


class ReadableCommand(TyperCommand):
    """A Typer command whose ``--help`` names values in words and keeps brackets."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.help:
            self.help = escape(self.help)
        for param in self.params:
            if getattr(param, "help", None):
                param.help = escape(param.help)  # type: ignore[attr-defined]
            if isinstance(param, TyperArgument):
                name = (param.metavar or param.name or "").upper()
                param.metavar = name + ("..." if param.nargs != 1 else "")
                param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
                param._usage_display_name = lambda p=param: p.metavar  # type: ignore[method-assign]
            elif isinstance(param, TyperOption) and param.metavar is None:
                if param.is_flag:
                    param.metavar = ""
                else:
                    param.metavar = metavar_for(param.display_type(None))  # type: ignore[arg-type]

    def get_help_option(self, ctx: Any) -> Any:
        """``--help``, a flag like the others: no ``<bool>``."""
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option
