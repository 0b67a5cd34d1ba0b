"""The SQL store on a real SQLite file."""

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from winloss.pipeline.errors import BadInputError, StoreError
from winloss.pipeline.ingest.crm import load_deals, load_manifest
from winloss.pipeline.models import (
    Call,
    CallAnalysis,
    CallOutcome,
    CompetitorMention,
    Deal,
    Evidence,
    FindingKind,
    Label,
    Outcome,
    Role,
    Transcript,
    Utterance,
    call_key,
    finding_key,
)
from winloss.pipeline.storage.fulltext import FTS
from winloss.pipeline.storage.store import SCHEMA_VERSION, Store, calls, meta, metadata


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


def test_read_queries_give_typed_rows_whose_json_keeps_the_columns_order(database_url):
    store = Store(database_url)
    store.upsert_deals([Deal(deal_id="D-1", outcome=Outcome.lost, close_date=dt.date(2026, 10, 2))])
    store.save_analysis(_analysis(), "fp")
    run = store.start_run("t", "offline", "fp")
    store.finish_run(run, [CallOutcome(path="/calls/b.wav", status="failed", problem="empty file")], ["odd row"])
    [row] = store.list_calls()
    assert row == store.call_row("abc123")
    assert (row.outcome, row.findings, row.duration, row.rep) == (Outcome.lost, 1, 20.0, "Maya")
    assert list(row.model_dump(mode="json")) == ["call_id", "path", "date", "rep", "account", "deal_id", "duration",
                                                 "channels", "outcome", "findings"]
    last = store.last_run()
    assert (last.run_id, last.failed, [(p.path, p.problem) for p in last.failures], last.warnings) == (
        run, 1, [("/calls/b.wav", "empty file")], ["odd row"])
    [deal] = store.deal_rows()
    assert (deal.calls, deal.close_date) == (1, dt.date(2026, 10, 2))
    [found] = store.export_finding_rows()
    assert (found.outcome, found.rep, found.kind) == (Outcome.lost, "Maya", FindingKind.competitor)
    [covered] = store.calls_in_period(None, None)
    assert (covered.outcome, covered.extractor) == ("lost", "offline")
    assert store.call_facts({"abc123"})["abc123"].path == "/calls/a.wav"
    assert [r.path for r in store.finding_rows(None, None)] == ["/calls/a.wav"]


def test_a_newer_schema_is_refused_not_misread(database_url):
    url = database_url
    store = Store(url)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": f"{SCHEMA_VERSION + 1:04d}"})
    with pytest.raises(StoreError, match=f"newer winloss \\(schema {SCHEMA_VERSION + 1:04d}"):
        Store(url)
    with store.engine.begin() as conn:  # the same from a hand-made schema number no winloss before Alembic wrote
        _as_written_before_alembic(conn, SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match="newer winloss"):
        Store(url)


def _as_written_before_alembic(conn, version: int) -> None:
    """What winloss before Alembic left: no alembic_version table, the schema number in meta."""
    conn.execute(sa.text("DROP TABLE alembic_version"))
    conn.execute(sa.insert(meta).values(key="schema_version", value=str(version)))


def test_the_migrations_build_exactly_the_tables_the_code_uses(database_url):
    """Every revision from an empty database gives the schema `metadata` declares: nothing missing, nothing extra."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from winloss.pipeline.storage.store import _alembic_config

    store = Store(database_url)
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
        # search's full-text structures are the database's own (FTS5 table, GIN index), not SQLAlchemy tables
        assert [d for d in diffs if FTS not in str(d)] == []
        assert ScriptDirectory.from_config(_alembic_config(conn)).get_current_head() == f"{SCHEMA_VERSION:04d}"
    assert store.schema_version() == SCHEMA_VERSION


def test_a_current_store_from_before_alembic_is_stamped_and_keeps_its_rows(database_url):
    store = Store(database_url)
    store.save_analysis(_analysis(), "fp")
    with store.engine.begin() as conn:
        _as_written_before_alembic(conn, 5)
    store.engine.dispose()
    store = Store(database_url)
    assert store.schema_version() == SCHEMA_VERSION and store.analysed_as("abc123") == (None, "fp")
    assert store.counts() == {"calls": 1, "deals": 0, "utterances": 3, "findings": 1, "labels": 0}
    with store.engine.connect() as conn:  # the hand-made number is gone: Alembic's table is the one record
        assert conn.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")).first() is None


def test_a_foreign_database_is_refused(database_url):
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("create table invoices (id integer)"))
    with pytest.raises(StoreError, match="not a winloss store"):
        Store(database_url)


def test_deals_and_manifest_load_with_errors_naming_row_and_column(tmp_path, examples):
    deals = load_deals(examples / "deals.csv")
    assert {d.outcome.value for d in deals.deals} == {"won", "lost", "open"} and deals.warnings == []
    manifest = load_manifest(examples / "calls.csv")
    assert manifest.rows_for((examples / "gong" / "demo.mp3").resolve()) and manifest.warnings == []
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
                              ("findings", "context"), *V5_COLUMNS]:
            conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        conn.execute(sa.text("DROP TABLE labels"))
        _as_written_before_alembic(conn, 1)
    store = Store(database_url)
    assert store.schema_version() == SCHEMA_VERSION == 6
    assert store.labels() == []
    assert store.counts()["utterances"] == 3
    call_id = call_key(Path("/calls/a.wav"), "D-1")  # schema 5: the id is the source, the old id its content hash
    assert store.transcript(call_id).role_confidence is None
    assert [f.answered for f in store.findings(call_id)] == [None] * store.counts()["findings"]
    assert store.analysed_as(call_id) == ("abc123", "fp")


V5_COLUMNS = [("calls", "content_hash"), ("calls", "origin"), ("runs", "missing"), ("runs", "warnings")]


def _old_analysis(call_id: str, path: str, deal: str, n_utts: int = 3) -> CallAnalysis:
    """What a schema-4 winloss stored: the call id was the content hash of the file."""
    analysis = _analysis(n_utts)
    call = analysis.call.model_copy(update={"call_id": call_id, "path": path, "deal_id": deal})
    mention = analysis.competitors[0]
    mention = mention.model_copy(update={"evidence": mention.evidence.model_copy(update={"call_id": call_id})})
    return analysis.model_copy(update={"call": call, "competitors": [mention], "transcript": analysis.transcript
                                       .model_copy(update={"call_id": call_id})})


def test_a_version_4_store_gets_source_ids_and_keeps_labels_and_content_hashes(database_url):
    """v4 -> v5: ids become (path, deal) keys; an edited file's two analyses become one call; labels follow."""
    store = Store(database_url)
    store.save_analysis(_old_analysis("00000000000000aa", "/calls/a.txt", "D-1", 5), "fp")  # before the edit
    store.save_analysis(_old_analysis("00000000000000bb", "/calls/a.txt", "D-1", 3), "fp")  # after it
    store.save_analysis(_old_analysis("00000000000000cc", "/calls/c.txt", "D-2"), "fp")
    verdict = dict(kind=FindingKind.objection, label="price", verdict=True, who="ana")
    store.save_labels([Label(call_id="00000000000000aa", utterance_index=1, text="Too dear.", **verdict),
                       Label(call_id="00000000000000bb", utterance_index=2, text="Too much.", **verdict),
                       Label(call_id="00000000000000cc", utterance_index=0, text="Pricey.", **verdict)])
    with store.engine.begin() as conn:
        for table, column in V5_COLUMNS:
            conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        _as_written_before_alembic(conn, 4)
    store.engine.dispose()

    store = Store(database_url)
    a, c = call_key(Path("/calls/a.txt"), "D-1"), call_key(Path("/calls/c.txt"), "D-2")
    assert store.schema_version() == SCHEMA_VERSION and len(a) == len(c) == 16
    assert sorted(r.call_id for r in store.list_calls()) == sorted([a, c])
    assert store.analysed_as(a) == ("00000000000000bb", "fp")  # the later analysis stays, its old id its hash
    assert store.analysed_as(c) == ("00000000000000cc", "fp")
    assert store.counts() == {"calls": 2, "deals": 0, "utterances": 6, "findings": 2, "labels": 3}
    assert {lb.text: lb.call_id for lb in store.labels()} == {"Too dear.": a, "Too much.": a, "Pricey.": c}
    records = store.finding_records(a)  # finding ids follow the call id, as a fresh analysis would make them
    assert [fid for fid, _ in records] == [finding_key(a, "competitor", "Pipewise", 1, "offline")]
    assert store.index_stale()
    Store(database_url)  # opening it again changes nothing
    assert store.counts()["calls"] == 2 and store.schema_version() == SCHEMA_VERSION


def test_a_migration_that_fails_leaves_the_store_as_it_was(database_url, monkeypatch):
    """A step that fails half-way (here 0005's re-keying, after its ALTERs) is rolled back whole, on SQLite too."""
    import winloss.pipeline.models

    store = Store(database_url)
    store.save_analysis(_old_analysis("00000000000000aa", "/calls/a.txt", "D-1"), "fp")
    with store.engine.begin() as conn:
        for table, column in V5_COLUMNS:
            conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        _as_written_before_alembic(conn, 4)
    store.engine.dispose()

    def broken(*args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(winloss.pipeline.models, "call_key", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        Store(database_url)
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        assert {c["name"] for c in sa.inspect(conn).get_columns("calls")} & {"content_hash", "origin"} == set()
        assert not sa.inspect(conn).has_table("alembic_version")
        assert conn.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")).scalar() == "4"
        assert conn.execute(sa.select(calls.c.call_id)).scalars().all() == ["00000000000000aa"]
    engine.dispose()
    monkeypatch.undo()
    store = Store(database_url)  # the next open, with the fault gone, upgrades it
    assert store.schema_version() == SCHEMA_VERSION
    assert [r.call_id for r in store.list_calls()] == [call_key(Path("/calls/a.txt"), "D-1")]


def test_processes_opening_a_new_store_at_once_all_find_it_migrated(database_url):
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(4) as pool:
        versions = pool.map(_open_and_report, [database_url] * 4)
    assert versions == [SCHEMA_VERSION] * 4


def _open_and_report(url: str) -> int:
    return Store(url).schema_version()


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


def test_weeks_are_iso_weeks_on_both_databases(database_url):
    """2026-10-05 is a Monday of ISO week 41 (SQLite's %W said 40); 2027-01-01 belongs to 2026-W53."""
    from winloss.pipeline.insight.insights import _week

    store = Store(database_url)
    with store.engine.begin() as conn:
        for day, call_id in [("2026-10-05", "a"), ("2026-10-11", "b"), ("2027-01-01", "c"), ("2027-01-04", "d")]:
            conn.execute(sa.insert(calls).values(
                call_id=call_id, path=call_id, media="transcript", date=dt.date.fromisoformat(day), duration=1,
                channels=1, transcriber="t", extractor="o", fingerprint="f", analysed_at=dt.datetime(2026, 12, 1)))
        weeks = dict(conn.execute(sa.select(calls.c.call_id, _week(store))).all())
    assert weeks == {"a": "2026-W41", "b": "2026-W41", "c": "2026-W53", "d": "2027-W01"}


def test_a_reviewer_who_changes_their_mind_is_read_by_their_latest_answer(database_url):
    """Yes on the finding's label, then no on the kind itself (and back): the report's reviewed precision and the
    trackers' training read the same, latest, verdict."""
    from winloss.pipeline.extract.learning import verdicts
    from winloss.pipeline.models import ANY_LABEL

    store = Store(database_url)
    analysis = _analysis()
    store.save_analysis(analysis, "fp")
    [mention] = analysis.competitors
    kind, key = FindingKind.competitor, ("abc123", 1, "We also looked at Pipewise, line 1.")
    yes = Label(call_id="abc123", utterance_index=1, text=key[2], kind=kind, label=mention.label, verdict=True)
    no_at_all = yes.model_copy(update={"label": ANY_LABEL, "verdict": False})
    store.save_labels([yes])
    store.save_labels([no_at_all])
    assert store.review_counts() == {("competitor", mention.label): (0, 1)}
    assert verdicts(store.labels(), kind) == {key: False}
    store.save_labels([yes])
    assert store.review_counts() == {("competitor", mention.label): (1, 0)}
    assert verdicts(store.labels(), kind) == {key: True}


def test_the_reviewed_turns_are_the_customer_turns_of_the_calls_with_labels_of_the_kind(database_url):
    """What a learned tracker's threshold is set on: every customer turn of a reviewed call with the rep's reply to
    it, none of a call nobody reviewed, none of the rep's."""
    store = Store(database_url)
    reviewed, other = _analysis(5), _analysis(3)
    other = other.model_copy(update={"call": other.call.model_copy(update={"call_id": "def456", "path": "/calls/b"}),
                                     "transcript": other.transcript.model_copy(update={"call_id": "def456"}),
                                     "competitors": []})
    store.save_analysis(reviewed, "fp")
    store.save_analysis(other, "fp")
    assert store.reviewed_turns() == []
    store.save_labels([Label(call_id="abc123", utterance_index=1, text="line 1", kind=FindingKind.objection,
                             label="price", verdict=True),
                       Label(call_id="def456", utterance_index=1, text="line 1", kind=FindingKind.message,
                             label="fast_onboarding", verdict=False)])
    line = "We also looked at Pipewise, line {}.".format
    # each with the rep's reply: the rep's next turn
    assert store.reviewed_turns() == [("abc123", 1, line(1), line(2)), ("abc123", 3, line(3), line(4))]
    # the limit caps the turns nobody labelled, never a labelled one
    assert store.reviewed_turns(limit=0) == store.reviewed_turns()[:1]
    # in a call where nobody is the rep every turn is judged, and nobody knows which one replies
    unknown = _analysis(2)
    unknown = unknown.model_copy(update={
        "call": unknown.call.model_copy(update={"call_id": "fed789", "path": "/calls/c"}), "competitors": [],
        "transcript": unknown.transcript.model_copy(update={"call_id": "fed789", "utterances": [
            u.model_copy(update={"role": Role.unknown}) for u in unknown.transcript.utterances]})})
    store.save_analysis(unknown, "fp")
    store.save_labels([Label(call_id="fed789", utterance_index=0, text="line 0", kind=FindingKind.objection,
                             label="price", verdict=False)])
    assert store.reviewed_turns()[2:] == [("fed789", 0, line(0), None), ("fed789", 1, line(1), None)]
    assert store.reviewed_turns(FindingKind.message) == [("def456", 1, line(1), line(2))]
