"""Review and learn: what a reviewer is shown, what each answer stores, and refreshing findings after learning."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from winloss.pipeline.analyze import Engines, extract_call
from winloss.pipeline.extract.suggest import suggestions
from winloss.pipeline.fingerprint import same_transcript
from winloss.pipeline.models import ANY_LABEL, FindingKind, Label, Utterance
from winloss.pipeline.storage.index import Index
from winloss.pipeline.storage.store import Store

CONTEXT_BEFORE, CONTEXT_AFTER = 2, 1  # neighbouring turns shown with the sentence


@dataclass(frozen=True)
class ReviewItem:
    call_id: str
    kind: FindingKind
    label: str  # what the engine says (or would say) it is
    utterance: Utterance
    quote: str  # the sentence the engine picked; the verdict is stored on the whole turn
    context: list[Utterance]
    suggested: bool  # a suggestion (not currently a finding) rather than a stored finding

    def labels(self, answer: str, other: str | None = None, who: str | None = None) -> list[Label]:
        """The labels an answer stores: y (right), n (not this kind at all; for messages: not this message), or
        c with `other` (right kind, other category or message)."""
        def make(label: str, verdict: bool) -> Label:
            return Label(call_id=self.call_id, utterance_index=self.utterance.index, text=self.utterance.text,
                         kind=self.kind, label=label, verdict=verdict, source="suggest" if self.suggested else "review",
                         who=who, at=dt.datetime.now(dt.UTC).replace(tzinfo=None))

        if answer == "y":
            return [make(self.label, True)]
        if answer == "n":
            return [make(ANY_LABEL if self.kind is FindingKind.objection else self.label, False)]
        if answer == "c" and other:
            return [make(self.label, False), make(other, True)]
        raise ValueError(f"unknown answer {answer!r}")


def _context(utterances: list[Utterance], index: int) -> list[Utterance]:
    return utterances[max(0, index - CONTEXT_BEFORE): index + CONTEXT_AFTER + 1]


def _judged(labels: list[Label]) -> set[tuple[str, int, str]]:
    return {(lb.call_id, lb.utterance_index, lb.kind.value) for lb in labels}


def findings_to_review(store: Store, kind: FindingKind, label: str | None, limit: int) -> list[ReviewItem]:
    """Stored findings nobody has judged yet, newest calls first (then by path and time in the call), at most one
    per turn. The order depends on the calls alone, never on their ids (hashes of where the files lie)."""
    done = _judged(store.labels(kind))
    out: list[ReviewItem] = []
    transcripts: dict[str, list[Utterance]] = {}
    calls = {c.call_id: c for c in store.list_calls()}

    def order(f) -> tuple[int, str, float]:
        call = calls[f.call_id]
        return -(call.date.toordinal() if call.date else 0), call.path, f.start

    newest_first = sorted(store.findings(), key=order)
    for f in newest_first:
        if len(out) >= limit:
            break
        if f.kind is not kind or (label and f.label != label) or (f.call_id, f.utterance_index, kind.value) in done:
            continue
        done.add((f.call_id, f.utterance_index, kind.value))
        utts = transcripts.setdefault(f.call_id, store.transcript(f.call_id).utterances)
        out.append(ReviewItem(f.call_id, kind, f.label, utts[f.utterance_index], f.quote,
                              _context(utts, f.utterance_index), suggested=False))
    return out


def suggestions_to_review(store: Store, engines: Engines, limit: int, label: str | None = None) -> list[ReviewItem]:
    """Customer turns the objection tracker is least sure about (and some drawn at random), across stored calls."""
    seen = {(lb.call_id, lb.utterance_index, lb.text) for lb in store.labels(FindingKind.objection)}
    transcripts = {c.call_id: store.transcript(c.call_id) for c in store.list_calls()}
    picked = suggestions(engines.extractor, transcripts.values(), limit * 4 if label else limit, seen)
    items = [ReviewItem(s.call_id, FindingKind.objection, s.category, s.utterance, s.text,
                        _context(transcripts[s.call_id].utterances, s.utterance.index), suggested=True)
             for s in picked if not label or s.category == label]
    return items[:limit]


@dataclass(frozen=True)
class Refresh:
    refreshed: int
    current: int
    needs_analysis: list[str]  # calls whose transcript is out of date too: `winloss analyze` must redo them


def refresh_findings(store: Store, index: Index, engines: Engines) -> Refresh:
    """New findings for every stored call from its stored transcript (no transcription), after the labels or the
    playbook changed. Index first, then the store row that marks the call done, as analysis does."""
    fingerprint = engines.fingerprint
    refreshed, current, stale = 0, 0, []
    for row in store.list_calls():
        call_id = row.call_id
        stored = store.fingerprint_of(call_id)
        if stored == fingerprint:
            current += 1
            continue
        if not same_transcript(stored, fingerprint):
            stale.append(row.path)
            continue
        analysis = extract_call(store.call(call_id), store.transcript(call_id), engines)
        index.upsert_call(analysis, store.outcome_of(analysis.call.deal_id))
        store.save_analysis(analysis, fingerprint)
        refreshed += 1
    return Refresh(refreshed, current, stale)
