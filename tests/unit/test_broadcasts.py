"""Broadcast rules: audiences, message validation, French dates and times, the academic calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.broadcasts import (
    Audience,
    AudienceKind,
    BroadcastError,
    announcement_time,
    check_period,
    default_period,
    parse_period,
    parse_when,
    validate_message,
)
from bot.domain.semesters import Semester
from bot.telegram.rendering import Renderer

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 9, 15, 8, 0, tzinfo=UTC)  # Tuesday 15 September 2026, 10h Paris


def _code(call) -> str:
    with pytest.raises(BroadcastError) as info:
        call()
    return info.value.code


def test_audiences_parse_and_print():
    assert Audience.parse("auditeurs") == Audience(AudienceKind.AUDITEURS)
    assert Audience.parse("semestre:2026-s1").code == "semestre:2026-S1"
    assert Audience.parse("certification:Licence Gestion").value == "Licence Gestion"
    assert Audience.parse("TOUS").kind is AudienceKind.EVERYONE
    assert _code(lambda: Audience.parse("semestre")) == "audience_value_missing"
    assert _code(lambda: Audience.parse("semestre:2026")) == "semester_invalid"
    assert _code(lambda: Audience.parse("les copains")) == "audience_unknown"
    assert _code(lambda: Audience.parse("tuteurs:abc")) == "audience_unknown"


def test_messages_are_checked_like_telegram_does():
    assert validate_message("  <b>Bonjour</b> à tous  ") == "<b>Bonjour</b> à tous"
    assert _code(lambda: validate_message("   ")) == "message_empty"
    assert _code(lambda: validate_message("<b></b>")) == "message_empty"
    assert validate_message("", has_document=True) == ""  # a document without caption
    assert _code(lambda: validate_message("<b>gras")) == "html_broken"
    assert _code(lambda: validate_message("a < b")) == "html_broken"
    assert _code(lambda: validate_message("<script>x</script>")) == "html_broken"
    # the limit counts what the recipient sees, not the tags
    assert validate_message("<b>" + "x" * 4096 + "</b>")
    assert _code(lambda: validate_message("x" * 4097)) == "message_too_long"
    assert validate_message("é" * 1024, has_document=True)
    error = pytest.raises(BroadcastError, validate_message, "x" * 1025, has_document=True).value
    assert (error.code, error.details["length"], error.details["limit"]) == ("caption_too_long", 1025, 1024)


@pytest.mark.parametrize(
    ("text", "expected_paris"),
    [
        ("lundi 5 octobre 9h", datetime(2026, 10, 5, 9, 0)),
        ("05/10 à 9h30", datetime(2026, 10, 5, 9, 30)),
        ("5/10/2026 14:15", datetime(2026, 10, 5, 14, 15)),
        ("le 1er mars à 8 h", datetime(2027, 3, 1, 8, 0)),  # no year: the next 1 March
        ("demain 9h", datetime(2026, 9, 16, 9, 0)),
        ("aujourd'hui 18h", datetime(2026, 9, 15, 18, 0)),
        ("vendredi 17h", datetime(2026, 9, 18, 17, 0)),
        ("12 septembre 2027 10h", datetime(2027, 9, 12, 10, 0)),
        ("10/08 9h", datetime(2027, 8, 10, 9, 0)),  # 10 August has passed: next year (10/09, just passed, is refused)
        ("29 mars 2027 2h30", datetime(2027, 3, 29, 2, 30)),
    ],
)
def test_french_dates_and_times_in_paris(text, expected_paris):
    assert parse_when(text, now=NOW, timezone=PARIS) == expected_paris.replace(tzinfo=PARIS).astimezone(UTC)


def test_a_time_in_the_spring_gap_moves_forward():
    assert parse_when("28 mars 2027 2h30", now=NOW, timezone=PARIS).astimezone(PARIS).hour == 3


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "date_not_understood"),
        ("lundi 5 octobre", "time_missing"),
        ("bientôt 9h", "date_not_understood"),
        ("mardi 5 octobre 9h", "weekday_mismatch"),
        ("31/02 9h", "date_invalid"),
        ("05/10 25h", "time_invalid"),
        ("aujourd'hui 9h", "in_past"),
        ("1/09/2026 9h", "in_past"),
        ("5/10/2028 9h", "too_far"),
    ],
)
def test_bad_dates_are_refused_with_a_reason(text, code):
    assert _code(lambda: parse_when(text, now=NOW, timezone=PARIS)) == code


def test_enrolment_periods_and_announcement_time():
    s1, s2 = Semester(2026, 1), Semester(2026, 2)
    assert default_period(s1).opens_on == date(2026, 10, 1)
    assert default_period(s2).closes_on == date(2027, 3, 31)
    period = parse_period("du 1/10 au 31/10", s1)
    assert (period.opens_on, period.closes_on) == (date(2026, 10, 1), date(2026, 10, 31))
    period = parse_period("15 février - 15 mars", s2)
    assert (period.opens_on, period.closes_on) == (date(2027, 2, 15), date(2027, 3, 15))
    assert _code(lambda: check_period(s1, date(2026, 10, 31), date(2026, 10, 1))) == "period_reversed"
    assert _code(lambda: check_period(s1, date(2025, 10, 1), date(2025, 10, 31))) == "period_outside_year"
    assert _code(lambda: parse_period("octobre", s1)) == "period_not_understood"
    assert announcement_time(default_period(s1), PARIS) == datetime(2026, 10, 1, 7, 0, tzinfo=UTC)


def test_announcement_templates_name_the_dates():
    renderer = Renderer(timezone=PARIS)
    for semester in (Semester(2026, 1), Semester(2026, 2)):
        period = default_period(semester)
        text = renderer.render(period.template, period=period, semester=semester, year_label=semester.academic_year_label)
        validate_message(text)
        assert "2026-2027" in text
    assert "1er octobre 2026" in renderer.render("broadcasts/announcement_s1.html", period=default_period(Semester(2026, 1)),
                                               semester=Semester(2026, 1), year_label="2026-2027")
