"""The sender: delivers outbox rows, paced, retried, in order per person, across restarts.

One asyncio task per instance (started in ``post_init``, stopped in ``post_shutdown``). It claims
due rows (``OutboxStore.claim``: the shared rate budget and per-person order are decided there),
sends each claimed row in its own task so that one slow send never holds up the others, and
records each outcome as soon as it is known. It wakes up when a transaction of this instance
commits outbox rows, and otherwise polls every ``poll_interval`` (rows written by other instances,
rows whose time has come).

What a failure means (the rule the outbox applies, per row):

====================================  =====================================================
Telegram answered 429 (retry_after)   retried after retry_after; every instance pauses that long
Telegram answered 5xx                 not delivered: retried with backoff
connection refused / connect timeout  not delivered: retried with backoff
timeout or connection lost after the  may have been delivered: ``on_uncertain`` decides —
request left                          "resend" (notifications: retried, a duplicate is
                                      possible) or "drop" (reminders, broadcasts: ``unknown``)
403 (blocked, deactivated)            the person is recorded as blocked; row ``blocked``
400 (bad request)                     permanent: row ``dead``, visible to staff
anything else (a bug)                 row ``dead``, logged with its traceback
====================================  =====================================================
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode
from telegram.ext import ExtBot

from bot.services.directory import Directory
from bot.services.outbox import Claimed, OutboxStore, Outcome
from bot.telegram.background import BackgroundThreads
from bot.telegram.failures import SendResult, classify
from bot.telegram.rendering import Renderer, split_message

log = logging.getLogger(__name__)

Preparer = Callable[[Claimed, datetime], Awaitable[dict[str, Any] | None]]
"""Refreshes a row's parameters just before sending (a reminder reloads its meeting); None: skip."""

Builder = Callable[[dict[str, Any], datetime], bytes]
"""Makes a document's content at send time from its parameters (a meeting's .ics)."""

Answered = Callable[[int, float], Awaitable[None]]
"""Waits (at most the seconds given) until no update of this chat is being handled in this
instance: the handler's answer goes first (``PerUserUpdateProcessor.until_answered``)."""

ANSWER_WAIT = 10.0  # seconds a message waits for the handler's answer to its recipient at most

OUTBOX_RATE_ARGS = {"outbox": True}  # tells the rate limiter the sender handles 429s itself


class EmailTransport(Protocol):
    async def send(self, *, to: str, subject: str, body: str) -> None: ...


def markup(rows: list[list[dict[str, str]]] | None) -> InlineKeyboardMarkup | None:
    """A stored keyboard as Telegram markup; None for no buttons (Telegram refuses an empty one)."""
    buttons = [[InlineKeyboardButton(**button) for button in row] for row in rows or [] if row]
    return InlineKeyboardMarkup(buttons) if buttons else None


class OutboxSender:
    def __init__(
        self,
        bot: ExtBot,
        store: OutboxStore,
        renderer: Renderer,
        directory: Directory,
        *,
        preparers: dict[str, Preparer] | None = None,
        builders: dict[str, Builder] | None = None,
        email: EmailTransport | None = None,
        clock: Callable[[], datetime],
        concurrency: int = 16,
        poll_interval: float = 0.5,
        reply_counter: Callable[[], int] | None = None,
        defaults: dict[str, Any] | None = None,
        answered: Answered | None = None,
    ) -> None:
        self._bot = bot
        self._store = store
        self._renderer = renderer
        self._directory = directory
        self._preparers = dict(preparers or {})
        self._builders = dict(builders or {})
        self._email = email
        self._clock = clock
        self._concurrency = concurrency
        self._poll_interval = poll_interval
        self._reply_counter = reply_counter or (lambda: 0)
        self._defaults = dict(defaults or {})  # template values every message gets (contacts)
        self._answered = answered
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._in_flight: set[asyncio.Task] = set()
        self._outcomes: list[tuple[Outcome, asyncio.Future]] = []
        self._recorder: asyncio.Task | None = None
        self._stopping = False
        self._threads = BackgroundThreads("outbox", workers=4)

    # lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            self._task = None
        if self._in_flight:  # let sends in flight finish and be recorded
            await asyncio.wait(self._in_flight, timeout=timeout)
        if self._recorder is not None and not self._recorder.done():
            await asyncio.wait({self._recorder}, timeout=timeout)
        await asyncio.to_thread(self._threads.shutdown)

    def wake(self) -> None:
        """Thread-safe: a transaction committed outbox rows."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._wake.set)
        except RuntimeError:  # the loop is shutting down
            pass

    # the loop ------------------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            try:
                wait = await self.pass_once()
            except Exception:  # noqa: BLE001 - database down: keep the loop alive, try again
                log.exception("outbox pass failed; retrying in %.1f s", self._poll_interval * 4)
                wait = self._poll_interval * 4
            if self._stopping:
                break
            if wait == 0:
                await asyncio.sleep(0)  # claimed something: claim again right away if room is left
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), wait)
            except asyncio.TimeoutError:
                pass

    async def pass_once(self) -> float:
        """Claim what fits and start sending it; returns how long to wait before the next pass
        (0: claim again now)."""
        free = self._concurrency - len(self._in_flight)
        if free <= 0:
            done, _ = await asyncio.wait(self._in_flight, timeout=self._poll_interval, return_when=asyncio.FIRST_COMPLETED)
            return 0 if done else self._poll_interval
        claimed, bucket_wait = await self._threads.call(self._store.claim, limit=free, reply_debt=self._reply_counter())
        for row in claimed:
            task = asyncio.create_task(self._deliver(row), name=f"outbox-{row.id}")
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        if claimed:
            return 0
        if bucket_wait:
            return min(bucket_wait, self._poll_interval)
        return self._poll_interval

    async def drain(self, timeout: float = 10.0) -> None:
        """Until nothing due is left unsent (tests and the demo)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if not self._in_flight and await self._threads.call(self._store.unfinished) == 0:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("outbox not drained")
            self._wake.set()
            await asyncio.sleep(0.02)

    # one row -------------------------------------------------------------------------------------

    async def _deliver(self, row: Claimed) -> None:
        try:
            result = await self._send(row)
        except Exception as error:  # noqa: BLE001 - recorded on the row; never lost silently
            result = classify(error, row.on_uncertain)
            if result.state == "dead":
                log.exception("outbox %s (%s) failed permanently", row.id, row.kind)
        if result.state == "retry" and result.retry_in is not None and result.error and result.error.startswith("429"):
            await self._threads.call(self._store.pause_all, self._store.wall_clock() + result.retry_in)
        if result.state == "blocked" and row.chat_id is not None and row.channel == "telegram":
            await self._threads.call(self._directory.set_blocked, row.chat_id, True)
        if result.state not in ("sent", "skipped"):
            log.info("outbox %s (%s) to person %s: %s (%s), attempt %d", row.id, row.kind, row.recipient_id,
                     result.state, result.error, row.attempts)
        await self._record(Outcome(row.id, result.state, result.error, result.message_id, result.retry_in, row.attempts))

    async def _record(self, outcome: Outcome) -> None:
        """Record an outcome; those arriving while a batch is being written go in the next batch
        (a group commit: at 30 messages/s, one database write per batch instead of one per message)."""
        future = asyncio.get_running_loop().create_future()
        self._outcomes.append((outcome, future))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._write_outcomes(), name="outbox-recorder")
        await future

    async def _write_outcomes(self) -> None:
        while self._outcomes:
            batch, self._outcomes = self._outcomes, []
            try:
                await self._threads.call(self._store.finish_many, [outcome for outcome, _ in batch])
            except Exception as error:  # noqa: BLE001 - each waiting send sees the failure
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

    async def _send(self, row: Claimed) -> SendResult:
        if self._answered is not None and row.channel == "telegram" and row.chat_id is not None:
            # before preparing: a reminder then sees what the update being handled changed (a cancellation)
            await self._answered(row.chat_id, ANSWER_WAIT)
        params = row.params
        preparer = self._preparers.get(row.kind)
        if preparer is not None:
            params = await preparer(row, self._clock())
            if params is None:
                return SendResult("skipped", "nothing to send any more")
        if row.channel == "email":
            return await self._send_email(row, params)
        person = await self._threads.call(self._directory.get, row.recipient_id) if row.recipient_id else None
        chat_id = person.telegram_user_id if person is not None else row.chat_id
        if chat_id is None:
            return SendResult("blocked", "not on Telegram")
        if person is not None and person.blocked:
            return SendResult("blocked", "has blocked the bot")
        values = {**self._defaults, **params, "now": self._clock()}
        message_id = None
        if row.text is not None or row.template is not None:
            text = row.text if row.text is not None else self._renderer.render(row.template, **values)
            chunks = split_message(text)
            keyboard = markup(row.keyboard)
            for index, chunk in enumerate(chunks):
                message = await self._bot.send_message(
                    chat_id, chunk, parse_mode=ParseMode.HTML, disable_web_page_preview=True,
                    reply_markup=keyboard if index == len(chunks) - 1 else None,
                    rate_limit_args=OUTBOX_RATE_ARGS, **self._send_options(row),
                )
                message_id = message.message_id
        if row.document is not None:
            message_id = await self._send_document(row, chat_id, values)
        return SendResult("sent", message_id=message_id)

    @staticmethod
    def _send_options(row: Claimed) -> dict[str, Any]:
        return {"allow_paid_broadcast": True} if row.options.get("paid_broadcast") else {}

    async def _send_document(self, row: Claimed, chat_id: int, values: dict[str, Any]) -> int:
        spec = row.document
        caption = spec.get("caption_text")
        if caption is None and spec.get("caption_template"):
            caption = self._renderer.render(spec["caption_template"], **{**values, **(spec.get("caption_params") or {})})
        content = row.document_content
        if spec.get("builder"):
            content = self._builders[spec["builder"]](spec.get("builder_params") or {}, self._clock())
        document = InputFile(content, filename=spec["filename"]) if content is not None else spec["file_id"]
        message = await self._bot.send_document(
            chat_id, document, caption=caption, parse_mode=ParseMode.HTML if caption else None,
            filename=spec["filename"] if content is None else None,
            rate_limit_args=OUTBOX_RATE_ARGS, **self._send_options(row),
        )
        return message.message_id

    async def _send_email(self, row: Claimed, params: dict[str, Any]) -> SendResult:
        if self._email is None:
            return SendResult("dead", "no SMTP server configured")
        body = row.text if row.text is not None else self._renderer.render(row.template, **{**self._defaults, **params})
        subject = row.subject_line
        if subject is None and body.startswith("Subject:"):
            first, _, body = body.partition("\n")
            subject = first.removeprefix("Subject:").strip()
            body = body.lstrip("\n")
        try:
            await self._email.send(to=row.email_to, subject=subject or "", body=body)
        except Exception as error:  # noqa: BLE001 - SMTP errors: transient unless refused or misconfigured
            permanent = bool(getattr(error, "permanent", False))
            return SendResult("dead" if permanent else "retry", f"SMTP: {type(error).__name__}: {error}"[:300])
        return SendResult("sent")
