"""The vector index (Chroma): utterances and findings, with scalar metadata and stable ids.

Persistent under the data dir by default, a Chroma server when storage.chroma_url is set. Our own
embedding function is always passed: Chroma's default one would download a model.

The collections come in generations (`findings_g3`): a rebuild fills a new generation beside the live one and
then points the `winloss_index` collection's metadata at it, one write, so an interrupted rebuild leaves the old
index answering. Generation 0 is the plain names that indexes had before generations.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import chromadb
import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.config import Settings as ChromaSettings
from chromadb.utils.embedding_functions import register_embedding_function
from pydantic import BaseModel
from winloss.pipeline.errors import ConfigError
from winloss.pipeline.extract.sentences import text_vectors
from winloss.pipeline.models import Call, CallAnalysis, FlatFinding, Outcome, Utterance
from winloss.pipeline.providers.embed import Embedder, MiniLMEmbedder
from winloss.pipeline.settings import Settings

UTTERANCES, FINDINGS = "utterances", "findings"
POINTER = "winloss_index"  # its metadata names the live generation
_GENERATION = re.compile(rf"^({UTTERANCES}|{FINDINGS})(?:_g(\d+))?$")


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
        self.data_dir = settings.data_dir
        self.embedder = embedder
        self.ef = WinlossEmbeddingFunction(embedder)
        self.generation = self._live_generation()
        self.collections = self._open(self.generation)

    # -- generations ----------------------------------------------------------------------------------------
    def _live_generation(self) -> int:
        names = self._names()
        if POINTER not in names:
            return 0
        return int((self.client.get_collection(POINTER, embedding_function=self.ef).metadata or {})
                   .get("generation", 0))

    def _names(self) -> set[str]:
        return {getattr(c, "name", c) for c in self.client.list_collections()}

    def _generations(self) -> set[int]:
        """Every generation with a collection here, complete or not."""
        return {int(m.group(2) or 0) for n in self._names() if (m := _GENERATION.match(n))}

    @staticmethod
    def _name(base: str, generation: int) -> str:
        return base if generation == 0 else f"{base}_g{generation}"

    def _open(self, generation: int) -> dict[str, Any]:
        return {name: self.client.get_or_create_collection(self._name(name, generation), embedding_function=self.ef,
                                                           metadata={"hnsw:space": "cosine"})
                for name in (UTTERANCES, FINDINGS)}

    def _drop(self, generation: int) -> None:
        names = self._names()
        for base in (UTTERANCES, FINDINGS):
            if (name := self._name(base, generation)) in names:
                self.client.delete_collection(name)

    def _point(self, generation: int) -> None:
        if POINTER in self._names():
            self.client.get_collection(POINTER, embedding_function=self.ef).modify(metadata={"generation": generation})
        else:
            self.client.create_collection(POINTER, embedding_function=self.ef, metadata={"generation": generation})

    def unfinished(self) -> list[int]:
        """Generations that are not live: what an interrupted rebuild left behind."""
        return sorted(self._generations() - {self.generation})

    def rebuild(self, fill: Callable[[Index], None]) -> None:
        """Fill a new generation with `fill(self)` beside the live one, then make it live and drop the old one.

        Until the switch, every other reader still answers from the old generation; if this process dies, the
        new one is left unfinished and the next rebuild drops it. Callers hold the data dir's lock."""
        for leftover in self.unfinished():
            self._drop(leftover)
        old, new = self.generation, max(self._generations() | {self.generation}) + 1
        self.collections = self._open(new)
        try:
            fill(self)
        except BaseException:
            self._drop(new)
            self.collections = self._open(old)
            raise
        self._point(new)
        self.generation = new
        self._drop(old)

    def upsert_call(self, analysis: CallAnalysis, outcome: Outcome | None) -> None:
        records = [(f.finding_id, FlatFinding.of(f)) for f in analysis.findings]
        self.replace_call(analysis.call, outcome, analysis.transcript.utterances, records)

    def replace_call(self, call: Call, outcome: Outcome | None, utterances: list[Utterance],
                     findings: list[tuple[str, FlatFinding]]) -> None:
        """Everything indexed for one call, replaced: its utterances and its findings (id, finding)."""
        base = {"call_id": call.call_id, "rep": call.rep or "", "deal_id": call.deal_id or "",
                "date": call.date.isoformat() if call.date else "", "outcome": outcome.value if outcome else ""}
        self.delete_call(call.call_id)  # a re-analysed call may have fewer rows than before
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

    def set_outcomes(self, outcomes: dict[str, str]) -> None:
        """Give the indexed documents of each call (call id -> outcome) their deal's new outcome; nothing is embedded
        again. Chroma updates by id only, so each call's ids are read first, in groups of calls."""
        calls = sorted(outcomes)
        step = min(self.client.get_max_batch_size(), 2048)
        for collection in self.collections.values():
            for i in range(0, len(calls), 100):
                group = calls[i: i + 100]
                got = collection.get(where={"call_id": {"$in": group}}, include=["metadatas"])
                ids = got["ids"]
                metas = [{**m, "outcome": outcomes[m["call_id"]]} for m in got["metadatas"]]
                for j in range(0, len(ids), step):
                    collection.update(ids=ids[j: j + step], metadatas=metas[j: j + step])

    def delete_call(self, call_id: str) -> None:
        for collection in self.collections.values():
            collection.delete(where={"call_id": call_id})

    def add_vectors(self, collection: str, ids: list[str], embeddings: list, documents: list[str],
                    metadatas: list[dict]) -> None:
        if ids:
            self.collections[collection].upsert(ids=ids, embeddings=embeddings, documents=documents,
                                                metadatas=metadatas)

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

    def scored(self, query: str, collection: str, ids: list[str]) -> list[Hit]:
        """The given documents with their similarity to `query`, scored as `search` scores (1 - cosine distance),
        from their stored vectors: what the exact side of a search found, placed on the semantic scale."""
        if not ids:
            return []
        got = self.collections[collection].get(ids=ids, include=["embeddings", "documents", "metadatas"])
        if not got["ids"]:
            return []
        q = np.asarray(self.ef([query])[0], dtype=float)
        vectors = np.asarray(got["embeddings"], dtype=float)
        cosine = vectors @ q / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(q) + 1e-12)
        return [Hit(id=i, collection=collection, text=doc, score=round(float(c), 4), metadata=meta)
                for i, doc, c, meta in zip(got["ids"], got["documents"], cosine, got["metadatas"], strict=True)]

    def counts(self) -> dict[str, int]:
        return {name: col.count() for name, col in self.collections.items()}
