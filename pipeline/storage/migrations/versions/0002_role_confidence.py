"""calls.role_confidence: how sure the rep/customer roles of a call are (diarized mono calls).

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-20
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("role_confidence", sa.Float))
