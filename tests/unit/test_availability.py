from datetime import date, time, timedelta

import pytest

from bot.domain.availability import (
    AvailabilityError,
    AvailabilityErrorCode as Code,
    BookingSettings,
    DayOff,
    WeeklyWindow,
    add_windows,
    days_off_between,
    merged_windows,
    parse_windows,
)

MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY = range(5)


def window(weekday: int, start: str, end: str) -> WeeklyWindow:
    return WeeklyWindow(weekday, time.fromisoformat(start), time.fromisoformat(end))


def error_code(action) -> Code:
    with pytest.raises(AvailabilityError) as caught:
        action()
    return caught.value.code


# -- WeeklyWindow validation ------------------------------------------------------------------------


def test_a_window_inside_working_hours_is_accepted() -> None:
    tuesday = window(TUESDAY, "14:00", "17:00")
    assert tuesday.length == timedelta(hours=3)
    assert window(MONDAY, "08:00", "19:00").length == timedelta(hours=11)


@pytest.mark.parametrize(
    ("weekday", "start", "end", "code"),
    [
        (5, "09:00", "12:00", Code.WEEKEND),
        (6, "09:00", "12:00", Code.WEEKEND),
        (TUESDAY, "07:45", "09:00", Code.OUTSIDE_HOURS),
        (TUESDAY, "18:00", "19:15", Code.OUTSIDE_HOURS),
        (TUESDAY, "17:00", "14:00", Code.START_NOT_BEFORE_END),
        (TUESDAY, "14:00", "14:00", Code.START_NOT_BEFORE_END),
        (TUESDAY, "09:10", "12:00", Code.GRANULARITY),
        (TUESDAY, "09:00", "11:50", Code.GRANULARITY),
    ],
)
def test_invalid_windows_are_refused_with_a_code(weekday: int, start: str, end: str, code: Code) -> None:
    assert error_code(lambda: window(weekday, start, end)) == code


def test_overlapping_windows_are_refused_but_touching_ones_are_not() -> None:
    existing = [window(TUESDAY, "09:00", "12:00")]
    assert error_code(lambda: add_windows(existing, [window(TUESDAY, "11:00", "13:00")])) == Code.OVERLAP
    assert error_code(lambda: add_windows(existing, [window(TUESDAY, "09:00", "12:00")])) == Code.OVERLAP
    assert error_code(lambda: add_windows(existing, [window(TUESDAY, "10:00", "11:00")])) == Code.OVERLAP
    combined = add_windows(existing, [window(TUESDAY, "12:00", "14:00"), window(MONDAY, "10:00", "11:00")])
    assert combined == (
        window(MONDAY, "10:00", "11:00"),
        window(TUESDAY, "09:00", "12:00"),
        window(TUESDAY, "12:00", "14:00"),
    )


def test_overlap_error_names_both_windows() -> None:
    with pytest.raises(AvailabilityError) as caught:
        add_windows([window(TUESDAY, "09:00", "12:00")], [window(TUESDAY, "11:00", "13:00")])
    assert caught.value.details["other"] == window(TUESDAY, "09:00", "12:00")
    assert caught.value.details["window"] == window(TUESDAY, "11:00", "13:00")


def test_touching_windows_are_merged_for_slot_search() -> None:
    merged = merged_windows(
        [window(TUESDAY, "12:00", "14:00"), window(TUESDAY, "09:00", "12:00"), window(FRIDAY, "08:00", "09:00")]
    )
    assert merged == {TUESDAY: [(time(9), time(14))], FRIDAY: [(time(8), time(9))]}


# -- parsing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mardi 14h-17h", [(TUESDAY, "14:00", "17:00")]),
        ("mardi 14:00-17:00", [(TUESDAY, "14:00", "17:00")]),
        ("lun 9h30 12h", [(MONDAY, "09:30", "12:00")]),
        ("Mardi 14h – 17h", [(TUESDAY, "14:00", "17:00")]),
        ("les mardis de 14 h à 17 h", [(TUESDAY, "14:00", "17:00")]),
        ("MERCREDI 8H-9H15", [(WEDNESDAY, "08:00", "09:15")]),
        ("jeudi 9h-12h 14h-16h", [(THURSDAY, "09:00", "12:00"), (THURSDAY, "14:00", "16:00")]),
        ("jeu de 9h à 12h et de 14h à 16h", [(THURSDAY, "09:00", "12:00"), (THURSDAY, "14:00", "16:00")]),
        ("lundi et vendredi 10h-11h", [(MONDAY, "10:00", "11:00"), (FRIDAY, "10:00", "11:00")]),
        ("du lundi au mercredi 9h-10h", [(day, "09:00", "10:00") for day in (MONDAY, TUESDAY, WEDNESDAY)]),
        ("mardi 14h-17h\nvendredi 8h-10h", [(TUESDAY, "14:00", "17:00"), (FRIDAY, "08:00", "10:00")]),
        ("mardi 14h-17h ; ven 8h-10h", [(TUESDAY, "14:00", "17:00"), (FRIDAY, "08:00", "10:00")]),
    ],
)
def test_french_input_is_parsed(text: str, expected: list[tuple[int, str, str]]) -> None:
    assert parse_windows(text) == [window(*item) for item in expected]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", Code.UNPARSABLE),
        ("   \n ", Code.UNPARSABLE),
        ("mardi", Code.MISSING_TIME),
        ("mardi 14h", Code.MISSING_TIME),
        ("mardi 9h 12h 14h", Code.MISSING_TIME),
        ("14h-17h", Code.MISSING_DAY),
        ("mardo 14h-17h", Code.UNKNOWN_WORD),
        ("mardi 14h-17h svp", Code.UNKNOWN_WORD),
        ("mardi 25h-26h", Code.BAD_TIME),
        ("mardi 14h75-16h", Code.BAD_TIME),
        ("samedi 9h-12h", Code.WEEKEND),
        ("mardi 7h-9h", Code.OUTSIDE_HOURS),
        ("mardi 18h-24h", Code.OUTSIDE_HOURS),
        ("mardi 17h-14h", Code.START_NOT_BEFORE_END),
        ("mardi 9h10-12h", Code.GRANULARITY),
        ("mardi 9h-12h; mardi 11h-13h", Code.OVERLAP),
        ("vendredi au lundi 9h-10h", Code.UNPARSABLE),
    ],
)
def test_bad_french_input_is_refused_with_a_code(text: str, code: Code) -> None:
    assert error_code(lambda: parse_windows(text)) == code


def test_parse_errors_quote_the_users_fragment() -> None:
    with pytest.raises(AvailabilityError) as caught:
        parse_windows("mardi 14h-17h\nsamedi 9h-12h")
    assert caught.value.details["fragment"] == "samedi 9h-12h"


def test_parsed_windows_are_checked_against_existing_ones() -> None:
    existing = [window(TUESDAY, "14:00", "17:00")]
    assert error_code(lambda: parse_windows("mardi 16h-18h", existing)) == Code.OVERLAP
    assert parse_windows("mardi 17h-18h", existing) == [window(TUESDAY, "17:00", "18:00")]


def test_parse_is_all_or_nothing() -> None:
    # The first line is fine, the second is not: nothing is returned, the error says why.
    assert error_code(lambda: parse_windows("lundi 9h-10h\nmardi 7h-8h")) == Code.OUTSIDE_HOURS


# -- days off ---------------------------------------------------------------------------------------


def test_day_off_range() -> None:
    holiday = DayOff(date(2026, 7, 20), date(2026, 7, 24))
    assert holiday.covers(date(2026, 7, 20)) and holiday.covers(date(2026, 7, 24))
    assert not holiday.covers(date(2026, 7, 25)) and not holiday.covers(date(2026, 7, 19))
    assert error_code(lambda: DayOff(date(2026, 7, 24), date(2026, 7, 20))) == Code.BAD_DAY_OFF


def test_days_off_between_clips_to_the_range() -> None:
    offs = [DayOff(date(2026, 7, 20), date(2026, 7, 24)), DayOff(date(2026, 8, 3), date(2026, 8, 3))]
    assert days_off_between(offs, date(2026, 7, 23), date(2026, 8, 2)) == {date(2026, 7, 23), date(2026, 7, 24)}


# -- settings ---------------------------------------------------------------------------------------


def test_booking_settings_defaults() -> None:
    settings = BookingSettings()
    assert settings.min_notice == timedelta(hours=24)
    assert settings.horizon == timedelta(weeks=8)
    assert settings.buffer == timedelta(0)
    assert settings.durations == (timedelta(minutes=30), timedelta(minutes=60))
    assert settings.first_meeting == timedelta(minutes=30)


@pytest.mark.parametrize(
    "changes",
    [
        {"min_notice": timedelta(hours=-1)},
        {"horizon": timedelta(hours=36)},
        {"horizon": timedelta(0)},
        {"buffer": timedelta(minutes=-5)},
        {"buffer": timedelta(minutes=7)},
        {"durations": ()},
        {"durations": (timedelta(minutes=20),), "first_meeting": timedelta(minutes=20)},
        {"first_meeting": timedelta(minutes=45)},
        {"slot_step": timedelta(0)},
    ],
)
def test_bad_settings_are_refused(changes: dict) -> None:
    with pytest.raises(AvailabilityError) as caught:
        BookingSettings(**changes)
    assert caught.value.code == Code.BAD_SETTING
    assert caught.value.details["setting"] in changes
