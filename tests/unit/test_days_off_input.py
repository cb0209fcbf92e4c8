"""Days off as tutors type them in /dispos, and each refusal with what the French message quotes
(``fragment``: the line as typed, ``word``: the word not understood, ``day``: the real date)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.availability import AvailabilityError, DayOff
from bot.domain.availability import AvailabilityErrorCode as Code
from bot.domain.meetings import parse_day_off

TODAY = date(2025, 12, 1)  # a Monday


def refused(text: str) -> AvailabilityError:
    with pytest.raises(AvailabilityError) as caught:
        parse_day_off(text, TODAY)
    return caught.value


def test_weekday_names_checked_against_each_date_of_a_period():
    assert parse_day_off("du lundi 22 décembre au vendredi 2 janvier", TODAY) == DayOff(date(2025, 12, 22), date(2026, 1, 2))
    assert parse_day_off("Mardi 23/12", TODAY) == DayOff(date(2025, 12, 23), date(2025, 12, 23))
    assert parse_day_off("du mercredi 24 au vendredi 26 décembre", TODAY) == DayOff(date(2025, 12, 24), date(2025, 12, 26))
    for text, real in (
        ("mercredi 23/12", date(2025, 12, 23)),
        ("du lundi 22 au lundi 26 décembre", date(2025, 12, 26)),
        ("lundi 23 décembre", date(2025, 12, 23)),
        ("du 22 décembre au lundi 2 janvier 2026", date(2026, 1, 2)),
    ):
        error = refused(text)
        assert (error.code, error.details) == (Code.WEEKDAY_MISMATCH, {"fragment": text, "day": real})


def test_a_year_given_at_the_end_of_a_period():
    assert parse_day_off("du 21 décembre 2025 au 3 janvier 2026", TODAY) == DayOff(date(2025, 12, 21), date(2026, 1, 3))
    assert parse_day_off("1er janvier 2026", TODAY) == DayOff(date(2026, 1, 1), date(2026, 1, 1))
    assert parse_day_off("du 2 au 3 janvier 2027", TODAY) == DayOff(date(2027, 1, 2), date(2027, 1, 3))


def test_words_between_commas_and_spaces_are_fine():
    assert parse_day_off("  le 24 décembre, ", TODAY) == DayOff(date(2025, 12, 24), date(2025, 12, 24))


def test_a_word_that_is_not_a_date_is_refused_and_named():
    error = refused("le 24 décembre matin")
    assert (error.code, error.details) == (Code.BAD_DAY_OFF, {"fragment": "le 24 décembre matin", "word": "matin"})
    error = refused("21 congés")
    assert (error.code, error.details) == (Code.BAD_DAY_OFF, {"fragment": "21 congés", "word": "conges"})
    error = refused("du 21 au 2026")  # a year needs a month
    assert (error.code, error.details) == (Code.BAD_DAY_OFF, {"fragment": "du 21 au 2026", "word": "au"})
    error = refused("du 21 au 23 2026")
    assert (error.code, error.details) == (Code.BAD_DAY_OFF, {"fragment": "du 21 au 23 2026"})


def test_a_stray_sign_is_refused_with_the_line():
    for text in ("24/12 !", "! 24/12", "24/12 + 25/12", "lundi"):
        error = refused(text)
        assert (error.code, error.details) == (Code.BAD_DAY_OFF, {"fragment": text})


def test_three_dates_or_none_are_refused():
    for text in ("24/12 25/12 26/12", "le"):
        error = refused(text)
        assert (error.code, error.details) == (Code.BAD_DAY_OFF, {"fragment": text})
