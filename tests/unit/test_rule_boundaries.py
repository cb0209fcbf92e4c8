"""Boundaries of small rules: invitation throttling, the end of an accompaniment for data retention,
meeting links after a new video setting, stored annexes, an intermediate date's reminder."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.domain.accompaniment import intermediate_reminders
from bot.domain.calendar import HolidayCalendar
from bot.domain.deposit import Annex
from bot.domain.enrolment import name_key
from bot.domain.invitations import RedeemError, RedeemProblem, ThrottlePolicy, ThrottleState
from bot.domain.meetings import VideoMode, needs_new_link
from bot.domain.personal_data import EnrolmentSpan, accompaniment_end, semester_end

NOW = datetime(2026, 10, 5, 9, tzinfo=UTC)


def test_a_lock_is_over_at_its_end():
    state = ThrottleState(failures=5, window_started_at=NOW - timedelta(minutes=1), locked_until=NOW)
    assert state.remaining_lock(NOW) is None
    assert state.remaining_lock(NOW - timedelta(seconds=30)) == timedelta(seconds=30)


def test_a_failure_exactly_one_window_later_still_counts_in_it():
    policy = ThrottlePolicy()
    state = ThrottleState(failures=4, window_started_at=NOW)
    at_the_end = state.after_failure(NOW + policy.window, policy)
    assert (at_the_end.failures, at_the_end.window_started_at, at_the_end.locked_until) == (5, NOW, NOW + policy.window + policy.lockout)
    later = state.after_failure(NOW + policy.window + timedelta(seconds=1), policy)
    assert (later.failures, later.locked_until) == (1, None)


def test_a_redeem_error_says_its_problem_and_when_to_retry():
    error = RedeemError(RedeemProblem.MALFORMED, retry_after=timedelta(minutes=3))
    assert (str(error), error.problem, error.retry_after) == ("malformed", RedeemProblem.MALFORMED, timedelta(minutes=3))
    assert RedeemError(RedeemProblem.MALFORMED).retry_after is None


def test_an_active_enrolment_ends_with_its_semester_even_with_a_date_recorded():
    recorded = datetime(2026, 11, 2, tzinfo=UTC)
    assert accompaniment_end([EnrolmentSpan("2026-S1", active=True, ended_at=recorded)]) == semester_end("2026-S1")
    assert accompaniment_end([EnrolmentSpan("2026-S1", active=False, ended_at=recorded)]) == recorded
    assert accompaniment_end([EnrolmentSpan("2026-S1", active=False, ended_at=None)]) == semester_end("2026-S1")


def test_generated_rooms_keep_their_links_whatever_link_comes_with_the_setting():
    assert not needs_new_link("https://meet.example/abc", new_mode=VideoMode.GENERATE, new_link="https://visio.example/me", old_room=None)
    assert needs_new_link("https://visio.example/old", new_mode=VideoMode.GENERATE, new_link=None, old_room="https://visio.example/old")
    assert needs_new_link("https://meet.example/abc", new_mode=VideoMode.ROOM, new_link="https://visio.example/me", old_room=None)


def test_an_annex_stored_without_its_file_id_reads_back_empty():
    assert Annex.from_json({"title": "Grille", "pages": 2}) == Annex("", "Grille", 2)
    assert Annex.from_json({"file_id": "F1", "title": None, "pages": None}) == Annex("F1", "", 0)


def test_a_missing_name_has_an_empty_key():
    assert name_key(None) == "" == name_key("  ")
    assert name_key("Léa  BERNARD-Dupré") == "lea bernard dupre"


def test_an_intermediate_reminder_says_how_many_days_before():
    (reminder,) = intermediate_reminders([date(2026, 11, 10)], HolidayCalendar(school_zone="B"), NOW)
    assert (reminder.days, reminder.about) == (3, date(2026, 11, 10))


def test_out_of_the_field_needs_both_answers_no():
    from bot.domain.experience import relevant_question_ids

    assert relevant_question_ids({"functions": "no"}) == ("functions", "activities")  # not decided yet
    assert relevant_question_ids({"functions": "no", "activities": "no"}) == (
        "functions", "activities", "years_total", "entered_during_training",
    )


def test_editing_an_answer_unskips_it_and_a_blank_edit_clears_it():
    from bot.domain.coaching import SectionSession

    session = SectionSession(section_id="contexte", question_ids=("structure", "public"), skipped={"public"})
    session.edit("public", "  Des salariés en reconversion ")
    assert session.answers["public"] == ["Des salariés en reconversion"] and session.skipped == set()
    session.edit("structure", "   ")  # never answered: nothing to clear
    session.edit("public", "")
    assert "public" not in session.answers
