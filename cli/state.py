"""What every command needs: settings from --config/--data-dir/env, loaded once per invocation."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

if TYPE_CHECKING:  # pydantic-settings and the models load when a command first needs its settings, not for --help
    from winloss.pipeline.settings import Playbook, Settings


@dataclass
class AppState:
    config: Path | None
    data_dir: Path | None

    @cached_property
    def settings(self) -> Settings:
        from winloss.pipeline.settings import load_settings

        return load_settings(self.config, data_dir=self.data_dir)

    @cached_property
    def playbook(self) -> Playbook:
        from winloss.pipeline.settings import load_playbook

        return load_playbook(self.settings.playbook)

    @cached_property
    def store(self):
        from winloss.pipeline.store import Store

        return Store(self.settings.database_url)

    @cached_property
    def raw_index(self):
        """The index as it is on disk (what `doctor` inspects), with the embedder for queries: a few short texts,
        embedded without importing torch (pipeline/embed.py NumpyMiniLM)."""
        from winloss.pipeline.embed import build_embedder
        from winloss.pipeline.index import Index

        return Index(self.settings, build_embedder(self.settings.embeddings, queries=True))

    def batch_index(self):
        """The index with the batch embedder, for a command that embeds the whole store (`reindex`)."""
        from winloss.pipeline.embed import build_embedder
        from winloss.pipeline.index import Index

        return Index(self.settings, build_embedder(self.settings.embeddings))

    @cached_property
    def index(self):
        """The index, given the store's call ids first when an upgrade changed them (schema 5)."""
        from winloss.pipeline.lock import data_lock
        from winloss.pipeline.reindex import rekey

        index = self.raw_index
        if self.store.index_stale():
            with data_lock(self.settings.data_dir, "search"):
                rekey(self.store, index)
        return index

    def llm_redactor(self):
        """The redactor for text sent to an LLM, or None when privacy.redact_llm is off."""
        from winloss.pipeline.redact import Redactor

        privacy = self.settings.privacy
        return Redactor(privacy.names) if privacy.redact_llm else None

    def llm_client(self):
        """A client for the configured chat model (ask, summaries); ConfigError says what is missing."""
        from winloss.pipeline.llm import LLMClient, build_chat_model

        return LLMClient(build_chat_model(self.settings.llm), self.settings.llm)


def state(ctx: typer.Context) -> AppState:
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
    from winloss.pipeline.report import write_file

    if is_stdout(out):
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_file(out, text, what)
    err_console.print(f"{what}: {plain(out)}", highlight=False, soft_wrap=True)
