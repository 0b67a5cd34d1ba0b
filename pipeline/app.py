"""The composition root: settings, the playbook and every provider (store, index, embedders, LLM, the analysis
engines), each built from config on first use. cli/ and flows/ take an App; nothing else builds these.

Nothing loads at construction: `winloss --help` builds an App without reading the config, and a command that only
reads the store never imports torch.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from winloss.pipeline.analyze import Engines
    from winloss.pipeline.models import Label
    from winloss.pipeline.playbook import Playbook
    from winloss.pipeline.providers.llm import LLMClient
    from winloss.pipeline.redact import Redactor
    from winloss.pipeline.settings import Settings
    from winloss.pipeline.storage.index import Index
    from winloss.pipeline.storage.store import Store


class App:
    """Give `settings` (flows, tests), or the `config` file and `data_dir` to load them from (the CLI's options)."""

    def __init__(self, settings: Settings | None = None, *, config: Path | None = None, data_dir: Path | None = None,
                 playbook: Playbook | None = None):
        self.config, self.data_dir = config, data_dir
        if settings is not None:
            self.settings = settings
        if playbook is not None:
            self.playbook = playbook

    @cached_property
    def settings(self) -> Settings:
        from winloss.pipeline.settings import load_settings

        return load_settings(self.config, data_dir=self.data_dir)

    @cached_property
    def playbook(self) -> Playbook:
        from winloss.pipeline.playbook import load_playbook

        return load_playbook(self.settings.playbook)

    @cached_property
    def store(self) -> Store:
        from winloss.pipeline.storage.store import Store

        return Store(self.settings.database_url)

    @cached_property
    def raw_index(self) -> Index:
        """The index as it is on disk (what `doctor` inspects), with the embedder for queries: a few short texts,
        embedded without importing torch (pipeline/providers/embed.py NumpyMiniLM)."""
        from winloss.pipeline.providers.embed import build_embedder
        from winloss.pipeline.storage.index import Index

        return Index(self.settings, build_embedder(self.settings.embeddings, queries=True))

    @cached_property
    def index(self) -> Index:
        """The index for queries, given the store's call ids first when an upgrade changed them (schema 5)."""
        from winloss.pipeline.storage.lock import data_lock
        from winloss.pipeline.storage.reindex import rekey

        index = self.raw_index
        if self.store.index_stale():
            with data_lock(self.settings.data_dir, "search"):
                rekey(self.store, index)
        return index

    def batch_index(self, engines: Engines | None = None) -> Index:
        """The index with the batch embedder (the engines' own when given), for work that embeds many texts."""
        from winloss.pipeline.providers.embed import build_embedder
        from winloss.pipeline.storage.index import Index

        embedder = engines.embedder if engines else build_embedder(self.settings.embeddings)
        return Index(self.settings, embedder)

    def engines(self, transcripts: int = 0, labels: list[Label] | None = None) -> Engines:
        """The analysis providers for one run: `transcripts` text transcripts in it, trackers learned from `labels`
        (the store's, and the customer turns of the calls they are on, when not given)."""
        from winloss.pipeline.analyze import Engines

        if labels is None:
            labels = self.store.labels()
            population = self.store.reviewed_turns() if labels else []
        else:
            population = []
        return Engines(self.settings, self.playbook, transcripts=transcripts, labels=labels, population=population)

    def llm_client(self) -> LLMClient:
        """A client for the configured chat model (ask, summaries, narrative); ConfigError says what is missing."""
        from winloss.pipeline.providers.llm import LLMClient, build_chat_model

        return LLMClient(build_chat_model(self.settings.llm), self.settings.llm)

    def llm_redactor(self) -> Redactor | None:
        """The redactor for text sent to an LLM, or None when privacy.redact_llm is off."""
        from winloss.pipeline.redact import Redactor

        privacy = self.settings.privacy
        return Redactor(privacy.names) if privacy.redact_llm else None
