"""Personal data: what an erasure removes and what the institution keeps, retention dates, hand-over.

Pure rules (no Telegram, no SQL), used by ``bot/services/personal_data.py`` for ``/supprimer``,
``coachbot personne erase`` and the daily retention purge alike. The README's "Personal data"
section says the same in prose; the confirmation message lists these categories by their keys
(``templates/personal_data/_categories.html``).
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from bot.domain.people import Role
from bot.domain.semesters import Semester, SemesterError

DEFAULT_RETENTION_MONTHS = 12
FINAL_STAGES = ("validated", "not_validated")  # the accompaniment's stages after the opinion


class Erased(StrEnum):
    """What an erasure removes (or empties), whoever the person is."""

    IDENTITY = "identity"  # name, e-mail, Telegram id and username
    ANSWERS = "answers"  # coaching answers, notes, the feedback given on them
    EXPERIENCE = "experience"  # the /experience self-check
    DRAFTS = "drafts"  # draft versions: file names, Telegram file ids, reviews; the deposit in progress
    VIDEO_LINKS = "video_links"  # the video links of their meetings, a tutor's room and availability
    MEETING_TOPICS = "meeting_topics"  # what the auditeur said they wanted to talk about at each meeting
    CONVERSATION = "conversation"  # where they were in a conversation, their invitations
    MESSAGES = "messages"  # reminders and notifications not yet sent to them (cancelled)
    AUDIT_TEXT = "audit_text"  # the free text of audit events about them (staff notes)


class Kept(StrEnum):
    """What the institution keeps after an erasure, without any personal text, and why."""

    RECORD = "record"  # an anonymous record "#<id>" with the role: other rows still point to it
    ENROLMENTS = "enrolments"  # certification, report type, semester, dates: the tutoring was provided
    MEETINGS = "meetings"  # date, length and status of the meetings: the tutoring hours given
    CONSENT = "consent"  # the notice version accepted and when: proof of consent
    AUDIT = "audit"  # who did what and when, and that the erasure happened


ERASED = tuple(Erased)
KEPT = tuple(Kept)


def anonymous_name(person_id: int) -> str:
    """The name an erased person's record keeps: their id only (no French word: it is data)."""
    return f"#{person_id}"


@dataclass(frozen=True)
class OpenWork:
    """What a tutor or staff member must hand over before erasing their data."""

    active_auditeurs: int = 0
    future_meetings: int = 0
    configured_staff: bool = False  # still in STAFF_TELEGRAM_IDS: would come back on next contact

    @property
    def blocking(self) -> bool:
        return bool(self.active_auditeurs or self.future_meetings or self.configured_staff)


def open_work(role: Role, *, active_auditeurs: int, future_meetings: int, configured_staff: bool) -> OpenWork:
    """An auditeur's own future meetings are cancelled by the erasure; a tutor's must be handed over."""
    if role is Role.AUDITEUR:
        return OpenWork()
    if role is Role.TUTOR:
        return OpenWork(active_auditeurs=active_auditeurs, future_meetings=future_meetings)
    return OpenWork(configured_staff=configured_staff)


# --- retention ---------------------------------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus ``months`` calendar months (the day is clipped to the month's length)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def semester_end(code: str) -> datetime | None:
    """The end of a semester's teaching period (1st: 31 January; 2nd: 31 August), midnight UTC after it."""
    try:
        semester = Semester.parse(code)
    except SemesterError:
        return None
    last_day = date(semester.academic_year + 1, 1, 31) if semester.number == 1 else date(semester.academic_year + 1, 8, 31)
    return datetime.combine(last_day, time(0), UTC) + timedelta(days=1)


@dataclass(frozen=True)
class EnrolmentSpan:
    semester: str
    active: bool
    ended_at: datetime | None  # when it was closed


def accompaniment_end(spans: list[EnrolmentSpan]) -> datetime | None:
    """When a person's accompaniment ended: the latest end over their enrolments (None without any).

    A closed enrolment (or one whose accompaniment reached the opinion) ends then; an active one at
    the end of its semester (tutoring past that date means a new enrolment, whose semester is later).
    """
    ends: list[datetime] = []
    for span in spans:
        end = span.ended_at if not span.active and span.ended_at is not None else semester_end(span.semester)
        if end is not None:
            ends.append(end)
    return max(ends) if ends else None


def retention_due(end: datetime | None, now: datetime, months: int) -> bool:
    """True when the data of an accompaniment that ended at ``end`` must be purged by ``now``."""
    return end is not None and add_months(end, months) <= now
