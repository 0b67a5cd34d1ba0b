"""What every command shares without repeating it: one handler for WinlossError, and help that reads like a man page."""

from __future__ import annotations

from pathlib import Path
from typing import get_args, get_origin

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption
from winloss.pipeline.errors import WinlossError

from .state import FAILURE, debugging, err_console, plain


def _readable(params: list) -> list:
    for param in params:
        readable(param)
    return params


class _Command(TyperCommand):
    """A command whose help reads like a man page: TEXT, PATH, [won|lost|open] and bare flags, not <str>, <bool>."""

    def get_params(self, ctx: typer.Context) -> list:
        return _readable(super().get_params(ctx))


class _Group(TyperGroup):
    def get_params(self, ctx: typer.Context) -> list:
        return _readable(super().get_params(ctx))


class WinlossGroup(TyperGroup):
    """The root `winloss` group: a WinlossError from any command is its one-line message and exit 1 (the error itself
    under --debug). Its commands and theirs get readable help."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _make_readable(self)

    def get_params(self, ctx: typer.Context) -> list:
        return _readable(super().get_params(ctx))

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except WinlossError as exc:
            if debugging():
                raise
            err_console.print(f"[bold red]error:[/] {plain(exc)}", highlight=False, soft_wrap=True)
            raise typer.Exit(FAILURE) from None


def _make_readable(group: TyperGroup) -> None:
    """Typer builds the commands; they take on readable help here (a subclass that adds only methods)."""
    for command in group.commands.values():
        if type(command) is TyperGroup:
            command.__class__ = _Group
            _make_readable(command)
        elif type(command) is TyperCommand:
            command.__class__ = _Command


def readable(param) -> None:
    """Name a parameter's value the way Unix help does: a flag takes none, an argument is its name in capitals."""
    if type(param) is TyperArgument:
        param.__class__ = _Argument
        param.metavar = param.metavar or param.name.upper()
    elif isinstance(param, TyperOption) and param.metavar is None:
        param.metavar = "" if param.is_flag else type_name(param)


_NAMES = {str: "TEXT", int: "INTEGER", float: "NUMBER", Path: "PATH", bool: ""}


def type_name(param: TyperArgument | TyperOption) -> str:
    desc = param.type_descriptor
    if desc.is_choice:
        return "[" + "|".join(str(getattr(c, "value", c)) for c in desc.choices or ()) + "]"
    if desc.is_datetime:
        return "YYYY-MM-DD" if list(desc.parameter_info.formats or ()) == ["%Y-%m-%d"] else "DATETIME"
    annotation = desc.annotation
    if get_origin(annotation) is list:
        annotation = get_args(annotation)[0]
    return _NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)).upper())


class _Argument(TyperArgument):
    """An argument shown as QUERY (or [PATHS]...), its type beside it as for options."""

    def display_type_rich(self, ctx: typer.Context) -> str | None:
        return type_name(self)

    def _usage_display_name(self) -> str:
        name = self.metavar if self.required else f"[{self.metavar}]"
        return name + ("..." if self.nargs != 1 else "")
