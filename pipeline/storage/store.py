"""The structured store (SQLAlchemy): calls, deals, utterances, findings, runs; Alembic migrations at open.

SQLite under the data dir by default; any SQLAlchemy URL works. Writes for one call happen in one
transaction, so a failure never leaves a half-written call behind.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from winloss.pipeline.errors import NotFoundError, StoreError
from winloss.pipeline.models import (
    ANY_LABEL,
    Call,
    CallAnalysis,
    CallOutcome,
    CustomerTurn,
    Deal,
    FindingKind,
    FlatFinding,
    Label,
    Outcome,
    Role,
    Transcript,
    Utterance,
    rep_replies,
)
from winloss.pipeline.storage.rows import (
    CallFacts,
    CallInPeriod,
    CallRow,
    DealRow,
    ExportFindingRow,
    FindingRow,
    RunRow,
)

metadata = sa.MetaData()

meta = sa.Table("meta", metadata, sa.Column("key", sa.String(64), primary_key=True),
                sa.Column("value", sa.String(256), nullable=False))
calls = sa.Table(
    "calls", metadata,
    sa.Column("call_id", sa.String(32), primary_key=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("media", sa.String(16), nullable=False),
    sa.Column("date", sa.Date),
    sa.Column("rep", sa.String(128)),
    sa.Column("account", sa.String(256)),
    sa.Column("deal_id", sa.String(128), index=True),
    sa.Column("duration", sa.Float, nullable=False),
    sa.Column("channels", sa.Integer, nullable=False),
    sa.Column("role_confidence", sa.Float),
    sa.Column("language", sa.String(16)),
    sa.Column("transcriber", sa.String(128), nullable=False),
    sa.Column("extractor", sa.String(64), nullable=False),
    sa.Column("fingerprint", sa.String(32), nullable=False),
    sa.Column("analysed_at", sa.DateTime, nullable=False),
    sa.Column("llm_model", sa.String(128)),
    sa.Column("llm_input_tokens", sa.Integer),
    sa.Column("llm_output_tokens", sa.Integer),
    sa.Column("llm_cost_usd", sa.Float),
    sa.Column("dropped_findings", sa.Integer),
    sa.Column("content_hash", sa.String(32)),
    sa.Column("origin", sa.Text),
)
deals = sa.Table(
    "deals", metadata,
    sa.Column("deal_id", sa.String(128), primary_key=True),
    sa.Column("outcome", sa.String(8), nullable=False),
    sa.Column("amount", sa.Float),
    sa.Column("close_date", sa.Date),
    sa.Column("stage", sa.String(128)),
    sa.Column("rep", sa.String(128)),
)
utterances = sa.Table(
    "utterances", metadata,
    sa.Column("call_id", sa.String(32), sa.ForeignKey("calls.call_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("speaker", sa.String(128), nullable=False),
    sa.Column("start", sa.Float, nullable=False),
    sa.Column("end", sa.Float, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)
findings = sa.Table(
    "findings", metadata,
    sa.Column("finding_id", sa.String(32), primary_key=True),
    sa.Column("call_id", sa.String(32), sa.ForeignKey("calls.call_id", ondelete="CASCADE"), index=True),
    sa.Column("kind", sa.String(16), nullable=False, index=True),
    sa.Column("label", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16)),
    sa.Column("utterance_index", sa.Integer, nullable=False),
    sa.Column("start", sa.Float, nullable=False),
    sa.Column("end", sa.Float, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("quote", sa.Text, nullable=False),
    sa.Column("engine", sa.String(64), nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("answered", sa.Boolean),
    sa.Column("accepted", sa.Boolean),
    sa.Column("context", sa.String(32)),
)
runs = sa.Table(
    "runs", metadata,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("transcriber", sa.String(128)),
    sa.Column("extractor", sa.String(64)),
    sa.Column("fingerprint", sa.String(32)),
    sa.Column("analysed", sa.Integer, default=0),
    sa.Column("unchanged", sa.Integer, default=0),
    sa.Column("failed", sa.Integer, default=0),
    sa.Column("failures", sa.Text, default="[]"),
    sa.Column("missing", sa.Integer, default=0),
    sa.Column("warnings", sa.Text, default="[]"),
)

# People's verdicts on sentences. No foreign key to calls: re-analysing a call replaces its rows, never its labels.
labels = sa.Table(
    "labels", metadata,
    sa.Column("label_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(32), nullable=False, index=True),
    sa.Column("utterance_index", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False, index=True),
    sa.Column("label", sa.String(128), nullable=False),
    sa.Column("verdict", sa.Boolean, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("who", sa.String(128)),
    sa.Column("at", sa.DateTime, nullable=False),
)


def _utterance(row) -> Utterance:
    return Utterance(index=row["idx"], role=Role(row["role"]), speaker=row["speaker"], start=row["start"],
                     end=row["end"], text=row["text"])


def _drop_rows(conn: Connection, call_id: str) -> None:
    """A call's analysis (findings, utterances, the call row); never its labels."""
    conn.execute(sa.delete(findings).where(findings.c.call_id == call_id))
    conn.execute(sa.delete(utterances).where(utterances.c.call_id == call_id))
    conn.execute(sa.delete(calls).where(calls.c.call_id == call_id))


def _set_meta(conn: Connection, key: str, value: str | None) -> None:
    conn.execute(sa.delete(meta).where(meta.c.key == key))
    if value is not None:
        conn.execute(sa.insert(meta).values(key=key, value=value))


# The schema's history is Alembic revisions 0001, 0002, ... (package data beside this module's future home,
# pipeline/storage/migrations); SCHEMA_VERSION is the number of the head revision.
SCHEMA_VERSION = 6
INDEX_STALE = "index_stale"  # meta key: why the index no longer matches the store's ids, until it is rebuilt
LEGACY_VERSION = "schema_version"  # meta key where winloss before Alembic kept its hand-made schema number


SCHEMA_LOCK = 0x77696E6C  # PostgreSQL advisory lock key ("winl") held while the schema is checked and migrated


@contextmanager
def _schema_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction that holds the schema while it is read and migrated: a second process opening the store
    waits, then finds it current, and a step that fails leaves nothing of itself behind.

    SQLite: pysqlite runs DDL outside any transaction unless BEGIN is sent by hand (a failed migration would keep
    its first ALTERs); BEGIN IMMEDIATE also takes the write lock at once. PostgreSQL: an advisory lock until commit.
    """
    with engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            with conn.begin():
                if engine.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
                yield conn
            return
        raw = conn.connection.driver_connection
        level, raw.isolation_level = raw.isolation_level, None
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        finally:
            raw.isolation_level = level


def _alembic_config(conn: Connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("winloss.pipeline.storage") / "migrations"))
    cfg.attributes["connection"] = conn
    return cfg


class Store:
    def __init__(self, url: str):
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.display = sa.engine.make_url(url).render_as_string(hide_password=True)  # for messages: no password
        self.engine: Engine = sa.create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            @sa.event.listens_for(self.engine, "connect")
            def _fk(dbapi_conn, _record):  # SQLite enforces foreign keys only when asked
                dbapi_conn.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    # -- schema ---------------------------------------------------------------------------------------------
    def _migrate(self) -> None:
        """Bring the schema to the head revision in one transaction (a fresh database: every revision), while
        other processes wait (see _schema_transaction).

        A store written before Alembic has no alembic_version table but `meta.schema_version` = N; it is stamped
        with revision N and upgraded from there, and the old row goes.
        """
        with self.engine.connect() as conn:  # the usual case, without importing Alembic (0.2 s of every command)
            if sa.inspect(conn).has_table("alembic_version") and conn.exec_driver_sql(
                    "SELECT version_num FROM alembic_version").scalar() == f"{SCHEMA_VERSION:04d}":
                return
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory
        from alembic.util import CommandError

        with _schema_transaction(self.engine) as conn:
            cfg, tables = _alembic_config(conn), set(sa.inspect(conn).get_table_names())
            current = MigrationContext.configure(conn).get_current_revision()
            if current is None and "meta" in tables:
                legacy = conn.execute(sa.select(meta.c.value).where(meta.c.key == LEGACY_VERSION)).scalar()
                current = f"{int(legacy or 1):04d}"
            elif current is None and tables - {"alembic_version"}:
                raise StoreError(f"{self.display}: holds tables that are not a winloss store; point --data-dir "
                                 f"or storage.database_url elsewhere")
            try:
                if current is not None:
                    ScriptDirectory.from_config(cfg).get_revision(current)
            except CommandError:
                raise StoreError(f"{self.display}: written by a newer winloss (schema {current}, this one knows "
                                 f"{SCHEMA_VERSION}); upgrade winloss instead of reading it wrongly") from None
            if current is not None and "alembic_version" not in tables:
                command.stamp(cfg, current)
                _set_meta(conn, LEGACY_VERSION, None)
            command.upgrade(cfg, "head")

    def schema_version(self) -> int:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return int(MigrationContext.configure(conn).get_current_revision())

    # -- writes ---------------------------------------------------------------------------------------------
    def upsert_deals(self, items: Iterable[Deal]) -> int:
        n = 0
        with self.engine.begin() as conn:
            for deal in items:
                conn.execute(sa.delete(deals).where(deals.c.deal_id == deal.deal_id))
                conn.execute(sa.insert(deals).values(**deal.model_dump(mode="python")))
                n += 1
        return n

    def save_analysis(self, analysis: CallAnalysis, fingerprint: str) -> None:
        """Replace everything stored for this call in one transaction."""
        call, tr = analysis.call, analysis.transcript
        with self.engine.begin() as conn:
            _drop_rows(conn, call.call_id)
            conn.execute(sa.insert(calls).values(
                call_id=call.call_id, path=call.path, media=call.media, date=call.date, rep=call.rep,
                account=call.account, deal_id=call.deal_id, content_hash=call.content_hash, origin=call.origin,
                duration=tr.duration, channels=tr.channels,
                role_confidence=tr.role_confidence,
                language=tr.language, transcriber=tr.engine, extractor=analysis.engine, fingerprint=fingerprint,
                analysed_at=dt.datetime.now(dt.UTC).replace(tzinfo=None), **_usage_columns(analysis)))
            if tr.utterances:
                conn.execute(sa.insert(utterances), [
                    {"call_id": call.call_id, "idx": u.index, "role": u.role.value, "speaker": u.speaker,
                     "start": u.start, "end": u.end, "text": u.text} for u in tr.utterances])
            rows = [{"finding_id": f.finding_id, **FlatFinding.of(f).model_dump(mode="json")}
                    for f in analysis.findings]
            if rows:
                conn.execute(sa.insert(findings), rows)

    def update_call_metadata(self, call: Call) -> None:
        """An unchanged call whose manifest row changed (date, rep, deal) gets the new facts, no re-analysis.

        Facts the new row leaves blank keep their stored value: a file analysed again without its manifest
        must not lose its deal.
        """
        facts = {k: v for k, v in call.model_dump(include={"date", "rep", "account", "deal_id", "origin"}).items()
                 if v is not None}
        with self.engine.begin() as conn:
            conn.execute(sa.update(calls).where(calls.c.call_id == call.call_id).values(path=call.path, **facts))

    def delete_call(self, call_id: str) -> None:
        """Forget a call's analysis (its source is gone); its labels stay, they carry their sentence's text."""
        with self.engine.begin() as conn:
            _drop_rows(conn, call_id)

    def set_index_stale(self, reason: str | None) -> None:
        with self.engine.begin() as conn:
            _set_meta(conn, INDEX_STALE, reason)

    def index_stale(self) -> str | None:
        """Why the index's ids no longer match the store's (it must be re-keyed or rebuilt), or None."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(meta.c.value).where(meta.c.key == INDEX_STALE)).scalar()

    def start_run(self, transcriber: str, extractor: str, fingerprint: str) -> int:
        with self.engine.begin() as conn:
            return conn.execute(sa.insert(runs).values(
                started_at=dt.datetime.now(dt.UTC).replace(tzinfo=None), transcriber=transcriber,
                extractor=extractor, fingerprint=fingerprint)).inserted_primary_key[0]

    def finish_run(self, run_id: int, outcomes: list[CallOutcome], warnings: Iterable[str] = ()) -> None:
        failed = [{"path": o.path, "problem": o.problem} for o in outcomes if o.status == "failed"]
        with self.engine.begin() as conn:
            conn.execute(sa.update(runs).where(runs.c.run_id == run_id).values(
                finished_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                analysed=sum(o.status == "analysed" for o in outcomes),
                unchanged=sum(o.status == "unchanged" for o in outcomes),
                missing=sum(o.status == "missing" for o in outcomes),
                failed=len(failed), failures=json.dumps(failed), warnings=json.dumps(list(warnings))))

    def save_labels(self, items: Iterable[Label]) -> int:
        """Each verdict replaces an earlier one on the same sentence, kind and label; one transaction per call."""
        n = 0
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        with self.engine.begin() as conn:
            for item in items:
                conn.execute(sa.delete(labels).where(
                    labels.c.call_id == item.call_id, labels.c.utterance_index == item.utterance_index,
                    labels.c.text == item.text, labels.c.kind == item.kind.value, labels.c.label == item.label))
                conn.execute(sa.insert(labels).values(**item.model_dump(mode="python", exclude={"at"}),
                                                      at=item.at or now))
                n += 1
        return n

    def labels(self, kind: FindingKind | None = None) -> list[Label]:
        q = sa.select(labels).order_by(labels.c.label_id)
        if kind:
            q = q.where(labels.c.kind == kind.value)
        with self.engine.connect() as conn:
            return [Label.model_validate({k: r[k] for k in Label.model_fields}) for r in conn.execute(q).mappings()]

    def reviewed_turns(self, kind: FindingKind = FindingKind.objection, limit: int = 2000) -> list[CustomerTurn]:
        """The turns a learned tracker judges (every turn that is not the rep's) of the calls that hold labels of
        `kind`, with the rep's reply to each, in call and turn order: every labelled one, and at most `limit` others
        (learning.train_detector: the population its vocabulary and threshold are set on)."""
        said = sa.select(labels.c.call_id, labels.c.utterance_index).where(labels.c.kind == kind.value)
        q = (sa.select(utterances).where(utterances.c.call_id.in_(said.with_only_columns(labels.c.call_id)))
             .order_by(utterances.c.call_id, utterances.c.idx))
        out: list[CustomerTurn] = []
        others = 0
        with self.engine.connect() as conn:
            labelled = {tuple(row) for row in conn.execute(said)}
            for call_id, group in itertools.groupby(conn.execute(q).mappings(), key=lambda r: r["call_id"]):
                spoken = [_utterance(r) for r in group]
                replies = rep_replies(spoken)
                for u in spoken:
                    other = (call_id, u.index) not in labelled
                    if u.role is Role.rep or (other and others >= limit):
                        continue
                    others += other
                    out.append(CustomerTurn(call_id, u.index, u.text, replies.get(u.index)))
        return out

    def review_counts(self) -> dict[tuple[str, str], tuple[int, int]]:
        """Per (kind, label) of the stored findings: how many of them reviewers confirmed and rejected. A finding is
        rejected by a no on its label or on the kind itself, confirmed by a yes on its label; when a reviewer
        changed their mind, the latest answer counts (as it does for the trackers: extract/learning.py verdicts)."""
        f, lb = findings, labels
        on = sa.and_(lb.c.call_id == f.c.call_id, lb.c.utterance_index == f.c.utterance_index, lb.c.kind == f.c.kind,
                     sa.or_(lb.c.label == f.c.label, sa.and_(lb.c.label == ANY_LABEL, lb.c.verdict.is_(False))))
        q = (sa.select(f.c.finding_id, f.c.kind, f.c.label, lb.c.verdict).select_from(f.join(lb, on))
             .order_by(lb.c.label_id))
        latest: dict[str, tuple[str, str, bool]] = {}
        with self.engine.connect() as conn:
            for finding_id, kind, label, verdict in conn.execute(q):
                latest[finding_id] = (kind, label, bool(verdict))
        counts: dict[tuple[str, str], tuple[int, int]] = {}
        for kind, label, verdict in latest.values():
            yes, no = counts.get((kind, label), (0, 0))
            counts[(kind, label)] = (yes + verdict, no + (not verdict))
        return counts

    # -- reads ----------------------------------------------------------------------------------------------
    def fingerprint_of(self, call_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(calls.c.fingerprint).where(calls.c.call_id == call_id)).scalar()

    def analysed_as(self, call_id: str) -> tuple[str | None, str] | None:
        """(content hash, fingerprint) of a call's stored analysis, or None when it has none."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(calls.c.content_hash, calls.c.fingerprint)
                               .where(calls.c.call_id == call_id)).first()
        return (row[0], row[1]) if row else None

    def stored_calls(self, origins: Iterable[str] | None = None) -> list[Call]:
        """Every stored call (or those last found through the given manifests and folders), as sources."""
        q = sa.select(*(calls.c[k] for k in Call.model_fields)).order_by(calls.c.path, calls.c.call_id)
        if origins is not None:
            q = q.where(calls.c.origin.in_(list(origins)))
        with self.engine.connect() as conn:
            return [Call.model_validate(dict(r)) for r in conn.execute(q).mappings()]

    def deal_ids(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(deals.c.deal_id)).scalars())

    def vector_counts(self) -> dict[str, int]:
        """What the index should hold: one vector per utterance with text, one per finding."""
        with self.engine.connect() as conn:
            spoken = conn.execute(sa.select(sa.func.count()).select_from(utterances)
                                  .where(sa.func.length(sa.func.trim(utterances.c.text)) > 0)).scalar_one()
            found = conn.execute(sa.select(sa.func.count()).select_from(findings)).scalar_one()
        return {"utterances": spoken, "findings": found}

    def transcript(self, call_id: str) -> Transcript:
        with self.engine.connect() as conn:
            call = conn.execute(sa.select(calls).where(calls.c.call_id == call_id)).mappings().first()
            if call is None:
                raise NotFoundError(f"no call {call_id!r} in the store; `winloss calls` lists them")
            rows = conn.execute(sa.select(utterances).where(utterances.c.call_id == call_id)
                                .order_by(utterances.c.idx)).mappings().all()
        return Transcript(call_id=call_id, duration=call["duration"], language=call["language"] or "en",
                          engine=call["transcriber"], channels=call["channels"],
                          role_confidence=call["role_confidence"],
                          utterances=[_utterance(r) for r in rows])

    def resolve_call_id(self, prefix: str) -> str:
        if not re.fullmatch(r"[0-9a-f]{1,32}", prefix):  # hex only: `%` or `_` would be LIKE wildcards
            raise NotFoundError(f"{prefix!r} is not a call id (hex digits); `winloss calls` lists them")
        with self.engine.connect() as conn:
            ids = conn.execute(sa.select(calls.c.call_id).where(calls.c.call_id.like(f"{prefix}%"))).scalars().all()
        if len(ids) != 1:
            raise NotFoundError(f"{'no' if not ids else 'more than one'} call matches {prefix!r}; "
                                f"`winloss calls` lists them")
        return ids[0]

    def list_calls(self) -> list[CallRow]:
        q = (sa.select(calls.c.call_id, calls.c.path, calls.c.date, calls.c.rep, calls.c.account, calls.c.deal_id,
                       calls.c.duration, calls.c.channels, deals.c.outcome,
                       sa.func.count(findings.c.finding_id).label("findings"))
             .select_from(calls.outerjoin(deals, calls.c.deal_id == deals.c.deal_id)
                          .outerjoin(findings, findings.c.call_id == calls.c.call_id))
             .group_by(calls.c.call_id, deals.c.outcome).order_by(calls.c.date, calls.c.path))
        with self.engine.connect() as conn:
            return [CallRow.model_validate(r) for r in conn.execute(q).mappings()]

    def call_row(self, call_id: str) -> CallRow:
        return next(c for c in self.list_calls() if c.call_id == call_id)

    def findings(self, call_id: str | None = None) -> list[FlatFinding]:
        q = sa.select(findings).order_by(findings.c.call_id, findings.c.start, findings.c.kind)
        if call_id:
            q = q.where(findings.c.call_id == call_id)
        with self.engine.connect() as conn:
            return [FlatFinding.model_validate({k: v for k, v in r.items() if k != "finding_id"})
                    for r in conn.execute(q).mappings()]

    def finding_rows(self, since: dt.date | None, until: dt.date | None) -> list[FindingRow]:
        """Findings joined to their call and deal: what the report aggregates."""
        q = (sa.select(findings, calls.c.date, calls.c.rep, calls.c.deal_id, calls.c.path,
                       sa.func.coalesce(deals.c.outcome, "unknown").label("outcome"))
             .select_from(findings.join(calls, findings.c.call_id == calls.c.call_id)
                          .outerjoin(deals, calls.c.deal_id == deals.c.deal_id)))
        q = _period(q, since, until)
        with self.engine.connect() as conn:
            return [FindingRow.model_validate(r) for r in conn.execute(q).mappings()]

    def calls_in_period(self, since: dt.date | None, until: dt.date | None) -> list[CallInPeriod]:
        q = (sa.select(calls.c.call_id, calls.c.deal_id, calls.c.date, calls.c.transcriber, calls.c.extractor,
                       sa.func.coalesce(deals.c.outcome, "unknown").label("outcome"))
             .select_from(calls.outerjoin(deals, calls.c.deal_id == deals.c.deal_id)))
        with self.engine.connect() as conn:
            return [CallInPeriod.model_validate(r) for r in conn.execute(_period(q, since, until)).mappings()]

    def last_run(self) -> RunRow | None:
        q = sa.select(*(runs.c[k] for k in RunRow.model_fields)).order_by(runs.c.run_id.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(q).mappings().first()
        return RunRow.model_validate(row) if row else None

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                    for t in (calls, deals, utterances, findings, labels)}

    def call_ids(self, rep: str | None = None, outcome: str | None = None, since: dt.date | None = None,
                 until: dt.date | None = None, competitor: str | None = None) -> list[str] | None:
        """The calls that pass the given filters, or None when no filter is given (every call passes)."""
        if not any((rep, outcome, since, until, competitor)):
            return None
        q = sa.select(calls.c.call_id).select_from(calls.outerjoin(deals, calls.c.deal_id == deals.c.deal_id))
        if rep:
            q = q.where(sa.func.lower(calls.c.rep) == rep.lower())
        if outcome:
            q = q.where(deals.c.outcome == outcome)
        if competitor:  # calls in which the customer brought this competitor up
            q = q.where(calls.c.call_id.in_(
                sa.select(findings.c.call_id).where(findings.c.kind == "competitor", findings.c.role != "rep",
                                                    sa.func.lower(findings.c.label) == competitor.lower())))
        with self.engine.connect() as conn:
            return list(conn.execute(_period(q, since, until)).scalars())

    def deals_by_id(self) -> dict[str, Deal]:
        with self.engine.connect() as conn:
            return {r["deal_id"]: Deal.model_validate(dict(r)) for r in conn.execute(sa.select(deals)).mappings()}

    def calls_of_deals(self, deal_ids: set[str]) -> dict[str, str]:
        """call id -> deal id for the stored calls of the given deals."""
        if not deal_ids:
            return {}
        q = sa.select(calls.c.call_id, calls.c.deal_id).where(calls.c.deal_id.in_(sorted(deal_ids)))
        with self.engine.connect() as conn:
            return {cid: did for cid, did in conn.execute(q)}

    def deal_rows(self) -> list[DealRow]:
        """Every deal with its number of stored calls (a deal from the CRM may have none yet)."""
        q = (sa.select(deals, sa.func.count(calls.c.call_id).label("calls"))
             .select_from(deals.outerjoin(calls, calls.c.deal_id == deals.c.deal_id))
             .group_by(*deals.c).order_by(deals.c.deal_id))
        with self.engine.connect() as conn:
            return [DealRow.model_validate(r) for r in conn.execute(q).mappings()]

    def export_finding_rows(self) -> list[ExportFindingRow]:
        """Every finding with its call's date, rep, account and deal, and the deal's outcome as it is now."""
        q = (sa.select(calls.c.date, calls.c.rep, calls.c.account, calls.c.deal_id, deals.c.outcome,
                       *(findings.c[k] for k in FlatFinding.model_fields))
             .select_from(findings.join(calls, findings.c.call_id == calls.c.call_id)
                          .outerjoin(deals, calls.c.deal_id == deals.c.deal_id))
             .order_by(calls.c.date, findings.c.call_id, findings.c.start, findings.c.kind))
        with self.engine.connect() as conn:
            return [ExportFindingRow.model_validate(r) for r in conn.execute(q).mappings()]

    def call_facts(self, call_ids: set[str]) -> dict[str, CallFacts]:
        """path, date, rep, deal and outcome of the given calls, as they are now."""
        if not call_ids:
            return {}
        q = (sa.select(calls.c.call_id, calls.c.path, calls.c.date, calls.c.rep, calls.c.deal_id, deals.c.outcome)
             .select_from(calls.outerjoin(deals, calls.c.deal_id == deals.c.deal_id))
             .where(calls.c.call_id.in_(sorted(call_ids))))
        with self.engine.connect() as conn:
            return {r["call_id"]: CallFacts.model_validate(r) for r in conn.execute(q).mappings()}

    def call(self, call_id: str) -> Call:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(calls).where(calls.c.call_id == call_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no call {call_id!r} in the store; `winloss calls` lists them")
        return Call.model_validate({k: row[k] for k in Call.model_fields})

    def finding_records(self, call_id: str) -> list[tuple[str, FlatFinding]]:
        """(finding_id, finding) for one call: what the index needs to be rebuilt from the store."""
        q = sa.select(findings).where(findings.c.call_id == call_id).order_by(findings.c.start)
        with self.engine.connect() as conn:
            return [(r["finding_id"], FlatFinding.model_validate({k: v for k, v in r.items() if k != "finding_id"}))
                    for r in conn.execute(q).mappings()]

    def outcome_of(self, deal_id: str | None) -> Outcome | None:
        if not deal_id:
            return None
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(deals.c.outcome).where(deals.c.deal_id == deal_id)).scalar()
        return Outcome(value) if value else None


def _usage_columns(analysis: CallAnalysis) -> dict:
    usage = analysis.usage
    if usage is None:
        return {}
    return {"llm_model": usage.model, "llm_input_tokens": usage.input_tokens, "llm_output_tokens": usage.output_tokens,
            "llm_cost_usd": usage.cost_usd, "dropped_findings": usage.dropped}


def _period(q, since: dt.date | None, until: dt.date | None):
    if since:
        q = q.where(calls.c.date >= since)
    if until:
        q = q.where(calls.c.date <= until)
    return q
