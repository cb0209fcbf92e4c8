from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.invitations import (
    CODE_LENGTH,
    RedeemError,
    RedeemProblem,
    ThrottlePolicy,
    ThrottleState,
    check_redeemable,
    new_code,
    normalise_code,
)
from bot.domain.semesters import Semester, SemesterError, enrolment_choices

NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)


def test_codes_are_unique_readable_and_normalised():
    codes = {new_code() for _ in range(500)}
    assert len(codes) == 500
    code = codes.pop()
    assert len(code) == CODE_LENGTH and not set(code) & set("01OIL")
    assert normalise_code(f" {code[:4].lower()}-{code[4:8]} {code[8:]} ") == code
    assert normalise_code("bonjour") is None and normalise_code("") is None


def test_used_and_expired_codes():
    with pytest.raises(RedeemError) as used:
        check_redeemable(used_at=NOW, expires_at=NOW + timedelta(days=1), now=NOW)
    assert used.value.problem is RedeemProblem.USED
    with pytest.raises(RedeemError) as expired:
        check_redeemable(used_at=None, expires_at=NOW, now=NOW)
    assert expired.value.problem is RedeemProblem.EXPIRED
    check_redeemable(used_at=None, expires_at=NOW + timedelta(seconds=1), now=NOW)


def test_throttle_locks_after_five_failures_in_the_window_and_forgets_old_ones():
    policy = ThrottlePolicy()
    state = ThrottleState.fresh(NOW)
    for minute in range(4):
        state = state.after_failure(NOW + timedelta(minutes=minute), policy)
        assert state.remaining_lock(NOW + timedelta(minutes=minute)) is None
    state = state.after_failure(NOW + timedelta(minutes=4), policy)
    assert state.remaining_lock(NOW + timedelta(minutes=5)) == timedelta(minutes=14)
    assert state.remaining_lock(NOW + timedelta(minutes=20)) is None
    later = ThrottleState(3, NOW).after_failure(NOW + timedelta(hours=1), policy)
    assert later.failures == 1


def test_semesters():
    assert Semester.parse("2026-S1") == Semester(2026, 1)
    assert Semester.parse(" 2026 s2 ").code == "2026-S2"
    assert Semester.containing(datetime(2026, 10, 5).date()) == Semester(2026, 1)
    assert Semester.containing(datetime(2027, 1, 15).date()) == Semester(2026, 1)
    assert Semester.containing(datetime(2027, 3, 1).date()) == Semester(2026, 2)
    assert Semester(2026, 1).enrolment_months == (10,) and Semester(2026, 2).enrolment_months == (2, 3)
    assert Semester(2026, 2).plus(2) == Semester(2027, 2)
    assert [s.code for s in enrolment_choices(datetime(2026, 11, 24).date())] == ["2026-S1", "2026-S2", "2027-S1"]
    for bad in ("2026", "S1", "2026-S3", "1999-S1", ""):
        with pytest.raises(SemesterError):
            Semester.parse(bad)
