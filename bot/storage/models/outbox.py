"""The outbox: every message the bot owes someone other than the person who acted.

A row is written in the same transaction as the change it reports (a booking, a cancelled meeting,
a submitted draft, a due reminder, a broadcast), then delivered by the sender
(``bot/telegram/sender.py``), which claims due rows, sends them paced under Telegram's limits and
records the outcome. Nothing is sent inline, so nothing is lost when a send fails: the row stays
and is retried. ``rate_buckets`` holds the token bucket that every instance draws from.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, Float, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base, UTCDateTime, utcnow

OUTBOX_STATES = (
    "pending",  # waiting for its time (not_before) or for the sender
    "sending",  # claimed by one instance, request in flight
    "retrying",  # a transient failure: due again at next_attempt_at
    "sent",
    "dead",  # gave up (permanent error or too many attempts): shown to staff
    "blocked",  # the recipient blocked the bot (403) or is not reachable on Telegram
    "unknown",  # Telegram may have delivered it (timeout after the request left): not resent
    "cancelled",  # no longer applies (meeting cancelled, broadcast cancelled, person erased)
    "paused",  # a paused broadcast
    "expired",  # too late to be useful (a reminder for a meeting already started)
    "skipped",  # its preparer found nothing to send any more
)
OPEN_STATES = ("pending", "sending", "retrying", "paused")

# Partial indexes keep the sender's queries on the few rows they concern, however many rows wait
# for later (100,000 future reminders): queries repeat these predicates literally so that SQLite and
# PostgreSQL can use them.
DUE_PREDICATE = "state IN ('pending', 'retrying')"
IN_FLIGHT_PREDICATE = "state = 'sending'"


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint("state IN (" + ", ".join(f"'{s}'" for s in OUTBOX_STATES) + ")", name="state"),
        CheckConstraint("channel IN ('telegram', 'email')", name="channel"),
        Index(
            "ix_outbox_messages_due", "next_attempt_at", "priority",
            sqlite_where=text(DUE_PREDICATE), postgresql_where=text(DUE_PREDICATE),
        ),
        Index(
            "ix_outbox_messages_in_flight", "claimed_at",
            sqlite_where=text(IN_FLIGHT_PREDICATE), postgresql_where=text(IN_FLIGHT_PREDICATE),
        ),
        Index("ix_outbox_messages_recipient", "recipient_key", "state"),
        Index("ix_outbox_messages_subject", "subject_type", "subject_id"),
        Index("ix_outbox_messages_group", "group_key", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), default="telegram")
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)  # resolved at enqueue; re-read if the person rebinds
    email_to: Mapped[str | None] = mapped_column(String(320))
    recipient_key: Mapped[str] = mapped_column(String(340))  # messages to one key go out in id order
    kind: Mapped[str] = mapped_column(String(64))
    template: Mapped[str | None] = mapped_column(String(200))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    text: Mapped[str | None] = mapped_column(Text)  # pre-rendered Telegram HTML (or e-mail body)
    subject_line: Mapped[str | None] = mapped_column(String(300))  # e-mail subject
    keyboard: Mapped[list | None] = mapped_column(JSON)
    document: Mapped[dict | None] = mapped_column(JSON)  # filename, file_id, caption_template, caption_params
    document_content: Mapped[bytes | None] = mapped_column(LargeBinary)
    priority: Mapped[int] = mapped_column(SmallInteger, default=1)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)  # due (the services' clock)
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # backoff after a failure (wall clock)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    group_key: Mapped[str | None] = mapped_column(String(64))
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    on_uncertain: Mapped[str] = mapped_column(String(8), default="resend")
    options: Mapped[dict] = mapped_column(JSON, default=dict)  # per-row send options (paid broadcast…)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RateBucket(Base):
    """A token bucket shared by every instance (one row per limit, e.g. ``telegram``)."""

    __tablename__ = "rate_buckets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    refilled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a 429 pauses every instance
