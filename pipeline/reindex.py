"""Rebuild the vector index from the store: the store is the record, the index can always be made again."""

from __future__ import annotations

from .index import Index
from .models import Outcome
from .store import Store


def reindex(store: Store, index: Index) -> dict[str, int]:
    index.clear()
    calls = store.list_calls()
    for c in calls:
        call = store.call(c["call_id"])
        outcome = Outcome(c["outcome"]) if c["outcome"] else None  # list_calls joined the deals already
        index.replace_call(call, outcome, store.transcript(call.call_id).utterances,
                           store.finding_records(call.call_id))
    counts = index.counts()
    return {"calls": len(calls), **counts}
