"""The vector index (Chroma): utterances and findings, with scalar metadata and stable ids.

Persistent under the data dir by default, a Chroma server when storage.chroma_url is set. Our own
embedding function is always passed: Chroma's default one would download a model.
"""

from __future__ import annotations

from typing import Any

import chromadb
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.config import Settings as ChromaSettings
from chromadb.utils.embedding_functions import register_embedding_function
from pydantic import BaseModel

from .embed import Embedder, MiniLMEmbedder
from .errors import ConfigError
from .models import CallAnalysis, Outcome
from .settings import Settings

UTTERANCES, FINDINGS = "utterances", "findings"


@register_embedding_function
class WinlossEmbeddingFunction(EmbeddingFunction[Documents]):
    """Our Embedder seen through Chroma's protocol, so Chroma never falls back to its downloading default."""

    def __init__(self, inner: Embedder):
        self.inner = inner

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.inner.embed(list(input)))

    @staticmethod
    def name() -> str:
        return "winloss"

    def get_config(self) -> dict[str, Any]:
        return {"embedder": self.inner.name}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> WinlossEmbeddingFunction:
        if config.get("embedder") != MiniLMEmbedder.name:
            raise ConfigError(f"the index was built with embedder {config.get('embedder')!r}; "
                              f"configure that embedder to open it")
        return WinlossEmbeddingFunction(MiniLMEmbedder())

    def default_space(self):
        return "cosine"


class Hit(BaseModel):
    id: str
    collection: str
    text: str
    score: float
    metadata: dict[str, Any]


class Index:
    def __init__(self, settings: Settings, embedder: Embedder):
        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if settings.storage.chroma_url:
            from urllib.parse import urlparse

            url = urlparse(settings.storage.chroma_url)
            self.client = chromadb.HttpClient(host=url.hostname or "localhost", port=url.port or 8000,
                                              ssl=url.scheme == "https", settings=chroma_settings)
        else:
            settings.chroma_path.mkdir(parents=True, exist_ok=True)
            self.client = chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
        ef = WinlossEmbeddingFunction(embedder)
        self.collections = {
            name: self.client.get_or_create_collection(name, embedding_function=ef,
                                                       metadata={"hnsw:space": "cosine"})
            for name in (UTTERANCES, FINDINGS)
        }

    def upsert_call(self, analysis: CallAnalysis, outcome: Outcome | None) -> None:
        call = analysis.call
        base = {"call_id": call.call_id, "rep": call.rep or "", "deal_id": call.deal_id or "",
                "date": call.date.isoformat() if call.date else "", "outcome": outcome.value if outcome else ""}
        for collection in self.collections.values():  # a re-analysed call may have fewer rows than before
            collection.delete(where={"call_id": call.call_id})
        utts = [u for u in analysis.transcript.utterances if u.text.strip()]
        if utts:
            self.collections[UTTERANCES].upsert(
                ids=[f"{call.call_id}:{u.index}" for u in utts],
                documents=[u.text for u in utts],
                metadatas=[{**base, "utterance_index": u.index, "role": u.role.value, "start": u.start,
                            "end": u.end, "speaker": u.speaker} for u in utts])
        found = analysis.findings
        if found:
            self.collections[FINDINGS].upsert(
                ids=[f.finding_id for f in found],
                documents=[f.evidence.quote for f in found],
                metadatas=[{**base, "kind": f.kind.value, "label": f.label, "role": f.evidence.role.value,
                            "utterance_index": f.evidence.utterance_index, "start": f.evidence.start,
                            "end": f.evidence.end, "speaker": f.evidence.speaker} for f in found])

    def search(self, query: str, collection: str = FINDINGS, limit: int = 10,
               where: dict[str, Any] | None = None) -> list[Hit]:
        col = self.collections[collection]
        if col.count() == 0:
            return []
        res = col.query(query_texts=[query], n_results=min(limit, col.count()), where=where or None)
        return [Hit(id=i, collection=collection, text=doc, score=round(1 - dist, 4), metadata=meta)
                for i, doc, dist, meta in zip(res["ids"][0], res["documents"][0], res["distances"][0],
                                              res["metadatas"][0], strict=True)]

    def counts(self) -> dict[str, int]:
        return {name: col.count() for name, col in self.collections.items()}
