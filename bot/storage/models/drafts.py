"""Report drafts sent as PDFs: one row per version an auditeur sent, with the review's findings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base, UTCDateTime, utcnow


class DraftVersion(Base):
    """A file an auditeur sent as a draft of their report, numbered per auditeur (1, 2, ...).

    Files that could not be read (encrypted, not a PDF...) are kept too, with their ``problem``, so
    the history shows them; they are never compared nor forwarded. ``telegram_file_id`` lets the bot
    send the same file to the tutor, or use it for the deposit, without keeping the bytes.
    """

    __tablename__ = "draft_versions"
    __table_args__ = (UniqueConstraint("auditeur_id", "version", name="uq_draft_versions_auditeur_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    auditeur_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(Integer)
    telegram_file_id: Mapped[str] = mapped_column(String(255))
    pages: Mapped[int] = mapped_column(Integer, default=0)
    words: Mapped[int] = mapped_column(Integer, default=0)
    problem: Mapped[str | None] = mapped_column(String(16))
    review: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DepositInProgress(Base):
    """An auditeur's deposit being put together (/depot): the chosen report version and the annexes
    added so far, in order. Kept until it is assembled or abandoned, whatever else the person does."""

    __tablename__ = "deposits_in_progress"

    auditeur_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    report_version_id: Mapped[int | None] = mapped_column(ForeignKey("draft_versions.id", ondelete="SET NULL"))
    annexes: Mapped[list] = mapped_column(JSON, default=list)  # [{"file_id", "title", "pages"}, ...]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
