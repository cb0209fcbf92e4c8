"""A tutor's availability: weekly windows, days off and booking settings.

Windows are Paris wall-clock times (a Tuesday 14:00–17:00 window stays 14:00–17:00 across the
daylight-saving changes). They must lie inside the tutoring hours, Monday to Friday 08:00–19:00,
on a 15-minute grid, and must not overlap each other (touching is fine: 9h–12h and 12h–14h).

Tutors type windows in French ("mardi 14h-17h", "lun 9h30 12h"); :func:`parse_windows` turns such
text into windows or raises :class:`AvailabilityError` carrying a code. The French explanation of
each code lives in the templates, never here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from enum import StrEnum

from bot.domain.calendar import WORKDAY_END, WORKDAY_START, WORKING_WEEKDAYS
from bot.domain.french_words import as_typed, calendar_words, fold, whole_word

GRANULARITY_MINUTES = 15


class AvailabilityErrorCode(StrEnum):
    UNPARSABLE = "unparsable"  # nothing recognisable as "day start-end"
    UNKNOWN_WORD = "unknown_word"  # a word that is neither a day name nor "de", "à", "et"…
    MISSING_DAY = "missing_day"  # times without a day
    MISSING_TIME = "missing_time"  # a day without a start and an end (or an odd number of times)
    BAD_TIME = "bad_time"  # 25h, 14h75
    WEEKEND = "weekend"  # Saturday or Sunday
    OUTSIDE_HOURS = "outside_hours"  # not inside 08:00–19:00
    START_NOT_BEFORE_END = "start_not_before_end"
    GRANULARITY = "granularity"  # not on a quarter hour
    OVERLAP = "overlap"  # overlaps another window of the same tutor
    BAD_DAY_OFF = "bad_day_off"  # a day-off range ending before it starts
    NOTHING_VALID = "nothing_valid"  # several lines, each refused (details["refused"]: LineRefused)
    WEEKDAY_MISMATCH = "weekday_mismatch"  # "lundi 6 janvier" when the 6th is a Tuesday
    BAD_SETTING = "bad_setting"
    LONG_WITHOUT_YEARS = "long_without_years"  # "du 4/12 au 2/12": nearly a year, more likely a typo
    DATE_IN_WINDOW = "date_in_window"  # "mardi 8/12 14h-17h": windows come back every week
    AMBIGUOUS_DAYS = "ambiguous_days"  # "lun-mer-ven": Monday, Wednesday and Friday, or Monday to Friday?


class AvailabilityError(ValueError):
    """A rejected window, day off or setting. ``code`` selects the French message template;
    ``details`` holds the values it may quote: ``fragment`` (the user's text), ``word``,
    ``window`` / ``other`` (:class:`WeeklyWindow`), ``setting``."""

    def __init__(self, code: AvailabilityErrorCode, **details: object) -> None:
        super().__init__(f"{code.value}: {details}" if details else code.value)
        self.code = code
        self.details: Mapping[str, object] = details


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


@dataclass(frozen=True, order=True)
class WeeklyWindow:
    """Every ``weekday`` (Monday=0) from ``start`` to ``end``, Paris wall-clock time."""

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if self.weekday not in range(7):
            raise ValueError(f"weekday must be 0..6, got {self.weekday!r}")
        if self.weekday not in WORKING_WEEKDAYS:
            raise AvailabilityError(AvailabilityErrorCode.WEEKEND, window=self)
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("window times are Paris wall-clock times and must be naive")
        if self.start >= self.end:
            raise AvailabilityError(AvailabilityErrorCode.START_NOT_BEFORE_END, window=self)
        if self.start < WORKDAY_START or self.end > WORKDAY_END:
            raise AvailabilityError(AvailabilityErrorCode.OUTSIDE_HOURS, window=self)
        for moment in (self.start, self.end):
            if moment.second or moment.microsecond or moment.minute % GRANULARITY_MINUTES:
                raise AvailabilityError(AvailabilityErrorCode.GRANULARITY, window=self)

    def __str__(self) -> str:  # for logs and error details, not for users
        return f"{self.weekday}:{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def length(self) -> timedelta:
        return timedelta(minutes=_minutes(self.end) - _minutes(self.start))

    def overlaps(self, other: WeeklyWindow) -> bool:
        return self.weekday == other.weekday and self.start < other.end and other.start < self.end


def check_no_overlap(window: WeeklyWindow, others: Iterable[WeeklyWindow]) -> None:
    """Raise OVERLAP if ``window`` overlaps one of ``others`` (an identical window is an overlap)."""
    for other in others:
        if window.overlaps(other):
            raise AvailabilityError(AvailabilityErrorCode.OVERLAP, window=window, other=other)


def add_windows(existing: Sequence[WeeklyWindow], new: Iterable[WeeklyWindow]) -> tuple[WeeklyWindow, ...]:
    """The tutor's windows after adding ``new``, sorted; all or nothing (raises on any overlap)."""
    result = list(existing)
    for window in new:
        check_no_overlap(window, result)
        result.append(window)
    return tuple(sorted(result))


def merged_windows(windows: Iterable[WeeklyWindow]) -> dict[int, list[tuple[time, time]]]:
    """Windows per weekday, sorted, with touching windows joined (9h–12h + 12h–14h = 9h–14h)."""
    by_day: dict[int, list[tuple[time, time]]] = {}
    for window in sorted(windows):
        spans = by_day.setdefault(window.weekday, [])
        if spans and spans[-1][1] >= window.start:
            spans[-1] = (spans[-1][0], max(spans[-1][1], window.end))
        else:
            spans.append((window.start, window.end))
    return by_day


# -- days off ------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class DayOff:
    """The tutor is away from ``first`` to ``last`` (Paris dates, both included)."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise AvailabilityError(AvailabilityErrorCode.BAD_DAY_OFF, day_off=self)

    def covers(self, day: date) -> bool:
        return self.first <= day <= self.last


def days_off_between(days_off: Iterable[DayOff], start: date, end: date) -> frozenset[date]:
    """Every date of ``start``..``end`` covered by a day off."""
    covered: set[date] = set()
    for off in days_off:
        day, last = max(off.first, start), min(off.last, end)
        while day <= last:
            covered.add(day)
            day += timedelta(days=1)
    return frozenset(covered)


# -- settings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingSettings:
    """A tutor's booking rules.

    ``buffer`` defaults to 0: slots start on a half-hour grid (``slot_step``), so any buffer of
    less than 30 minutes would silently cost a whole half-hour slot after every meeting, in a
    budget of only two hours per auditeur; a tutor who wants breathing room sets 15 or 30 minutes.
    ``horizon`` counts whole Paris days from today: with 8 weeks, on a Monday one can book up to
    and including the Monday eight weeks later.
    """

    min_notice: timedelta = timedelta(hours=24)
    horizon: timedelta = timedelta(weeks=8)
    buffer: timedelta = timedelta(0)
    durations: tuple[timedelta, ...] = (timedelta(minutes=30), timedelta(minutes=60))
    first_meeting: timedelta = timedelta(minutes=30)
    slot_step: timedelta = timedelta(minutes=30)

    def __post_init__(self) -> None:
        quarter = timedelta(minutes=GRANULARITY_MINUTES)

        def reject(name: str) -> None:
            value = getattr(self, name)
            raise AvailabilityError(AvailabilityErrorCode.BAD_SETTING, setting=name, value=value)

        if self.min_notice < timedelta(0):
            reject("min_notice")
        if self.horizon < timedelta(days=1) or self.horizon % timedelta(days=1):
            reject("horizon")
        if not timedelta(0) <= self.buffer <= timedelta(hours=2) or self.buffer % timedelta(minutes=5):
            reject("buffer")
        if not self.durations or any(d <= timedelta(0) or d % quarter for d in self.durations):
            reject("durations")
        if self.first_meeting not in self.durations:
            reject("first_meeting")
        if self.slot_step <= timedelta(0) or self.slot_step % quarter:
            reject("slot_step")
        object.__setattr__(self, "durations", tuple(sorted(set(self.durations))))


# -- parsing French input ------------------------------------------------------------------------

_TIME = re.compile(
    # 14h, 14h30, 14:30, 14 h, "18 h 30" (but "9h 12h" is two times), 9 (a bare hour in a range)
    # "heures" before "h": "17 heures" is one time, not "17 h" and a word "eures"
    r"(?<![\d])(\d{1,2})\s*(?:(?:heures?|h|:)(?:\s?(\d{2})(?!\d)(?!\s*(?:h|:)))?)?(?![\d])"
)
# A date where a weekly window was expected ("mardi 8/12 de 14h à 17h", "lundi 10 décembre 9h-12h"):
# its numbers would otherwise be read as times
_NUMERIC_DATE_IN_WINDOW = re.compile(r"(?<!\d)\d{1,2}\s*/\s*\d{1,2}(?:\s*/\s*\d{2,4})?(?!\d)")
_WORDED_DATE_IN_WINDOW = re.compile(r"(?<!\d)\d{1,2}(?:er)?\s+([a-z]+)")
_ENTRY_SEPARATORS = re.compile(r"[\n;]+")
_LIST_MARKER = re.compile(r"^\s*(?:\d{1,2}\s*[.)]|[-•*–—·])\s+(?=\D)")  # "1) lundi…", "- lundi…", "• lundi…"


def window_entries(text: str) -> list[str]:
    """The entries of a tutor's message: its lines (or "; "-separated parts) without the list marker
    they may start with ("1.", "2)", "-", "•"), and within one, a new entry where a comma or "et"
    comes after a time and before a day ("lundi 9h-12h, mardi 14h-17h")."""
    weekdays = "|".join(sorted(map(re.escape, calendar_words().weekdays), key=len, reverse=True))
    after_time = re.compile(rf"(?<=[\dh])\s*(?:,|\bet\b)\s*(?=(?:les?\s+)?(?:{weekdays})\b)")
    entries: list[str] = []
    for line in _ENTRY_SEPARATORS.split(text):
        line = _LIST_MARKER.sub("", line)
        folded = fold(line)  # the same length as the line: the cuts found in it apply to the line
        if len(folded) != len(line):
            entries.append(line.strip())
            continue
        start = 0
        for cut in after_time.finditer(folded):
            entries.append(line[start:cut.start()].strip())
            start = cut.end()
        entries.append(line[start:].strip())
    return [entry for entry in entries if entry]


def _normalise(text: str) -> str:
    """Folded text with time words replaced ("de 9h à midi" -> "de 9h a 12h")."""
    words = calendar_words()
    folded = fold(text)
    for word, replacement in words.times.items():
        folded = whole_word(word).sub(replacement, folded)
    return folded


def _parse_time(hours: str, minutes: str | None, fragment: str) -> time:
    hour, minute = int(hours), int(minutes or 0)
    if hour == 24 and minute == 0:  # "24h" is a real time of day, just far outside 08:00–19:00
        raise AvailabilityError(AvailabilityErrorCode.OUTSIDE_HOURS, fragment=fragment)
    if hour > 23 or minute > 59:
        raise AvailabilityError(AvailabilityErrorCode.BAD_TIME, fragment=fragment)
    return time(hour, minute)


def _parse_days(words: list[str], fragment: str) -> list[int]:
    """The days named before the times: "mardi", "lundi et jeudi", "du lundi au vendredi",
    "lun-ven". A range joins two days; a day ending one cannot start another ("lun-mer-ven")."""
    vocabulary = calendar_words()
    day_names, range_words, fillers = vocabulary.weekdays, vocabulary.range_words, vocabulary.window_fillers
    days: list[int] = []
    pending_range = False
    range_ended = False  # the last day named ended a range
    for word in words:
        if word in day_names:
            day = day_names[word]
            if pending_range:
                if range_ended:
                    raise AvailabilityError(AvailabilityErrorCode.AMBIGUOUS_DAYS, fragment=fragment)
                if day <= days[-1]:  # "vendredi au lundi": no wrapping around the weekend
                    raise AvailabilityError(AvailabilityErrorCode.UNPARSABLE, fragment=fragment)
                days.extend(range(days[-1] + 1, day + 1))
            else:
                days.append(day)
            range_ended = pending_range
            pending_range = False
        elif word in range_words and days:
            pending_range = True
        elif word in fillers or word in {",", "/", "-", "+", "&"}:
            continue
        else:
            raise AvailabilityError(AvailabilityErrorCode.UNKNOWN_WORD, fragment=fragment, word=as_typed(word, fragment))
    if pending_range:  # "lundi au 9h-12h"
        raise AvailabilityError(AvailabilityErrorCode.MISSING_DAY, fragment=fragment)
    return list(dict.fromkeys(days))


def _date_in(text: str) -> str | None:
    """A date written in a window entry, if any (folded text)."""
    numeric = _NUMERIC_DATE_IN_WINDOW.search(text)
    if numeric is not None:
        return numeric.group(0)
    words = calendar_words()
    for worded in _WORDED_DATE_IN_WINDOW.finditer(text):
        word = worded.group(1)
        if word in words.month_names or word in words.months and word not in words.weekdays:  # "mar": Tuesday
            return worded.group(0)
    return None


def parse_window_entry(entry: str) -> list[WeeklyWindow]:
    """One entry: day name(s) then start/end pairs — "mardi 14h-17h", "lun 9h30 12h",
    "jeudi 9h-12h 14h-16h", "du lundi au mercredi de 9h à 12h"."""
    fragment = entry.strip()
    text = _normalise(fragment)
    written_date = _date_in(text)
    if written_date is not None:
        raise AvailabilityError(AvailabilityErrorCode.DATE_IN_WINDOW, fragment=fragment, date=written_date)
    matches = list(_TIME.finditer(text))
    if not matches:
        if not text.strip():
            raise AvailabilityError(AvailabilityErrorCode.UNPARSABLE, fragment=fragment)
        raise AvailabilityError(AvailabilityErrorCode.MISSING_TIME, fragment=fragment)
    day_part, tail = text[: matches[0].start()], text[matches[-1].end():]
    between = "".join(text[a.end(): b.start()] for a, b in zip(matches, matches[1:]))
    leftovers = re.findall(r"[a-z]+", between + " " + tail)
    fillers = calendar_words().window_fillers
    if any(word not in fillers for word in leftovers):
        bad = next(word for word in leftovers if word not in fillers)
        raise AvailabilityError(AvailabilityErrorCode.UNKNOWN_WORD, fragment=fragment, word=as_typed(bad, fragment))
    days = _parse_days(re.findall(r"[a-z]+|[-,/+&→>]", day_part), fragment)  # "lun > ven", "lundi & mardi"
    if not days:
        raise AvailabilityError(AvailabilityErrorCode.MISSING_DAY, fragment=fragment)
    times = [_parse_time(m.group(1), m.group(2), fragment) for m in matches]
    if len(times) % 2:
        raise AvailabilityError(AvailabilityErrorCode.MISSING_TIME, fragment=fragment)
    windows: list[WeeklyWindow] = []
    for day in days:
        for start, end in zip(times[::2], times[1::2]):
            try:
                windows.append(WeeklyWindow(day, start, end))
            except AvailabilityError as exc:
                raise AvailabilityError(exc.code, fragment=fragment, **exc.details) from None
    return windows


def parse_windows(text: str, existing: Sequence[WeeklyWindow] = ()) -> list[WeeklyWindow]:
    """Parse one or more entries (separated by new lines or ";") into new windows.

    The new windows are checked against each other and against ``existing``; the first problem
    raises :class:`AvailabilityError`, so nothing is half-saved.
    """
    entries = window_entries(text)
    if not entries:
        raise AvailabilityError(AvailabilityErrorCode.UNPARSABLE, fragment=text.strip())
    parsed: list[WeeklyWindow] = []
    for entry in entries:
        parsed.extend(parse_window_entry(entry))
    add_windows(existing, parsed)
    return sorted(parsed)


@dataclass(frozen=True)
class LineRefused:
    """One line of the tutor's text that was not saved, and why (``error.code``, ``error.details``)."""

    number: int  # 1-based, among the non-empty entries
    text: str
    error: AvailabilityError


@dataclass(frozen=True)
class WindowsReading:
    added: tuple[WeeklyWindow, ...]
    refused: tuple[LineRefused, ...]


def read_windows(text: str, existing: Sequence[WeeklyWindow] = ()) -> WindowsReading:
    """Each entry (line or "; "-separated part) on its own: the good ones are kept, each bad one is
    reported with its number, text and reason. An entry overlapping ``existing`` or an earlier
    accepted entry is refused (OVERLAP); nothing from a refused entry is kept."""
    entries = window_entries(text)
    if not entries:
        raise AvailabilityError(AvailabilityErrorCode.UNPARSABLE, fragment=text.strip())
    accepted: list[WeeklyWindow] = list(existing)
    added: list[WeeklyWindow] = []
    refused: list[LineRefused] = []
    for number, entry in enumerate(entries, start=1):
        try:
            windows = parse_window_entry(entry)
            add_windows(accepted, windows)
        except AvailabilityError as error:
            if "fragment" not in error.details:
                error = AvailabilityError(error.code, fragment=entry, **error.details)
            refused.append(LineRefused(number, entry, error))
            continue
        accepted.extend(windows)
        added.extend(windows)
    return WindowsReading(tuple(sorted(added)), tuple(refused))
