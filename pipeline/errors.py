"""A small error hierarchy whose messages the CLI shows verbatim: each says what to do."""

from __future__ import annotations

from pathlib import Path


class WinlossError(Exception):
    """Base of every error winloss raises on purpose."""


class ConfigError(WinlossError):
    """The config or playbook file is missing or invalid."""


class BadInputError(WinlossError):
    """One input file cannot be analysed; the batch goes on without it."""

    def __init__(self, path: Path | str, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class StoreError(WinlossError):
    """The data directory cannot be used as it is."""


class NotFoundError(WinlossError):
    """A call, deal or finding that was asked for does not exist."""


class LLMError(WinlossError):
    """The LLM could not give a usable answer after the configured retries."""
