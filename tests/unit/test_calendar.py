from datetime import UTC, date, datetime, time

import pytest

from bot.domain.calendar import (
    WORKDAY_END,
    WORKDAY_START,
    HolidayCalendar,
    SchoolHoliday,
    correction_delay,
    correction_due_date,
    paris_date,
    paris_to_utc,
    require_aware,
    to_paris,
)


@pytest.fixture(scope="module")
def france() -> HolidayCalendar:
    return HolidayCalendar()


@pytest.fixture(scope="module")
def alsace_moselle() -> HolidayCalendar:
    return HolidayCalendar(alsace_moselle=True)


def test_working_hours_are_8_to_19() -> None:
    assert (WORKDAY_START, WORKDAY_END) == (time(8), time(19))


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 11, 11),  # Armistice, a Wednesday
        date(2026, 5, 14),  # Ascension Thursday
        date(2027, 5, 6),  # Ascension Thursday
        date(2026, 5, 25),  # Pentecost Monday
        date(2026, 4, 6),  # Easter Monday
        date(2026, 7, 14),
        date(2027, 1, 1),
    ],
)
def test_public_holidays_are_not_working_days(france: HolidayCalendar, day: date) -> None:
    assert day.weekday() < 5
    assert france.is_public_holiday(day)
    assert not france.is_working_day(day)


def test_holiday_names_are_french(france: HolidayCalendar) -> None:
    assert france.public_holiday_name(date(2026, 5, 14)) == "Ascension"
    assert france.public_holiday_name(date(2026, 5, 13)) is None


def test_ordinary_weekdays_are_working_days_and_weekends_are_not(france: HolidayCalendar) -> None:
    assert france.is_working_day(date(2026, 5, 13))  # Wednesday before Ascension
    assert france.is_working_day(date(2026, 5, 15))  # Friday after Ascension
    assert not france.is_working_day(date(2026, 5, 16))  # Saturday
    assert not france.is_working_day(date(2026, 5, 17))  # Sunday


@pytest.mark.parametrize("day", [date(2026, 4, 3), date(2027, 3, 26), date(2025, 12, 26)])
def test_alsace_moselle_good_friday_and_26_december(
    france: HolidayCalendar, alsace_moselle: HolidayCalendar, day: date
) -> None:
    assert day.weekday() == 4  # all three are Fridays
    assert france.is_working_day(day)
    assert not alsace_moselle.is_working_day(day)


def test_alsace_moselle_subdivisions(france: HolidayCalendar) -> None:
    for subdivision in ("57", "6AE"):
        local = HolidayCalendar(subdivision=subdivision)
        assert local.alsace_moselle
        assert local.is_public_holiday(date(2026, 4, 3))
    assert not france.alsace_moselle and france.subdivision is None
    with pytest.raises(ValueError):
        HolidayCalendar(subdivision="75")
    with pytest.raises(ValueError):
        HolidayCalendar(school_zone="D")


def test_school_holidays_zone_b(france: HolidayCalendar) -> None:
    assert france.is_school_holiday(date(2026, 2, 20))  # winter break, zone B
    assert not france.is_school_holiday(date(2026, 3, 10))
    zone_a = HolidayCalendar(school_zone="A")
    assert zone_a.is_school_holiday(date(2026, 2, 10)) != france.is_school_holiday(date(2026, 2, 10))


def test_school_holiday_periods_are_whole_and_cross_new_year(france: HolidayCalendar) -> None:
    periods = france.school_holidays(date(2026, 1, 2), date(2026, 2, 20))
    assert [(p.first, p.last) for p in periods] == [
        (date(2025, 12, 20), date(2026, 1, 4)),
        (date(2026, 2, 14), date(2026, 3, 1)),
    ]
    assert all(isinstance(p, SchoolHoliday) and p.name for p in periods)
    assert france.school_holidays(date(2026, 3, 10), date(2026, 3, 20)) == []
    assert france.school_holidays(date(2026, 3, 20), date(2026, 3, 10)) == []


def test_overlaps_school_holidays(france: HolidayCalendar) -> None:
    assert france.overlaps_school_holidays(date(2026, 3, 2), date(2026, 4, 11))  # first day of spring break
    assert not france.overlaps_school_holidays(date(2026, 3, 2), date(2026, 4, 10))
    assert not france.overlaps_school_holidays(date(2026, 4, 11), date(2026, 4, 1))  # empty range


def test_correction_takes_four_weeks_outside_school_holidays(france: HolidayCalendar) -> None:
    assert correction_due_date(date(2026, 3, 2), france) == date(2026, 3, 30)
    assert correction_due_date(date(2026, 9, 7), france) == date(2026, 10, 5)


def test_correction_takes_six_weeks_when_school_holidays_fall_in_the_period(france: HolidayCalendar) -> None:
    # Received Monday 2026-03-23: the four weeks end 2026-04-20, inside the spring break (from 04-11).
    assert correction_due_date(date(2026, 3, 23), france) == date(2026, 5, 4)
    # Received Friday 2026-03-20: six weeks reach Friday 1 May (Fête du travail): next working day.
    assert correction_due_date(date(2026, 3, 20), france) == date(2026, 5, 4)
    assert correction_due_date(date(2026, 3, 13), france) == date(2026, 4, 10)


def test_a_break_starting_on_the_saturday_the_four_weeks_end_does_not_stretch_them(france: HolidayCalendar) -> None:
    # Received Saturday 2026-03-14: four weeks end Saturday 2026-04-11, the first (weekend) day of the
    # spring break: no working day of the break falls in the period, four weeks (due on the Monday).
    delay = correction_delay(date(2026, 3, 14), france)
    assert (delay.weeks, delay.nominal_due, delay.due) == (4, date(2026, 4, 11), date(2026, 4, 13))
    # One day later the Monday of the break is in the period: six weeks.
    assert correction_delay(date(2026, 3, 16), france).weeks == 6


def test_report_received_on_the_last_day_of_a_break_gets_four_weeks(france: HolidayCalendar) -> None:
    assert france.is_school_holiday(date(2026, 3, 1))
    # Sunday 29 March: due the next working day.
    assert correction_due_date(date(2026, 3, 1), france) == date(2026, 3, 30)


def test_real_zone_b_calendar_winter_2027_gives_six_weeks_with_the_reason(france: HolidayCalendar) -> None:
    delay = correction_delay(date(2027, 2, 15), france)  # four weeks reach the winter break 20 Feb-7 Mar
    # six weeks reach Monday 29 March 2027, Easter Monday: due the next working day
    assert (delay.weeks, delay.nominal_due, delay.due) == (6, date(2027, 3, 29), date(2027, 3, 30))
    assert [(h.name, h.first, h.last) for h in delay.holidays] == [
        ("Vacances d'hiver", date(2027, 2, 20), date(2027, 3, 7))
    ]


def test_real_zone_b_calendar_mid_november_gives_four_weeks(france: HolidayCalendar) -> None:
    delay = correction_delay(date(2026, 11, 16), france)
    assert (delay.weeks, delay.due, delay.holidays) == (4, date(2026, 12, 14), ())


def test_christmas_break_is_named_in_the_reason(france: HolidayCalendar) -> None:
    delay = correction_delay(date(2026, 12, 1), france)
    assert delay.weeks == 6
    assert [(h.name, h.first, h.last) for h in delay.holidays] == [
        ("Vacances de Noël", date(2026, 12, 19), date(2027, 1, 3))
    ]


def test_the_pont_de_l_ascension_is_not_holidays(france: HolidayCalendar) -> None:
    # Received 2026-04-27 (after the spring break): the four weeks hold only the Ascension long weekend.
    assert correction_delay(date(2026, 4, 27), france).weeks == 4


def test_paris_conversions_follow_daylight_saving() -> None:
    assert paris_to_utc(date(2026, 3, 27), time(14)) == datetime(2026, 3, 27, 13, tzinfo=UTC)
    assert paris_to_utc(date(2026, 3, 30), time(14)) == datetime(2026, 3, 30, 12, tzinfo=UTC)
    assert to_paris(datetime(2026, 10, 26, 13, tzinfo=UTC)).hour == 14
    assert paris_date(datetime(2026, 6, 30, 22, 30, tzinfo=UTC)) == date(2026, 7, 1)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        require_aware(datetime(2026, 1, 1, 12))
