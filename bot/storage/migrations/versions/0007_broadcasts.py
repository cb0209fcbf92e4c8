"""broadcasts: staff broadcasts and the enrolment periods of the academic calendar

Revision ID: 0007
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0008"
branch_labels = None
depends_on = None

STATES = ("draft", "scheduled", "sending", "paused", "cancelled", "done")


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("message_html", sa.Text(), nullable=False),
        sa.Column("document_name", sa.String(length=255), nullable=True),
        sa.Column("document_file_id", sa.String(length=255), nullable=True),
        sa.Column("document_content", sa.LargeBinary(), nullable=True),
        sa.Column("audience", sa.String(length=250), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("paid", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=True),
        sa.Column("progress_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_shown_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN (" + ", ".join(f"'{s}'" for s in STATES) + ")", name=op.f("ck_broadcasts_state")),
        sa.ForeignKeyConstraint(["author_id"], ["people.id"], name=op.f("fk_broadcasts_author_id_people"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.create_index("ix_broadcasts_state_scheduled_at", ["state", "scheduled_at"], unique=False)
    op.create_table(
        "enrolment_periods",
        sa.Column("academic_year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("semester", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("semester IN (1, 2)", name=op.f("ck_enrolment_periods_semester")),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["people.id"], name=op.f("fk_enrolment_periods_updated_by_id_people"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("academic_year", "semester", name=op.f("pk_enrolment_periods")),
    )


def downgrade() -> None:
    op.drop_table("enrolment_periods")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_index("ix_broadcasts_state_scheduled_at")
    op.drop_table("broadcasts")
