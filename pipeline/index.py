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
from .models import Call, CallAnalysis, FlatFinding, Outcome, Utterance
from .sentences import text_vectors
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
            try:
                self.client = chromadb.HttpClient(host=url.hostname or "localhost", port=url.port or 8000,
                                                  ssl=url.scheme == "https", settings=chroma_settings)
            except Exception as exc:  # chromadb raises ValueError or httpx errors, depending on the failure
                raise ConfigError(f"cannot reach the Chroma server at {settings.storage.chroma_url} ({exc}); "
                                  f"start it (`chroma run --path DIR --port {url.port or 8000}`) or set "
                                  f"storage.chroma_url to \"\" for the local index") from exc
        else:
            settings.chroma_path.mkdir(parents=True, exist_ok=True)
            self.client = chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
        self.embedder = embedder
        self.ef = WinlossEmbeddingFunction(embedder)
        self.collections = self._open()

    def _open(self) -> dict[str, Any]:
        return {name: self.client.get_or_create_collection(name, embedding_function=self.ef,
                                                           metadata={"hnsw:space": "cosine"})
                for name in (UTTERANCES, FINDINGS)}

    def upsert_call(self, analysis: CallAnalysis, outcome: Outcome | None) -> None:
        records = [(f.finding_id, FlatFinding.of(f)) for f in analysis.findings]
        self.replace_call(analysis.call, outcome, analysis.transcript.utterances, records)

    def replace_call(self, call: Call, outcome: Outcome | None, utterances: list[Utterance],
                     findings: list[tuple[str, FlatFinding]]) -> None:
        """Everything indexed for one call, replaced: its utterances and its findings (id, finding)."""
        base = {"call_id": call.call_id, "rep": call.rep or "", "deal_id": call.deal_id or "",
                "date": call.date.isoformat() if call.date else "", "outcome": outcome.value if outcome else ""}
        for collection in self.collections.values():  # a re-analysed call may have fewer rows than before
            collection.delete(where={"call_id": call.call_id})
        utts = [u for u in utterances if u.text.strip()]
        self._upsert(UTTERANCES, [f"{call.call_id}:{u.index}" for u in utts], [u.text for u in utts],
                     [{**base, "utterance_index": u.index, "role": u.role.value, "start": u.start, "end": u.end,
                       "speaker": u.speaker} for u in utts])
        self._upsert(FINDINGS, [fid for fid, _ in findings], [f.quote for _, f in findings],
                     [{**base, "kind": f.kind.value, "label": f.label, "status": f.status or "",
                       "role": f.role.value, "utterance_index": f.utterance_index, "start": f.start, "end": f.end}
                      for _, f in findings])

    def _upsert(self, collection: str, ids: list[str], documents: list[str], metadatas: list[dict]) -> None:
        """Upserts in batches Chroma accepts, each document's vector made from its sentences' (text_vectors)."""
        step = min(self.client.get_max_batch_size(), 2048)
        for i in range(0, len(ids), step):
            self.collections[collection].upsert(ids=ids[i: i + step], documents=documents[i: i + step],
                                                embeddings=text_vectors(self.embedder, documents[i: i + step]),
                                                metadatas=metadatas[i: i + step])

    def clear(self) -> None:
        """Drop and recreate both collections (reindex)."""
        for name in list(self.collections):
            self.client.delete_collection(name)
        self.collections = self._open()

    def search(self, query: str, collection: str = FINDINGS, limit: int = 10,
               where: dict[str, Any] | None = None, call_ids: list[str] | None = None) -> list[Hit]:
        """Closest `limit` documents; `where` filters metadata (equality), `call_ids` restricts to those calls."""
        col = self.collections[collection]
        clauses = [{k: v} for k, v in (where or {}).items() if v not in (None, "")]
        if call_ids is not None:
            if not call_ids:
                return []
            clauses.append({"call_id": {"$in": call_ids}})
        flt = clauses[0] if len(clauses) == 1 else ({"$and": clauses} if clauses else None)
        size = col.count()  # one request to a Chroma server, not two
        if size == 0:
            return []
        res = col.query(query_texts=[query], n_results=min(limit, size), where=flt)
        return [Hit(id=i, collection=collection, text=doc, score=round(1 - dist, 4), metadata=meta)
                for i, doc, dist, meta in zip(res["ids"][0], res["documents"][0], res["distances"][0],
                                              res["metadatas"][0], strict=True)]

    def counts(self) -> dict[str, int]:
        return {name: col.count() for name, col in self.collections.items()}
