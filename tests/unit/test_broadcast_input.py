"""What staff type for a broadcast (audience, date and time, enrolment period), read as French is
written, and each refusal with the details its French explanation shows
(templates/broadcasts/problem.html)."""

from __future__ import annotations

import time as time_module
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.broadcasts import (
    MAX_AHEAD,
    Audience,
    AudienceKind,
    BroadcastError,
    EnrolmentPeriod,
    check_period,
    check_schedule,
    default_period,
    parse_period,
    parse_when,
    validate_message,
)
from bot.domain.semesters import Semester

PARIS = ZoneInfo("Europe/Paris")
TUESDAY = date(2026, 9, 15)


def error(call, *args, **kwargs) -> BroadcastError:
    with pytest.raises(BroadcastError) as caught:
        call(*args, **kwargs)
    assert str(caught.value) == caught.value.code  # logs show the code, never what was typed
    return caught.value


# -- audience ---------------------------------------------------------------------------------------


def test_audiences_as_staff_type_them():
    assert Audience.parse(" Semestre : 2026-s1 ") == Audience(AudienceKind.SEMESTER, "2026-S1")
    assert Audience.parse("TUTEURS") == Audience(AudienceKind.TUTORS)
    assert Audience.parse("certification: Conseiller en formation ").value == "Conseiller en formation"
    assert Audience.parse("certification:" + "x" * 200).value == "x" * 200


def test_an_unknown_audience_is_refused_with_what_was_typed():
    found = error(Audience.parse, "classe:3")
    assert (found.code, found.details) == ("audience_unknown", {"value": "classe:3"})
    found = error(Audience.parse, "tuteurs:Marc")  # no value for this audience
    assert (found.code, found.details) == ("audience_unknown", {"value": "tuteurs:Marc"})
    assert error(Audience.parse, None).details == {"value": None}


def test_an_audience_without_its_value_names_the_audience():
    found = error(Audience.parse, "semestre :  ")
    assert (found.code, found.details) == ("audience_value_missing", {"kind": "semestre"})


def test_a_semester_that_does_not_exist_is_refused_with_it():
    found = error(Audience.parse, "semestre:2026-S3")
    assert (found.code, found.details) == ("semester_invalid", {"value": "2026-S3"})


def test_a_certification_title_over_200_characters_is_refused_shortened():
    raw = "certification:" + "x" * 201
    found = error(Audience.parse, raw)
    assert (found.code, found.details) == ("audience_unknown", {"value": raw[:60]})


def test_broken_html_is_refused_with_telegrams_reason_without_its_prefix():
    found = error(validate_message, "<b>gras")
    assert (found.code, found.details) == ("html_broken", {"error": 'can\'t find end tag corresponding to start tag "b"'})


# -- a date and time -----------------------------------------------------------------------------------

NOW = datetime(2026, 9, 15, 6, 0, tzinfo=UTC)  # 8h in Paris


def test_a_time_alone_is_today():
    assert parse_when("9h", now=NOW, timezone=PARIS) == datetime(2026, 9, 15, 7, 0, tzinfo=UTC)
    assert parse_when("à 9h30", now=NOW, timezone=PARIS) == datetime(2026, 9, 15, 7, 30, tzinfo=UTC)
    assert parse_when("à partir de 23h59", now=NOW, timezone=PARIS) == datetime(2026, 9, 15, 21, 59, tzinfo=UTC)


@pytest.mark.parametrize("text", ["demain à 14 heures 30", "demain 14heures30", "demain à 14 h 30", "demain 14:30"])
def test_the_minutes_after_heures_are_kept(text):
    assert parse_when(text, now=NOW, timezone=PARIS) == datetime(2026, 9, 16, 12, 30, tzinfo=UTC)


def test_the_result_does_not_depend_on_the_servers_time_zone(monkeypatch):
    monkeypatch.setenv("TZ", "Pacific/Auckland")  # already 18 September there
    time_module.tzset()
    try:
        now = datetime(2026, 9, 17, 20, 0, tzinfo=UTC)  # 22h on 17 September in Paris
        moment = parse_when("23h", now=now, timezone=PARIS)
        assert moment == datetime(2026, 9, 17, 21, 0, tzinfo=UTC)
        assert moment.tzinfo == ZoneInfo("UTC")
    finally:
        monkeypatch.undo()
        time_module.tzset()


def test_a_time_refused_names_what_was_typed():
    for text in ("", "   "):
        assert error(parse_when, text, now=NOW, timezone=PARIS).details == {"text": text}
    found = error(parse_when, "lundi 5 octobre", now=NOW, timezone=PARIS)
    assert (found.code, found.details) == ("time_missing", {"text": "lundi 5 octobre"})
    for text in ("24h", "9h60"):
        found = error(parse_when, text, now=NOW, timezone=PARIS)
        assert (found.code, found.details) == ("time_invalid", {"text": text})


def test_the_schedule_must_be_after_now_and_within_max_ahead():
    found = error(check_schedule, NOW, now=NOW)
    assert (found.code, found.details) == ("in_past", {"when": NOW})
    check_schedule(NOW + MAX_AHEAD, now=NOW)
    found = error(check_schedule, NOW + MAX_AHEAD + timedelta(seconds=1), now=NOW)
    assert (found.code, found.details) == ("too_far", {"when": NOW + MAX_AHEAD + timedelta(seconds=1)})


# -- the enrolment period -------------------------------------------------------------------------------

S1, S2 = Semester(2026, 1), Semester(2026, 2)


def test_the_default_periods_are_the_seeds():
    assert default_period(S1) == EnrolmentPeriod(S1, date(2026, 10, 1), date(2026, 10, 31))
    assert default_period(S2) == EnrolmentPeriod(S2, date(2027, 2, 1), date(2027, 3, 31))


def test_a_period_of_one_day_on_the_years_bounds_is_accepted():
    assert check_period(S1, date(2026, 9, 1), date(2026, 9, 1)) == EnrolmentPeriod(S1, date(2026, 9, 1), date(2026, 9, 1))
    assert check_period(S2, date(2027, 8, 31), date(2027, 8, 31)).semester == S2


def test_a_reversed_period_is_refused_with_both_dates():
    found = error(check_period, S1, date(2026, 10, 31), date(2026, 10, 1))
    assert (found.code, found.details) == ("period_reversed", {"opens_on": date(2026, 10, 31), "closes_on": date(2026, 10, 1)})


def test_a_period_outside_the_academic_year_names_the_semester_and_year():
    for opens, closes in (
        (date(2026, 8, 31), date(2026, 10, 1)),
        (date(2026, 10, 1), date(2027, 9, 1)),
        (date(2027, 9, 1), date(2027, 9, 2)),
    ):
        found = error(check_period, S1, opens, closes)
        assert (found.code, found.details) == ("period_outside_year", {"semester": "2026-S1", "year": "2026-2027"})


def test_periods_as_staff_write_them():
    assert parse_period("du 1/10 au 31/10", S1) == EnrolmentPeriod(S1, date(2026, 10, 1), date(2026, 10, 31))
    assert parse_period("Du 1er octobre au 31 octobre au plus tard", S1).closes_on == date(2026, 10, 31)
    assert parse_period("du 1/09 au 30/09", S1) == EnrolmentPeriod(S1, date(2026, 9, 1), date(2026, 9, 30))
    assert parse_period("du 1er octobre jusqu’au 31 octobre", S1).closes_on == date(2026, 10, 31)
    assert parse_period("du 5/01 au 20/01", S1) == EnrolmentPeriod(S1, date(2027, 1, 5), date(2027, 1, 20))
    assert parse_period("15 janvier – 31 mars", S2) == EnrolmentPeriod(S2, date(2027, 1, 15), date(2027, 3, 31))


def test_a_period_not_understood_names_what_was_typed():
    for text in ("en octobre", None):
        found = error(parse_period, text, S1)
        assert (found.code, found.details) == ("period_not_understood", {"text": text})


@pytest.mark.parametrize(("text", "semester", "opens", "closes"), [
    ("du 1er au 31 octobre", S1, date(2026, 10, 1), date(2026, 10, 31)),  # the month written once
    ("du 1 au 31 octobre", S1, date(2026, 10, 1), date(2026, 10, 31)),
    ("1/10-31/10", S1, date(2026, 10, 1), date(2026, 10, 31)),  # no spaces around the dash
    ("01/10/2026-31/10/2026", S1, date(2026, 10, 1), date(2026, 10, 31)),
    ("du 15/12 au 15/01", S2, date(2026, 12, 15), date(2027, 1, 15)),  # over New Year, in the 2nd semester
    ("du 1er décembre au 15 janvier", S2, date(2026, 12, 1), date(2027, 1, 15)),
    ("du 1er février au 31 mars inclus", S2, date(2027, 2, 1), date(2027, 3, 31)),
])
def test_an_enrolment_period_as_staff_write_it(text, semester, opens, closes):
    assert parse_period(text, semester) == EnrolmentPeriod(semester, opens, closes)


def test_until_a_day_counts_from_today_in_either_semester():
    assert parse_period("jusqu'au 15/12", S2, today=date(2026, 12, 1)) == EnrolmentPeriod(
        S2, date(2026, 12, 1), date(2026, 12, 15))


def test_relative_days_in_a_period_count_from_today_not_from_september():
    assert parse_period("de demain au 31/10", S1, today=date(2026, 10, 5)) == EnrolmentPeriod(
        S1, date(2026, 10, 6), date(2026, 10, 31))


def test_a_period_typed_the_wrong_way_round_or_two_periods_are_refused():
    found = error(parse_period, "du 31/10 au 1/10", S1)
    assert (found.code, found.details) == ("period_reversed", {"opens_on": date(2026, 10, 31), "closes_on": date(2026, 10, 1)})
    found = error(parse_period, "du 1/10 au 31/10 et du 1/2 au 31/3", S1)
    assert found.code == "period_not_understood"
    assert error(parse_period, "le 1/10", S1).code == "period_not_understood"  # one day is no period



# -- a moment as staff write it (today: Tuesday 1 December 2026, 11h in Paris) ------------------------

TUESDAY_11H = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return parse_when(text, now=TUESDAY_11H, timezone=PARIS).astimezone(PARIS).replace(tzinfo=None)


@pytest.mark.parametrize(("text", "expected"), [
    ("demain à 14 heures 30", datetime(2026, 12, 2, 14, 30)),
    ("2 décembre à 3h de l'après-midi", datetime(2026, 12, 2, 15, 0)),  # the afternoon counts
    ("demain 7h du soir", datetime(2026, 12, 2, 19, 0)),
    ("2 décembre 2h pm", datetime(2026, 12, 2, 14, 0)),
    ("ce soir 8h", datetime(2026, 12, 1, 20, 0)),
    ("cet après-midi 3h", datetime(2026, 12, 1, 15, 0)),
    ("demain 9h du matin", datetime(2026, 12, 2, 9, 0)),
    ("demain 14h et demie", datetime(2026, 12, 2, 14, 30)),
    ("demain 9h et quart", datetime(2026, 12, 2, 9, 15)),
    ("demain midi", datetime(2026, 12, 2, 12, 0)),
    ("mardi prochain 14h", datetime(2026, 12, 8, 14, 0)),  # said on a Tuesday: not today
    ("la semaine prochaine mardi 14h", datetime(2026, 12, 8, 14, 0)),
    ("mercredi prochain 9h", datetime(2026, 12, 2, 9, 0)),
    ("mardi 14h", datetime(2026, 12, 1, 14, 0)),  # a weekday alone: today included
    ("jeu 9h", datetime(2026, 12, 3, 9, 0)),
    ("mer. 9h", datetime(2026, 12, 2, 9, 0)),
    ("sam. 5 déc. 10h", datetime(2026, 12, 5, 10, 0)),
    ("samedi 12 décembre 10h heure de Paris", datetime(2026, 12, 12, 10, 0)),
    ("le 24.12.2026 à 10h", datetime(2026, 12, 24, 10, 0)),
    ("vers 15h", datetime(2026, 12, 1, 15, 0)),
    ("2 décembre mercredi 9h", datetime(2026, 12, 2, 9, 0)),  # the weekday after its date
    ("demain soir 20h", datetime(2026, 12, 2, 20, 0)),
    ("mardi soir 8h", datetime(2026, 12, 1, 20, 0)),
    ("jeudi après-midi 15h", datetime(2026, 12, 3, 15, 0)),
    ("3h cet après midi", datetime(2026, 12, 1, 15, 0)),
    ("demain matin 9h", datetime(2026, 12, 2, 9, 0)),
    ("le 5 / 12 à 9h", datetime(2026, 12, 5, 9, 0)),
    ("le lundi 7 à 9h", datetime(2026, 12, 7, 9, 0)),  # a day number with its weekday
    ("14h30 le jeudi 3", datetime(2026, 12, 3, 14, 30)),
    ("05/12 - 9h", datetime(2026, 12, 5, 9, 0)),
    ("demain à 9h !", datetime(2026, 12, 2, 9, 0)),
    ("demain 9h (heure de Paris)", datetime(2026, 12, 2, 9, 0)),
    ("midi 10/12", datetime(2026, 12, 10, 12, 0)),  # not 12h10
    ("9h 15/12", datetime(2026, 12, 15, 9, 0)),
    ("9h précises demain", datetime(2026, 12, 2, 9, 0)),
])
def test_a_moment_as_staff_write_it(text, expected):
    assert at(text) == expected


@pytest.mark.parametrize(("text", "code", "word"), [
    ("2 décembre 3h de la nuit blanche", "date_not_understood", "la"),  # never left out: it could change the time
    ("15/12/2026 17h30 UTC", "date_not_understood", "UTC"),  # not read as Paris time; quoted as typed
    ("demain mardi 9h", "weekday_mismatch", None),  # tomorrow is a Wednesday
    ("lundi mardi 9h", "date_not_understood", None),
    ("demain", "time_missing", None),
    ("31/12 à minuit", "time_missing", None),  # the start or the end of the 31st? ask for an hour
    ("minuit ce soir", "time_missing", None),
    ("ce matin 20h", "time_invalid", None),  # the time is not in the part of the day
    ("cet après-midi 9h", "time_invalid", None),
    ("ce soir 9h du matin", "time_invalid", None),
    ("demain 9h30 et demie", "time_invalid", None),
    ("30/11 9h", "in_past", None),  # yesterday: not November 2027
    ("demain 25h", "time_invalid", None),
])
def test_a_moment_with_a_word_that_could_change_it_is_refused(text, code, word):
    found = error(parse_when, text, now=TUESDAY_11H, timezone=PARIS)
    assert (found.code, found.details.get("word")) == (code, word)
