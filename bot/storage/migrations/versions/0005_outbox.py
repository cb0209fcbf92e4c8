"""outbox: durable messages to deliver, a shared rate bucket; meeting reminders become outbox rows

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

STATES = (
    "pending", "sending", "retrying", "sent", "dead", "blocked", "unknown", "cancelled", "paused", "expired", "skipped",
)


def upgrade() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("email_to", sa.String(length=320), nullable=True),
        sa.Column("recipient_key", sa.String(length=340), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("template", sa.String(length=200), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("subject_line", sa.String(length=300), nullable=True),
        sa.Column("keyboard", sa.JSON(), nullable=True),
        sa.Column("document", sa.JSON(), nullable=True),
        sa.Column("document_content", sa.LargeBinary(), nullable=True),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hold_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("group_key", sa.String(length=64), nullable=True),
        sa.Column("subject_type", sa.String(length=32), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("on_uncertain", sa.String(length=8), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('telegram', 'email')", name=op.f("ck_outbox_messages_channel")),
        sa.CheckConstraint(
            "state IN (" + ", ".join(f"'{s}'" for s in STATES) + ")", name=op.f("ck_outbox_messages_state")
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["people.id"], name=op.f("fk_outbox_messages_recipient_id_people"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_messages_dedupe_key")),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        due, in_flight = sa.text("state IN ('pending', 'retrying')"), sa.text("state = 'sending'")
        batch_op.create_index(
            "ix_outbox_messages_due", ["next_attempt_at", "priority"], unique=False,
            sqlite_where=due, postgresql_where=due,
        )
        batch_op.create_index(
            "ix_outbox_messages_in_flight", ["claimed_at"], unique=False,
            sqlite_where=in_flight, postgresql_where=in_flight,
        )
        batch_op.create_index("ix_outbox_messages_recipient", ["recipient_key", "state"], unique=False)
        batch_op.create_index("ix_outbox_messages_subject", ["subject_type", "subject_id"], unique=False)
        batch_op.create_index("ix_outbox_messages_group", ["group_key", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_messages_recipient_id"), ["recipient_id"], unique=False)
    op.create_table(
        "rate_buckets",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("refilled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rate_buckets")),
    )
    _move_pending_reminders()
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_reminders_subject")
        batch_op.drop_index("ix_reminders_state_next_attempt")
        batch_op.drop_index(batch_op.f("ix_reminders_person_id"))
    op.drop_table("reminders")


def _move_pending_reminders() -> None:
    """Pending meeting reminders become outbox rows (kind ``meeting.reminder``): nothing is lost."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        params = "json_build_object('meeting_id', r.subject_id, 'rule', r.kind)"
        key = "'p' || r.person_id"
        dedupe = "'meeting:' || r.subject_id || ':' || r.kind || ':' || r.person_id || ':' || r.id"
        empty = "'{}'::json"
    else:
        params = "json_object('meeting_id', r.subject_id, 'rule', r.kind)"
        key = "'p' || r.person_id"
        dedupe = "'meeting:' || r.subject_id || ':' || r.kind || ':' || r.person_id || ':' || r.id"
        empty = "'{}'"
    op.execute(
        "INSERT INTO outbox_messages (channel, recipient_id, chat_id, recipient_key, kind, template, params, "
        "priority, next_attempt_at, expires_at, subject_type, subject_id, dedupe_key, on_uncertain, options, "
        "state, attempts, created_at) "
        f"SELECT 'telegram', r.person_id, p.telegram_user_id, {key}, 'meeting.reminder', 'booking/reminder.html', "
        f"{params}, 2, r.due_at, r.expires_at, 'meeting', r.subject_id, {dedupe}, 'drop', {empty}, "
        "'pending', 0, r.created_at "
        "FROM reminders r JOIN people p ON p.id = r.person_id WHERE r.state IN ('pending', 'sending')"
    )


def downgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'failed', 'cancelled', 'expired', 'skipped')",
            name=op.f("ck_reminders_state"),
        ),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_reminders_person_id_people"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminders_person_id"), ["person_id"], unique=False)
        batch_op.create_index("ix_reminders_state_next_attempt", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_reminders_subject", ["subject_type", "subject_id"], unique=False)
    op.drop_table("rate_buckets")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_messages_recipient_id"))
        batch_op.drop_index("ix_outbox_messages_group")
        batch_op.drop_index("ix_outbox_messages_subject")
        batch_op.drop_index("ix_outbox_messages_recipient")
        batch_op.drop_index("ix_outbox_messages_in_flight")
        batch_op.drop_index("ix_outbox_messages_due")
    op.drop_table("outbox_messages")
