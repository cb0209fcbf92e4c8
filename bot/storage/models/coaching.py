"""The report coach: each auditeur's coaching progress, their experience self-check, the feedback given.

Progress is one row per enrolment holding ``ReportProgress.to_dict()`` as JSON, with a version
column (SQLAlchemy's ``version_id_col``): every save is ``UPDATE ... WHERE version = <read>``, so an
instance that read an older state fails with StaleDataError instead of overwriting another
instance's answer, and the service re-applies its operation on the fresh state. One JSON document
rather than one row per answer because every coach action (answer, skip, back, edit) changes the
position and the answers together, and the domain object already serialises itself whole.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base, UTCDateTime, utcnow


class CoachingProgress(Base):
    """An auditeur's notes and position in the guided coach, for one enrolment (hence one report type)."""

    __tablename__ = "coaching_progress"
    __table_args__ = (CheckConstraint("report_type IN ('ua', 'stage')", name="report_type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"), unique=True)
    auditeur_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    report_type: Mapped[str] = mapped_column(String(8))
    state: Mapped[dict] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}


class ExperienceCheck(Base):
    """The /experience self-check of a person: answers so far and, once complete, the outcome."""

    __tablename__ = "experience_checks"
    __table_args__ = (
        CheckConstraint("outcome IS NULL OR outcome IN ('ua', 'stage')", name="outcome"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), unique=True)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    outcome: Mapped[str | None] = mapped_column(String(8))
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    confirm_with_tutor: Mapped[bool | None] = mapped_column(Boolean)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CoachingFeedback(Base):
    """Feedback shown at the end of a section: the remarks, which engine produced them, and when."""

    __tablename__ = "coaching_feedback"
    __table_args__ = (CheckConstraint("engine IN ('offline', 'llm')", name="engine"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    progress_id: Mapped[int] = mapped_column(ForeignKey("coaching_progress.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[str] = mapped_column(String(32))
    engine: Mapped[str] = mapped_column(String(8))
    llm_failure: Mapped[str | None] = mapped_column(String(16))
    remarks: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
