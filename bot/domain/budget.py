"""The two-hour tutoring budget of an auditeur.

The offer is two hours of video calls per auditeur. The first one is the 30-minute "premier
rendez-vous" (step 2 of the accompaniment); later ones last 30 or 60 minutes. Booked, held and
missed meetings use the budget (a missed meeting is not given back); cancelled ones do not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from bot.domain.availability import BookingSettings

TUTORING_BUDGET = timedelta(hours=2)
FIRST_MEETING = timedelta(minutes=30)
_DEFAULT_SETTINGS = BookingSettings()


class MeetingStatus(StrEnum):
    BOOKED = "booked"
    HELD = "held"
    MISSED = "missed"
    CANCELLED = "cancelled"


COUNTED_STATUSES: frozenset[MeetingStatus] = frozenset(
    {MeetingStatus.BOOKED, MeetingStatus.HELD, MeetingStatus.MISSED}
)


class BudgetErrorCode(StrEnum):
    BUDGET_EXHAUSTED = "budget_exhausted"  # less than the shortest meeting is left
    EXCEEDS_REMAINING = "exceeds_remaining"  # a 60-minute meeting with 30 minutes left
    FIRST_MEETING_LENGTH = "first_meeting_length"  # the premier rendez-vous lasts 30 minutes
    BAD_DURATION = "bad_duration"  # not a length the tutor offers


@dataclass(frozen=True)
class MeetingUsage:
    """What the budget needs to know of one meeting of the auditeur."""

    duration: timedelta
    status: MeetingStatus

    @property
    def counts(self) -> bool:
        return self.status in COUNTED_STATUSES


def used(meetings: Iterable[MeetingUsage]) -> timedelta:
    return sum((m.duration for m in meetings if m.counts), timedelta(0))


def remaining(meetings: Iterable[MeetingUsage], budget: timedelta = TUTORING_BUDGET) -> timedelta:
    """Time left in the budget (never negative, even if staff booked beyond it by hand)."""
    return max(budget - used(meetings), timedelta(0))


def needs_first_meeting(meetings: Iterable[MeetingUsage]) -> bool:
    """True while no premier rendez-vous is booked or held.

    A missed first meeting uses its 30 minutes, but the premier rendez-vous still has to happen:
    the next booking is again a 30-minute first meeting.
    """
    return not any(m.status in (MeetingStatus.BOOKED, MeetingStatus.HELD) for m in meetings)


def allowed_durations(
    meetings_used: list[MeetingUsage],
    settings: BookingSettings = _DEFAULT_SETTINGS,
    budget: timedelta = TUTORING_BUDGET,
) -> list[timedelta]:
    """The meeting lengths the auditeur may book next, shortest first (empty: budget used up)."""
    left = remaining(meetings_used, budget)
    if needs_first_meeting(meetings_used):
        candidates: tuple[timedelta, ...] = (settings.first_meeting,)
    else:
        candidates = settings.durations
    return [length for length in candidates if length <= left]


def check_budget(
    duration: timedelta,
    meetings_used: list[MeetingUsage],
    settings: BookingSettings = _DEFAULT_SETTINGS,
    budget: timedelta = TUTORING_BUDGET,
) -> BudgetErrorCode | None:
    """None when a meeting of ``duration`` may be booked, else why not."""
    if duration not in settings.durations:
        return BudgetErrorCode.BAD_DURATION
    allowed = allowed_durations(meetings_used, settings, budget)
    if duration in allowed:
        return None
    if not allowed:
        return BudgetErrorCode.BUDGET_EXHAUSTED
    if needs_first_meeting(meetings_used) and duration != settings.first_meeting:
        return BudgetErrorCode.FIRST_MEETING_LENGTH
    return BudgetErrorCode.EXCEEDS_REMAINING
