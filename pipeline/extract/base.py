"""The Extractor protocol, what it returns, and the registry keyed by `extraction.engine`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from winloss.pipeline.errors import ConfigError
from winloss.pipeline.models import CompetitorMention, LLMUsage, MessageUse, Objection, Transcript
from winloss.pipeline.playbook import Playbook
from winloss.pipeline.providers.embed import Embedder
from winloss.pipeline.settings import Settings

if TYPE_CHECKING:
    from winloss.pipeline.extract.learning import LearnedTrackers


@dataclass(frozen=True)
class Findings:
    objections: list[Objection]
    competitors: list[CompetitorMention]
    messages: list[MessageUse]
    usage: LLMUsage | None = None  # the LLM engine's requests, tokens, cost and dropped findings

    @property
    def all(self) -> list[Objection | CompetitorMention | MessageUse]:
        return [*self.objections, *self.competitors, *self.messages]


class Extractor(Protocol):
    name: str

    def extract(self, transcript: Transcript) -> Findings: ...


def build_extractor(settings: Settings, playbook: Playbook, embedder: Embedder,
                    learned: LearnedTrackers | None = None) -> Extractor:
    from winloss.pipeline.extract.trackers import OfflineExtractor

    offline = OfflineExtractor(playbook, settings.extraction, embedder, learned)
    if settings.extraction.engine == "offline":
        return offline
    if settings.extraction.engine == "llm":
        from winloss.pipeline.extract.llm import LLMExtractor

        return LLMExtractor(playbook, settings.llm, settings.privacy, hints=offline,
                            cache_dir=settings.data_dir / "llm-cache")
    raise ConfigError(f"extraction.engine = {settings.extraction.engine!r} is not known; use 'offline' or 'llm'")
