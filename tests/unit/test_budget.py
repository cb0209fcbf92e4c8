from datetime import timedelta

import pytest

from bot.domain.availability import BookingSettings
from bot.domain.budget import (
    FIRST_MEETING,
    TUTORING_BUDGET,
    BudgetErrorCode as Code,
    MeetingStatus as Status,
    MeetingUsage,
    allowed_durations,
    check_budget,
    needs_first_meeting,
    remaining,
)

M30, M60 = timedelta(minutes=30), timedelta(minutes=60)


def usage(minutes: int, status: Status) -> MeetingUsage:
    return MeetingUsage(timedelta(minutes=minutes), status)


def test_budget_constants_match_the_offer() -> None:
    assert TUTORING_BUDGET == timedelta(hours=2)
    assert FIRST_MEETING == M30 == BookingSettings().first_meeting


def test_a_new_auditeur_may_only_book_the_30_minute_first_meeting() -> None:
    assert allowed_durations([]) == [M30]
    assert check_budget(M30, []) is None
    assert check_budget(M60, []) == Code.FIRST_MEETING_LENGTH
    assert remaining([]) == timedelta(hours=2)


def test_after_the_first_meeting_30_and_60_minutes_are_offered() -> None:
    for status in (Status.BOOKED, Status.HELD):
        history = [usage(30, status)]
        assert allowed_durations(history) == [M30, M60]
        assert remaining(history) == timedelta(minutes=90)
        assert check_budget(M60, history) is None


def test_booked_held_and_missed_count_cancelled_does_not() -> None:
    history = [usage(30, Status.HELD), usage(60, Status.MISSED), usage(60, Status.CANCELLED)]
    assert remaining(history) == M30
    assert allowed_durations(history) == [M30]
    assert check_budget(M60, history) == Code.EXCEEDS_REMAINING
    assert check_budget(M30, history) is None


def test_cancelling_gives_the_time_back() -> None:
    booked = [usage(30, Status.HELD), usage(60, Status.BOOKED), usage(30, Status.BOOKED)]
    assert remaining(booked) == timedelta(0)
    assert allowed_durations(booked) == []
    assert check_budget(M30, booked) == Code.BUDGET_EXHAUSTED
    cancelled = [usage(30, Status.HELD), usage(60, Status.CANCELLED), usage(30, Status.BOOKED)]
    assert remaining(cancelled) == M60
    assert allowed_durations(cancelled) == [M30, M60]


def test_a_missed_first_meeting_uses_its_time_and_must_be_rebooked_as_a_first_meeting() -> None:
    history = [usage(30, Status.MISSED)]
    assert needs_first_meeting(history)
    assert remaining(history) == timedelta(minutes=90)
    assert allowed_durations(history) == [M30]
    assert check_budget(M60, history) == Code.FIRST_MEETING_LENGTH


def test_a_cancelled_first_meeting_leaves_the_auditeur_at_the_start() -> None:
    history = [usage(30, Status.CANCELLED)]
    assert needs_first_meeting(history)
    assert allowed_durations(history) == [M30]
    assert remaining(history) == TUTORING_BUDGET


def test_budget_is_never_exceeded_even_after_manual_overbooking() -> None:
    history = [usage(30, Status.HELD), usage(60, Status.HELD), usage(60, Status.HELD)]
    assert remaining(history) == timedelta(0)
    assert allowed_durations(history) == []
    assert check_budget(M30, history) == Code.BUDGET_EXHAUSTED


def test_lengths_come_from_the_tutor_settings() -> None:
    settings = BookingSettings(durations=(timedelta(minutes=30), timedelta(minutes=45), timedelta(minutes=60)))
    history = [usage(30, Status.HELD), usage(30, Status.HELD)]
    assert allowed_durations(history, settings) == [M30, timedelta(minutes=45), M60]
    assert check_budget(timedelta(minutes=90), history, settings) == Code.BAD_DURATION
    assert check_budget(timedelta(minutes=45), history) == Code.BAD_DURATION  # not offered by default


@pytest.mark.parametrize("status", list(Status))
def test_every_status_is_classified(status: Status) -> None:
    expected = status is not Status.CANCELLED
    assert usage(30, status).counts is expected
