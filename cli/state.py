"""What every command needs: settings from --config/--data-dir/env, loaded once per invocation."""

from __future__ import annotations

import json
import os
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

if TYPE_CHECKING:
    from winloss.pipeline.app import App


def state(ctx: typer.Context) -> App:
    """The App the root command built from --config and --data-dir (pipeline/app.py, the composition root)."""
    return ctx.find_root().obj


# Exit codes, documented in the README: 1 a failure (nothing done), 2 usage (Click's own), 3 a batch in which some
# inputs failed and the others were done.
FAILURE, USAGE, SOME_FAILED = 1, 2, 3

# The demo corpus: in a checkout the whole examples/ folder (audio, evaluation sets); in a wheel its text transcripts.
EXAMPLES = Path(str(resources.files("winloss.examples")))
# emoji=False: a `:thumbs_up:` in a transcript or a rep's name is data, never a picture.
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)

# C0/C1 control characters (tab and newline aside) shown as `\x1b`: an escape sequence in a transcript must not drive
# the reader's terminal, and Rich passes ESC through.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0)) if chr(c) not in "\t\n"}


def plain(value: object) -> str:
    """Data inside a Rich markup string, shown as it is: a quote with `[/b]`, a rep called `Tom [/x]` or a file
    `good[red].txt` is text, not a tag that crashes the view or vanishes from it."""
    return escape(str(value).translate(_CONTROL))


def cells(*values: object) -> list[Text]:
    """A table row of data: Text cells are never parsed as markup (and keep a trailing backslash single)."""
    return [Text(str(v).translate(_CONTROL)) for v in values]


def percent(share: float | None) -> str:
    """A share (talk ratio, win rate, adherence) the same way in every view: 54%, or – when unknown."""
    return "–" if share is None else f"{share:.0%}"


def print_json(data) -> None:
    """`--json` output: on stdout alone (progress and warnings go to stderr), dates as ISO strings."""
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def debugging() -> bool:
    """--debug or WINLOSS_DEBUG=1: errors show their traceback."""
    return os.environ.get("WINLOSS_DEBUG", "") not in ("", "0")


def is_stdout(out: Path | None) -> bool:
    """`--out -` (or no --out where stdout is the default) means standard output."""
    return out is None or str(out) == "-"


def emit(text: str, out: Path | None, what: str) -> None:
    """Text to stdout (`--out -` or none) or, whole or not at all, to the file `out`."""
    from winloss.pipeline.render.report import write_file

    if is_stdout(out):
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_file(out, text, what)
    err_console.print(f"{what}: {plain(out)}", highlight=False, soft_wrap=True)
