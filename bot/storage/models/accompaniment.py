"""The five-step accompaniment of an enrolment: its stage and history, the planning dates, the
reports submitted with their correction deadline, the opinion with its grid, the staff follow-up
cases, and the academic calendar and certifiers' grids staff set.

Personal data (for export and erasure): every table hangs off ``accompaniments.enrolment_id``
(cascade), except ``academic_years`` and ``certification_grids`` (no personal data). Free texts
written by people: ``report_submissions.correction_comments`` / ``correction_summary``,
``opinions.comments`` / ``reasons``, ``follow_up_cases.contact_note`` / ``agreed``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base, UTCDateTime, utcnow

STAGES = ("enrolled", "first_meeting_held", "planned", "submitted", "corrected", "revised", "validated", "not_validated")


def _in(column: str, values) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Accompaniment(Base):
    """One per enrolment: where the accompaniment stands. ``moved_at`` is its last transition."""

    __tablename__ = "accompaniments"
    __table_args__ = (CheckConstraint(_in("stage", STAGES), name="stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"), unique=True)
    stage: Mapped[str] = mapped_column(String(24), default="enrolled")
    moved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    limit_date: Mapped[date | None] = mapped_column(Date)  # end of the 2nd semester from enrolment
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccompanimentEvent(Base):
    """The history: every transition, who took it, when, from which stage to which."""

    __tablename__ = "accompaniment_events"
    __table_args__ = (Index("ix_accompaniment_events_accompaniment", "accompaniment_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    accompaniment_id: Mapped[int] = mapped_column(ForeignKey("accompaniments.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    party: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    from_stage: Mapped[str] = mapped_column(String(24))
    to_stage: Mapped[str] = mapped_column(String(24))
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class PlanningDate(Base):
    """The planning agreed at the first meeting: the deadline and optional intermediate dates.
    Recording a new planning replaces the rows."""

    __tablename__ = "planning_dates"
    __table_args__ = (
        CheckConstraint("kind IN ('deadline', 'intermediate')", name="kind"),
        Index("ix_planning_dates_accompaniment", "accompaniment_id", "day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    accompaniment_id: Mapped[int] = mapped_column(ForeignKey("accompaniments.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportSubmission(Base):
    """A draft version submitted for correction (step 3) or as the revised report (step 4).

    ``due_on`` is the correction's due date (4 or 6 weeks, ``weeks``; ``holidays`` the school
    holidays that made it 6), set for a submission; the opinion is expected after a revision.
    """

    __tablename__ = "report_submissions"
    __table_args__ = (
        CheckConstraint("kind IN ('submission', 'revision')", name="kind"),
        Index("ix_report_submissions_accompaniment", "accompaniment_id", "id"),
        Index("ix_report_submissions_due", "corrected_at", "due_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    accompaniment_id: Mapped[int] = mapped_column(ForeignKey("accompaniments.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    draft_version_id: Mapped[int | None] = mapped_column(ForeignKey("draft_versions.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    weeks: Mapped[int | None] = mapped_column(Integer)
    holidays: Mapped[list] = mapped_column(JSON, default=list)  # [{"name", "first", "last"}]
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    correction_file_id: Mapped[str | None] = mapped_column(String(255))  # the tutor's annotated PDF
    correction_file_name: Mapped[str | None] = mapped_column(String(255))
    correction_comments: Mapped[dict] = mapped_column(JSON, default=dict)  # criterion id -> comment
    correction_summary: Mapped[str | None] = mapped_column(Text)


class Opinion(Base):
    """The reasoned opinion (step 5): the grid assessed criterion by criterion, the verdict, the
    reasons, and the completed grid as the PDF sent to the auditeur (kept: it is the attestation)."""

    __tablename__ = "opinions"
    __table_args__ = (CheckConstraint("verdict IN ('validé', 'non validé')", name="verdict"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    accompaniment_id: Mapped[int] = mapped_column(ForeignKey("accompaniments.id", ondelete="CASCADE"), index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("report_submissions.id", ondelete="SET NULL"))
    tutor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    verdict: Mapped[str] = mapped_column(String(16))
    grid: Mapped[dict] = mapped_column(JSON)  # the grid used (title, criteria), as it was
    assessments: Mapped[dict] = mapped_column(JSON)  # criterion id -> "acquis" / …
    comments: Mapped[dict] = mapped_column(JSON, default=dict)  # criterion id -> comment
    reasons: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FollowUpCase(Base):
    """A case on the staff follow-up list (an unfavourable opinion) until staff record the contact."""

    __tablename__ = "follow_up_cases"
    __table_args__ = (
        CheckConstraint("reason IN ('not_validated')", name="reason"),
        Index("ix_follow_up_cases_open", "closed_at", "opened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    accompaniment_id: Mapped[int] = mapped_column(ForeignKey("accompaniments.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(24))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    contact_note: Mapped[str | None] = mapped_column(Text)  # how and when the auditeur was contacted
    agreed: Mapped[str | None] = mapped_column(Text)  # what was agreed for the rest of the course


class AcademicYearRow(Base):
    """Semester dates staff set for one academic year (absent: the defaults)."""

    __tablename__ = "academic_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    s1_start: Mapped[date] = mapped_column(Date)
    s1_end: Mapped[date] = mapped_column(Date)
    s1_enrolment_opens: Mapped[date] = mapped_column(Date)
    s1_enrolment_closes: Mapped[date] = mapped_column(Date)
    s2_start: Mapped[date] = mapped_column(Date)
    s2_end: Mapped[date] = mapped_column(Date)
    s2_enrolment_opens: Mapped[date] = mapped_column(Date)
    s2_enrolment_closes: Mapped[date] = mapped_column(Date)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CertificationGrid(Base):
    """A certifier's grid (or "fiche navette") replacing the default one for a certification."""

    __tablename__ = "certification_grids"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certification: Mapped[str] = mapped_column(String(200), unique=True)
    grid: Mapped[dict] = mapped_column(JSON)  # {"title", "intro", "criteria": [{"id", "label", "description"}]}
    loaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
