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
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from bot.domain.availability import (
    AvailabilityError,
    AvailabilityErrorCode,
    BookingSettings,
    DayOff,
    LineRefused,
    WeeklyWindow,
)
from bot.domain.budget import TUTORING_BUDGET, MeetingStatus
from bot.domain.french_dates import DateProblem, just_passed, read_periods
from bot.domain.french_words import as_typed
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
    BEFORE_FIRST_MEETING = "before_first_meeting"  # a follow-up placed before the premier rendez-vous
    AFTER_FOLLOW_UP = "after_follow_up"  # the first meeting moved after a follow-up already booked
    ALREADY_BOOKED = "already_booked"  # a second press of a confirmation: the meeting exists already
    TOPIC_TOO_LONG = "topic_too_long"  # the topic typed at confirmation is over MAX_TOPIC_CHARS
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
    topic: str | None = None  # what the auditeur wants to talk about, given at confirmation

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

_DAY_OFF_SEPARATORS = re.compile(r"[\n;]+")
LONG_WITHOUT_YEARS = timedelta(days=183)  # longer, a period written without years is more likely a typo


def _day_off_refusal(problem: DateProblem, fragment: str) -> AvailabilityError:
    if problem.code == DateProblem.Code.WEEKDAY_MISMATCH:
        return AvailabilityError(AvailabilityErrorCode.WEEKDAY_MISMATCH, fragment=fragment, day=problem.day)
    if problem.word is not None:
        return AvailabilityError(AvailabilityErrorCode.BAD_DAY_OFF, fragment=fragment, word=as_typed(problem.word, fragment))
    return AvailabilityError(AvailabilityErrorCode.BAD_DAY_OFF, fragment=fragment)


def parse_days_off(text: str, today: date) -> list[DayOff]:
    """The days and periods of one line (``french_dates.read_periods``: "24/12", "lundi 5 janvier",
    "demain", "du 21 décembre au 3 janvier", "24/12 et 31/12", "jusqu'au 2 janvier"…), as days off.

    Refused: a date that is not one, a weekday name that does not match its date, a period ending
    before it starts, longer than a year, or entirely past, and a period of more than six months
    written without its years ("du 4/12 au 2/12" is read as nearly a year: the years confirm it).
    """
    fragment = text.strip()
    try:
        periods = read_periods(fragment, today)
    except DateProblem as problem:
        raise _day_off_refusal(problem, fragment) from None
    for period in periods:
        if period.last < period.first or period.last - period.first > MAX_DAY_OFF_SPAN or period.last < today:
            raise AvailabilityError(AvailabilityErrorCode.BAD_DAY_OFF, fragment=fragment)
        if not period.years_written and period.first == period.last and just_passed(period.first, today):
            raise AvailabilityError(AvailabilityErrorCode.BAD_DAY_OFF, fragment=fragment)  # "30/11" on 1 December
        if not period.years_written and period.last - period.first > LONG_WITHOUT_YEARS:
            raise AvailabilityError(AvailabilityErrorCode.LONG_WITHOUT_YEARS, fragment=fragment,
                                    first=period.first, last=period.last)
    return [DayOff(period.first, period.last) for period in periods]


def parse_day_off(text: str, today: date) -> DayOff:
    """One day or one period (``parse_days_off``): a line naming several is refused."""
    days_off = parse_days_off(text, today)
    if len(days_off) != 1:
        raise AvailabilityError(AvailabilityErrorCode.BAD_DAY_OFF, fragment=text.strip())
    return days_off[0]


def read_days_off(text: str, today: date) -> tuple[list[DayOff], list[LineRefused]]:
    """Days off, one or several per line (lines also split at "; "): the good lines kept, the bad
    ones reported."""
    entries = [entry.strip() for entry in _DAY_OFF_SEPARATORS.split(text) if entry.strip()]
    if not entries:
        raise AvailabilityError(AvailabilityErrorCode.BAD_DAY_OFF, fragment=text.strip())
    added: list[DayOff] = []
    refused: list[LineRefused] = []
    for number, entry in enumerate(entries, start=1):
        try:
            added.extend(parse_days_off(entry, today))
        except AvailabilityError as error:
            refused.append(LineRefused(number, entry, error))
    return added, refused


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


# -- confirming a booking --------------------------------------------------------------------------

MAX_TOPIC_CHARS = 300
MAX_TOPIC_LINES = 6
PENDING_BOOKING_TTL = timedelta(minutes=30)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean_topic(text: str | None) -> str | None:
    """What the auditeur wants to talk about, as it is stored and shown: NFC, no control or
    direction characters, spaces collapsed, at most ``MAX_TOPIC_LINES`` non-empty lines. None when
    nothing is left. Raises BookingError(TOPIC_TOO_LONG) past ``MAX_TOPIC_CHARS`` characters (it is
    refused, not cut: the auditeur shortens it, nothing is lost without their knowing)."""
    if text is None:
        return None
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n"))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        return None
    if len(lines) > MAX_TOPIC_LINES:
        lines = lines[: MAX_TOPIC_LINES - 1] + [" ".join(lines[MAX_TOPIC_LINES - 1 :])]
    topic = "\n".join(lines)
    if len(topic) > MAX_TOPIC_CHARS:
        raise BookingError(BookingErrorCode.TOPIC_TOO_LONG, length=len(topic), limit=MAX_TOPIC_CHARS)
    return topic


@dataclass(frozen=True)
class PendingBooking:
    """A slot the auditeur tapped and has not confirmed yet (kept in their conversation state)."""

    minutes: int
    start_utc: datetime
    expires_utc: datetime

    def to_data(self) -> dict:
        return {"minutes": self.minutes, "start": int(self.start_utc.timestamp()), "expires": int(self.expires_utc.timestamp())}

    @classmethod
    def from_data(cls, data: dict | None) -> PendingBooking | None:
        try:
            return cls(
                int(data["minutes"]),
                datetime.fromtimestamp(int(data["start"]), UTC),
                datetime.fromtimestamp(int(data["expires"]), UTC),
            )
        except (KeyError, TypeError, ValueError, OverflowError, OSError):
            return None


def pending_booking(minutes: int, start_utc: datetime, now: datetime) -> PendingBooking:
    return PendingBooking(minutes, start_utc, now + PENDING_BOOKING_TTL)


class ConfirmationProblem(StrEnum):
    NOTHING_PENDING = "confirmation_stale"  # no slot waiting: forged, or already confirmed
    OTHER_SLOT = "confirmation_other_slot"  # the button of an earlier choice: another slot waits
    EXPIRED = "confirmation_expired"  # chosen too long ago: the slots are shown again


def check_confirmation(
    pending: PendingBooking | None, minutes: int, start_utc: datetime, now: datetime
) -> ConfirmationProblem | None:
    """None when this confirmation (of ``minutes`` at ``start_utc``) is the one waiting, still fresh."""
    if pending is None:
        return ConfirmationProblem.NOTHING_PENDING
    if pending.minutes != minutes or pending.start_utc != start_utc:
        return ConfirmationProblem.OTHER_SLOT
    if now >= pending.expires_utc:
        return ConfirmationProblem.EXPIRED
    return None


@dataclass(frozen=True)
class BookingProposal:
    """What the confirmation shows: the slot checked bookable now, not stored yet."""

    tutor: PersonView
    start_utc: datetime
    end_utc: datetime
    purpose: Purpose
    pending: PendingBooking

    @property
    def minutes(self) -> int:
        return int((self.end_utc - self.start_utc).total_seconds() // 60)


# -- a tutor's changes that reach meetings already booked -----------------------------------------


def on_days_off(start_utc: datetime, days_off: list[DayOff] | tuple[DayOff, ...]) -> bool:
    """A meeting starting at ``start_utc`` falls on one of these days off (Paris dates)."""
    from bot.domain.calendar import paris_date

    day = paris_date(start_utc)
    return any(d.first <= day <= d.last for d in days_off)


def needs_new_link(link: str, *, new_mode: VideoMode, new_link: str | None, old_room: str | None) -> bool:
    """Whether a future meeting's link must change to follow the tutor's new video setting.

    Decided: a new setting applies to the meetings already booked (their auditeurs are told, with an
    updated invitation), so every future meeting keeps agreeing with the setting. A personal room:
    every meeting not on it moves to it. Generated rooms: the meetings on the old personal room
    (``old_room``) each get their own room; meetings with a generated room keep it."""
    if new_mode is VideoMode.ROOM and new_link:
        return link != new_link
    return old_room is not None and link == old_room
