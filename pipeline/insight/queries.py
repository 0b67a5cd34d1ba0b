"""What marketing asks: `search` (ranked, filtered quotes) and `ask` (grouped evidence, or a cited LLM answer).

Filters that depend on facts that can change after indexing (deal outcome, rep, date, competitors in the call)
are resolved in the store and passed to the index as a set of calls, so results never show a stale outcome.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict

from pydantic import BaseModel, Field
from winloss.pipeline.errors import WinlossError
from winloss.pipeline.extract.trackers import CompetitorTracker
from winloss.pipeline.insight.stats import win_rate
from winloss.pipeline.models import mmss
from winloss.pipeline.playbook import Playbook
from winloss.pipeline.providers.llm import LLMClient, Prompt
from winloss.pipeline.redact import Redactor
from winloss.pipeline.settings import SearchSettings
from winloss.pipeline.storage import fulltext
from winloss.pipeline.storage.fulltext import TextQuery
from winloss.pipeline.storage.index import FINDINGS, UTTERANCES, Index
from winloss.pipeline.storage.rows import CallFacts
from winloss.pipeline.storage.store import Store
from winloss.pipeline.vocab import FindingKind, Outcome, Role, Scope


class Filters(BaseModel):
    kind: FindingKind | None = None  # None: any kind
    label: str | None = None
    role: Role | None = None
    outcome: Outcome | None = None
    competitor: str | None = None
    rep: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    speaker: str | None = None  # a person's name: a named speaker, or a rep by the calls' rep name

    def index_where(self) -> dict[str, str]:
        where = {"kind": self.kind, "label": self.label, "role": self.role}
        return {k: str(v) for k, v in where.items() if v}

    def call_ids(self, store: Store) -> list[str] | None:
        return store.call_ids(rep=self.rep, outcome=self.outcome, since=self.since, until=self.until,
                              competitor=self.competitor)


class SearchHit(BaseModel):
    score: float  # semantic similarity plus the exact-match bonus: what hits are ranked and cut by
    semantic: float | None = None  # the index's similarity alone
    exact: bool = False  # the store's full-text search matched it
    collection: str
    call_id: str
    file: str
    date: dt.date | None
    rep: str | None
    deal_id: str | None
    outcome: str | None
    kind: str | None = None
    label: str | None = None
    status: str | None = None
    role: str
    speaker: str | None = None
    at: str
    start: float
    quote: str


def _require_words(text: str, what: str) -> None:
    """An empty query embeds to a vector near everything: the "closest" quotes would be noise shown as an answer."""
    if not text.strip():
        raise WinlossError(f"{what} needs words to look for; the query is empty")


def search(store: Store, index: Index, query: str, filters: Filters, limit: int = 10,
           scope: Scope = Scope.findings, tuning: SearchSettings | None = None
           ) -> list[SearchHit]:
    """Hybrid search: the index's closest documents and the store's full-text matches, merged, each scored
    `semantic + exact_weight × share of the query's terms it contains`, cut at `min_score`. "Quoted phrases" must
    appear as written; `filters.speaker` keeps what that person said."""
    _require_words(query, "search")
    tuning = tuning or SearchSettings()
    text, plain_query = TextQuery.parse(query), " ".join(query.replace('"', " ").split())
    collection = FINDINGS if scope == "findings" else UTTERANCES
    where = filters.index_where() if scope == Scope.findings else {"role": str(filters.role)} if filters.role else {}
    call_ids = filters.call_ids(store)
    said: set[tuple[str, int]] | None = None
    if filters.speaker:
        said = fulltext.utterance_keys(store.engine, fulltext.spoken_by(filters.speaker))
        call_ids = sorted({c for c, _ in said} & (set(call_ids) if call_ids is not None else {c for c, _ in said}))
    fetch = limit * tuning.candidates
    semantic = index.search(plain_query, collection=collection, limit=fetch, where=where,
                            call_ids=call_ids)
    seen = {h.id for h in semantic}
    exact_ids = fulltext.exact(store.engine, text, scope, fetch if said is None else fetch * 4, call_ids,
                               role=filters.role, kind=where.get("kind"), label=where.get("label"))
    hits = semantic + index.scored(plain_query, collection, [i for i in exact_ids if i not in seen])
    if said is not None:
        hits = [h for h in hits if (h.metadata["call_id"], h.metadata["utterance_index"]) in said]
    if text.phrases:
        hits = [h for h in hits if text.has_phrases(h.text)]
    scored = sorted(((min(1.0, round(h.score + tuning.exact_weight * text.coverage(h.text), 4)), h) for h in hits),
                    key=lambda sh: -sh[0])
    kept = [(score, h) for score, h in scored if score >= tuning.min_score][:limit]
    facts = store.call_facts({h.metadata["call_id"] for _, h in kept})
    out = []
    for score, h in kept:
        m = h.metadata
        call = facts.get(m["call_id"]) or CallFacts(call_id=m["call_id"])
        out.append(SearchHit(score=score, semantic=h.score, exact=h.id in exact_ids, collection=collection,
                             call_id=m["call_id"], file=(call.path or "").rsplit("/", 1)[-1],
                             date=call.date, rep=call.rep, deal_id=call.deal_id, outcome=call.outcome,
                             kind=m.get("kind"), label=m.get("label"),
                             status=m.get("status") or None, role=m["role"], speaker=m.get("speaker") or None,
                             at=mmss(m["start"]), start=m["start"], quote=h.text))
    return out


# -- ask ----------------------------------------------------------------------------------------------------
_LOSE = re.compile(r"(?i)\b(lose|lost|losing|loses|churn\w*)\b")
_WIN = re.compile(r"(?i)\b(win|won|winning|wins)\b")


class Theme(BaseModel):
    """A label that recurs in the evidence, with how the deals it appears in ended (within the filters)."""

    kind: str
    label: str
    hits: int
    calls: int
    won: int
    lost: int
    open: int
    win_rate: float | None
    quotes: list[SearchHit]


class Answer(BaseModel):
    question: str
    filters: Filters
    themes: list[Theme]
    evidence: list[SearchHit]
    text: str | None = Field(None, description="the LLM's answer, each sentence citing [call @ mm:ss]")
    citations: int = 0
    dropped_sentences: int = 0
    engine: str = "offline"


def infer_filters(question: str, playbook: Playbook, base: Filters) -> Filters:
    """Outcome and competitor read from the question ("why do we lose to Quotient?"), unless given."""
    update: dict = {}
    if base.outcome is None:
        if _LOSE.search(question) and not _WIN.search(question):
            update["outcome"] = Outcome.lost
        elif _WIN.search(question) and not _LOSE.search(question):
            update["outcome"] = Outcome.won
    if base.competitor is None and (names := CompetitorTracker(playbook).mentions(question)):
        update["competitor"] = names[0][0]
    return base.model_copy(update=update)


_ASK = SearchSettings(min_score=0, exact_weight=0)  # ask keeps what is near its best match itself (below)


def ask(store: Store, index: Index, question: str, playbook: Playbook, base: Filters | None = None,
        limit: int = 30) -> Answer:
    """The evidence for an answer: the closest findings within the inferred filters, grouped into themes."""
    _require_words(question, "ask")
    filters = infer_filters(question, playbook, base or Filters())
    evidence = search(store, index, question, filters, limit=limit, tuning=_ASK)
    if not evidence and filters != (base or Filters()):  # the inferred filters were too narrow
        filters = base or Filters()
        evidence = search(store, index, question, filters, limit=limit, tuning=_ASK)
    if evidence and filters.competitor is None:  # keep what is about the question: near the best match
        floor = max(0.2, evidence[0].score - 0.3)
        evidence = [h for h in evidence if h.score >= floor]
    # With a competitor named, the calls it came up in are the question's population ("why do we lose to X?"):
    # everything found in them is evidence, the closest first.
    groups: dict[tuple[str, str], list[SearchHit]] = defaultdict(list)
    for h in evidence:
        groups[(h.kind or "", h.label or "")].append(h)
    themes = []
    for (kind, label), hits in groups.items():
        deals = {h.deal_id: h.outcome for h in hits if h.deal_id}
        outcomes = list(deals.values())
        won, lost = outcomes.count("won"), outcomes.count("lost")
        themes.append(Theme(kind=kind, label=label, hits=len(hits), calls=len({h.call_id for h in hits}), won=won,
                            lost=lost, open=outcomes.count("open"),
                            win_rate=win_rate(won, lost),
                            quotes=_one_per_call(hits)[:3]))
    themes.sort(key=lambda t: (-t.quotes[0].score, -t.calls, t.label))  # the most relevant theme first
    return Answer(question=question, filters=filters, themes=themes, evidence=evidence)


def _one_per_call(hits: list[SearchHit]) -> list[SearchHit]:
    seen: set[str] = set()
    out = []
    for h in hits:
        if h.call_id not in seen:
            seen.add(h.call_id)
            out.append(h)
    return out


CITATION = re.compile(r"\[([0-9a-f]{6,16})\s*@\s*(\d{1,3}:\d{2})\]")


def citation(hit: SearchHit) -> str:
    return f"[{hit.call_id[:8]} @ {hit.at}]"


def evidence_lines(evidence: list[SearchHit]) -> str:
    return "\n".join(json.dumps({"cite": citation(h), "kind": h.kind, "label": h.label, "speaker": h.role,
                                 "deal_outcome": h.outcome or "unknown", "date": str(h.date or ""), "quote": h.quote})
                     for h in evidence)


def check_citations(text: str, evidence: list[SearchHit]) -> tuple[str, int, int]:
    """Keep the sentences whose every citation names a piece of the evidence (and that cite at least one).

    Returns the kept text, the number of valid citations and the number of sentences dropped.
    """
    kept, cited, dropped = [], 0, 0
    for sentence, found in _cited_sentences(text, evidence):
        if found:
            kept.append(sentence)
            cited += found
        elif sentence.strip():
            dropped += 1
    return " ".join(kept), cited, dropped


def _cited_sentences(text: str, evidence: list[SearchHit]) -> list[tuple[str, int]]:
    """Each sentence with its number of citations, 0 when it cites nothing or anything not in the evidence."""
    known = {(h.call_id[:8], h.at) for h in evidence}
    out = []
    for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z\[])", text.strip()):
        found = CITATION.findall(sentence)
        ok = found and all((call[:8], at.zfill(5)) in known for call, at in found)
        out.append((sentence, len(found) if ok else 0))
    return out


class _AnswerReply(BaseModel):
    answer: str


def llm_answer(answer: Answer, client: LLMClient, company: str, redactor: Redactor | None = None) -> Answer:
    """A short answer from the LLM over the evidence; only sentences whose citations exist are kept."""
    if not answer.evidence:
        return answer
    evidence = answer.evidence
    if redactor is not None:
        evidence = [h.model_copy(update={"quote": redactor.text(h.quote)}) for h in evidence]
    def uncited(reply: _AnswerReply) -> list[str]:  # what check_citations would drop goes back to the model first
        return [f"the sentence {sentence[:160]!r} cites no [call @ mm:ss] of the evidence"
                for sentence, found in _cited_sentences(reply.answer, answer.evidence)
                if sentence.strip() and not found]

    reply = client.ask(Prompt.load("answer_question"), _AnswerReply, uncited, question=answer.question,
                       evidence=evidence_lines(evidence), company=company)
    text, cited, dropped = check_citations(reply.answer, answer.evidence)
    return answer.model_copy(update={"text": text or None, "citations": cited, "dropped_sentences": dropped,
                                     "engine": f"llm:{client.settings.model}"})
