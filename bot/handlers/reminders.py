"""The periodic job that sends due reminders (APScheduler through python-telegram-bot's job queue).

Features register a sender per reminder kind with :func:`sender`; a sender gets the claimed
reminder and the recipient and returns a :class:`Outcome`. :func:`dispatch_due` runs one pass
(tests call it directly instead of waiting for the job).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from enum import Enum

from telegram.ext import Application, ContextTypes

from bot.domain.people import PersonView
from bot.services.reminders import ClaimedReminder

log = logging.getLogger(__name__)


class Outcome(Enum):
    SENT = "sent"
    SKIPPED = "skipped"  # nothing to remind any more (event gone, recipient unreachable)


Sender = Callable[[Application, ClaimedReminder, PersonView], Awaitable[Outcome]]
SENDERS: dict[str, Sender] = {}
JOB_NAME = "reminders"


def sender(*kinds: str):
    def register(callback: Sender) -> Sender:
        for kind in kinds:
            SENDERS[str(kind)] = callback
        return callback

    return register


async def dispatch_due(application: Application) -> int:
    """Claim the due reminders and send them; returns how many were sent."""
    services = application.bot_data["services"]
    store = services.reminders
    claimed = await asyncio.to_thread(store.claim_due)
    sent = 0
    for reminder in claimed:
        callback = SENDERS.get(reminder.kind)
        try:
            person = await asyncio.to_thread(services.directory.get, reminder.person_id)
            if callback is None or person is None:
                reason = "no sender for this kind" if callback is None else "recipient unknown"
                await asyncio.to_thread(store.mark_skipped, reminder.id, reason)
                log.error("reminder %s (%s) skipped: %s", reminder.id, reminder.kind, reason)
                continue
            outcome = await callback(application, reminder, person)
        except Exception as error:  # noqa: BLE001 - recorded and retried, never lost silently
            log.exception("reminder %s (%s) failed", reminder.id, reminder.kind)
            await asyncio.to_thread(store.mark_failed, reminder.id, repr(error), attempts=reminder.attempts)
            continue
        if outcome is Outcome.SENT:
            await asyncio.to_thread(store.mark_sent, reminder.id)
            sent += 1
        else:
            await asyncio.to_thread(store.mark_skipped, reminder.id, "nothing to send")
    return sent


async def _job(context: ContextTypes.DEFAULT_TYPE) -> None:
    await dispatch_due(context.application)


def start_job(application: Application) -> None:
    """Schedule the dispatcher every ``settings.reminder_interval`` (from post_init)."""
    if application.job_queue is None:  # pragma: no cover - the job-queue extra is a dependency
        log.error("no job queue: reminders will not be sent")
        return
    interval = application.bot_data["services"].settings.reminder_interval.total_seconds()
    application.job_queue.run_repeating(_job, interval=interval, first=interval, name=JOB_NAME)
