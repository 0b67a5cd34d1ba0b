"""search, ask, insights and reindex on the 24 demo calls (their scripts), with real Chroma and SQLite."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner
from winloss.cli.app import app
from winloss.pipeline.insight.insights import breakdown, compute
from winloss.pipeline.insight.queries import Filters, ask, check_citations, citation, llm_answer, search
from winloss.pipeline.providers.embed import build_embedder
from winloss.pipeline.providers.llm import LLMClient
from winloss.pipeline.storage.index import Index
from winloss.pipeline.storage.reindex import reindex
from winloss.pipeline.storage.store import Store

from .fakes import ScriptedChat, Step, fake_openai_server


@pytest.fixture(scope="module")
def corpus(script_corpus):
    store = Store(script_corpus.database_url)
    return script_corpus, store, Index(script_corpus, build_embedder(script_corpus.embeddings))


def _cli(settings, *args, env=None):
    result = CliRunner().invoke(app, ["--data-dir", str(settings.data_dir), *args], env=env)
    assert result.exit_code == 0, result.output
    return result


def test_search_filters_narrow_the_results_to_what_was_asked(corpus):
    _, store, index = corpus
    calls = {c.call_id: c for c in store.list_calls()}
    hits = search(store, index, "it is too expensive", Filters(kind="objection", outcome="lost"), limit=20)
    assert hits and hits[0].label == "price"
    assert {h.outcome for h in hits} == {"lost"} and {h.kind for h in hits} == {"objection"}
    assert all(calls[h.call_id].outcome == "lost" for h in hits)

    by_rep = search(store, index, "pricing", Filters(rep="Tom", role="rep"), limit=50)
    assert by_rep and {h.rep for h in by_rep} == {"Tom"} and {h.role for h in by_rep} == {"rep"}

    window = Filters(since=dt.date(2026, 10, 10), until=dt.date(2026, 10, 20))
    dated = search(store, index, "forecast accuracy", window, limit=50)
    assert dated and all(window.since <= h.date <= window.until for h in dated)

    quotient_calls = set(store.call_ids(competitor="Quotient"))
    with_quotient = search(store, index, "price", Filters(competitor="Quotient"), limit=50)
    assert with_quotient and {h.call_id for h in with_quotient} <= quotient_calls
    assert len(quotient_calls) == 8  # planted: Quotient comes up in 8 calls

    spoken = search(store, index, "spreadsheets", Filters(role="customer"), scope="utterances", limit=5)
    assert spoken and all(h.role == "customer" and h.kind is None for h in spoken)
    assert "spreadsheet" in spoken[0].quote.lower()


def test_search_cli_json_and_no_results_is_not_an_error(corpus):
    settings, _, _ = corpus
    out = json.loads(_cli(settings, "search", "the price is too high", "--kind", "objection", "--outcome", "won",
                          "--json").stdout)
    assert out and all(h["outcome"] == "won" and h["kind"] == "objection" for h in out)
    assert {"call_id", "at", "role", "quote", "outcome", "date", "rep"} <= set(out[0])
    empty = _cli(settings, "search", "price", "--rep", "Nobody")
    assert "no results" in empty.stdout
    bad = CliRunner().invoke(app, ["--data-dir", str(settings.data_dir), "search", "x", "--since", "last week"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


def test_offline_ask_returns_grouped_evidence_not_prose(corpus):
    settings, store, index = corpus
    answer = ask(store, index, "Why do we lose to Quotient?", _playbook(settings))
    assert answer.filters.outcome == "lost" and answer.filters.competitor == "Quotient"
    assert answer.text is None and answer.engine == "offline"
    assert answer.evidence and {h.outcome for h in answer.evidence} == {"lost"}
    labels = {(t.kind, t.label) for t in answer.themes}
    assert ("competitor", "Quotient") in labels
    for theme in answer.themes:  # counts are of distinct deals among the evidence, quotes one per call
        assert theme.won + theme.lost + theme.open <= theme.calls
        assert len({q.call_id for q in theme.quotes}) == len(theme.quotes)
    for h in answer.evidence:
        assert h.quote in " ".join(u.text for u in store.transcript(h.call_id).utterances)


def test_llm_answers_keep_only_sentences_with_real_citations(corpus):
    settings, store, index = corpus
    answer = ask(store, index, "What do lost customers say about price?", _playbook(settings))
    real, other = answer.evidence[0], answer.evidence[1]
    scripted = json.dumps({"answer": f"Lost customers call the price too high {citation(real)}. "
                                     f"They also compare us with cheaper tools {citation(other)}. "
                                     f"Most of them churn within a year [deadbeef @ 12:34]. "
                                     f"Price is the main reason we lose."})
    chat = ScriptedChat(script=[scripted])
    answered = llm_answer(answer, LLMClient(chat, settings.llm), "Brightline")
    assert answered.citations == 2 and answered.dropped_sentences == 2
    assert "deadbeef" not in answered.text and "main reason" not in answered.text
    assert citation(real) in answered.text
    correction = chat.requests[1][-1].content  # the model was shown the two sentences first, and kept to them
    assert len(chat.requests) == 2 and "'Most of them churn within a year [deadbeef @ 12:34].' cites no" in correction
    sent = chat.requests[0][1].content
    assert citation(real) in sent and real.quote.replace('"', '\\"') in sent


def test_ask_cli_with_an_openai_compatible_server(corpus, monkeypatch):
    settings, store, index = corpus
    evidence = ask(store, index, "what do customers say about security?", _playbook(settings)).evidence
    reply = json.dumps({"answer": f"Security reviews come up {citation(evidence[0])}."})
    with fake_openai_server([Step(reply)]) as server:
        env = {"WINLOSS_LLM__BASE_URL": server.url, "WINLOSS_LLM__ENABLED": "true", "OPENAI_API_KEY": "sk-x"}
        out = json.loads(_cli(settings, "ask", "what do customers say about security?", "--json", env=env).stdout)
    assert out["engine"] == "llm:gpt-4o-mini" and out["citations"] == 1
    assert out["text"] == f"Security reviews come up {citation(evidence[0])}."
    offline = json.loads(_cli(settings, "ask", "what do customers say about security?", "--offline", "--json",
                              env=env).stdout)
    assert offline["engine"] == "offline" and offline["text"] is None
    assert offline["themes"][0]["label"] == "security"
    table = _cli(settings, "ask", "what do customers say about security?", "--offline").stdout
    assert "theme" in table and "win rate" in table


def test_check_citations_is_strict():
    from winloss.pipeline.insight.queries import SearchHit

    hit = SearchHit(score=1, collection="findings", call_id="abcdef0123456789", file="a", date=None, rep=None,
                    deal_id=None, outcome=None, role="customer", at="01:05", start=65, quote="q")
    text, cited, dropped = check_citations("One [abcdef01 @ 01:05]. Two [abcdef01 @ 01:06]. Three.", [hit])
    assert (text, cited, dropped) == ("One [abcdef01 @ 01:05].", 1, 2)


def test_insights_tables_are_the_reports_numbers(corpus):
    settings, store, _ = corpus
    report = compute(store, None, None, settings.report.min_sample, 3)
    by_outcome = breakdown(store, "competitor", "outcome", None, None, settings.report.min_sample)
    assert [(r["label"], r["won"], r["lost"]) for r in by_outcome] == sorted(
        [(r.label, r.won, r.lost) for r in report.competitors], key=lambda x: [r["label"] for r in by_outcome].index(
            x[0]))
    quotient = next(r for r in by_outcome if r["label"] == "Quotient")
    # planted: Quotient loses. 8 calls over 7 deals (calls 03 and 22 are both D-1003): 6 lost, 1 won, none open.
    assert (quotient["calls"], quotient["deals"], quotient["lost"], quotient["won"], quotient["open"]) == (
        8, 7, 6, 1, 0)
    by_rep = breakdown(store, "objection", "rep", None, None, 5)
    assert {r["rep"] for r in by_rep} == {c.rep for c in store.list_calls()}
    assert sum(r["calls"] for r in by_rep if r["label"] == "price") == next(
        r.calls for r in report.objections if r.label == "price")
    by_month = breakdown(store, "message", "month", None, None, 5)
    assert {r["month"] for r in by_month} <= {"2026-10", "2026-11"} and by_month


def test_insights_cli(corpus):
    settings, _, _ = corpus
    table = _cli(settings, "insights", "competitors", "--by", "outcome").stdout
    assert "Quotient" in table and "competitors by outcome" in table
    rows = json.loads(_cli(settings, "insights", "messages", "--by", "rep", "--json").stdout)
    assert rows and {"rep", "label", "variant", "calls", "won", "lost", "win_rate", "claim"} <= set(rows[0])


def test_reindex_rebuilds_the_index_from_the_store(script_corpus, tmp_path):
    store = Store(script_corpus.database_url)
    fresh = script_corpus.model_copy(update={"data_dir": tmp_path})  # an empty index, the same store
    index = Index(fresh, build_embedder(fresh.embeddings))
    assert index.counts() == {"utterances": 0, "findings": 0}
    counts = reindex(store, index)
    stored = store.counts()
    assert counts == {"calls": 24, "utterances": stored["utterances"], "findings": stored["findings"]}
    again = reindex(store, index)
    assert again == counts  # idempotent: no duplicates
    hits = search(store, index, "too expensive", Filters(kind="objection"), limit=3)
    assert hits[0].label == "price"


def _playbook(settings):
    from winloss.pipeline.playbook import load_playbook

    return load_playbook(settings.playbook)


def test_a_chroma_server_serves_the_same_index(script_corpus, chroma_server, tmp_path):
    """storage.chroma_url points the index at a real `chroma run` server: reindex into it, search the same."""
    store = Store(script_corpus.database_url)
    remote = script_corpus.model_copy(
        update={"storage": script_corpus.storage.model_copy(update={"chroma_url": chroma_server})})
    embedder = build_embedder(script_corpus.embeddings)
    server_index = Index(remote, embedder)
    assert server_index.client.heartbeat() > 0  # a real HTTP client, not the embedded one
    counts = reindex(store, server_index)
    assert server_index.counts() == {"utterances": counts["utterances"], "findings": counts["findings"]}
    local = search(store, Index(script_corpus, embedder), "we already use Quotient", Filters(outcome="lost"), 5)
    remote_hits = search(store, server_index, "we already use Quotient", Filters(outcome="lost"), 5)
    assert [h.quote for h in remote_hits] == [h.quote for h in local]
    assert remote_hits and all(h.outcome == "lost" for h in remote_hits)


def test_an_unreachable_chroma_server_is_a_clear_error(settings):
    from winloss.pipeline.errors import ConfigError

    gone = settings.model_copy(update={"storage": settings.storage.model_copy(
        update={"chroma_url": "http://127.0.0.1:9"})})
    with pytest.raises(ConfigError, match=r"cannot reach the Chroma server at http://127\.0\.0\.1:9"):
        Index(gone, build_embedder(settings.embeddings))


def test_why_we_lose_to_a_competitor_gathers_everything_said_in_those_deals(corpus):
    settings, store, index = corpus
    answer = ask(store, index, "why do we lose to Quotient?", _playbook(settings))
    assert (answer.filters.outcome, answer.filters.competitor) == ("lost", "Quotient")
    quotient_calls = set(store.call_ids(outcome="lost", competitor="Quotient"))
    assert {h.call_id for h in answer.evidence} <= quotient_calls and all(h.outcome == "lost" for h in answer.evidence)
    labels = {(t.kind, t.label) for t in answer.themes}
    # the lost Quotient deals carry price objections (calls 03, 05, 07, 17) beside the mention itself
    assert ("competitor", "Quotient") in labels and ("objection", "price") in labels
