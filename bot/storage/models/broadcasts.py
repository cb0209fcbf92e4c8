"""Staff broadcasts (the enrolment periods they announce are in the academic calendar: academic_years).

A broadcast is stored when staff preview it (``draft``); it becomes ``scheduled`` or ``sending``
when confirmed. Its outbox rows (one per recipient, group ``broadcast:<id>``) are written when it
becomes due, so a scheduled broadcast reaches the audience as it is on the day, and survives
restarts as a row here until then.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base, UTCDateTime, utcnow

BROADCAST_STATES = ("draft", "scheduled", "sending", "paused", "cancelled", "done")


class Broadcast(Base):
    __tablename__ = "broadcasts"
    __table_args__ = (
        CheckConstraint("state IN (" + ", ".join(f"'{s}'" for s in BROADCAST_STATES) + ")", name="state"),
        Index("ix_broadcasts_state_scheduled_at", "state", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32), default="message")  # message, announcement.s1, announcement.s2
    message_html: Mapped[str] = mapped_column(Text)
    document_name: Mapped[str | None] = mapped_column(String(255))
    document_file_id: Mapped[str | None] = mapped_column(String(255))  # a file Telegram already has
    document_content: Mapped[bytes | None] = mapped_column(LargeBinary)  # uploaded from the command line
    audience: Mapped[str] = mapped_column(String(250))  # Audience.code, e.g. "semestre:2026-S1"
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    paid: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    recipients: Mapped[int | None] = mapped_column(Integer)  # rows written when it became due
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_shown_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # throttles the edits (wall clock)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
