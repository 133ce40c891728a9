"""The `sipas` click group: lists its commands without building the app or importing heavy ones."""

from __future__ import annotations

import ast
import importlib
import importlib.util
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click
from flask.cli import FlaskGroup


def load_command(target: str) -> click.Command:
    """The command at ``"module:attribute"``, imported now."""
    module, _, attribute = target.partition(":")
    command = getattr(importlib.import_module(module), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} is not a click command, got {type(command).__name__}")
    return command


def docstring_summary(target: str) -> str:
    """The first line of the command function's docstring, read from its source, not imported."""
    module, _, attribute = target.partition(":")
    # find_spec("a.b") would import package "a"; finding the top-level package does not.
    top, *inner = module.split(".")
    spec = importlib.util.find_spec(top)
    if spec is None or spec.origin is None:
        return ""
    path = Path(spec.origin)
    if inner:
        path = path.parent.joinpath(*inner).with_suffix(".py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == attribute:
            return (ast.get_docstring(node) or "").split("\n", 1)[0]
    return ""


class SipasGroup(FlaskGroup):
    """A FlaskGroup that answers ``--help`` from its own commands (never building the app, which
    imports pandas and scipy through the report views) and imports each ``lazy`` command's module
    only when that command is run or asked for its own help."""

    def __init__(
        self, *, create_app: Callable[..., Any], lazy: Mapping[str, str], **kwargs: Any
    ) -> None:
        super().__init__(create_app=create_app, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        # Every command of the app is registered here too (survey_app.cli), so the app need not
        # be built to list them.
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            self.add_command(load_command(self.lazy[name]), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                command = self.commands[name]
                if command.hidden:
                    continue
                rows.append((name, command.get_short_help_str(formatter.width - 6 - len(name))))
            else:
                rows.append((name, docstring_summary(self.lazy[name])))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
