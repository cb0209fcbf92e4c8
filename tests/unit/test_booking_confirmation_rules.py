"""Rules of the booking confirmation (topic, pending slot) and of a tutor's changes reaching booked meetings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.availability import DayOff
from bot.domain.meetings import (
    MAX_TOPIC_CHARS,
    MAX_TOPIC_LINES,
    PENDING_BOOKING_TTL,
    BookingError,
    BookingErrorCode,
    ConfirmationProblem,
    PendingBooking,
    VideoMode,
    check_confirmation,
    clean_topic,
    needs_new_link,
    on_days_off,
    pending_booking,
)

NOW = datetime(2026, 10, 19, 9, 0, tzinfo=UTC)
START = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (None, None),
        ("", None),
        ("   \n\t \u200b ", None),
        ("  mon   plan  ", "mon plan"),
        ("a\x00b\x07c", "a b c"),
        ("plan\r\n\r\n\r\nannexes", "plan\nannexes"),
        ("\u202eabc\u2066", "abc"),
        ("e\u0301tude", "étude"),  # NFC
        ("<b>gras</b>", "<b>gras</b>"),  # kept as typed: the templates escape it
    ],
)
def test_topics_are_cleaned(raw, clean):
    assert clean_topic(raw) == clean


def test_a_topic_keeps_at_most_six_lines_and_is_refused_past_the_limit_not_cut():
    assert clean_topic("\n".join("abcdefgh"[:8])) == "a\nb\nc\nd\ne\nf g h"
    assert len(clean_topic("\n".join("x" * 8)).split("\n")) == MAX_TOPIC_LINES
    assert clean_topic("x" * MAX_TOPIC_CHARS) == "x" * MAX_TOPIC_CHARS
    assert clean_topic(" " + "x" * MAX_TOPIC_CHARS + "  ") == "x" * MAX_TOPIC_CHARS  # counted once cleaned
    with pytest.raises(BookingError) as refused:
        clean_topic("x" * (MAX_TOPIC_CHARS + 1))
    assert refused.value.code == BookingErrorCode.TOPIC_TOO_LONG
    assert refused.value.details == {"length": MAX_TOPIC_CHARS + 1, "limit": MAX_TOPIC_CHARS}


def test_a_pending_booking_round_trips_and_bad_data_is_none():
    pending = pending_booking(30, START, NOW)
    assert pending.expires_utc == NOW + PENDING_BOOKING_TTL == NOW + timedelta(minutes=30)
    assert PendingBooking.from_data(pending.to_data()) == pending
    for bad in (None, {}, {"minutes": "x", "start": 1, "expires": 2}, {"minutes": 30, "start": 10**20, "expires": 1}):
        assert PendingBooking.from_data(bad) is None


def test_only_the_slot_waiting_and_still_fresh_is_confirmed():
    pending = pending_booking(30, START, NOW)
    assert check_confirmation(pending, 30, START, NOW) is None
    assert check_confirmation(pending, 30, START, pending.expires_utc - timedelta(seconds=1)) is None
    assert check_confirmation(pending, 30, START, pending.expires_utc) is ConfirmationProblem.EXPIRED
    assert check_confirmation(None, 30, START, NOW) is ConfirmationProblem.NOTHING_PENDING
    assert check_confirmation(pending, 60, START, NOW) is ConfirmationProblem.OTHER_SLOT
    assert check_confirmation(pending, 30, START + timedelta(minutes=30), NOW) is ConfirmationProblem.OTHER_SLOT


def test_a_meeting_falls_on_a_day_off_by_its_paris_date():
    days = [DayOff(date(2026, 10, 20), date(2026, 10, 21))]
    assert on_days_off(datetime(2026, 10, 20, 6, 0, tzinfo=UTC), days)  # 8h in Paris
    assert on_days_off(datetime(2026, 10, 21, 16, 0, tzinfo=UTC), days)  # the last day counts
    assert not on_days_off(datetime(2026, 10, 19, 21, 59, tzinfo=UTC), days)  # 23h59 the day before in Paris
    assert on_days_off(datetime(2026, 10, 19, 22, 0, tzinfo=UTC), days)  # midnight in Paris: the 20th
    assert not on_days_off(datetime(2026, 10, 22, 8, 0, tzinfo=UTC), days)
    assert not on_days_off(START, [])


def test_a_new_video_setting_decides_which_booked_meetings_change():
    room, other = "https://visio.example/marc", "https://visio.example/old"
    generated = "https://meet.jit.si/coachbot-Ab12Cd34Ef56Gh78"
    # a personal room: every meeting not on it moves to it
    assert needs_new_link(other, new_mode=VideoMode.ROOM, new_link=room, old_room=other)
    assert needs_new_link(generated, new_mode=VideoMode.ROOM, new_link=room, old_room=None)
    assert not needs_new_link(room, new_mode=VideoMode.ROOM, new_link=room, old_room=room)
    # generated rooms: only the meetings on the old personal room change; generated ones stay
    assert needs_new_link(other, new_mode=VideoMode.GENERATE, new_link=None, old_room=other)
    assert not needs_new_link(generated, new_mode=VideoMode.GENERATE, new_link=None, old_room=other)
    assert not needs_new_link(generated, new_mode=VideoMode.GENERATE, new_link=None, old_room=None)
