"""Full-text search over utterances, the exact side of hybrid search: SQLite FTS5 kept by triggers, or a PostgreSQL
GIN index on to_tsvector (pipeline/storage/fulltext.py holds the statements; created filled on a store with calls).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from alembic import op
from winloss.pipeline.storage import fulltext

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    fulltext.ensure(op.get_bind())
