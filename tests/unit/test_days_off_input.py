"""Days off as tutors type them in /dispos, and each refusal with what the French message quotes
(``fragment``: the line as typed, ``word``: the word not understood, ``day``: the real date)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.availability import AvailabilityError, DayOff
from bot.domain.availability import AvailabilityErrorCode as Code
from bot.domain.meetings import parse_day_off, parse_days_off, read_days_off

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
    assert (error.code, error.details) == (Code.BAD_DAY_OFF, {"fragment": "21 congés", "word": "congés"})  # as typed
    error = refused("du 21 au 2026")  # a year needs a month
    assert (error.code, error.details) == (Code.BAD_DAY_OFF, {"fragment": "du 21 au 2026", "word": "au"})
    error = refused("du 21 au 23 2026")
    assert (error.code, error.details) == (Code.BAD_DAY_OFF, {"fragment": "du 21 au 23 2026"})


def test_a_stray_sign_is_refused_with_the_line():
    for text in ("! 24/12", "24/12 + 25/12", "lundi", "24/12 ?"):
        error = refused(text)
        assert (error.code, error.details) == (Code.BAD_DAY_OFF, {"fragment": text})


def test_three_dates_or_none_are_refused():
    for text in ("24/12 25/12 26/12", "le"):
        error = refused(text)
        assert (error.code, error.details) == (Code.BAD_DAY_OFF, {"fragment": text})


# -- several days off on one line ------------------------------------------------------------------


def days(text: str) -> list[tuple[date, date]]:
    return [(d.first, d.last) for d in parse_days_off(text, TODAY)]


def one(day: date) -> tuple[date, date]:
    return (day, day)


@pytest.mark.parametrize(("text", "expected"), [
    ("24/12 et 31/12", [one(date(2025, 12, 24)), one(date(2025, 12, 31))]),  # two days, not the week between
    ("24/12, 31/12", [one(date(2025, 12, 24)), one(date(2025, 12, 31))]),
    ("24/12 31/12", [one(date(2025, 12, 24)), one(date(2025, 12, 31))]),
    ("le 24 et le 31 décembre", [one(date(2025, 12, 24)), one(date(2025, 12, 31))]),  # the month written once
    ("21, 22 et 23 décembre", [one(date(2025, 12, 21)), one(date(2025, 12, 22)), one(date(2025, 12, 23))]),
    ("lundi 22 et mardi 23 décembre", [one(date(2025, 12, 22)), one(date(2025, 12, 23))]),
    ("du 22 au 24 décembre et le 31/12", [(date(2025, 12, 22), date(2025, 12, 24)), one(date(2025, 12, 31))]),
    ("le 2 janvier et du 5 au 9 janvier", [one(date(2026, 1, 2)), (date(2026, 1, 5), date(2026, 1, 9))]),
    ("du 1er au 3 et du 5 au 7 janvier", [(date(2026, 1, 1), date(2026, 1, 3)), (date(2026, 1, 5), date(2026, 1, 7))]),
    ("24/12 - 31/12", [(date(2025, 12, 24), date(2025, 12, 31))]),  # a range word: one period
    ("du 24/12, au 31/12", [(date(2025, 12, 24), date(2025, 12, 31))]),
    ("21 et 22 décembre 2026", [one(date(2026, 12, 21)), one(date(2026, 12, 22))]),  # the year written once too
    ("les 24 et 31 décembre", [one(date(2025, 12, 24)), one(date(2025, 12, 31))]),
    ("le 24 / 12", [one(date(2025, 12, 24))]),
    ("mer. 24/12, jeu. 25/12", [one(date(2025, 12, 24)), one(date(2025, 12, 25))]),
    ("le 24/12.", [one(date(2025, 12, 24))]),
])
def test_dates_joined_by_a_comma_or_et_are_separate_days_and_by_au_a_period(text, expected):
    assert days(text) == expected


@pytest.mark.parametrize("text", ["du 1 au 3 au 5 janvier", "du 21 au", "24/12 au", "21 et 22", "24/12 et 30/02"])
def test_a_line_with_an_unfinished_period_or_a_bad_date_is_refused_whole(text):
    with pytest.raises(AvailabilityError) as caught:
        parse_days_off(text, TODAY)
    assert caught.value.code == Code.BAD_DAY_OFF and caught.value.details["fragment"] == text


def test_a_weekday_that_does_not_match_in_a_list_names_its_date():
    with pytest.raises(AvailabilityError) as caught:
        parse_days_off("mardi 23 et jeudi 23 décembre", TODAY)
    assert (caught.value.code, caught.value.details["day"]) == (Code.WEEKDAY_MISMATCH, date(2025, 12, 23))
    with pytest.raises(AvailabilityError) as caught:
        parse_days_off("du mardi 21 au 23 décembre", TODAY)  # the 21st is a Sunday: the bare day's weekday counts
    assert (caught.value.code, caught.value.details["day"]) == (Code.WEEKDAY_MISMATCH, date(2025, 12, 21))


def test_every_line_of_a_message_and_every_day_of_a_line():
    added, refused_lines = read_days_off("24/12 et 31/12\ndu 1 au 3 au 5 janvier\n2/1", TODAY)
    assert [(d.first, d.last) for d in added] == [one(date(2025, 12, 24)), one(date(2025, 12, 31)), one(date(2026, 1, 2))]
    assert [(r.number, r.text) for r in refused_lines] == [(2, "du 1 au 3 au 5 janvier")]


def test_today_tomorrow_and_the_day_after_are_days_off_too():
    assert days("demain") == [one(date(2025, 12, 2))]
    assert days("aujourd’hui et après-demain") == [one(TODAY), one(date(2025, 12, 3))]
    assert days("Après demain") == [one(date(2025, 12, 3))]
    assert days("de demain au 5/12") == [(date(2025, 12, 2), date(2025, 12, 5))]
    with pytest.raises(AvailabilityError) as caught:
        parse_days_off("lundi demain", TODAY)  # tomorrow is a Tuesday
    assert (caught.value.code, caught.value.details["day"]) == (Code.WEEKDAY_MISMATCH, date(2025, 12, 2))


# -- which years, when none is written (today: Monday 1 December 2025) -------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("du 21 au 3 janvier", (date(2025, 12, 21), date(2026, 1, 3))),  # the day before the month: December
    ("du 28 au 2/1", (date(2025, 12, 28), date(2026, 1, 2))),
    ("du 28/11 au 3/12", (date(2025, 11, 28), date(2025, 12, 3))),  # begun last week: this week still counts
    ("du 21 décembre au 3 janvier", (date(2025, 12, 21), date(2026, 1, 3))),
    ("du 5 au 9 janvier", (date(2026, 1, 5), date(2026, 1, 9))),
])
def test_a_period_ends_on_the_next_such_day_and_starts_on_the_last_one_before(text, expected):
    assert days(text) == [expected]


@pytest.mark.parametrize(("text", "first", "last"), [
    ("du 4/12 au 2/12", date(2024, 12, 4), date(2025, 12, 2)),  # reversed: read as nearly a year
    ("du 21 décembre au 3 décembre", date(2024, 12, 21), date(2025, 12, 3)),
    ("jusqu'au 30/11", date(2025, 12, 1), date(2026, 11, 30)),
    ("du 1er février au 31 octobre", date(2026, 2, 1), date(2026, 10, 31)),
])
def test_more_than_six_months_without_years_asks_for_them(text, first, last):
    error = refused(text)
    assert (error.code, error.details) == (Code.LONG_WITHOUT_YEARS, {"fragment": text, "first": first, "last": last})


def test_the_years_written_confirm_a_long_absence():
    assert days("du 1/2/2026 au 31/10/2026") == [(date(2026, 2, 1), date(2026, 10, 31))]
    assert days("du 1er février 2026 au 31 octobre") == [(date(2026, 2, 1), date(2026, 10, 31))]
