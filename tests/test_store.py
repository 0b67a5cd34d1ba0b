"""The SQL store on a real SQLite file."""

import pytest
import sqlalchemy as sa
from winloss.pipeline.crm import load_deals, load_manifest
from winloss.pipeline.errors import BadInputError, StoreError
from winloss.pipeline.models import (
    Call,
    CallAnalysis,
    CompetitorMention,
    Evidence,
    FindingKind,
    Label,
    Role,
    Transcript,
    Utterance,
)
from winloss.pipeline.store import SCHEMA_VERSION, Store, meta


def _analysis(n_utts: int = 3) -> CallAnalysis:
    utts = [Utterance(index=i, role=Role.customer if i % 2 else Role.rep, speaker="x", start=i * 5.0,
                      end=i * 5.0 + 4, text=f"We also looked at Pipewise, line {i}.") for i in range(n_utts)]
    call = Call(call_id="abc123", path="/calls/a.wav", media="audio", rep="Maya", deal_id="D-1")
    mention = CompetitorMention(evidence=Evidence(call_id="abc123", utterance_index=1, start=5, end=9,
                                                  role=Role.customer, quote="Pipewise"),
                                confidence=1, engine="offline", competitor="Pipewise", alias="Pipewise")
    return CallAnalysis(call=call, transcript=Transcript(call_id="abc123", utterances=utts, duration=20,
                                                         engine="t"), competitors=[mention], engine="offline")


def test_saving_a_call_twice_replaces_it(database_url):
    store = Store(database_url)
    store.save_analysis(_analysis(5), "fp1")
    store.save_analysis(_analysis(3), "fp2")
    assert store.counts() == {"calls": 1, "deals": 0, "utterances": 3, "findings": 1, "labels": 0}
    assert store.fingerprint_of("abc123") == "fp2"
    assert store.schema_version() == SCHEMA_VERSION


def test_a_newer_schema_is_refused_not_misread(database_url):
    url = database_url
    store = Store(url)
    with store.engine.begin() as conn:
        conn.execute(sa.update(meta).values(value=str(SCHEMA_VERSION + 1)))
    with pytest.raises(StoreError, match="newer winloss"):
        Store(url)


def test_a_foreign_database_is_refused(database_url):
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("create table invoices (id integer)"))
    with pytest.raises(StoreError, match="not a winloss store"):
        Store(database_url)


def test_deals_and_manifest_load_with_errors_naming_row_and_column(tmp_path, examples):
    deals = load_deals(examples / "deals.csv")
    assert {d.outcome.value for d in deals} == {"won", "lost", "open"}
    manifest = load_manifest(examples / "calls.csv")
    assert (examples / "gong" / "demo.mp3").resolve() in manifest
    bad = tmp_path / "deals.csv"
    bad.write_text("deal_id,outcome\nD-1,won\nD-2,maybe\n")
    with pytest.raises(BadInputError) as err:
        load_deals(bad)
    assert str(bad) in str(err.value) and "row 3" in str(err.value) and "outcome" in str(err.value)
    missing = tmp_path / "calls.csv"
    missing.write_text("file,date\n")
    with pytest.raises(BadInputError, match=r"missing column.*path"):
        load_manifest(missing)


def test_a_version_1_store_is_upgraded_in_place(database_url):
    """A data dir written before calls.role_confidence (v2) and objection handling (v3) keeps its rows."""
    engine = sa.create_engine(database_url)
    Store(database_url).save_analysis(_analysis(), "fp")
    with engine.begin() as conn:  # turn it back into what version 1 wrote
        for table, column in [("calls", "role_confidence"), ("calls", "llm_model"), ("calls", "llm_cost_usd"),
                              ("calls", "llm_input_tokens"), ("calls", "llm_output_tokens"),
                              ("calls", "dropped_findings"), ("findings", "answered"), ("findings", "accepted"),
                              ("findings", "context")]:
            conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        conn.execute(sa.text("DROP TABLE labels"))
        conn.execute(sa.update(meta).values(value="1"))
    store = Store(database_url)
    assert store.schema_version() == SCHEMA_VERSION == 4
    assert store.labels() == []
    assert store.counts()["utterances"] == 3
    assert store.transcript("abc123").role_confidence is None
    assert [f.answered for f in store.findings("abc123")] == [None] * store.counts()["findings"]


def test_labels_survive_reanalysis_and_a_new_verdict_replaces_the_old(database_url):
    store = Store(database_url)
    store.save_analysis(_analysis(), "fp")
    said = Label(call_id="abc123", utterance_index=1, text="That is too expensive.", kind=FindingKind.objection,
                 label="price", verdict=True, who="ana")
    store.save_labels([said])
    store.save_analysis(_analysis(), "fp2")  # the call analysed again: its rows are replaced, its labels are not
    assert [(lb.label, lb.verdict, lb.who) for lb in store.labels()] == [("price", True, "ana")]
    store.save_labels([said.model_copy(update={"verdict": False})])
    assert [lb.verdict for lb in store.labels(FindingKind.objection)] == [False]
    assert store.labels(FindingKind.message) == []
