"""The Extractor protocol and the registry keyed by `extraction.engine`."""

from __future__ import annotations

from typing import Protocol

from ..embed import Embedder
from ..errors import ConfigError
from ..models import CompetitorMention, MessageUse, Objection, Transcript
from ..settings import ExtractionSettings, Playbook

Findings = tuple[list[Objection], list[CompetitorMention], list[MessageUse]]


class Extractor(Protocol):
    name: str

    def extract(self, transcript: Transcript) -> Findings: ...


def build_extractor(settings: ExtractionSettings, playbook: Playbook, embedder: Embedder) -> Extractor:
    if settings.engine == "offline":
        from .trackers import OfflineExtractor

        return OfflineExtractor(playbook, settings, embedder)
    raise ConfigError(f"extraction.engine = {settings.engine!r} is not known; use 'offline'")
