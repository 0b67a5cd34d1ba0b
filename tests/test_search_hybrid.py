"""Hybrid search on SQLite (FTS5) and PostgreSQL (full-text): a name is found wherever it was said and unrelated
near-misses are dropped by the relevance floor, "quoted phrases" are matched as written, --speaker keeps one
person's words, and the full-text side follows every write to the store."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner
from winloss.cli.app import app
from winloss.pipeline.insight.queries import Filters, search
from winloss.pipeline.providers.embed import build_embedder
from winloss.pipeline.settings import SearchSettings, load_settings
from winloss.pipeline.storage import fulltext
from winloss.pipeline.storage.index import Index
from winloss.pipeline.storage.store import Store

from .conftest import CONFIG, EXAMPLES, fresh_postgres

CALLS = [f"call_{n:02d}" for n in (1, 3, 5, 7, 8, 9, 11, 14, 17, 18)]  # Tom's, Maya's; HubSpot said in two


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def corpus(request, tmp_path_factory, prefect_harness):
    from winloss.flows.analyze import analyze_calls

    tmp = tmp_path_factory.mktemp(f"hybrid-{request.param}")
    with (EXAMPLES / "calls.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if Path(r["path"]).stem in CALLS]
    for r in rows:
        r["path"] = str(EXAMPLES / "scripts" / (Path(r["path"]).stem + ".txt"))
    with (tmp / "calls.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    settings = load_settings(CONFIG, data_dir=tmp / "data")
    if request.param == "postgresql":
        url = fresh_postgres(f"winloss_hybrid_{os.getpid()}")
        settings = settings.model_copy(update={"storage": settings.storage.model_copy(update={"database_url": url})})
    outcomes = analyze_calls(settings, [], manifest=tmp / "calls.csv", deals=EXAMPLES / "deals.csv",
                             allow_outside=True)
    assert [o.status for o in outcomes] == ["analysed"] * len(CALLS)
    return settings, Store(settings.database_url), Index(settings, build_embedder(settings.embeddings))


def _said(store: Store, word: str) -> set[tuple[str, float]]:
    """(call, start) of every stored utterance containing `word`, by SQL: what an exact search must find."""
    from winloss.pipeline.storage.store import utterances

    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(utterances.c.call_id, utterances.c.start)
                            .where(sa.func.lower(utterances.c.text).contains(word.lower())))
        return {(c, round(s, 2)) for c, s in rows}


def test_a_name_is_found_wherever_said_and_unrelated_hits_are_dropped(corpus):
    settings, store, index = corpus
    expected = _said(store, "hubspot")
    assert len(expected) >= 2
    hits = search(store, index, "HubSpot", Filters(), limit=20, scope="utterances", tuning=settings.search)
    assert {(h.call_id, round(h.start, 2)) for h in hits} == expected
    assert all(h.exact and "hubspot" in h.quote.lower() for h in hits)
    # without the floor, the nearest utterances that never say it come back too: what the floor removes
    loose = search(store, index, "HubSpot", Filters(), limit=20, scope="utterances",
                   tuning=SearchSettings(min_score=0, exact_weight=0.3))
    unrelated = [h for h in loose if "hubspot" not in h.quote.lower()]
    assert unrelated and max(h.score for h in unrelated) < settings.search.min_score
    assert min(h.score for h in hits) > max(h.score for h in unrelated)


def test_a_quoted_phrase_is_matched_as_written(corpus):
    settings, store, index = corpus
    floorless = SearchSettings(min_score=0)
    loose = search(store, index, "too expensive", Filters(kind="objection"), limit=20, tuning=floorless)
    assert any("too expensive" not in h.quote.lower() for h in loose)  # in meaning: "hard to justify" and kin
    exact = search(store, index, '"too expensive"', Filters(kind="objection"), limit=20, tuning=floorless)
    assert exact and all("too expensive" in h.quote.lower() and h.label == "price" for h in exact)
    assert {h.call_id for h in exact} == {c for c, _ in _said(store, "too expensive")}
    assert search(store, index, '"expensive too"', Filters(), limit=20, tuning=settings.search) == []


def test_speaker_keeps_one_persons_words_through_the_cli(corpus):
    settings, store, _ = corpus
    env = {"WINLOSS_STORAGE__DATABASE_URL": settings.storage.database_url}
    result = CliRunner().invoke(app, ["--config", str(CONFIG), "--data-dir", str(settings.data_dir), "search",
                                      "price", "--speaker", "tom", "--scope", "utterances", "--json",
                                      "--limit", "20"], env=env)
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    toms = {c.call_id for c in store.list_calls() if c.rep == "Tom"}
    assert hits and all(h["role"] == "rep" and h["call_id"] in toms for h in hits)
    assert any("pricing" in h["quote"].lower() for h in hits)  # "Pricing is what it is": Tom's brush-off
    nobody = CliRunner().invoke(app, ["--config", str(CONFIG), "--data-dir", str(settings.data_dir), "search",
                                      "price", "--speaker", "Nobody", "--json"], env=env)
    assert nobody.exit_code == 0 and json.loads(nobody.stdout) == []


def test_the_exact_side_follows_deletions_and_an_older_store_gets_it_filled(corpus):
    settings, store, _ = corpus
    query = fulltext.TextQuery.parse("HubSpot")
    found = fulltext.exact(store.engine, query, "utterances", 50)
    gone = found[0].split(":")[0]
    store.delete_call(gone)
    assert found and all(not i.startswith(gone) for i in fulltext.exact(store.engine, query, "utterances", 50))
    if store.engine.dialect.name == "sqlite":  # a store from before full text (revision 5): its upgrade fills it
        with store.engine.begin() as conn:
            for name in ("ai", "ad", "au"):
                conn.exec_driver_sql(f"DROP TRIGGER {fulltext.FTS}_{name}")
            conn.exec_driver_sql(f"DROP TABLE {fulltext.FTS}")
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0005'")
        reopened = Store(settings.database_url)
        assert fulltext.exact(reopened.engine, query, "utterances", 50) == found[1:]


def test_query_parsing():
    q = fulltext.TextQuery.parse('why do we lose "too expensive" to Quotient’s "')
    assert q.phrases == ["too expensive"] and q.words == ["lose", "quotient’s"]
    assert q.coverage("It is too expensive, we lose.") == 2 / 3 and q.has_phrases("Far TOO expensive!")
    assert not q.has_phrases("expensive, too") and fulltext.TextQuery.parse("the of").empty
