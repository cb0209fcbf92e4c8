"""People, their roles, enrolments, invitations, consent, sign-in throttling and conversation state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.storage.models.base import Base, UTCDateTime, utcnow


class Person(Base):
    """Anyone the bot knows: staff, tutors and auditeurs. Bound to Telegram once they redeem an invitation."""

    __tablename__ = "people"
    __table_args__ = (CheckConstraint("role IN ('staff', 'tutor', 'auditeur')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    telegram_username: Mapped[str | None] = mapped_column(String(64))
    blocked_bot_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # personal data erased (record kept)


class Enrolment(Base):
    """An auditeur enrolled in the tutoring offer for one certification, with their tutor."""

    __tablename__ = "enrolments"
    __table_args__ = (
        CheckConstraint("report_type IN ('ua', 'stage')", name="report_type"),
        CheckConstraint("status IN ('active', 'closed')", name="status"),
        CheckConstraint("experience IN ('justified', 'in_progress', 'missing')", name="experience"),
        # One active enrolment per auditeur; closed ones are kept as history.
        Index(
            "uq_enrolments_active_auditeur",
            "auditeur_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_enrolments_tutor_id", "tutor_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    auditeur_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    tutor_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    certification: Mapped[str] = mapped_column(String(200))
    report_type: Mapped[str] = mapped_column(String(8))
    semester: Mapped[str] = mapped_column(String(8))  # e.g. "2026-S1": 1st semester of 2026-2027
    status: Mapped[str] = mapped_column(String(8), default="active")
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when it was closed (retention counts from then)
    # the offer's prerequisites (seed 003), as staff recorded them; None: enrolled before they were recorded
    units_validated: Mapped[int | None] = mapped_column(Integer)  # teaching units of the certification validated
    experience: Mapped[str | None] = mapped_column(String(16))  # justified, in_progress (being acquired), missing

    auditeur: Mapped[Person] = relationship(foreign_keys=[auditeur_id])
    tutor: Mapped[Person] = relationship(foreign_keys=[tutor_id])


class Invitation(Base):
    """A one-time, expiring code that binds a Telegram account to a person. Only its hash is stored."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by_telegram_id: Mapped[int | None] = mapped_column(BigInteger)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])


class Consent(Base):
    """The data-protection notice a person accepted, which version and when."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    notice_version: Mapped[str] = mapped_column(String(32))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)


class SignInThrottle(Base):
    """Failed invitation codes per Telegram account, to slow down guessing."""

    __tablename__ = "sign_in_throttle"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConversationState(Base):
    """Where a person is in a multi-step conversation. In the database so restarts resume exactly."""

    __tablename__ = "conversation_states"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    flow: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AuditEvent(Base):
    """Who did what, when: enrolments, invitations, bindings (and later the accompaniment steps)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text)


class PersonChange(Base):
    """A person (or an enrolment of theirs) changed: the caches that remember people forget them.

    Written in the same transaction as the change (`bot/storage/people_changes.py`) and read by
    every instance each second; `person_id` NULL means everyone (a bulk UPDATE). Not a foreign key:
    the row outlives a deleted person. Only the latest rows are kept.
    """

    __tablename__ = "people_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int | None] = mapped_column(Integer)
