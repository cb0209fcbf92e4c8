"""Dates and times as tutors really write them in /dispos, and one bad line never losing the others."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.availability import AvailabilityErrorCode as Code
from bot.domain.availability import DayOff, WeeklyWindow, read_windows
from bot.domain.french_words import calendar_words
from bot.domain.meetings import parse_day_off, read_days_off

TODAY = date(2025, 12, 1)  # a Monday; 5 January 2026 is a Monday too
WEEKDAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi"]
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vendredi de 17 h à 18 h 30", [WeeklyWindow(4, time(17), time(18, 30))]),
        ("mardi 9h30-11h", [WeeklyWindow(1, time(9, 30), time(11))]),
        ("lundi de 9h à midi", [WeeklyWindow(0, time(9), time(12))]),
        ("jeudi 8 h 30 - 10 h", [WeeklyWindow(3, time(8, 30), time(10))]),
        ("chaque mercredi 14h–16h", [WeeklyWindow(2, time(14), time(16))]),
        ("Mardi 9 h 12 h", [WeeklyWindow(1, time(9), time(12))]),
    ],
)
def test_windows_as_people_write_them(text, expected):
    reading = read_windows(text)
    assert list(reading.added) == expected and not reading.refused


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("du 21 décembre au 3 janvier", DayOff(date(2025, 12, 21), date(2026, 1, 3))),
        ("10/12", DayOff(date(2025, 12, 10), date(2025, 12, 10))),
        ("lundi 5 janvier", DayOff(date(2026, 1, 5), date(2026, 1, 5))),
        ("le 1er décembre", DayOff(date(2025, 12, 1), date(2025, 12, 1))),
        ("du 21 au 23 décembre", DayOff(date(2025, 12, 21), date(2025, 12, 23))),
        ("22/12-02/01", DayOff(date(2025, 12, 22), date(2026, 1, 2))),
        ("du 21 déc. au 3 janv. 2026", DayOff(date(2025, 12, 21), date(2026, 1, 3))),
        ("jusqu'au 5 décembre", DayOff(date(2025, 12, 1), date(2025, 12, 5))),
        ("15 octobre", DayOff(date(2026, 10, 15), date(2026, 10, 15))),  # past this year, over a month ago: next one
    ],
)
def test_days_off_as_people_write_them(text, expected):
    assert parse_day_off(text, TODAY) == expected


def test_a_weekday_that_does_not_match_its_date_is_refused_with_the_real_date():
    with pytest.raises(Exception) as caught:
        parse_day_off("mardi 5 janvier", TODAY)
    assert caught.value.code == Code.WEEKDAY_MISMATCH and caught.value.details["day"] == date(2026, 1, 5)


def test_one_bad_line_keeps_the_good_ones_and_says_which_and_why():
    existing = [WeeklyWindow(0, time(9), time(10))]
    reading = read_windows("lundi 9h30-11h\nmardi 14h-17h\nsamedi 9h-10h\nvendredi 17 h à 18 h 30", existing)
    assert list(reading.added) == [WeeklyWindow(1, time(14), time(17)), WeeklyWindow(4, time(17), time(18, 30))]
    assert [(r.number, r.text, r.error.code) for r in reading.refused] == [
        (1, "lundi 9h30-11h", Code.OVERLAP),
        (3, "samedi 9h-10h", Code.WEEKEND),
    ]


def test_two_new_lines_overlapping_each_other_keep_the_first():
    reading = read_windows("mardi 9h-12h ; mardi 11h-13h")
    assert list(reading.added) == [WeeklyWindow(1, time(9), time(12))]
    assert [r.number for r in reading.refused] == [2]


def test_days_off_line_by_line():
    added, refused = read_days_off("10/12\nbientôt\n24 décembre", TODAY)
    assert added == [DayOff(date(2025, 12, 10), date(2025, 12, 10)), DayOff(date(2025, 12, 24), date(2025, 12, 24))]
    assert [(r.number, r.text) for r in refused] == [(2, "bientôt")]


def test_the_word_lists_are_data():
    words = calendar_words()
    assert words.weekdays["vendredi"] == 4 and words.months["decembre"] == 12 and words.times["midi"] == "12h"


quarter_hours = st.integers(min_value=8 * 4, max_value=19 * 4)


def _spell(minutes: int, style: int) -> str:
    hour, minute = divmod(minutes, 60)
    if style == 0:
        return f"{hour}h{minute:02d}" if minute else f"{hour}h"
    if style == 1:
        return f"{hour} h {minute:02d}" if minute else f"{hour} h"
    return f"{hour}:{minute:02d}"


@given(
    day=st.integers(0, 4),
    bounds=st.tuples(quarter_hours, quarter_hours).filter(lambda b: b[0] < b[1]),
    style=st.integers(0, 2),
    shape=st.sampled_from(["{day} {start}-{end}", "{day} de {start} à {end}", "les {day}s {start} – {end}",
                           "{day} {start} {end}"]),
)
def test_any_window_spelled_any_common_way_reads_back(day, bounds, style, shape):
    start, end = (b * 15 for b in bounds)
    text = shape.format(day=WEEKDAYS[day], start=_spell(start, style), end=_spell(end, style))
    reading = read_windows(text)
    assert list(reading.added) == [WeeklyWindow(day, time(*divmod(start, 60)), time(*divmod(end, 60)))], text


@given(
    offset=st.integers(0, 332),  # beyond, this year's was less than a month ago: refused as just passed
    shape=st.sampled_from(["{d}/{m}", "{d}/{m:02d}/{y}", "{d} {month}", "le {d} {month} {y}", "{weekday} {d} {month}",
                           "{d}.{m}.{yy}"]),
)
def test_any_day_spelled_any_common_way_reads_back(offset, shape):
    day = TODAY + timedelta(days=offset)
    names = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
    text = shape.format(d=day.day if day.day > 1 or "{d} " not in shape else 1, m=day.month, y=day.year,
                        yy=day.year % 100, month=MONTHS[day.month - 1], weekday=names[day.weekday()])
    assert parse_day_off(text, TODAY) == DayOff(day, day), text
