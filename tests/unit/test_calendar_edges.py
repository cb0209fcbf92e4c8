"""Edges of the calendar rules: the correction's four or six weeks around real school holidays
(zone B, 2026-2027), what counts as holidays, semesters as staff write them."""

from __future__ import annotations

import time as time_module
from datetime import UTC, date, time

import pytest

from bot.domain.calendar import (
    ALSACE_MOSELLE_SUBDIVISIONS,
    SCHOOL_ZONES,
    HolidayCalendar,
    SchoolHoliday,
    _counts_as_holidays,
    correction_delay,
    paris_to_utc,
)
from bot.domain.semesters import Semester, SemesterError

ZONE_B = HolidayCalendar(school_zone="B")
SUMMER_ENDS = date(2027, 9, 1)  # a Wednesday, the last day of the 2027 summer break (zone B)


def test_a_report_received_the_day_before_the_summer_break_ends_gets_six_weeks():
    delay = correction_delay(date(2027, 8, 31), ZONE_B)  # the break's last weekday is the first day worked
    assert (delay.received, delay.weeks, delay.nominal_due) == (date(2027, 8, 31), 6, date(2027, 10, 12))
    assert [h.name for h in delay.holidays] == ["Vacances d'été"]


def test_a_report_received_on_the_last_day_of_the_break_gets_four_weeks():
    delay = correction_delay(SUMMER_ENDS, ZONE_B)
    assert (delay.received, delay.weeks, delay.nominal_due, delay.holidays) == (SUMMER_ENDS, 4, date(2027, 9, 29), ())


def period(first: date, days: int) -> SchoolHoliday:
    return SchoolHoliday("Vacances", first, date.fromordinal(first.toordinal() + days - 1))


def test_a_week_of_holidays_counts_six_days_do_not():
    monday = date(2027, 3, 8)
    assert _counts_as_holidays(period(monday, 7), monday, monday)
    assert not _counts_as_holidays(period(monday, 6), monday, monday)


def test_a_break_counts_through_a_weekday_even_just_after_a_weekend_day():
    toussaint = SchoolHoliday("Vacances de la Toussaint", date(2026, 10, 17), date(2026, 11, 1))
    assert _counts_as_holidays(toussaint, date(2026, 10, 18), date(2026, 10, 19))  # Sunday then Monday
    assert not _counts_as_holidays(toussaint, date(2026, 10, 17), date(2026, 10, 18))  # the weekend only


def test_school_holidays_on_a_single_day_and_both_ends_of_a_period():
    (christmas,) = ZONE_B.school_holidays(date(2027, 1, 3), date(2027, 1, 3))
    assert (christmas.first, christmas.last) == (date(2026, 12, 19), date(2027, 1, 3))  # whole, across New Year
    assert ZONE_B.school_holidays(date(2027, 1, 4), date(2027, 1, 3)) == []
    assert christmas.overlaps(date(2026, 12, 1), date(2026, 12, 19))
    assert christmas.overlaps(date(2027, 1, 3), date(2027, 1, 10))
    assert not christmas.overlaps(date(2027, 1, 4), date(2027, 1, 10))


def test_overlapping_school_holidays_day_by_day():
    assert ZONE_B.overlaps_school_holidays(date(2026, 10, 17), date(2026, 10, 17))
    assert ZONE_B.overlaps_school_holidays(date(2026, 10, 16), date(2026, 10, 17))  # Friday, then the break
    assert not ZONE_B.overlaps_school_holidays(date(2026, 10, 16), date(2026, 10, 16))
    assert not ZONE_B.overlaps_school_holidays(date(2026, 10, 18), date(2026, 10, 17))


def test_calendar_settings_refused_with_the_allowed_values():
    with pytest.raises(ValueError) as caught:
        HolidayCalendar(subdivision="75")
    assert str(caught.value) == f"subdivision must be one of {ALSACE_MOSELLE_SUBDIVISIONS}, got '75'"
    with pytest.raises(ValueError) as caught:
        HolidayCalendar(school_zone="D")
    assert str(caught.value) == f"school_zone must be one of {SCHOOL_ZONES}, got 'D'"
    assert HolidayCalendar(alsace_moselle=True).subdivision == ALSACE_MOSELLE_SUBDIVISIONS[0]


def test_paris_wall_times_do_not_depend_on_the_servers_time_zone(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time_module.tzset()
    try:
        moment = paris_to_utc(date(2027, 1, 5), time(9, 30))
        assert moment.tzinfo is UTC and (moment.hour, moment.minute) == (8, 30)
    finally:
        monkeypatch.undo()
        time_module.tzset()


def test_semesters_as_written_and_the_years_accepted():
    assert Semester.parse(" 2026 - s2 ") == Semester(2026, 2)
    assert Semester.parse("2000S1") == Semester(2000, 1)
    assert Semester.parse("2100-S2") == Semester(2100, 2)
    for raw in ("1999-S1", "2101-S1", "2026-S3", "", "S1"):
        with pytest.raises(SemesterError) as caught:
            Semester.parse(raw)
        assert caught.value.args == (raw,)
    with pytest.raises(SemesterError):
        Semester.parse(None)


def test_september_starts_the_first_semester():
    assert Semester.containing(date(2026, 9, 1)) == Semester(2026, 1)
    assert Semester.containing(date(2026, 8, 31)) == Semester(2025, 2)
    assert Semester.containing(date(2026, 10, 1)) == Semester(2026, 1)
