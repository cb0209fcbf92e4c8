"""Intervals and bookability at their edges: any aware time is kept as UTC, naive times and empty
intervals are refused by name, a start exactly now is short notice."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.domain.availability import BookingSettings, WeeklyWindow
from bot.domain.calendar import PARIS, HolidayCalendar
from bot.domain.slots import Interval, SlotErrorCode, check_slot_bookable, free_slots


def test_an_interval_keeps_any_aware_time_as_utc():
    interval = Interval(datetime(2027, 1, 5, 9, tzinfo=PARIS), datetime(2027, 1, 5, 9, 30, tzinfo=PARIS))
    assert (interval.start_utc, interval.end_utc) == (datetime(2027, 1, 5, 8, tzinfo=UTC), datetime(2027, 1, 5, 8, 30, tzinfo=UTC))
    assert interval.start_utc.tzinfo is UTC and interval.end_utc.tzinfo is UTC
    mixed = Interval(datetime(2027, 1, 5, 8, tzinfo=UTC), datetime(2027, 1, 5, 9, 30, tzinfo=PARIS))
    assert mixed.duration == timedelta(minutes=30) and mixed.end_utc.tzinfo is UTC


@pytest.mark.parametrize("name", ["start_utc", "end_utc"])
def test_a_naive_bound_is_refused_by_its_name(name):
    bounds = {"start_utc": datetime(2027, 1, 5, 8, tzinfo=UTC), "end_utc": datetime(2027, 1, 5, 9, tzinfo=UTC)}
    bounds[name] = bounds[name].replace(tzinfo=None)
    with pytest.raises(ValueError, match=rf"^{name} must be timezone-aware"):
        Interval(**bounds)


def test_an_empty_interval_is_refused_with_its_bounds():
    nine = datetime(2027, 1, 5, 8, tzinfo=UTC)
    with pytest.raises(ValueError) as caught:
        Interval(nine, nine)
    assert str(caught.value) == f"an interval must end after it starts: {nine} .. {nine}"


TUESDAY_WINDOW = [WeeklyWindow(1, time(9), time(12))]
NOW = datetime(2027, 1, 4, 9, tzinfo=UTC)


def bookable(start, now=NOW, **settings):
    return check_slot_bookable(start, timedelta(minutes=30), windows=TUESDAY_WINDOW, days_off=(), busy=(),
                               settings=BookingSettings(**settings), now=now, calendar=HolidayCalendar())


def test_a_start_exactly_now_is_short_notice_not_past():
    assert bookable(NOW) is SlotErrorCode.TOO_SHORT_NOTICE
    assert bookable(NOW - timedelta(seconds=1)) is SlotErrorCode.PAST


def test_naive_times_are_refused_by_name():
    with pytest.raises(ValueError, match="^start_utc must be timezone-aware"):
        bookable(datetime(2027, 1, 5, 9))
    with pytest.raises(ValueError, match="^now must be timezone-aware"):
        bookable(datetime(2027, 1, 5, 8, tzinfo=UTC), now=datetime(2027, 1, 4, 9))
    with pytest.raises(ValueError, match="^now must be timezone-aware"):
        free_slots(TUESDAY_WINDOW, (), (), BookingSettings(), timedelta(minutes=30), datetime(2027, 1, 4, 9), HolidayCalendar())


def test_a_duration_not_offered_is_refused_with_the_lengths():
    with pytest.raises(ValueError) as caught:
        free_slots(TUESDAY_WINDOW, (), (), BookingSettings(), timedelta(minutes=45), NOW, HolidayCalendar())
    assert str(caught.value) == f"duration {timedelta(minutes=45)} is not one of the offered lengths {BookingSettings().durations}"
