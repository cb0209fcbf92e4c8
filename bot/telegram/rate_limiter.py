"""Rate limiting by priority, on python-telegram-bot's ``BaseRateLimiter`` interface.

Three kinds of Bot API calls, three treatments:

* **Answers to button presses** (``answerCallbackQuery``) are never queued: Telegram forgets a
  query after about 15 s, and the spinner on the person's button is the first thing they see.
* **Proactive messages** come from the outbox sender (``rate_limit_args={"outbox": True}``) and are
  paced by the outbox's shared bucket, across instances; the sender handles their 429s itself.
  They are passed straight through here.
* **Replies** to the person who just wrote go out at once, drawing from a local bucket at
  Telegram's overall rate, so that a burst of people is served at the full rate without a storm
  of 429s. Every reply is counted: the sender subtracts them from the shared budget at its next
  claim, so replies go before proactive messages. A 429 pauses replies for ``retry_after`` and the
  call is retried — nothing is dropped — until ``max_wait`` in all has passed. A server error
  (5xx) or a request that never left is retried too, three times with a short backoff. A timeout
  or a dropped connection after the request left is retried once: the person may then get the
  answer twice, which is better than waiting for an answer that never comes.

python-telegram-bot's ``AIORateLimiter`` is not used: it queues callback answers behind everything
else, gives up after a fixed number of retries, and in 22.x ends a 429 pause early.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter, TelegramError
from telegram.ext import BaseRateLimiter

from bot.telegram.failures import certainly_not_delivered, may_resend

log = logging.getLogger(__name__)

NEVER_QUEUED = frozenset({"answerCallbackQuery", "answerCallbackquery", "answercallbackquery"})
SENDING = frozenset(
    m.lower()
    for m in (
        "sendMessage", "sendDocument", "sendPhoto", "editMessageText", "editMessageReplyMarkup", "editMessageCaption",
        "deleteMessage", "sendChatAction", "copyMessage", "forwardMessage",
    )
)


class _LocalBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()
        self.paused_until = 0.0
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                if now < self.paused_until:
                    await asyncio.sleep(self.paused_until - now)
                    continue
                self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


class PriorityRateLimiter(BaseRateLimiter[dict[str, Any]]):
    def __init__(self, *, replies_per_second: float = 30.0, burst: float = 30.0, max_wait: float = 60.0) -> None:
        self._rate = replies_per_second
        self._burst = burst
        self._max_wait = max_wait
        self._bucket: _LocalBucket | None = None
        self._sent_since_taken = 0

    async def initialize(self) -> None:
        self._bucket = _LocalBucket(self._rate, self._burst)

    async def shutdown(self) -> None:
        pass

    def take_sent_count(self) -> int:
        """Replies sent since the last call (the sender draws them from the shared budget)."""
        count, self._sent_since_taken = self._sent_since_taken, 0
        return count

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> Any:
        if endpoint in NEVER_QUEUED or (rate_limit_args or {}).get("outbox"):
            return await callback(*args, **kwargs)
        sending = endpoint.lower() in SENDING
        deadline = time.monotonic() + self._max_wait
        failures = 0
        uncertain = 0
        while True:
            if sending:
                if self._bucket is None:
                    await self.initialize()
                await self._bucket.take()
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as error:
                value = error.retry_after
                pause = value.total_seconds() if isinstance(value, timedelta) else float(value)
                if time.monotonic() + pause > deadline:
                    raise
                log.info("429 on %s: waiting %.1f s before retrying", endpoint, pause)
                if sending and self._bucket is not None:
                    self._bucket.paused_until = max(self._bucket.paused_until, time.monotonic() + pause)
                else:
                    await asyncio.sleep(pause)
                continue
            except TelegramError as error:
                failures += 1
                if not sending or failures > 3 or not may_resend(error):
                    raise
                if not certainly_not_delivered(error):
                    uncertain += 1
                    if uncertain > 1:
                        raise
                log.info("%s failed (%s): retry %d", endpoint, type(error).__name__, failures)
                await asyncio.sleep(0.3 * 2 ** (failures - 1))
                continue
            if sending:
                self._sent_since_taken += 1
            return result
