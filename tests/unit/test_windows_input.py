"""Weekly windows as tutors type them in /dispos, each refusal with what the French message quotes
(``fragment``: the entry as typed, ``word``: the word not understood, ``window``: the window)."""

from __future__ import annotations

from datetime import time

import pytest

from bot.domain.availability import AvailabilityError, WeeklyWindow, parse_window_entry, parse_windows, read_windows
from bot.domain.availability import AvailabilityErrorCode as Code


def refused(entry: str) -> AvailabilityError:
    with pytest.raises(AvailabilityError) as caught:
        parse_window_entry(entry)
    return caught.value


def test_day_ranges_and_lists_as_people_write_them():
    assert [w.weekday for w in parse_window_entry("lundi-mercredi 9h-12h")] == [0, 1, 2]
    assert [w.weekday for w in parse_window_entry("Lundi, Jeudi 14h 16h")] == [0, 3]
    assert [w.weekday for w in parse_window_entry("lun/mar 9h-10h")] == [0, 1]
    assert [w.weekday for w in parse_window_entry("du lundi au mardi, jeudi de 9h à 10h")] == [0, 1, 3]
    assert [w.weekday for w in parse_window_entry("lundi au mardi et lundi 9h-10h")] == [0, 1]  # each day once


def test_two_windows_on_one_line_with_words_between():
    assert parse_window_entry("jeudi 9h-12h et 14h-16h") == [
        WeeklyWindow(3, time(9), time(12)), WeeklyWindow(3, time(14), time(16)),
    ]


def test_a_word_that_is_not_understood_is_named():
    error = refused("jeudi 9h-12h puis 14h-16h")
    assert (error.code, error.details) == (Code.UNKNOWN_WORD, {"fragment": "jeudi 9h-12h puis 14h-16h", "word": "puis"})
    error = refused("jeudi 9h puis 12h")
    assert (error.code, error.details) == (Code.UNKNOWN_WORD, {"fragment": "jeudi 9h puis 12h", "word": "puis"})
    error = refused("jeudi 9h-12h le matin")
    assert (error.code, error.details) == (Code.UNKNOWN_WORD, {"fragment": "jeudi 9h-12h le matin", "word": "matin"})
    error = refused("jeudi et soir 9h-12h")
    assert (error.code, error.details) == (Code.UNKNOWN_WORD, {"fragment": "jeudi et soir 9h-12h", "word": "soir"})


def test_a_range_backwards_over_the_weekend_is_refused():
    error = refused("vendredi au lundi 9h-10h")
    assert (error.code, error.details) == (Code.UNPARSABLE, {"fragment": "vendredi au lundi 9h-10h"})


def test_missing_parts_are_refused_with_the_entry():
    error = refused("mardi matin")
    assert (error.code, error.details) == (Code.MISSING_TIME, {"fragment": "mardi matin"})
    error = refused("mardi 14h-17h 18h")
    assert (error.code, error.details) == (Code.MISSING_TIME, {"fragment": "mardi 14h-17h 18h"})
    error = refused("de 14h à 17h")
    assert (error.code, error.details) == (Code.MISSING_DAY, {"fragment": "de 14h à 17h"})
    error = refused("   ")
    assert (error.code, error.details) == (Code.UNPARSABLE, {"fragment": ""})
    error = refused(" , ")
    assert (error.code, error.details) == (Code.MISSING_TIME, {"fragment": ","})


def test_times_that_do_not_exist():
    error = refused("mardi 14h-24h")
    assert (error.code, error.details) == (Code.OUTSIDE_HOURS, {"fragment": "mardi 14h-24h"})
    for entry in ("mardi 14h-25h", "mardi 14h-17h60"):
        error = refused(entry)
        assert (error.code, error.details) == (Code.BAD_TIME, {"fragment": entry})
    assert str(refused("mardi 14h-25h")) == "bad_time: {'fragment': 'mardi 14h-25h'}"


def test_a_window_against_the_rules_is_refused_with_the_entry_and_the_window():
    error = refused("samedi 9h-10h")
    assert error.code is Code.WEEKEND and set(error.details) == {"fragment", "window"}
    assert error.details["fragment"] == "samedi 9h-10h" and error.details["window"].weekday == 5
    error = refused("mardi 17h-14h")
    assert error.code is Code.START_NOT_BEFORE_END and error.details["fragment"] == "mardi 17h-14h"


def test_an_empty_text_is_refused():
    for call in (parse_windows, read_windows):
        with pytest.raises(AvailabilityError) as caught:
            call("  \n ; ")
        assert (caught.value.code, caught.value.details) == (Code.UNPARSABLE, {"fragment": ";"})


def test_an_overlap_is_reported_with_its_line():
    reading = read_windows("mardi 9h-12h\nmardi 11h-13h")
    (line,) = reading.refused
    assert (line.number, line.text, line.error.code) == (2, "mardi 11h-13h", Code.OVERLAP)
    assert line.error.details["fragment"] == "mardi 11h-13h"
    assert line.error.details["window"] == WeeklyWindow(1, time(11), time(13))


@pytest.mark.parametrize(("entry", "date"), [
    ("mardi 8/12 de 14h à 17h", "8/12"),  # its numbers would be read as 8h-12h
    ("jeudi 10/12 14h-16h", "10/12"),
    ("lundi 14h-17h jusqu'au 10/12/2026", "10/12/2026"),
    ("lundi 10 décembre 9h-12h", "10 decembre"),
    ("Lundi 1er mars 9h-12h", "1er mars"),
])
def test_a_date_in_a_weekly_window_is_refused_not_read_as_hours(entry, date):
    error = refused(entry)
    assert (error.code, error.details) == (Code.DATE_IN_WINDOW, {"fragment": entry, "date": date})


def test_a_weekday_abbreviation_that_is_also_a_month_is_a_day():
    assert [w.weekday for w in parse_window_entry("mar 9h-12h")] == [1]
    assert parse_window_entry("mardi 9h-12h") == [WeeklyWindow(1, time(9), time(12))]


@pytest.mark.parametrize("entry", ["lun-mer-ven 9h-12h", "lundi - mercredi - vendredi 9h-12h", "du lundi au mercredi au vendredi 9h-12h"])
def test_a_chain_of_ranges_is_asked_about_not_read_as_the_whole_week(entry):
    assert refused(entry).code == Code.AMBIGUOUS_DAYS


def test_arrows_are_ranges_plus_and_ampersand_list_days_and_punctuation_is_left_out():
    assert [w.weekday for w in parse_window_entry("Lun→Ven 9h-12h")] == [0, 1, 2, 3, 4]
    assert [w.weekday for w in parse_window_entry("lun > mer 9h-12h")] == [0, 1, 2]
    assert [w.weekday for w in parse_window_entry("lundi & mardi 9h-12h")] == [0, 1]
    assert [w.weekday for w in parse_window_entry("lundi + jeudi 9h-12h")] == [0, 3]
    for entry in ("lundi : 9h-12h", "Lundi: 9h-12h", "lundi (9h-12h)", "lun. 9h-12h"):
        assert [w.weekday for w in parse_window_entry(entry)] == [0], entry
    assert [w.weekday for w in parse_window_entry("lun.-mer. 9h-12h")] == [0, 1, 2]
    assert refused("lundi au 9h-12h").code == Code.MISSING_DAY  # a range with no end day


def test_midi_next_to_a_dash_is_midday():
    assert parse_window_entry("lundi 9h-midi") == [WeeklyWindow(0, time(9), time(12))]
    assert parse_window_entry("lundi midi-14h") == [WeeklyWindow(0, time(12), time(14))]


def test_hours_written_in_words():
    assert parse_window_entry("le mardi de 14 à 17 heures") == [WeeklyWindow(1, time(14), time(17))]
    assert parse_window_entry("mercredi de 9 heures 30 à 11 heures") == [WeeklyWindow(2, time(9, 30), time(11))]


@pytest.mark.parametrize("text", [
    "lundi 9h-12h, mardi 14h-17h",
    "lundi 9h-12h et mardi 14h-17h",
    "1) lundi 9h-12h\n2) mardi 14h-17h",
    "1. lundi 9h-12h\n2. mardi 14h-17h",
    "- lundi 9h-12h\n• mardi 14h-17h",
    "Lundi 9h-12h, Mardi 14h-17h",
])
def test_several_windows_on_one_line_or_in_a_numbered_list(text):
    reading = read_windows(text)
    assert reading.added == (WeeklyWindow(0, time(9), time(12)), WeeklyWindow(1, time(14), time(17))) and not reading.refused


def test_a_comma_between_days_still_lists_days():
    assert [w.weekday for w in parse_windows("lundi, mardi 9h-12h")] == [0, 1]
    assert parse_windows("jeudi 9h-12h et 14h-16h") == [WeeklyWindow(3, time(9), time(12)), WeeklyWindow(3, time(14), time(16))]
