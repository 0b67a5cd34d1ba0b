"""Rebuild the vector index from the store: the store is the record, the index can always be made again.

Rebuilds fill a new generation of the index and switch to it when complete (Index.rebuild), under the data dir's
lock, so an interrupted one leaves the old index answering and a running `analyze` is never pulled from under.
"""

from __future__ import annotations

from pydantic import BaseModel
from winloss.pipeline.models import Call, finding_key
from winloss.pipeline.storage.index import FINDINGS, UTTERANCES, Index
from winloss.pipeline.storage.lock import data_lock
from winloss.pipeline.storage.rows import CallRow
from winloss.pipeline.storage.store import Store


def reindex(store: Store, index: Index) -> dict[str, int]:
    """Embed every stored call again into a new generation; returns the counts of the new index."""
    with data_lock(index.data_dir, "reindex"):
        calls = store.list_calls()
        index.rebuild(lambda new: _fill(store, new, calls))
        store.set_index_stale(None)
    return {"calls": len(calls), **index.counts()}


def _fill(store: Store, index: Index, calls: list[CallRow]) -> None:
    for c in calls:
        call = store.call(c.call_id)
        index.replace_call(call, c.outcome, store.transcript(call.call_id).utterances,
                           store.finding_records(call.call_id))


def rekey(store: Store, index: Index) -> None:
    """After the store's ids changed (schema 5), give the index the new ids. The vectors themselves are still
    right, so they are copied, not embedded again; a call whose vectors are missing is embedded from the store.
    The caller holds the data dir's lock."""
    calls = store.list_calls()
    old = index.collections

    def fill(new: Index) -> None:
        for c in calls:
            call = store.call(c.call_id)
            if not _copy(store, old, new, call):
                new.replace_call(call, c.outcome, store.transcript(call.call_id).utterances,
                                 store.finding_records(call.call_id))

    index.rebuild(fill)
    store.set_index_stale(None)


def _copy(store: Store, old: dict, new: Index, call: Call) -> bool:
    """Copy one call's vectors from the old generation under the new ids; False when they are not all there."""
    was = call.content_hash or call.call_id  # schema 5 kept each old id as the call's content hash
    utts = old[UTTERANCES].get(where={"call_id": was}, include=["embeddings", "documents", "metadatas"])
    found = old[FINDINGS].get(where={"call_id": was}, include=["embeddings", "documents", "metadatas"])
    records = store.finding_records(call.call_id)
    by_old_id = {finding_key(was, f.kind, f.label, f.utterance_index, f.engine): fid for fid, f in records}
    if len(found["ids"]) != len(records) or not set(found["ids"]) <= set(by_old_id) or not utts["ids"]:
        return False
    moved = {"call_id": call.call_id}
    new.add_vectors(UTTERANCES, [f"{call.call_id}:{i.rsplit(':', 1)[1]}" for i in utts["ids"]],
                    list(utts["embeddings"]), utts["documents"], [{**m, **moved} for m in utts["metadatas"]])
    new.add_vectors(FINDINGS, [by_old_id[i] for i in found["ids"]], list(found["embeddings"]), found["documents"],
                    [{**m, **moved} for m in found["metadatas"]])
    return True


class Health(BaseModel):
    """Whether the index holds what the store says it should: per collection, stored rows against vectors."""

    store: dict[str, int]
    index: dict[str, int]
    stale: str | None = None
    unfinished: list[int] = []

    @property
    def ok(self) -> bool:
        return self.store == self.index and not self.stale

    def advice(self) -> list[str]:
        lines = [f"{name}: {self.store[name]} in the store, {self.index.get(name, 0)} in the index"
                 + ("" if self.store[name] == self.index.get(name, 0) else "  <- differs")
                 for name in self.store]
        if self.stale:
            lines.append(f"the index's ids are out of date: {self.stale}")
        if self.unfinished:
            lines.append(f"an interrupted reindex left generation(s) {', '.join(map(str, self.unfinished))} "
                         f"behind (not used; the next `winloss reindex` removes them)")
        lines.append("store and index agree" if self.ok else
                     "run `winloss reindex` to rebuild the index from the store (searches keep answering from "
                     "the current index until it is done)")
        return lines


def health(store: Store, index: Index) -> Health:
    return Health(store=store.vector_counts(), index=index.counts(), stale=store.index_stale(),
                  unfinished=index.unfinished())
