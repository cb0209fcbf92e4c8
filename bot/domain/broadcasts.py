"""Staff broadcasts: who receives them, what a valid message is, when one may be scheduled, and the
two enrolment announcements of the year (1st semester in October, 2nd in February or March).

Pure rules, no Telegram and no SQL. The service (``bot/services/broadcasts.py``) resolves an
``Audience`` to people, stores the broadcast and writes one outbox row per recipient when it is due.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.french_dates import DateProblem, read_moment, read_periods
from bot.domain.french_words import as_typed
from bot.domain.semesters import Semester, SemesterError
from bot.emulator.html_check import EntityParseError, parse_html, utf16_length  # Telegram's HTML rules, pure Python

TEXT_LIMIT = 4096  # characters after formatting (what the recipient sees)
CAPTION_LIMIT = 1024
MAX_AHEAD = timedelta(days=400)  # a broadcast is scheduled at most a little more than a year ahead


class BroadcastError(ValueError):
    """Bad input: ``code`` selects the French explanation (templates/broadcasts/problem.html)."""

    def __init__(self, code: str, **details) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


# -- audiences ------------------------------------------------------------------------------------


class AudienceKind(StrEnum):
    AUDITEURS = "auditeurs"  # every auditeur with an active enrolment
    SEMESTER = "semestre"  # auditeurs of one semester cohort (value: "2026-S1")
    CERTIFICATION = "certification"  # auditeurs preparing one certification (value: its title)
    STAGE = "etape"  # auditeurs at one step of the accompaniment (value: the step's code)
    TUTORS = "tuteurs"
    EVERYONE = "tous"  # auditeurs, tutors and staff


VALUE_KINDS = frozenset({AudienceKind.SEMESTER, AudienceKind.CERTIFICATION, AudienceKind.STAGE})


@dataclass(frozen=True)
class Audience:
    kind: AudienceKind
    value: str | None = None

    @classmethod
    def parse(cls, raw: str) -> Audience:
        """``auditeurs``, ``tuteurs``, ``tous``, ``semestre:2026-S1``, ``certification:<title>``, ``etape:<step>``."""
        name, _, value = (raw or "").strip().partition(":")
        try:
            kind = AudienceKind(name.strip().lower())
        except ValueError:
            raise BroadcastError("audience_unknown", value=raw) from None
        value = value.strip() or None
        if kind in VALUE_KINDS and value is None:
            raise BroadcastError("audience_value_missing", kind=kind.value)
        if kind not in VALUE_KINDS and value is not None:
            raise BroadcastError("audience_unknown", value=raw)
        if kind is AudienceKind.SEMESTER:
            try:
                value = Semester.parse(value).code
            except SemesterError:
                raise BroadcastError("semester_invalid", value=value) from None
        if kind is AudienceKind.CERTIFICATION and len(value) > 200:
            raise BroadcastError("audience_unknown", value=raw[:60])
        return cls(kind, value)

    @property
    def code(self) -> str:
        return self.kind.value if self.value is None else f"{self.kind.value}:{self.value}"

    def __str__(self) -> str:
        return self.code


@dataclass(frozen=True)
class RecipientCount:
    reachable: int  # on Telegram and not blocked: will receive it
    blocked: int  # blocked the bot or not on Telegram yet: counted apart, recorded as blocked

    @property
    def total(self) -> int:
        return self.reachable + self.blocked


# -- the message ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """A broadcast's content: Telegram HTML (as typed, formatting kept) and an optional document."""

    html: str
    document_name: str | None = None
    has_document: bool = False

    @property
    def is_caption(self) -> bool:
        return self.has_document


def validate_message(html: str | None, *, has_document: bool = False) -> str:
    """The message as it will be sent (stripped), or BroadcastError: empty, too long, broken HTML."""
    html = (html or "").strip()
    try:
        plain = parse_html(html)
    except EntityParseError as error:
        raise BroadcastError("html_broken", error=str(error).removeprefix("Can't parse entities: ")) from None
    if not plain.strip() and not has_document:
        raise BroadcastError("message_empty")
    if not plain.strip():
        return ""  # a document without caption
    limit = CAPTION_LIMIT if has_document else TEXT_LIMIT
    length = utf16_length(plain)
    if length > limit:
        raise BroadcastError("caption_too_long" if has_document else "message_too_long", length=length, limit=limit)
    return html


# -- when -------------------------------------------------------------------------------------------

_DATE_PROBLEMS = {
    DateProblem.Code.NOT_UNDERSTOOD: "date_not_understood",
    DateProblem.Code.INVALID: "date_invalid",
    DateProblem.Code.WEEKDAY_MISMATCH: "weekday_mismatch",
    DateProblem.Code.TIME_MISSING: "time_missing",
    DateProblem.Code.TIME_INVALID: "time_invalid",
}


def parse_when(text: str, *, now: datetime, timezone: ZoneInfo) -> datetime:
    """A French date and time in ``timezone`` ("lundi 5 octobre 9h", "05/10 à 9h30", "demain 14h",
    "mardi prochain 8h du soir": ``french_dates.read_moment``) as an aware UTC datetime; refused
    when not understood, without a time, or in the past."""
    if not (text or "").strip():
        raise BroadcastError("date_not_understood", text=text)
    local_now = now.astimezone(timezone)
    try:
        day, at = read_moment(text, local_now.date())
    except DateProblem as problem:
        if problem.code == DateProblem.Code.PASSED:
            passed = datetime.combine(problem.day, problem.at or time(0), tzinfo=timezone)
            raise BroadcastError("in_past", when=passed.astimezone(ZoneInfo("UTC"))) from None
        details = {"day": problem.day} if problem.day is not None else {}
        if problem.word is not None:
            details["word"] = as_typed(problem.word, text)
        raise BroadcastError(_DATE_PROBLEMS[problem.code], text=text, **details) from None
    moment = datetime.combine(day, at, tzinfo=timezone)
    # a time that does not exist (the spring DST gap) moves forward like a clock does
    moment = moment.astimezone(ZoneInfo("UTC")).astimezone(timezone)
    check_schedule(moment, now=now)
    return moment.astimezone(ZoneInfo("UTC"))


def check_schedule(moment: datetime, *, now: datetime) -> None:
    if moment <= now:
        raise BroadcastError("in_past", when=moment)
    if moment - now > MAX_AHEAD:
        raise BroadcastError("too_far", when=moment)


# -- the academic calendar and the enrolment announcements --------------------------------------


@dataclass(frozen=True)
class EnrolmentPeriod:
    """When enrolment for one semester is open (set by staff once a year)."""

    semester: Semester
    opens_on: date
    closes_on: date

    @property
    def template(self) -> str:
        return f"broadcasts/announcement_s{self.semester.number}.html"


def default_period(semester: Semester) -> EnrolmentPeriod:
    """What the seed says: October for the 1st semester, February to March for the 2nd."""
    if semester.number == 1:
        year = semester.academic_year
        return EnrolmentPeriod(semester, date(year, 10, 1), date(year, 10, 31))
    year = semester.academic_year + 1
    return EnrolmentPeriod(semester, date(year, 2, 1), date(year, 3, 31))


def check_period(semester: Semester, opens_on: date, closes_on: date) -> EnrolmentPeriod:
    """Enrolment opens before it closes, within the semester's academic year (September to August)."""
    if closes_on < opens_on:
        raise BroadcastError("period_reversed", opens_on=opens_on, closes_on=closes_on)
    first, last = date(semester.academic_year, 9, 1), date(semester.academic_year + 1, 8, 31)
    if not (first <= opens_on <= last and first <= closes_on <= last):
        raise BroadcastError("period_outside_year", semester=semester.code, year=semester.academic_year_label)
    return EnrolmentPeriod(semester, opens_on, closes_on)


def parse_period(text: str | None, semester: Semester, today: date | None = None) -> EnrolmentPeriod:
    """"du 1er au 31 octobre", "du 1/10 au 31/10", "1er octobre - 31 octobre 2026", "1/10-31/10",
    "du 15/12 au 15/01" (``french_dates.read_periods``): years not written are the semester's (read
    from September for the 1st semester, from January for the 2nd); "demain" counts from ``today``."""
    reference = date(semester.academic_year, 9, 1) if semester.number == 1 else date(semester.academic_year + 1, 1, 1)
    try:
        periods = read_periods(text or "", today or reference, reference=reference)
    except DateProblem as problem:
        if problem.code == DateProblem.Code.NOT_UNDERSTOOD:
            raise BroadcastError("period_not_understood", text=text) from None
        details = {"day": problem.day} if problem.day is not None else {}
        raise BroadcastError(_DATE_PROBLEMS[problem.code], text=text, **details) from None
    if len(periods) != 1 or periods[0].first == periods[0].last:  # one day, or two periods
        raise BroadcastError("period_not_understood", text=text)
    (period,) = periods
    if not period.years_written and period.last - period.first > timedelta(days=183):
        # "du 31/10 au 1/10" reads as nearly a year: it was typed the wrong way round
        opens_on = period.first.replace(year=period.last.year) if (period.first.month, period.first.day) != (2, 29) else period.first
        raise BroadcastError("period_reversed", opens_on=opens_on, closes_on=period.last)
    return check_period(semester, period.first, period.last)


ANNOUNCEMENT_HOUR = time(9, 0)  # enrolment announcements go out at 9h (Paris) on the opening day


def announcement_time(period: EnrolmentPeriod, timezone: ZoneInfo) -> datetime:
    return datetime.combine(period.opens_on, ANNOUNCEMENT_HOUR, tzinfo=timezone).astimezone(ZoneInfo("UTC"))


# -- lifecycle ------------------------------------------------------------------------------------


class State(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


EDITABLE = frozenset({State.DRAFT, State.SCHEDULED})


def estimated_end(remaining: int, per_second: float, now: datetime) -> datetime:
    return now + timedelta(seconds=remaining / max(per_second, 0.1))
