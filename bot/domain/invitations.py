"""One-time invitation codes and the throttling of wrong guesses. Pure rules, no storage."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# No 0/O/1/I/L: codes are sometimes read aloud or copied by hand.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12
_CODE_RE = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str | None:
    """Accept the code as typed (spaces, dashes, lower case); None if it cannot be a code."""
    cleaned = re.sub(r"[\s-]", "", raw or "").upper()
    return cleaned if _CODE_RE.match(cleaned) else None


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


class RedeemProblem(StrEnum):
    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    THROTTLED = "throttled"
    ALREADY_BOUND = "already_bound"
    ACCOUNT_TAKEN = "account_taken"


class RedeemError(Exception):
    def __init__(self, problem: RedeemProblem, *, retry_after: timedelta | None = None) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.retry_after = retry_after


def check_redeemable(*, used_at: datetime | None, expires_at: datetime, now: datetime) -> None:
    if used_at is not None:
        raise RedeemError(RedeemProblem.USED)
    if expires_at <= now:
        raise RedeemError(RedeemProblem.EXPIRED)


@dataclass(frozen=True)
class ThrottlePolicy:
    """At most `max_failures` wrong codes per `window`; then the account waits `lockout`."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class ThrottleState:
    failures: int
    window_started_at: datetime
    locked_until: datetime | None = None

    def remaining_lock(self, now: datetime) -> timedelta | None:
        if self.locked_until is not None and self.locked_until > now:
            return self.locked_until - now
        return None

    def after_failure(self, now: datetime, policy: ThrottlePolicy) -> ThrottleState:
        if now - self.window_started_at > policy.window:
            failures, started = 1, now
        else:
            failures, started = self.failures + 1, self.window_started_at
        locked = now + policy.lockout if failures >= policy.max_failures else None
        return ThrottleState(failures=failures, window_started_at=started, locked_until=locked)

    @staticmethod
    def fresh(now: datetime) -> ThrottleState:
        return ThrottleState(failures=0, window_started_at=now)
