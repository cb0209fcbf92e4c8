"""Small rules used by the services only: windows stored as minutes, who has which command, the
invitation code's hash, a broadcast's estimated end."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.domain.availability import AvailabilityError, WeeklyWindow
from bot.domain.broadcasts import estimated_end
from bot.domain.capabilities import allowed
from bot.domain.invitations import hash_code
from bot.domain.meetings import minutes_of, window_from_minutes
from bot.domain.people import Role


def test_a_window_read_back_from_minutes():
    assert window_from_minutes(1, 9 * 60 + 30, 11 * 60 + 45) == WeeklyWindow(1, time(9, 30), time(11, 45))
    assert window_from_minutes(4, 17 * 60, 19 * 60) == WeeklyWindow(4, time(17), time(19))
    assert minutes_of(time(18, 15)) == 1095
    window = WeeklyWindow(2, time(8, 15), time(12))
    assert window_from_minutes(window.weekday, minutes_of(window.start), minutes_of(window.end)) == window
    with pytest.raises(AvailabilityError):
        window_from_minutes(5, 600, 660)  # a Saturday stored by mistake is still refused


def test_who_has_which_command():
    assert allowed(Role.TUTOR, "dispos") and not allowed(Role.AUDITEUR, "dispos")
    assert allowed(Role.AUDITEUR, "ressources") and allowed(Role.TUTOR, "ressources") and not allowed(Role.STAFF, "ressources")
    assert allowed(Role.STAFF, "diffuser") and not allowed(Role.TUTOR, "diffuser")
    assert not allowed(None, "aide")
    assert not allowed(Role.STAFF, "inconnue")


def test_only_the_codes_hash_is_kept():
    assert hash_code("ABCD-1234") == hashlib.sha256(b"ABCD-1234").hexdigest()
    assert len(hash_code("x")) == 64 and hash_code("x") != hash_code("X")


def test_a_broadcasts_estimated_end():
    now = datetime(2026, 10, 5, 9, tzinfo=UTC)
    assert estimated_end(280, 28, now) == now + timedelta(seconds=10)
    assert estimated_end(5, 0, now) == now + timedelta(seconds=50)  # a paused rate counts as 0.1 per second
    assert estimated_end(0, 28, now) == now
