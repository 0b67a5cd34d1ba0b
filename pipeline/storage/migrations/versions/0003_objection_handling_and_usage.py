"""Objection handling and competitor context on findings; LLM usage and dropped findings on calls.

Revision ID: 0003
Revises: 0002
Create Date: 2026-06-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("findings", sa.Column("answered", sa.Boolean))
    op.add_column("findings", sa.Column("accepted", sa.Boolean))
    op.add_column("findings", sa.Column("context", sa.String(32)))
    op.add_column("calls", sa.Column("llm_model", sa.String(128)))
    op.add_column("calls", sa.Column("llm_input_tokens", sa.Integer))
    op.add_column("calls", sa.Column("llm_output_tokens", sa.Integer))
    op.add_column("calls", sa.Column("llm_cost_usd", sa.Float))
    op.add_column("calls", sa.Column("dropped_findings", sa.Integer))
