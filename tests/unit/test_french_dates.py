"""The French date rules every reader of typed dates shares (``bot/domain/french_dates.py``), on
dates as people write them, and the three readers built on them agreeing on the same text."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.domain.accompaniment import Refusal, parse_dates
from bot.domain.availability import AvailabilityError
from bot.domain.broadcasts import BroadcastError, parse_when
from bot.domain.french_dates import DateProblem, WrittenDate, day_in_text, full_year, read_date, relative_days_as_dates
from bot.domain.french_words import fold
from bot.domain.meetings import parse_day_off

TODAY = date(2026, 12, 1)  # a Tuesday
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 9h in Paris
PARIS = ZoneInfo("Europe/Paris")

Code = DateProblem.Code


def problem(call) -> DateProblem:
    with pytest.raises(DateProblem) as caught:
        call()
    return caught.value


@pytest.mark.parametrize(("written", "expected"), [
    ("05/10/2027", date(2027, 10, 5)),
    ("5/10/27", date(2027, 10, 5)),
    ("5.10.27", date(2027, 10, 5)),
    ("5-10-2027", date(2027, 10, 5)),
    ("le 05 / 10 / 2027", date(2027, 10, 5)),
    ("10/12", date(2026, 12, 10)),
    ("1/12", date(2026, 12, 1)),  # today is the next such day
    ("15/10", date(2027, 10, 15)),  # passed more than a month ago: next year's
    ("5 janvier", date(2027, 1, 5)),
    ("mardi 5 janvier", date(2027, 1, 5)),
    ("Mardi 5 Janvier", date(2027, 1, 5)),
    ("1er mars 2027", date(2027, 3, 1)),
    ("1er fév", date(2027, 2, 1)),
    ("15 janv.", date(2027, 1, 15)),
    ("le 24\u00a0décembre", date(2026, 12, 24)),  # a no-break space, as phones type it
    ("24 DÉCEMBRE 2026", date(2026, 12, 24)),
    ("aujourd'hui", TODAY),
    ("aujourd’hui", TODAY),
    ("demain", date(2026, 12, 2)),
    ("après-demain", date(2026, 12, 3)),
    ("après demain", date(2026, 12, 3)),
    ("Après‑demain", date(2026, 12, 3)),  # a non-breaking hyphen
    ("mardi", TODAY),  # a weekday alone: the next one, today included
    ("vendredi", date(2026, 12, 4)),
    ("lundi prochain", date(2026, 12, 7)),
])
def test_a_day_in_a_sentence_as_people_write_it(written, expected):
    assert day_in_text(written, TODAY) == expected


def test_a_date_just_passed_is_refused_not_taken_as_next_years():
    refused = problem(lambda: day_in_text("30/11", TODAY))  # yesterday: a typo, not November 2027
    assert (refused.code, refused.day) == (Code.PASSED, date(2026, 11, 30))
    assert problem(lambda: day_in_text("le 2 novembre", TODAY)).code == Code.PASSED  # 29 days ago
    assert problem(lambda: day_in_text("31 octobre", TODAY)).code == Code.PASSED  # 31 days: still just passed
    assert day_in_text("30 octobre", TODAY) == date(2027, 10, 30)  # more than a month ago: next year's
    assert day_in_text("30/11/2027", TODAY) == date(2027, 11, 30)  # the year written: as written


@pytest.mark.parametrize(("written", "code", "day"), [
    ("31/04", Code.INVALID, None),
    ("29/02", Code.INVALID, None),  # neither 2027 nor, once passed, 2026 has one
    ("30 février 2027", Code.INVALID, None),
    ("lundi 5 janvier", Code.WEEKDAY_MISMATCH, date(2027, 1, 5)),  # a Tuesday
    ("demain lundi", Code.WEEKDAY_MISMATCH, date(2026, 12, 2)),  # a Wednesday
    ("bientôt", Code.NOT_UNDERSTOOD, None),
    ("le 5", Code.NOT_UNDERSTOOD, None),  # a day number needs its month
])
def test_what_is_refused_and_why(written, code, day):
    refused = problem(lambda: day_in_text(written, TODAY))
    assert (refused.code, refused.day, str(refused)) == (code, day, code.value)


def test_a_leap_day_is_the_next_one_that_exists():
    assert day_in_text("29/02", date(2027, 3, 1)) == date(2028, 2, 29)
    assert day_in_text("29 février", date(2028, 1, 10)) == date(2028, 2, 29)


def test_two_digit_years_are_this_century_and_four_digits_are_as_written():
    assert (full_year("27"), full_year("05"), full_year("2031"), full_year(None)) == (2027, 2005, 2031, None)


def test_a_chunk_is_a_date_only_if_it_is_nothing_else():
    assert read_date("24/12/2026") == WrittenDate(24, 12, 2026)
    assert read_date("3.11.26", weekday=1) == WrittenDate(3, 11, 2026, 1)
    assert read_date("1er janvier 2027") == WrittenDate(1, 1, 2027)
    assert read_date("21 decembre") == WrittenDate(21, 12, None)
    assert read_date("24/12-2026") is None  # one separator throughout
    assert read_date("21 au") is None  # "au" is no month
    assert read_date("21") is None


def test_a_date_without_its_month_takes_the_one_given_and_the_next_such_day():
    bare = WrittenDate(21, None, None)
    assert bare.next_from(TODAY, month=12) == date(2026, 12, 21)
    assert bare.next_from(date(2026, 12, 22), month=12) == date(2027, 12, 21)
    assert bare.in_year(2027, 1) == date(2027, 1, 21)
    assert WrittenDate(21, None, 2028).next_from(TODAY, month=3) == date(2028, 3, 21)  # its own year, the month given
    assert problem(lambda: bare.next_from(TODAY)).code == Code.INVALID  # still no month


def test_relative_days_are_written_as_their_dates_the_longest_word_first():
    assert relative_days_as_dates(fold("après-demain"), TODAY) == "3/12/2026"
    assert relative_days_as_dates(fold("demain et après demain"), TODAY) == "2/12/2026 et 3/12/2026"
    assert relative_days_as_dates(fold("Aujourd’hui"), TODAY) == "1/12/2026"
    assert relative_days_as_dates(fold("demainx"), TODAY) == "demainx"


# -- the three readers agree ---------------------------------------------------------------------

@pytest.mark.parametrize(("written", "expected"), [
    ("24/12/2026", date(2026, 12, 24)),
    ("10/12", date(2026, 12, 10)),
    ("3.1.27", date(2027, 1, 3)),
    ("lundi 4 janvier", date(2027, 1, 4)),
    ("1er mars", date(2027, 3, 1)),
    ("15 janv. 2027", date(2027, 1, 15)),
    ("15/10", date(2027, 10, 15)),
])
def test_a_broadcast_a_day_off_and_the_planning_read_one_date_alike(written, expected):
    assert parse_when(f"{written} 10h", now=NOW, timezone=PARIS).astimezone(PARIS).date() == expected
    assert parse_day_off(written, TODAY).first == expected
    assert parse_dates(written, TODAY) == [expected]


@pytest.mark.parametrize("written", ["31/04", "lundi 5 janvier", "29/02", "30/11"])
def test_a_broadcast_a_day_off_and_the_planning_refuse_one_date_alike(written):
    with pytest.raises(BroadcastError):
        parse_when(f"{written} 10h", now=NOW, timezone=PARIS)
    with pytest.raises(AvailabilityError):
        parse_day_off(written, TODAY)
    with pytest.raises(Refusal):
        parse_dates(written, TODAY)



# -- a day in a sentence (the planning), as people write it ---------------------------------------

TUESDAY = date(2026, 9, 15)


def test_relative_days_with_capitals_and_the_apostrophe_phones_type():
    assert day_in_text("après-demain", TUESDAY) == date(2026, 9, 17)
    assert day_in_text("Demain", TUESDAY) == date(2026, 9, 16)
    assert day_in_text("Aujourd’hui", TUESDAY) == TUESDAY


def test_a_weekday_alone_is_the_next_one_or_today():
    assert day_in_text("lundi", TUESDAY) == date(2026, 9, 21)
    assert day_in_text("Mardi", TUESDAY) == TUESDAY
    assert day_in_text("jeudi", TUESDAY) == date(2026, 9, 17)


def test_dates_with_narrow_or_non_breaking_spaces_and_the_words_of_the_file():
    assert day_in_text("5\u202foctobre", TUESDAY) == date(2026, 10, 5)
    assert day_in_text("1er\xa0mars 2027", TUESDAY) == date(2027, 3, 1)
    assert day_in_text("5 jan", TUESDAY) == date(2027, 1, 5)  # "jan": only in calendar_words.toml
    assert day_in_text("le 3 mar. 2027", TUESDAY) == date(2027, 3, 3)


def test_only_full_weekday_names_count_in_a_sentence():
    # "je", "ma", "sa" are words, not jeudi, mardi, samedi
    assert day_in_text("je voudrais le 5 octobre, sa date", TUESDAY) == date(2026, 10, 5)
    refused = problem(lambda: day_in_text("jeudi 5 octobre", TUESDAY))
    assert (refused.code, refused.day) == (Code.WEEKDAY_MISMATCH, date(2026, 10, 5))



# -- the rules behind each reading, case by case (what a one-line change to them would break) --------


def test_a_day_number_with_its_weekday_is_the_next_such_day_number():
    from bot.domain.french_dates import read_periods

    def day(text: str, today: date) -> date:
        (period,) = read_periods(text, today)
        return period.first

    assert day("mardi 1", TODAY) == TODAY  # today counts
    assert day("jeudi 31", TODAY) == date(2026, 12, 31)
    assert day("vendredi 1", date(2026, 12, 15)) == date(2027, 1, 1)  # over New Year
    assert day("mardi 1", date(2026, 11, 15)) == date(2026, 12, 1)  # passed this month: next month's
    assert day("jeudi 31", date(2026, 11, 15)) == date(2026, 12, 31)  # no 31 November
    assert day("mardi 30", date(2027, 2, 10)) == date(2027, 3, 30)  # no 30 February
    refused = problem(lambda: read_periods("lundi 3", TODAY))  # the 3rd is a Thursday: not January's
    assert (refused.code, refused.day) == (Code.WEEKDAY_MISMATCH, date(2026, 12, 3))
    assert [p.first for p in read_periods("lundi 7 et mardi 8", TODAY)] == [date(2026, 12, 7), date(2026, 12, 8)]


def test_the_start_of_a_period_is_the_last_such_day_before_its_end():
    assert WrittenDate(28, None, None).last_until(date(2027, 1, 2), month=1) == date(2026, 12, 28)
    assert WrittenDate(15, None, None).last_until(date(2027, 3, 10), month=3) == date(2027, 2, 15)
    assert WrittenDate(10, None, None).last_until(date(2027, 3, 10), month=3) == date(2027, 3, 10)  # the same day
    assert WrittenDate(10, 3, None).last_until(date(2027, 3, 10)) == date(2027, 3, 10)
    assert WrittenDate(29, 2, None).last_until(date(2029, 3, 1)) == date(2028, 2, 29)  # the last one that exists
    assert WrittenDate(5, None, 2027).last_until(date(2027, 6, 1), month=3) == date(2027, 3, 5)
    assert problem(lambda: WrittenDate(31, 4, None).last_until(date(2027, 6, 1))).code == Code.INVALID


def test_which_years_a_period_takes_from_what_is_written():
    from bot.domain.french_dates import Period, read_periods

    assert read_periods("du 21 décembre 2027 au 3 janvier", TODAY) == [Period(date(2027, 12, 21), date(2028, 1, 3), True)]
    assert read_periods("du 21 au 23 et le 31 décembre 2027", TODAY) == [
        Period(date(2027, 12, 21), date(2027, 12, 23), True), Period(date(2027, 12, 31), date(2027, 12, 31), True)]
    assert read_periods("jusqu'au 30/11/2027", TODAY) == [Period(TODAY, date(2027, 11, 30), True)]
    assert read_periods("jusqu'au 2 janvier et le 5 janvier", TODAY) == [
        Period(TODAY, date(2027, 1, 2), False), Period(date(2027, 1, 5), date(2027, 1, 5), False)]
    # a day without its month takes the next month written, never an earlier one
    assert [(p.first, p.last) for p in read_periods("le 4 février, du 1 au 3 et le 5 mars", TODAY)] == [
        (date(2027, 2, 4), date(2027, 2, 4)), (date(2027, 3, 1), date(2027, 3, 3)), (date(2027, 3, 5), date(2027, 3, 5))]
    assert read_periods("le 29 et le 30 novembre 2027", TODAY)[0].years_written  # the year written once counts


def test_the_minutes_and_the_part_of_the_day_of_a_moment():
    from bot.domain.french_dates import read_moment

    assert read_moment("demain 12h30 pm", TODAY)[1] == time(12, 30)  # noon is already the afternoon
    assert read_moment("demain 1h de l'après-midi", TODAY)[1] == time(13, 0)
    assert read_moment("lundi 9h", TODAY)[0] == date(2026, 12, 7)
    for text in ("demain 9h15 et quart", "demain 14h et demie et quart"):
        assert problem(lambda: read_moment(text, TODAY)).code == Code.TIME_INVALID, text
    refused = problem(lambda: read_moment("bientôt 9h", TODAY))
    assert (refused.code, refused.word) == (Code.NOT_UNDERSTOOD, "bientot")
    assert problem(lambda: read_moment("demain et après-demain 9h", TODAY)).code == Code.NOT_UNDERSTOOD  # two days
    passed = problem(lambda: read_moment("30/11 9h30", TODAY))
    assert (passed.code, passed.day, passed.at) == (Code.PASSED, date(2026, 11, 30), time(9, 30))


def test_a_leap_day_is_never_just_passed():
    from bot.domain.french_dates import just_passed

    assert not just_passed(date(2028, 2, 29), date(2027, 3, 1))
    assert just_passed(date(2027, 11, 30), TODAY) and not just_passed(date(2027, 10, 30), TODAY)


def test_a_weekday_after_the_end_of_a_period_checks_it_and_keeps_the_period():
    from bot.domain.french_dates import Period, read_periods

    assert read_periods("du 1/12 au 4/12 vendredi", TODAY) == [Period(TODAY, date(2026, 12, 4), False)]
    assert problem(lambda: read_periods("lundi 7/12 lundi", TODAY)).code == Code.NOT_UNDERSTOOD  # two weekdays
    assert problem(lambda: read_periods("lundi 45", TODAY)).code == Code.INVALID  # no month has a 45th


def test_until_a_day_number_with_its_weekday_runs_from_today():
    from bot.domain.french_dates import Period, read_periods

    assert read_periods("jusqu'au lundi 7", TODAY) == [Period(TODAY, date(2026, 12, 7), False)]
    assert problem(lambda: read_periods("jusqu'au 3 au 5 janvier", TODAY)).code == Code.NOT_UNDERSTOOD
