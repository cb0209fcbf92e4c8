"""What a failed Bot API call means: retried, given up, or of unknown outcome.

Shared by the outbox sender (which records the verdict on the row) and the rate limiter (which
retries an answer to the person who just wrote when Telegram certainly did not get it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import httpx
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

DROP = "drop"
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError, httpx.WriteTimeout)


@dataclass(frozen=True)
class SendResult:
    state: str  # sent, retry, blocked, dead, unknown, skipped
    error: str | None = None
    message_id: int | None = None
    retry_in: timedelta | None = None


def _retry_after_seconds(error: RetryAfter) -> float:
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify(error: BaseException, on_uncertain: str) -> SendResult:
    """What a failed Bot API call means for the row (see the module docstring)."""
    if isinstance(error, RetryAfter):
        return SendResult("retry", f"429 retry after {_retry_after_seconds(error)} s",
                          retry_in=timedelta(seconds=_retry_after_seconds(error)))
    if isinstance(error, Forbidden):
        return SendResult("blocked", f"403 {error.message}"[:200])
    if isinstance(error, BadRequest):
        return SendResult("dead", f"400 {error.message}"[:300])
    if isinstance(error, (TimedOut, NetworkError)):
        cause = error.__cause__
        if cause is None and not isinstance(error, TimedOut):
            return SendResult("retry", f"Telegram error: {error.message}"[:300])  # an HTTP answer (5xx)
        if isinstance(cause, NOT_SENT):
            return SendResult("retry", f"not sent: {type(cause).__name__}")
        # the request left; Telegram may have processed it
        if on_uncertain == DROP:
            return SendResult("unknown", f"outcome unknown: {type(cause or error).__name__}")
        return SendResult("retry", f"outcome unknown, resending: {type(cause or error).__name__}")
    return SendResult("dead", f"{type(error).__name__}: {error}"[:300])




def certainly_not_delivered(error: BaseException) -> bool:
    """Telegram answered with a server error, or the request never left: safe to send again."""
    if isinstance(error, (RetryAfter, Forbidden, BadRequest)):
        return False
    if isinstance(error, TimedOut):
        return isinstance(error.__cause__, NOT_SENT)
    if isinstance(error, NetworkError):
        return error.__cause__ is None or isinstance(error.__cause__, NOT_SENT)
    return False


def may_resend(error: BaseException) -> bool:
    """A transport failure or a server error (not a refusal: 400, 403, 429 are handled apart)."""
    return isinstance(error, (TimedOut, NetworkError)) and not isinstance(error, (RetryAfter, Forbidden, BadRequest))
