"""The first schema: calls, deals, utterances, findings, runs and the meta table.

Revision ID: 0001
Revises:
Create Date: 2026-05-01

A store that winloss versions before Alembic wrote at hand-made schema N is stamped with revision 000N (see
`Store._migrate`), so these revisions are the hand-made steps, numbered as they were.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("meta", sa.Column("key", sa.String(64), primary_key=True),
                    sa.Column("value", sa.String(256), nullable=False))
    op.create_table(
        "calls",
        sa.Column("call_id", sa.String(32), primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("media", sa.String(16), nullable=False),
        sa.Column("date", sa.Date),
        sa.Column("rep", sa.String(128)),
        sa.Column("account", sa.String(256)),
        sa.Column("deal_id", sa.String(128)),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("channels", sa.Integer, nullable=False),
        sa.Column("language", sa.String(16)),
        sa.Column("transcriber", sa.String(128), nullable=False),
        sa.Column("extractor", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("analysed_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_calls_deal_id", "calls", ["deal_id"])
    op.create_table(
        "deals",
        sa.Column("deal_id", sa.String(128), primary_key=True),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("amount", sa.Float),
        sa.Column("close_date", sa.Date),
        sa.Column("stage", sa.String(128)),
        sa.Column("rep", sa.String(128)),
    )
    op.create_table(
        "utterances",
        sa.Column("call_id", sa.String(32), sa.ForeignKey("calls.call_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("speaker", sa.String(128), nullable=False),
        sa.Column("start", sa.Float, nullable=False),
        sa.Column("end", sa.Float, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_table(
        "findings",
        sa.Column("finding_id", sa.String(32), primary_key=True),
        sa.Column("call_id", sa.String(32), sa.ForeignKey("calls.call_id", ondelete="CASCADE")),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("label", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16)),
        sa.Column("utterance_index", sa.Integer, nullable=False),
        sa.Column("start", sa.Float, nullable=False),
        sa.Column("end", sa.Float, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("quote", sa.Text, nullable=False),
        sa.Column("engine", sa.String(64), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
    )
    op.create_index("ix_findings_call_id", "findings", ["call_id"])
    op.create_index("ix_findings_kind", "findings", ["kind"])
    op.create_table(
        "runs",
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("transcriber", sa.String(128)),
        sa.Column("extractor", sa.String(64)),
        sa.Column("fingerprint", sa.String(32)),
        sa.Column("analysed", sa.Integer),
        sa.Column("unchanged", sa.Integer),
        sa.Column("failed", sa.Integer),
        sa.Column("failures", sa.Text),
    )
