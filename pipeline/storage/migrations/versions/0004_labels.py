"""labels: people's verdicts on sentences, which the learner trains on.

Revision ID: 0004
Revises: 0003
Create Date: 2026-07-01

No foreign key to calls: re-analysing a call replaces its rows, never its labels.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "labels",
        sa.Column("label_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("call_id", sa.String(32), nullable=False),
        sa.Column("utterance_index", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("label", sa.String(128), nullable=False),
        sa.Column("verdict", sa.Boolean, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("who", sa.String(128)),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_labels_call_id", "labels", ["call_id"])
    op.create_index("ix_labels_kind", "labels", ["kind"])
