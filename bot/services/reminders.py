"""Durable reminders: scheduled in the caller's transaction, claimed once, sent, recorded.

Any feature schedules reminders with :func:`schedule` inside the transaction that creates the event
they belong to, and cancels them with :func:`cancel_for` inside the one that cancels it, so an
event and its reminders never disagree. The periodic job (``bot/handlers/reminders.py``) calls
:meth:`ReminderStore.claim_due`, sends each claimed reminder, then :meth:`mark_sent` or
:meth:`mark_failed`.

Claiming is a conditional UPDATE (``state = 'pending'`` -> ``'sending'``) checked by its rowcount,
so among several instances on one database exactly one wins each row, on SQLite and PostgreSQL
alike. A claim older than ``stale_after`` (an instance died mid-send) is released back to pending.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.domain.reminders import DueReminder
from bot.storage.db import Database
from bot.storage.models import Reminder, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_DELAY = timedelta(minutes=2)
STALE_CLAIM = timedelta(minutes=5)


@dataclass(frozen=True)
class ClaimedReminder:
    id: int
    person_id: int
    kind: str
    subject_type: str
    subject_id: int
    due_at: datetime
    attempts: int
    payload: dict[str, Any] = field(default_factory=dict)


def schedule(
    session: Session,
    *,
    person_id: int,
    subject_type: str,
    subject_id: int,
    reminders: Iterable[DueReminder],
    expires_at: datetime | None = None,
    payload: dict[str, Any] | None = None,
) -> int:
    """Add pending reminders in the caller's transaction; returns how many."""
    count = 0
    for due in reminders:
        session.add(
            Reminder(
                person_id=person_id,
                kind=str(due.kind),
                subject_type=subject_type,
                subject_id=subject_id,
                due_at=due.due_utc,
                next_attempt_at=due.due_utc,
                expires_at=expires_at,
                payload=dict(payload or {}),
                state="pending",
            )
        )
        count += 1
    return count


def cancel_for(session: Session, subject_type: str, subject_id: int) -> int:
    """Cancel every reminder not yet sent of one event, in the caller's transaction."""
    return session.execute(
        update(Reminder)
        .where(
            Reminder.subject_type == subject_type,
            Reminder.subject_id == subject_id,
            Reminder.state == "pending",
        )
        .values(state="cancelled")
    ).rowcount


def instance_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class ReminderStore:
    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow, instance: str | None = None) -> None:
        self._db = db
        self._clock = clock
        self.instance = instance or instance_name()

    def claim_due(self, *, limit: int = 50, stale_after: timedelta = STALE_CLAIM) -> list[ClaimedReminder]:
        """Claim up to ``limit`` due reminders for this instance (each row is won by one instance only)."""
        now = self._clock()
        with self._db.transaction() as session:
            released = session.execute(
                update(Reminder)
                .where(Reminder.state == "sending", Reminder.claimed_at < now - stale_after)
                .values(state="pending", claimed_by=None, claimed_at=None)
            ).rowcount
            if released:
                log.warning("released %d stale reminder claims", released)
            candidates = session.scalars(
                select(Reminder.id)
                .where(Reminder.state == "pending", Reminder.next_attempt_at <= now)
                .order_by(Reminder.next_attempt_at, Reminder.id)
                .limit(limit)
            ).all()
        claimed: list[ClaimedReminder] = []
        for reminder_id in candidates:
            with self._db.transaction() as session:
                won = session.execute(
                    update(Reminder)
                    .where(Reminder.id == reminder_id, Reminder.state == "pending")
                    .values(state="sending", claimed_by=self.instance, claimed_at=now, attempts=Reminder.attempts + 1)
                ).rowcount
                if won != 1:
                    continue  # another instance got it first
                row = session.get(Reminder, reminder_id)
                if row.expires_at is not None and row.expires_at <= now:
                    row.state = "expired"
                    row.last_error = "too late to be useful"
                    log.warning("reminder %s (%s) expired before it could be sent", row.id, row.kind)
                    continue
                claimed.append(
                    ClaimedReminder(
                        id=row.id,
                        person_id=row.person_id,
                        kind=row.kind,
                        subject_type=row.subject_type,
                        subject_id=row.subject_id,
                        due_at=row.due_at,
                        attempts=row.attempts,
                        payload=dict(row.payload or {}),
                    )
                )
        return claimed

    def _finish(self, reminder_id: int, **values: Any) -> bool:
        with self._db.transaction() as session:
            return (
                session.execute(
                    update(Reminder)
                    .where(Reminder.id == reminder_id, Reminder.state == "sending", Reminder.claimed_by == self.instance)
                    .values(**values)
                ).rowcount
                == 1
            )

    def mark_sent(self, reminder_id: int) -> bool:
        return self._finish(reminder_id, state="sent", sent_at=self._clock(), last_error=None)

    def mark_skipped(self, reminder_id: int, reason: str) -> bool:
        """Nothing to send any more (event gone, recipient blocked the bot): recorded, not retried."""
        return self._finish(reminder_id, state="skipped", last_error=reason[:500])

    def mark_failed(self, reminder_id: int, error: str, *, attempts: int) -> bool:
        """A failed send: retried later, up to MAX_ATTEMPTS, then recorded as failed."""
        if attempts >= MAX_ATTEMPTS:
            log.error("reminder %s failed %d times, giving up: %s", reminder_id, attempts, error)
            return self._finish(reminder_id, state="failed", last_error=error[:500])
        return self._finish(
            reminder_id,
            state="pending",
            claimed_by=None,
            claimed_at=None,
            last_error=error[:500],
            next_attempt_at=self._clock() + RETRY_DELAY * attempts,
        )

    def for_subject(self, subject_type: str, subject_id: int) -> list[tuple[str, int, datetime, str]]:
        """(kind, person_id, due_at, state) of an event's reminders, for tests and dashboards."""
        with self._db.read() as session:
            rows = session.scalars(
                select(Reminder)
                .where(Reminder.subject_type == subject_type, Reminder.subject_id == subject_id)
                .order_by(Reminder.due_at, Reminder.id)
            )
            return [(r.kind, r.person_id, r.due_at, r.state) for r in rows]
