"""meeting topic: what the auditeur wants to talk about, given when confirming a booking

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ALTER TABLE (no batch copy): the SQLite overlap triggers of 0002 stay in place
    op.add_column("meetings", sa.Column("topic", sa.String(length=400), nullable=True))


def downgrade() -> None:
    op.drop_column("meetings", "topic")
