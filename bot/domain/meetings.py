"""Tutoring meetings as the handlers see them, booking errors, and the tutor's typed settings.

Pure Python: the views handed to handlers (never ORM rows), the codes of every refusal (the French
explanation of each lives in ``templates/booking/problem.html``), and the parsers of what a tutor
types in /dispos besides weekly windows: days off ("24/12/2026", "22/12/2026-02/01/2027") and the
video-call link (an http(s) URL, or a word asking the bot to generate one room per meeting).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from bot.domain.availability import (
    AvailabilityError,
    AvailabilityErrorCode,
    BookingSettings,
    DayOff,
    WeeklyWindow,
)
from bot.domain.budget import TUTORING_BUDGET, MeetingStatus
from bot.domain.people import PersonView

GENERATED_ROOM_BASE = "https://meet.jit.si/coachbot-"
MAX_DAY_OFF_SPAN = timedelta(days=366)

# The choices offered by buttons in /dispos (minutes for notice and buffer, days for the horizon).
NOTICE_CHOICES_MINUTES: tuple[int, ...] = (12 * 60, 24 * 60, 48 * 60, 72 * 60)
HORIZON_CHOICES_DAYS: tuple[int, ...] = (14, 28, 56, 84)
BUFFER_CHOICES_MINUTES: tuple[int, ...] = (0, 15, 30)
SETTING_CHOICES: dict[str, tuple[int, ...]] = {
    "notice": NOTICE_CHOICES_MINUTES,
    "horizon": HORIZON_CHOICES_DAYS,
    "buffer": BUFFER_CHOICES_MINUTES,
}


class Purpose(StrEnum):
    FIRST = "first"  # the 30-minute "premier rendez-vous" (step 2 of the accompaniment)
    FOLLOW_UP = "follow_up"


class VideoMode(StrEnum):
    ROOM = "room"  # the tutor's personal room, the same link for every meeting
    GENERATE = "generate"  # a unique room link generated for each meeting


class BookingErrorCode(StrEnum):
    NO_ENROLMENT = "no_enrolment"
    NOT_FOUND = "not_found"  # unknown meeting, or one the person may not touch
    NOT_BOOKED = "not_booked"  # already cancelled, held or missed
    TAKEN = "taken"  # someone else got the slot meanwhile (the database said no)
    BAD_DURATION = "bad_duration"
    TOO_LATE_TO_CANCEL = "too_late_to_cancel"
    ALREADY_STARTED = "already_started"
    NOT_STARTED = "not_started"  # marking held / missed before the meeting began
    # plus every SlotErrorCode and BudgetErrorCode value, passed through as text


class BookingError(Exception):
    """A refused booking, move, cancellation or mark; ``code`` selects the French message."""

    def __init__(self, code: str, **details: object) -> None:
        super().__init__(f"{code}: {details}" if details else str(code))
        self.code = str(code)
        self.details = details


@dataclass(frozen=True)
class MeetingView:
    id: int
    tutor: PersonView
    auditeur: PersonView
    enrolment_id: int
    start_utc: datetime
    end_utc: datetime
    status: MeetingStatus
    purpose: Purpose
    sequence: int
    video_link: str
    rescheduled_from: datetime | None = None

    @property
    def duration(self) -> timedelta:
        return self.end_utc - self.start_utc

    @property
    def minutes(self) -> int:
        return int(self.duration.total_seconds() // 60)


@dataclass(frozen=True)
class WindowView:
    id: int
    window: WeeklyWindow


@dataclass(frozen=True)
class DayOffView:
    id: int
    day_off: DayOff


@dataclass(frozen=True)
class AvailabilityView:
    """Everything /dispos shows a tutor."""

    tutor: PersonView
    windows: tuple[WindowView, ...]
    days_off: tuple[DayOffView, ...]
    settings: BookingSettings
    video_mode: VideoMode
    video_link: str | None

    @property
    def notice_minutes(self) -> int:
        return int(self.settings.min_notice.total_seconds() // 60)

    @property
    def horizon_days(self) -> int:
        return self.settings.horizon.days

    @property
    def buffer_minutes(self) -> int:
        return int(self.settings.buffer.total_seconds() // 60)


@dataclass(frozen=True)
class BudgetView:
    used: timedelta
    remaining: timedelta
    allowed_minutes: tuple[int, ...]  # what may be booked next, shortest first (empty: used up)
    needs_first_meeting: bool
    total: timedelta = TUTORING_BUDGET


def window_from_minutes(weekday: int, start_minute: int, end_minute: int) -> WeeklyWindow:
    return WeeklyWindow(weekday, time(start_minute // 60, start_minute % 60), time(end_minute // 60, end_minute % 60))


def minutes_of(moment: time) -> int:
    return moment.hour * 60 + moment.minute


# -- days off --------------------------------------------------------------------------------------

_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})")


def _to_date(match: re.Match, fragment: str) -> date:
    day, month, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
    if year < 100:
        year += 2000
    try:
        return date(year, month, day)
    except ValueError:
        raise AvailabilityError(AvailabilityErrorCode.BAD_DAY_OFF, fragment=fragment) from None


def parse_day_off(text: str, today: date) -> DayOff:
    """"24/12/2026" or a range "22/12/2026-02/01/2027" (also "du 22/12/2026 au 02/01/2027").

    A period entirely in the past, longer than a year, or ending before it starts is refused.
    """
    fragment = text.strip()
    matches = list(_DATE.finditer(fragment))
    leftovers = re.sub(r"[\s\-–—]|\b(du|au|le|jusqu'?au)\b", "", _DATE.sub("", fragment.lower()))
    if not matches or len(matches) > 2 or leftovers:
        raise AvailabilityError(AvailabilityErrorCode.BAD_DAY_OFF, fragment=fragment)
    first = _to_date(matches[0], fragment)
    last = _to_date(matches[-1], fragment)
    if last < first or last - first > MAX_DAY_OFF_SPAN or last < today:
        raise AvailabilityError(AvailabilityErrorCode.BAD_DAY_OFF, fragment=fragment)
    return DayOff(first, last)


# -- video link ------------------------------------------------------------------------------------

_GENERATE_WORDS = frozenset({"generer", "genere", "auto", "automatique", "generate"})
_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d+)?(/[^\s<>\"]*)?$")
MAX_LINK_LENGTH = 500


class VideoLinkError(ValueError):
    pass


def parse_video_link(text: str) -> tuple[VideoMode, str | None]:
    """A personal room URL -> (ROOM, url); the word "générer" -> (GENERATE, None)."""
    raw = text.strip()
    word = "".join(c for c in unicodedata.normalize("NFKD", raw.lower()) if not unicodedata.combining(c))
    if word in _GENERATE_WORDS:
        return VideoMode.GENERATE, None
    if len(raw) > MAX_LINK_LENGTH or not _URL.match(raw):
        raise VideoLinkError(raw)
    return VideoMode.ROOM, raw


def generated_room_link(base: str = GENERATED_ROOM_BASE) -> str:
    """A unique, unguessable room for one meeting."""
    return base + secrets.token_urlsafe(12).replace("_", "").replace("-", "")[:16]
