"""Staff alerts of the accompaniment: on which day, at 9h Paris on a working day, for whom, about what."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.domain.accompaniment import PlannedReminder, ReminderKind, first_meeting_alert, stalled_alert
from bot.domain.calendar import PARIS, HolidayCalendar

FRANCE = HolidayCalendar(school_zone="B")
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def paris(moment: datetime) -> datetime:
    return moment.astimezone(PARIS)


def test_no_first_meeting_two_weeks_after_binding_late_in_the_evening():
    # bound at 23h30 UTC on Friday 4 December 2026: already Saturday 5 December in Paris
    (alert,) = first_meeting_alert(datetime(2026, 12, 4, 23, 30, tzinfo=UTC), FRANCE, LONG_AGO)
    assert (alert.kind, alert.to) == (ReminderKind.STAFF_NO_FIRST_MEETING, "staff")
    # 14 days later is Saturday 19 December: the alert waits for Monday 21 December, 9h
    assert paris(alert.due_utc) == datetime(2026, 12, 21, 9, tzinfo=PARIS)


def test_a_stalled_accompaniment_is_told_to_staff_after_sixty_days_of_silence():
    # last move at 23h30 UTC on 8 October 2026: 9 October in Paris; 60 days later is Tuesday 8 December
    limit = date(2027, 8, 31)
    (alert,) = stalled_alert(datetime(2026, 10, 8, 23, 30, tzinfo=UTC), limit, FRANCE, LONG_AGO)
    assert alert == PlannedReminder(ReminderKind.STAFF_STALLED, datetime(2026, 12, 8, 8, tzinfo=UTC), "staff", about=limit)


def test_a_stalled_alert_on_a_weekend_comes_on_the_next_working_day():
    # 60 days after Saturday 10 October 2026 (Paris) is Wednesday 9 December; 45 days before a limit
    # of 20 January 2027 is Sunday 6 December: that one comes first, on Monday 7 December
    limit = date(2027, 1, 20)
    (alert,) = stalled_alert(datetime(2026, 10, 10, 10, tzinfo=UTC), limit, FRANCE, LONG_AGO)
    assert paris(alert.due_utc) == datetime(2026, 12, 7, 9, tzinfo=PARIS)
    assert alert.about == limit
    assert stalled_alert(datetime(2026, 10, 10, 10, tzinfo=UTC), limit, FRANCE, alert.due_utc) == []
    assert stalled_alert(datetime(2026, 10, 10, 10, tzinfo=UTC), limit, FRANCE, alert.due_utc - timedelta(seconds=1)) == [alert]
