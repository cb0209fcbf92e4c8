"""Free slots of a tutor, and the re-validation of a slot someone picked.

A slot is offered when it lies inside one of the tutor's weekly windows (Paris wall-clock time),
on a working day (Monday–Friday, not a public holiday, not a day off), starts on the window's
grid (``settings.slot_step`` from the window start), starts at least ``min_notice`` from now, no
later than the horizon, and keeps ``buffer`` away from every busy interval.

Windows are expanded day by day in Paris time, then converted to UTC, so a 14:00 window is 14:00
in Paris on both sides of a daylight-saving change (12:00 UTC in summer, 13:00 UTC in winter).

Complexity: the busy intervals are filtered, sorted and merged once (n log n); each candidate is
then checked with one binary search (log n), so the cost is O(n log n + m log n) for n busy
intervals and m candidates, not O(n·m). ``bench/bench_slots.py`` measures it.

:func:`check_slot_bookable` answers the same question for one slot, with the reason when the
answer is no: a button may be stale (someone booked meanwhile) or forged.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from bot.domain.availability import BookingSettings, DayOff, WeeklyWindow, days_off_between, merged_windows
from bot.domain.calendar import (
    PARIS,
    WORKDAY_END,
    WORKDAY_START,
    WORKING_WEEKDAYS,
    HolidayCalendar,
    paris_date,
    require_aware,
)


@dataclass(frozen=True, order=True)
class Interval:
    """A half-open span of time [start_utc, end_utc), stored in UTC."""

    start_utc: datetime
    end_utc: datetime

    def __post_init__(self) -> None:
        if self.start_utc.tzinfo is not UTC:
            object.__setattr__(self, "start_utc", require_aware(self.start_utc, "start_utc"))
        if self.end_utc.tzinfo is not UTC:
            object.__setattr__(self, "end_utc", require_aware(self.end_utc, "end_utc"))
        if self.end_utc <= self.start_utc:
            raise ValueError(f"an interval must end after it starts: {self.start_utc} .. {self.end_utc}")

    @property
    def duration(self) -> timedelta:
        return self.end_utc - self.start_utc

    def overlaps(self, other: Interval) -> bool:
        return self.start_utc < other.end_utc and other.start_utc < self.end_utc


class Slot(Interval):
    """A bookable interval; the Paris views are what users are shown."""

    @property
    def start_paris(self) -> datetime:
        return self.start_utc.astimezone(PARIS)

    @property
    def end_paris(self) -> datetime:
        return self.end_utc.astimezone(PARIS)

    @property
    def day(self) -> date:
        """The Paris calendar date of the slot."""
        return self.start_paris.date()


class SlotErrorCode(StrEnum):
    BAD_DURATION = "bad_duration"
    PAST = "past"
    TOO_SHORT_NOTICE = "too_short_notice"
    BEYOND_HORIZON = "beyond_horizon"
    WEEKEND = "weekend"
    PUBLIC_HOLIDAY = "public_holiday"
    DAY_OFF = "day_off"
    OUT_OF_HOURS = "out_of_hours"
    OUTSIDE_WINDOWS = "outside_windows"
    OFF_GRID = "off_grid"
    OVERLAPS = "overlaps"


class CancelErrorCode(StrEnum):
    ALREADY_STARTED = "already_started"
    TOO_LATE = "too_late"  # inside the minimum notice: the auditeur must contact the tutor


def last_bookable_day(now: datetime, settings: BookingSettings) -> date:
    """The last Paris date on which a slot may start (today + horizon)."""
    return paris_date(now) + settings.horizon


def _check_duration(duration: timedelta, settings: BookingSettings) -> None:
    if duration not in settings.durations:
        raise ValueError(f"duration {duration} is not one of the offered lengths {settings.durations}")


class _BusyIndex:
    """Busy intervals widened by the buffer, merged into disjoint spans of POSIX seconds."""

    def __init__(self, busy: Iterable[Interval], buffer: timedelta, low: float, high: float) -> None:
        pad = buffer.total_seconds()
        spans = sorted(
            (start - pad, end + pad)
            for start, end in ((b.start_utc.timestamp(), b.end_utc.timestamp()) for b in busy)
            if end + pad > low and start - pad < high
        )
        self.starts: list[float] = []
        self.ends: list[float] = []
        for start, end in spans:
            if self.ends and start <= self.ends[-1]:
                self.ends[-1] = max(self.ends[-1], end)
            else:
                self.starts.append(start)
                self.ends.append(end)

    def overlaps(self, start: float, end: float) -> bool:
        # The last span starting before ``end`` reaches furthest among those that could overlap.
        index = bisect_left(self.starts, end) - 1
        return index >= 0 and self.ends[index] > start


def _span_bounds(day: date, start: time, end: time) -> tuple[float, float]:
    """POSIX seconds of a Paris wall-clock span within one day (working hours see no DST change)."""
    opening = datetime.combine(day, start, tzinfo=PARIS).timestamp()
    return opening, opening + (end.hour * 60 + end.minute - start.hour * 60 - start.minute) * 60


def _day_start_utc(day: date) -> float:
    return datetime.combine(day, time(0), tzinfo=PARIS).timestamp()


def free_slots(
    windows: Sequence[WeeklyWindow],
    days_off: Sequence[DayOff],
    busy: Sequence[Interval],
    settings: BookingSettings,
    duration: timedelta,
    now: datetime,
    calendar: HolidayCalendar,
    *,
    start_date: date | None = None,
    end_date: date | None = None,
) -> list[Slot]:
    """Every slot of ``duration`` the tutor can be booked for, in chronological order.

    ``busy`` holds the tutor's booked meetings (and anything else that blocks them), in UTC.
    ``start_date`` / ``end_date`` (Paris dates, inclusive) narrow the search, e.g. to one week;
    they never widen it beyond the notice and the horizon.
    """
    _check_duration(duration, settings)
    now = require_aware(now, "now")
    earliest = (now + settings.min_notice).timestamp()
    first_day = paris_date(now + settings.min_notice)
    last_day = last_bookable_day(now, settings)
    if start_date is not None:
        first_day = max(first_day, start_date)
    if end_date is not None:
        last_day = min(last_day, end_date)
    if last_day < first_day:
        return []

    spans_by_weekday = merged_windows(windows)
    off = days_off_between(days_off, first_day, last_day)
    search_start, search_end = _day_start_utc(first_day), _day_start_utc(last_day + timedelta(days=1))
    occupied = _BusyIndex(busy, settings.buffer, search_start, search_end)
    length, step = duration.total_seconds(), settings.slot_step.total_seconds()

    found: list[Slot] = []
    day = first_day
    while day <= last_day:
        spans = spans_by_weekday.get(day.weekday())
        if spans and day not in off and calendar.is_working_day(day):
            for span_start, span_end in spans:
                opening, closing = _span_bounds(day, span_start, span_end)
                start = opening
                while start + length <= closing:
                    end = start + length
                    if start >= earliest and not occupied.overlaps(start, end):
                        found.append(Slot(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)))
                    start += step
        day += timedelta(days=1)
    return found


def check_slot_bookable(
    start_utc: datetime,
    duration: timedelta,
    *,
    windows: Sequence[WeeklyWindow],
    days_off: Sequence[DayOff],
    busy: Sequence[Interval],
    settings: BookingSettings,
    now: datetime,
    calendar: HolidayCalendar,
) -> SlotErrorCode | None:
    """None when the slot can be booked now, else the first reason why not.

    Agrees with :func:`free_slots`: a start is offered exactly when this returns None. ``busy``
    must not contain the meeting being moved, if any.
    """
    if duration not in settings.durations:
        return SlotErrorCode.BAD_DURATION
    start_utc, now = require_aware(start_utc, "start_utc"), require_aware(now, "now")
    end_utc = start_utc + duration
    if start_utc < now:
        return SlotErrorCode.PAST
    if start_utc < now + settings.min_notice:
        return SlotErrorCode.TOO_SHORT_NOTICE
    start_local, end_local = start_utc.astimezone(PARIS), end_utc.astimezone(PARIS)
    day = start_local.date()
    if day > last_bookable_day(now, settings):
        return SlotErrorCode.BEYOND_HORIZON
    if day.weekday() not in WORKING_WEEKDAYS:
        return SlotErrorCode.WEEKEND
    if calendar.is_public_holiday(day):
        return SlotErrorCode.PUBLIC_HOLIDAY
    if any(off.covers(day) for off in days_off):
        return SlotErrorCode.DAY_OFF
    if end_local.date() != day or start_local.time() < WORKDAY_START or end_local.time() > WORKDAY_END:
        return SlotErrorCode.OUT_OF_HOURS

    start, end = start_utc.timestamp(), end_utc.timestamp()
    for span_start, span_end in merged_windows(windows).get(day.weekday(), []):
        opening, closing = _span_bounds(day, span_start, span_end)
        if opening <= start and end <= closing:
            if (start - opening) % settings.slot_step.total_seconds():
                return SlotErrorCode.OFF_GRID
            break
    else:
        return SlotErrorCode.OUTSIDE_WINDOWS

    pad = settings.buffer
    if any(b.start_utc - pad < end_utc and start_utc < b.end_utc + pad for b in busy):
        return SlotErrorCode.OVERLAPS
    return None


def check_cancellable(
    start_utc: datetime, now: datetime, settings: BookingSettings, *, by_tutor: bool = False
) -> CancelErrorCode | None:
    """None when the meeting may be cancelled now.

    An auditeur may cancel until the minimum notice before the meeting (the same notice a booking
    needs, so a freed slot can still be booked by someone else); the tutor may cancel until it
    starts.
    """
    start_utc, now = require_aware(start_utc, "start_utc"), require_aware(now, "now")
    if now >= start_utc:
        return CancelErrorCode.ALREADY_STARTED
    if not by_tutor and start_utc - now < settings.min_notice:
        return CancelErrorCode.TOO_LATE
    return None


# -- presentation helpers (grouping, paging) -------------------------------------------------------


@dataclass(frozen=True)
class DaySlots:
    day: date  # Paris date
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class WeekSlots:
    monday: date  # Paris date of the week's Monday
    days: tuple[DaySlots, ...]

    @property
    def slot_count(self) -> int:
        return sum(len(day.slots) for day in self.days)


@dataclass(frozen=True)
class WeekPage:
    """One week of slots to show, with what the navigation buttons need."""

    week: WeekSlots | None  # None when there is no free slot at all
    index: int
    count: int

    @property
    def has_previous(self) -> bool:
        return self.index > 0

    @property
    def has_next(self) -> bool:
        return self.index + 1 < self.count


def group_by_day(slots: Iterable[Slot]) -> list[DaySlots]:
    """Slots grouped by Paris date, days in order (days without slots are absent)."""
    by_day: dict[date, list[Slot]] = {}
    for slot in sorted(slots):
        by_day.setdefault(slot.day, []).append(slot)
    return [DaySlots(day, tuple(day_slots)) for day, day_slots in by_day.items()]


def group_by_week(slots: Iterable[Slot]) -> list[WeekSlots]:
    """Days grouped by Monday-to-Sunday week; weeks without slots are skipped, not shown empty."""
    by_week: dict[date, list[DaySlots]] = {}
    for day_slots in group_by_day(slots):
        monday = day_slots.day - timedelta(days=day_slots.day.weekday())
        by_week.setdefault(monday, []).append(day_slots)
    return [WeekSlots(monday, tuple(days)) for monday, days in by_week.items()]


def week_page(slots: Iterable[Slot], index: int) -> WeekPage:
    """The ``index``-th week having free slots; an out-of-range index (stale button) is clamped."""
    weeks = group_by_week(slots)
    if not weeks:
        return WeekPage(None, 0, 0)
    index = min(max(index, 0), len(weeks) - 1)
    return WeekPage(weeks[index], index, len(weeks))
