"""Durable reminders: rows saying when, to whom and what, sent once by a periodic job.

Created and cancelled in the same transaction as the event they belong to (a meeting now, the
accompaniment's deadlines later). A dispatcher claims a due row with a conditional UPDATE
(``state='pending'`` -> ``'sending'``) so two instances never send the same reminder; a claim left
by a crashed instance is recovered after a while.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base, UTCDateTime, utcnow

REMINDER_STATES = ("pending", "sending", "sent", "failed", "cancelled", "expired", "skipped")


class Reminder(Base):
    __tablename__ = "reminders"
    __table_args__ = (
        CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'failed', 'cancelled', 'expired', 'skipped')", name="state"
        ),
        Index("ix_reminders_state_next_attempt", "state", "next_attempt_at"),
        Index("ix_reminders_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # selects the sender and its template
    subject_type: Mapped[str] = mapped_column(String(32))  # "meeting", later "deadline"...
    subject_id: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # too late to be useful after this
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
