from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.calendar import PARIS
from bot.domain.reminders import (
    MEETING_REMINDERS,
    DueReminder,
    ReminderKind,
    ReminderRule,
    move_to_daytime,
    reminder_times,
)

MEETING = datetime(2026, 3, 31, 9, tzinfo=PARIS)  # Tuesday 09:00 Paris = 07:00 UTC


def test_meeting_reminders_24h_and_1h_before() -> None:
    due = reminder_times(MEETING.astimezone(UTC), now=datetime(2026, 3, 20, tzinfo=UTC))
    assert due == [
        DueReminder(ReminderKind.MEETING_24H, datetime(2026, 3, 30, 7, tzinfo=UTC)),
        DueReminder(ReminderKind.MEETING_1H, datetime(2026, 3, 31, 6, tzinfo=UTC)),
    ]
    assert [r.kind for r in due] == ["meeting_24h", "meeting_1h"]


def test_meeting_reminders_stay_exact_even_at_night() -> None:
    early = datetime(2026, 3, 31, 8, tzinfo=PARIS)  # the 1 h reminder falls at 07:00 Paris
    due = reminder_times(early, now=datetime(2026, 3, 20, tzinfo=UTC))
    assert due[-1].due_utc.astimezone(PARIS) == datetime(2026, 3, 31, 7, tzinfo=PARIS)


def test_reminders_already_past_are_skipped() -> None:
    now = MEETING - timedelta(hours=5)
    one_hour_before = (MEETING - timedelta(hours=1)).astimezone(UTC)
    assert reminder_times(MEETING, now=now) == [DueReminder(ReminderKind.MEETING_1H, one_hour_before)]
    assert reminder_times(MEETING, now=MEETING - timedelta(minutes=30)) == []
    assert reminder_times(MEETING, now=MEETING + timedelta(days=1)) == []


def test_reminders_are_returned_in_utc_earliest_first() -> None:
    rules = (ReminderRule("meeting_1h", timedelta(hours=1)), ReminderRule("meeting_24h", timedelta(hours=24)))
    due = reminder_times(MEETING, rules, now=datetime(2026, 3, 1, tzinfo=UTC))
    assert [r.kind for r in due] == ["meeting_24h", "meeting_1h"]
    assert all(r.due_utc.tzinfo is UTC for r in due)


DEADLINE_RULES = (ReminderRule("deadline_3d", timedelta(days=3)), ReminderRule("deadline_12h", timedelta(hours=12)))


def test_deadline_reminders_at_night_move_to_the_next_morning() -> None:
    deadline = datetime(2026, 6, 15, 2, tzinfo=PARIS)  # 3 days before: 02:00 Paris
    due = reminder_times(deadline, DEADLINE_RULES, now=datetime(2026, 6, 1, tzinfo=UTC), daytime_only=True)
    assert [r.due_utc.astimezone(PARIS) for r in due] == [
        datetime(2026, 6, 12, 8, tzinfo=PARIS),
        datetime(2026, 6, 14, 14, tzinfo=PARIS),  # 14:00: already daytime, unchanged
    ]


def test_deadline_reminder_late_in_the_evening_moves_to_the_next_morning() -> None:
    deadline = datetime(2026, 6, 18, 22, 30, tzinfo=PARIS)
    due = reminder_times(deadline, DEADLINE_RULES[:1], now=datetime(2026, 6, 1, tzinfo=UTC), daytime_only=True)
    assert due[0].due_utc.astimezone(PARIS) == datetime(2026, 6, 16, 8, tzinfo=PARIS)


def test_a_night_reminder_whose_morning_is_too_late_moves_to_the_evening_before() -> None:
    deadline = datetime(2026, 6, 15, 7, tzinfo=PARIS)  # 3 h before: 04:00, and 08:00 is past the deadline
    rules = (ReminderRule("deadline_3h", timedelta(hours=3)),)
    due = reminder_times(deadline, rules, now=datetime(2026, 6, 1, tzinfo=UTC), daytime_only=True)
    assert due[0].due_utc.astimezone(PARIS) == datetime(2026, 6, 14, 20, tzinfo=PARIS)


def test_daytime_is_judged_in_paris_time_across_dst() -> None:
    # 07:30 UTC is 08:30 Paris in winter (daytime) but 09:30 in summer; 06:30 UTC is 07:30 in winter (night).
    later = datetime(2026, 4, 30, tzinfo=UTC)
    assert move_to_daytime(datetime(2026, 3, 27, 7, 30, tzinfo=UTC), later) == datetime(2026, 3, 27, 7, 30, tzinfo=UTC)
    moved = move_to_daytime(datetime(2026, 3, 27, 6, 30, tzinfo=UTC), later)
    assert moved == datetime(2026, 3, 27, 7, tzinfo=UTC)  # 08:00 Paris (UTC+1)
    moved = move_to_daytime(datetime(2026, 3, 30, 5, 30, tzinfo=UTC), later)
    assert moved == datetime(2026, 3, 30, 6, tzinfo=UTC)  # 08:00 Paris (UTC+2)


def test_boundaries_of_daytime() -> None:
    later = datetime(2026, 12, 31, tzinfo=UTC)
    eight = datetime(2026, 6, 10, 8, tzinfo=PARIS)
    twenty = datetime(2026, 6, 10, 20, tzinfo=PARIS)
    assert move_to_daytime(eight, later) == eight
    assert move_to_daytime(twenty, later) == twenty
    assert move_to_daytime(twenty + timedelta(minutes=1), later) == datetime(2026, 6, 11, 8, tzinfo=PARIS)


def test_default_rules_are_24h_and_1h() -> None:
    assert [(r.kind, r.before) for r in MEETING_REMINDERS] == [
        ("meeting_24h", timedelta(hours=24)),
        ("meeting_1h", timedelta(hours=1)),
    ]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        reminder_times(datetime(2026, 3, 31, 9), now=datetime(2026, 3, 1, tzinfo=UTC))


def test_a_reminder_due_right_after_booking_is_left_out():
    booked_at = MEETING - timedelta(hours=24, minutes=5)  # the 24-hour reminder would follow the confirmation
    assert [r.kind for r in reminder_times(MEETING, now=booked_at)] == [ReminderKind.MEETING_1H]
    assert len(reminder_times(MEETING, now=MEETING - timedelta(hours=24, minutes=10))) == 2
