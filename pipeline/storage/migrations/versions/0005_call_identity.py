"""A call's id is its source (path and deal), no longer its bytes; calls.content_hash keeps the bytes' hash.

Revision ID: 0005
Revises: 0004
Create Date: 2026-08-01

Old ids were content hashes, so the old id is the content hash. Rows of one source under several ids (a file
analysed, edited and analysed again) become one call: the latest analysis, with every label of the source.
Vectors in the index carry the old ids: the index is marked stale and re-keyed by the next analyze or reindex.
The tables are reflected, not imported: this step must see the schema as it is at revision 0005, whatever later
revisions add.
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op
from winloss.pipeline.models import call_key, finding_key

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("content_hash", sa.String(32)))
    op.add_column("calls", sa.Column("origin", sa.Text))
    op.add_column("runs", sa.Column("missing", sa.Integer))
    op.add_column("runs", sa.Column("warnings", sa.Text))
    conn = op.get_bind()
    t = sa.MetaData()
    t.reflect(conn, only=["meta", "calls", "utterances", "findings", "labels"])
    calls, labels = t.tables["calls"], t.tables["labels"]
    rows = conn.execute(sa.select(calls.c.call_id, calls.c.path, calls.c.deal_id, calls.c.analysed_at)
                        .order_by(calls.c.analysed_at.desc(), calls.c.call_id)).mappings().all()
    kept: set[str] = set()
    for row in rows:
        new = call_key(Path(row["path"]), row["deal_id"])
        if new in kept:  # an older analysis of the same source: its rows go, its labels follow the call
            _drop_rows(conn, t, row["call_id"])
            conn.execute(sa.update(labels).where(labels.c.call_id == row["call_id"]).values(call_id=new))
            continue
        kept.add(new)
        _rekey(conn, t, row["call_id"], new)
    if rows:
        meta = t.tables["meta"]
        conn.execute(sa.delete(meta).where(meta.c.key == "index_stale"))
        conn.execute(sa.insert(meta).values(key="index_stale", value="call ids changed (schema 5)"))


def _rekey(conn, t: sa.MetaData, old: str, new: str) -> None:
    """Move one call's rows from the old id to the new one; finding ids include the call id, so they follow."""
    calls, utterances, findings, labels = (t.tables[n] for n in ("calls", "utterances", "findings", "labels"))
    row = dict(conn.execute(sa.select(calls).where(calls.c.call_id == old)).mappings().one())
    conn.execute(sa.insert(calls).values({**row, "call_id": new, "content_hash": old}))
    conn.execute(sa.update(utterances).where(utterances.c.call_id == old).values(call_id=new))
    for f in conn.execute(sa.select(findings.c.finding_id, findings.c.kind, findings.c.label,
                                    findings.c.utterance_index, findings.c.engine)
                          .where(findings.c.call_id == old)).mappings().all():
        conn.execute(sa.update(findings).where(findings.c.finding_id == f["finding_id"]).values(
            call_id=new, finding_id=finding_key(new, f["kind"], f["label"], f["utterance_index"], f["engine"])))
    conn.execute(sa.update(labels).where(labels.c.call_id == old).values(call_id=new))
    conn.execute(sa.delete(calls).where(calls.c.call_id == old))


def _drop_rows(conn, t: sa.MetaData, call_id: str) -> None:
    for name in ("findings", "utterances", "calls"):
        table = t.tables[name]
        conn.execute(sa.delete(table).where(table.c.call_id == call_id))
