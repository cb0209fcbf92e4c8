"""When reminders are due: the pure rule behind the durable reminders.

A reminder is ``before`` ahead of an event (a meeting, later a deadline). Meeting reminders are
exact: "in one hour" must mean one hour. Deadline reminders are ``daytime_only``: one that would
fall at night in Paris moves into the day (see :func:`move_to_daytime`). Reminders already past
are skipped, e.g. the 24-hour reminder of a meeting booked for tomorrow morning by the tutor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from bot.domain.calendar import PARIS, require_aware

MIN_LEAD = timedelta(minutes=10)
"""A reminder due sooner than this after the event is created says nothing the confirmation did not."""

DAYTIME_START = time(8)
DAYTIME_END = time(20)


class ReminderKind(StrEnum):
    MEETING_24H = "meeting_24h"
    MEETING_1H = "meeting_1h"


@dataclass(frozen=True)
class ReminderRule:
    kind: str  # a ReminderKind, or a later kind ("deadline_7d"…): stored as text
    before: timedelta


@dataclass(frozen=True)
class DueReminder:
    kind: str
    due_utc: datetime


MEETING_REMINDERS: tuple[ReminderRule, ...] = (
    ReminderRule(ReminderKind.MEETING_24H, timedelta(hours=24)),
    ReminderRule(ReminderKind.MEETING_1H, timedelta(hours=1)),
)


def move_to_daytime(moment: datetime, deadline: datetime) -> datetime:
    """``moment`` if it falls between 08:00 and 20:00 Paris, else the next 08:00 Paris — or the
    previous 20:00 when the next morning would not come before ``deadline``. Returned in UTC."""
    local = require_aware(moment).astimezone(PARIS)
    if DAYTIME_START <= local.time() <= DAYTIME_END:
        return require_aware(moment)
    morning_day = local.date() if local.time() < DAYTIME_START else local.date() + timedelta(days=1)
    morning = datetime.combine(morning_day, DAYTIME_START, tzinfo=PARIS)
    if morning < deadline:
        return require_aware(morning)
    evening = datetime.combine(morning_day - timedelta(days=1), DAYTIME_END, tzinfo=PARIS)
    return require_aware(evening)


def reminder_times(
    start_utc: datetime,
    rules: Sequence[ReminderRule] = MEETING_REMINDERS,
    *,
    now: datetime,
    daytime_only: bool = False,
) -> list[DueReminder]:
    """When each reminder of the event starting at ``start_utc`` is due, in UTC, earliest first.

    Reminders whose time is already past at ``now``, or comes within :data:`MIN_LEAD` of it, are
    left out (not sent late, nor right after the confirmation).
    """
    start, now = require_aware(start_utc, "start_utc"), require_aware(now, "now")
    due: list[DueReminder] = []
    for rule in rules:
        moment = start - rule.before
        if daytime_only:
            moment = move_to_daytime(moment, start)
        if now + MIN_LEAD <= moment < start:
            due.append(DueReminder(rule.kind, moment))
    return sorted(due, key=lambda reminder: reminder.due_utc)
