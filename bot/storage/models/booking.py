"""Booking of video calls: a tutor's settings and availability, and the meetings themselves.

The database guarantees that a tutor's active meetings never overlap (buffer included: a meeting
blocks ``[start_at, blocked_until)``, where ``blocked_until`` is its end plus the tutor's buffer at
booking time). On PostgreSQL this is an exclusion constraint over ``tstzrange`` (btree_gist); on
SQLite two triggers raise on an overlapping insert or update. Both are created by migration 0002.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.storage.models.base import Base, UTCDateTime, utcnow
from bot.storage.models.people import Enrolment, Person


class TutorBookingSettings(Base):
    """One row per tutor who opened /dispos; absent means every default."""

    __tablename__ = "tutor_booking_settings"
    __table_args__ = (
        CheckConstraint("video_mode IN ('room', 'generate')", name="video_mode"),
        CheckConstraint("min_notice_minutes >= 0", name="min_notice"),
        CheckConstraint("horizon_days >= 1", name="horizon"),
        CheckConstraint("buffer_minutes >= 0 AND buffer_minutes <= 120", name="buffer"),
    )

    tutor_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    video_mode: Mapped[str] = mapped_column(String(16), default="generate")
    video_link: Mapped[str | None] = mapped_column(String(500))
    min_notice_minutes: Mapped[int] = mapped_column(Integer, default=24 * 60)
    horizon_days: Mapped[int] = mapped_column(Integer, default=56)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AvailabilityWindow(Base):
    """A weekly window, Paris wall-clock minutes since midnight (checked by the domain on the way in)."""

    __tablename__ = "availability_windows"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 4", name="weekday"),
        CheckConstraint("start_minute >= 480 AND end_minute <= 1140 AND start_minute < end_minute", name="hours"),
        UniqueConstraint("tutor_id", "weekday", "start_minute", name="uq_availability_windows_slot"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tutor_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    start_minute: Mapped[int] = mapped_column(SmallInteger)
    end_minute: Mapped[int] = mapped_column(SmallInteger)


class TutorDayOff(Base):
    """The tutor is away from ``first_day`` to ``last_day`` (Paris dates, inclusive)."""

    __tablename__ = "tutor_days_off"
    __table_args__ = (CheckConstraint("first_day <= last_day", name="order"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tutor_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)


class Meeting(Base):
    """A video call between a tutor and an auditeur. Times in UTC; shown in Paris time.

    A reschedule moves the row in place (same id, hence the same .ics UID) and bumps ``sequence``;
    ``rescheduled_from`` keeps the previous start.
    """

    __tablename__ = "meetings"
    __table_args__ = (
        CheckConstraint("status IN ('booked', 'held', 'missed', 'cancelled')", name="status"),
        CheckConstraint("purpose IN ('first', 'follow_up')", name="purpose"),
        CheckConstraint("end_at > start_at AND blocked_until >= end_at", name="times"),
        CheckConstraint("duration_minutes > 0", name="duration"),
        Index("ix_meetings_tutor_start", "tutor_id", "start_at"),
        Index("ix_meetings_enrolment_id", "enrolment_id"),
        Index("ix_meetings_auditeur_id", "auditeur_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tutor_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    auditeur_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="booked")
    purpose: Mapped[str] = mapped_column(String(16))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    video_link: Mapped[str] = mapped_column(String(500))
    rescheduled_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    topic: Mapped[str | None] = mapped_column(String(400))  # what the auditeur wants to talk about (personal data)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))

    tutor: Mapped[Person] = relationship(foreign_keys=[tutor_id])
    auditeur: Mapped[Person] = relationship(foreign_keys=[auditeur_id])
    enrolment: Mapped[Enrolment] = relationship(foreign_keys=[enrolment_id])
