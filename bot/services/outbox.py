"""The outbox: what the bot owes other people, written with the change it reports.

A service that books a meeting, cancels it, receives a draft or schedules a reminder calls
:func:`enqueue` with the session of its own write transaction: the message and the change are
committed together or not at all. The sender (``bot/telegram/sender.py``) then claims due rows with
:meth:`OutboxStore.claim`, delivers them and records the outcome with :meth:`OutboxStore.finish`.

Claiming is one short write transaction, serialised across instances (PostgreSQL: a transaction
advisory lock, plus ``FOR UPDATE SKIP LOCKED`` on the rows; SQLite: ``BEGIN IMMEDIATE``). In it:

* the shared token bucket (``rate_buckets``) is refilled and at most as many rows as it holds are
  taken, so every instance together stays under the configured rate;
* at most one row per recipient is taken, and only when no earlier row of that recipient is in
  flight or waiting for a retry, and their last message left at least ``per_chat_interval`` ago:
  one person's messages go out in order, at most about one per second;
* lower ``priority`` first (notifications, then reminders, then broadcasts), then oldest first.

A claim left by an instance that died mid-send is released after ``stale_after``, following the
row's ``on_uncertain`` rule (the message may or may not have reached Telegram):
``resend`` for notifications (a missed one is worse than a duplicate), ``drop`` for reminders and
broadcasts (a duplicate is a nuisance; the row is recorded as ``unknown``).
"""

from __future__ import annotations

import inspect
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum, IntEnum
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.db import Database
from bot.storage.models import OutboxMessage, Person, RateBucket, utcnow
from bot.storage.models.outbox import DUE_PREDICATE, IN_FLIGHT_PREDICATE

log = logging.getLogger(__name__)

TELEGRAM_BUCKET = "telegram"
_DUE = text(f"outbox_messages.{DUE_PREDICATE}")  # literal, so that the partial indexes apply
_IN_FLIGHT = text(f"outbox_messages.{IN_FLIGHT_PREDICATE}")
IMMEDIATELY = datetime(2000, 1, 1, tzinfo=UTC)
"""``next_attempt_at`` of a message due as soon as possible, whatever the instances' clocks say."""


def instance_name() -> str:
    """Who claimed a row: host, process and a random part (two instances never share a name)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

_CLAIM_LOCK_KEY = 0x6F7574626F78  # "outbox": the advisory lock that serialises claims on PostgreSQL


class Priority(IntEnum):
    """Lower goes first. Replies to the person who acted are not queued at all (sent by the handler)."""

    NOTIFICATION = 1  # told because someone else acted (booking, cancellation, a draft received)
    REMINDER = 2
    BROADCAST = 3


RESEND = "resend"
DROP = "drop"


@dataclass(frozen=True)
class Document:
    """A file to send: ``content`` (bytes, uploaded) or ``file_id`` (a file Telegram already has)."""

    filename: str
    content: bytes | None = None
    file_id: str | None = None
    caption_template: str | None = None
    caption_params: dict[str, Any] = field(default_factory=dict)
    caption_text: str | None = None  # pre-rendered caption (Telegram HTML)
    builder: str | None = None  # content made at send time by the named builder (e.g. "meeting_ics")
    builder_params: dict[str, Any] = field(default_factory=dict)


# -- parameters: JSON with datetimes, dates and enums kept --------------------------------------------


def encode(value: Any) -> Any:
    """Make template parameters JSON-safe; :func:`decode` gives datetimes and dates back."""
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, timedelta):
        return {"$td": value.total_seconds()}
    if is_dataclass(value) and not isinstance(value, type):
        # a frozen view: its fields and its properties (templates use both)
        encoded = {f.name: encode(getattr(value, f.name)) for f in fields(value)}
        for name, member in inspect.getmembers(type(value), lambda m: isinstance(m, property)):
            encoded[name] = encode(getattr(value, name))
        return encoded
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [encode(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in an outbox message")


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if len(value) == 1 and "$date" in value:
            return date.fromisoformat(value["$date"])
        if len(value) == 1 and "$td" in value:
            return timedelta(seconds=value["$td"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


# -- writing (inside the caller's transaction) ---------------------------------------------------------


def enqueue(
    session: Session,
    *,
    recipient_id: int,
    kind: str,
    template: str | None = None,
    params: dict[str, Any] | None = None,
    text: str | None = None,
    keyboard: list[list[dict[str, str]]] | None = None,
    document: Document | None = None,
    priority: Priority = Priority.NOTIFICATION,
    not_before: datetime | None = None,
    expires_at: datetime | None = None,
    group: str | None = None,
    subject: tuple[str, int] | None = None,
    dedupe_key: str | None = None,
    on_uncertain: str = RESEND,
    options: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> OutboxMessage | None:
    """Add a Telegram message for the person ``recipient_id`` to the caller's transaction.

    Returns the row, or None when ``dedupe_key`` was already used (the message is owed once).
    A person without a Telegram account yet gets the row all the same: it is recorded ``blocked``
    at send time, visible to staff, rather than silently dropped here.
    """
    if template is None and text is None and document is None:
        raise ValueError("an outbox message needs a template, a text or a document")
    if on_uncertain not in (RESEND, DROP):
        raise ValueError(f"on_uncertain must be {RESEND!r} or {DROP!r}")
    chat_id = session.scalar(select(Person.telegram_user_id).where(Person.id == recipient_id))
    row = OutboxMessage(
        channel="telegram",
        recipient_id=recipient_id,
        chat_id=chat_id,
        recipient_key=f"p{recipient_id}",
        **_common(
            kind=kind, template=template, params=params, text=text, keyboard=keyboard, document=document,
            priority=priority, not_before=not_before, expires_at=expires_at, group=group, subject=subject,
            dedupe_key=dedupe_key, on_uncertain=on_uncertain, options=options, now=now,
        ),
    )
    return _add(session, row)


def enqueue_many(
    session: Session,
    recipients: Iterable[tuple[int, int | None]],
    *,
    kind: str,
    blocked: Iterable[int] = (),
    template: str | None = None,
    params: dict[str, Any] | None = None,
    text: str | None = None,
    document: Document | None = None,
    priority: Priority = Priority.BROADCAST,
    not_before: datetime | None = None,
    group: str | None = None,
    on_uncertain: str = DROP,
    options: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> int:
    """The same message to many people in one bulk insert (a broadcast): ``recipients`` are
    (person id, Telegram chat id). People in ``blocked`` get a row recorded ``blocked`` at once: they
    are counted and reported, and take nothing from the rate budget. Returns the rows written."""
    if template is None and text is None and document is None:
        raise ValueError("an outbox message needs a template, a text or a document")
    common = _common(
        kind=kind, template=template, params=params, text=text, keyboard=None, document=document,
        priority=priority, not_before=not_before, expires_at=None, group=group, subject=None,
        dedupe_key=None, on_uncertain=on_uncertain, options=options, now=now,
    )
    blocked = set(blocked)
    rows = []
    for person_id, chat_id in recipients:
        row = dict(common, channel="telegram", recipient_id=person_id, chat_id=chat_id, recipient_key=f"p{person_id}")
        if person_id in blocked or chat_id is None:
            row.update(state="blocked", last_error="not on Telegram" if chat_id is None else "has blocked the bot")
        rows.append(row)
    for start in range(0, len(rows), 500):
        session.execute(insert(OutboxMessage), rows[start : start + 500])
    if rows:
        session.info["outbox_written"] = True
    return len(rows)


def enqueue_email(
    session: Session,
    *,
    to: str,
    subject_line: str | None = None,
    kind: str,
    template: str | None = None,
    params: dict[str, Any] | None = None,
    text: str | None = None,
    recipient_id: int | None = None,
    priority: Priority = Priority.NOTIFICATION,
    not_before: datetime | None = None,
    group: str | None = None,
    subject: tuple[str, int] | None = None,
    dedupe_key: str | None = None,
    now: datetime | None = None,
) -> OutboxMessage | None:
    """Add an e-mail to the caller's transaction (``template`` renders the body; its first line may be
    ``Subject: …`` when ``subject_line`` is not given)."""
    row = OutboxMessage(
        channel="email",
        recipient_id=recipient_id,
        email_to=to.strip(),
        recipient_key=f"e:{to.strip().lower()}",
        subject_line=subject_line,
        **_common(
            kind=kind, template=template, params=params, text=text, keyboard=None, document=None,
            priority=priority, not_before=not_before, expires_at=None, group=group, subject=subject,
            dedupe_key=dedupe_key, on_uncertain=RESEND, options=None, now=now,
        ),
    )
    return _add(session, row)


def _common(
    *, kind, template, params, text, keyboard, document, priority, not_before, expires_at, group, subject,
    dedupe_key, on_uncertain, options, now,
) -> dict[str, Any]:
    now = now or utcnow()
    values: dict[str, Any] = dict(
        kind=kind,
        template=template,
        params=encode(params or {}),
        text=text,
        keyboard=keyboard or None,
        priority=int(priority),
        next_attempt_at=not_before or IMMEDIATELY,
        expires_at=expires_at,
        group_key=group,
        subject_type=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        dedupe_key=dedupe_key,
        on_uncertain=on_uncertain,
        options=dict(options or {}),
        state="pending",
        attempts=0,
        created_at=now,
    )
    if document is not None:
        values["document"] = {
            "filename": document.filename,
            "file_id": document.file_id,
            "caption_template": document.caption_template,
            "caption_params": encode(document.caption_params),
            "caption_text": document.caption_text,
            "builder": document.builder,
            "builder_params": encode(document.builder_params),
        }
        values["document_content"] = document.content
    return values


def _add(session: Session, row: OutboxMessage) -> OutboxMessage | None:
    if row.dedupe_key is not None:
        exists = session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == row.dedupe_key))
        if exists is not None:
            return None
    try:
        with session.begin_nested():  # added inside the savepoint: its rollback forgets the row
            session.add(row)
            session.flush()  # only this row: begin_nested() flushed the caller's changes before the savepoint
    except IntegrityError:  # the same dedupe_key committed meanwhile by another instance
        return None
    session.info["outbox_written"] = True
    return row


def cancel_subject(session: Session, subject_type: str, subject_id: int, *, kinds: Iterable[str] | None = None) -> int:
    """Cancel what is not yet sent about one thing (a meeting's reminders, a deadline's notices)."""
    query = update(OutboxMessage).where(
        OutboxMessage.subject_type == subject_type,
        OutboxMessage.subject_id == subject_id,
        OutboxMessage.state.in_(("pending", "retrying", "paused")),
    )
    if kinds is not None:
        query = query.where(OutboxMessage.kind.in_(list(kinds)))
    return session.execute(query.values(state="cancelled", last_error="no longer applies")).rowcount


def cancel_for_recipient(session: Session, person_id: int) -> int:
    """Cancel everything not yet sent to a person (erasure)."""
    return session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.recipient_id == person_id, OutboxMessage.state.in_(("pending", "retrying", "paused")))
        .values(state="cancelled", last_error="recipient erased")
    ).rowcount


# -- groups (broadcasts) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    sent: int = 0
    failed: int = 0  # dead or unknown
    blocked: int = 0
    pending: int = 0  # pending, sending, retrying, paused
    cancelled: int = 0
    total: int = 0

    @property
    def done(self) -> bool:
        return self.pending == 0


def group_progress(session: Session, group: str) -> Progress:
    counts = dict(
        session.execute(
            select(OutboxMessage.state, func.count()).where(OutboxMessage.group_key == group).group_by(OutboxMessage.state)
        ).all()
    )
    return Progress(
        sent=counts.get("sent", 0),
        failed=counts.get("dead", 0) + counts.get("unknown", 0),
        blocked=counts.get("blocked", 0),
        pending=sum(counts.get(s, 0) for s in ("pending", "sending", "retrying", "paused")),
        cancelled=sum(counts.get(s, 0) for s in ("cancelled", "expired", "skipped")),
        total=sum(counts.values()),
    )


def pause_group(session: Session, group: str) -> int:
    return session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.group_key == group, OutboxMessage.state.in_(("pending", "retrying")))
        .values(state="paused")
    ).rowcount


def resume_group(session: Session, group: str) -> int:
    return session.execute(
        update(OutboxMessage).where(OutboxMessage.group_key == group, OutboxMessage.state == "paused").values(state="pending")
    ).rowcount


def cancel_group(session: Session, group: str) -> int:
    return session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.group_key == group, OutboxMessage.state.in_(("pending", "retrying", "paused")))
        .values(state="cancelled", last_error="cancelled by staff")
    ).rowcount


@dataclass(frozen=True)
class DeadLetter:
    id: int
    kind: str
    recipient_id: int | None
    channel: str
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime


def dead_letters(session: Session, limit: int = 50) -> list[DeadLetter]:
    """Messages given up on or of unknown fate, newest first (for staff)."""
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.state.in_(("dead", "unknown")))
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    return [
        DeadLetter(r.id, r.kind, r.recipient_id, r.channel, r.state, r.attempts, r.last_error, r.created_at) for r in rows
    ]


@dataclass(frozen=True)
class DeliveryReport:
    """For staff: how many messages are in each state, and the ones given up or of unknown fate."""

    counts: dict[str, int]
    dead: list[DeadLetter]

    @property
    def waiting(self) -> int:
        return sum(self.counts.get(s, 0) for s in ("pending", "sending", "retrying", "paused"))


# -- the sender's side -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A row claimed for sending, detached from its session."""

    id: int
    channel: str
    recipient_id: int | None
    chat_id: int | None
    email_to: str | None
    kind: str
    template: str | None
    params: dict[str, Any]
    text: str | None
    subject_line: str | None
    keyboard: list | None
    document: dict | None
    document_content: bytes | None
    priority: int
    attempts: int
    on_uncertain: str
    options: dict[str, Any]
    group: str | None
    subject_type: str | None
    subject_id: int | None


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed row (see :meth:`OutboxStore.finish`)."""

    row_id: int
    state: str
    error: str | None = None
    message_id: int | None = None
    retry_in: timedelta | None = None
    attempts: int | None = None


@dataclass(frozen=True)
class RateSettings:
    per_second: float = 25.0  # shared by every instance; Telegram allows about 30/s overall
    burst: float = 25.0
    per_chat_interval: timedelta = timedelta(seconds=1)
    # once the bucket is empty, wait for this much time's worth of tokens before claiming again: at a
    # steady 28/s a claim takes ~6 rows, not one (one claim transaction per message saturated SQLite)
    batch_seconds: float = 0.2


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay: timedelta = timedelta(seconds=2)
    max_delay: timedelta = timedelta(minutes=10)
    stale_after: timedelta = timedelta(minutes=2)

    def delay(self, attempts: int) -> timedelta:
        return min(self.max_delay, self.base_delay * (2 ** max(0, attempts - 1)))


class OutboxStore:
    """Claims and finishes outbox rows for one instance."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        timer: Callable[[], datetime] = utcnow,
        instance: str,
        rate: RateSettings = RateSettings(),
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        self._db = db
        self._clock = clock  # the services' clock: when rows are due or expire (tests move it)
        self._timer = timer  # the wall clock: pacing, backoff, stale claims (time that really passes)
        self.instance = instance
        self.rate = rate
        self.retry = retry

    # claiming ------------------------------------------------------------------------------------

    def claim(self, *, limit: int, reply_debt: float = 0.0) -> tuple[list[Claimed], float]:
        """Claim up to ``limit`` due rows; returns them and the seconds until tokens are available
        again (0 when the bucket was not the limit). ``reply_debt``: messages this instance sent
        outside the outbox since the last claim (replies), drawn from the same bucket."""
        with self._db.transaction() as session:
            if self._db.dialect == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_LOCK_KEY})
            # read once the claim lock is held (SQLite: BEGIN IMMEDIATE, PostgreSQL: the advisory
            # lock), not before waiting for it: a row committed during the wait was written at a time
            # the clock had already reached, so it is never judged by an older "now"
            now, wall = self._clock(), self._timer()
            self._release_stale(session, wall)
            self._expire(session, now)
            tokens, wait = self._take_tokens(session, wall, limit, reply_debt)
            if tokens <= 0:
                return [], wait
            candidates = session.execute(  # light rows first: id and recipient only
                select(OutboxMessage.id, OutboxMessage.recipient_key)
                .where(
                    _DUE,
                    OutboxMessage.next_attempt_at <= now,
                    (OutboxMessage.hold_until.is_(None)) | (OutboxMessage.hold_until <= wall),
                )
                .order_by(OutboxMessage.priority, OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(max(tokens * 2, 20))
                .with_for_update(skip_locked=True)
            ).all()
            chosen = self._one_per_recipient(session, candidates, wall, tokens)
            claimed: list[Claimed] = []
            if chosen:  # one statement for the batch, then the chosen rows in full (no ORM objects)
                ids = [row.id for row in chosen]
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids))
                    .values(state="sending", claimed_by=self.instance, claimed_at=wall, attempts=OutboxMessage.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
                table = OutboxMessage.__table__
                loaded = {row.id: row for row in session.execute(select(table).where(table.c.id.in_(ids)))}
                claimed = [_claimed(loaded[row_id]) for row_id in ids]
            unused = tokens - len(claimed)
            if unused:
                self._give_back(session, unused)
            return claimed, 0.0

    def _take_tokens(self, session: Session, now: datetime, limit: int, reply_debt: float) -> tuple[int, float]:
        bucket = session.get(RateBucket, TELEGRAM_BUCKET, with_for_update=True)
        if bucket is None:
            bucket = RateBucket(name=TELEGRAM_BUCKET, tokens=self.rate.burst, refilled_at=now)
            session.add(bucket)
            session.flush()
        elapsed = max(0.0, (now - bucket.refilled_at).total_seconds())
        bucket.tokens = min(self.rate.burst, bucket.tokens + elapsed * self.rate.per_second) - reply_debt
        bucket.refilled_at = max(now, bucket.refilled_at)
        if bucket.paused_until is not None and bucket.paused_until > now:
            return 0, (bucket.paused_until - now).total_seconds()
        batch = max(1, min(limit, int(self.rate.per_second * self.rate.batch_seconds), int(self.rate.burst)))
        take = min(limit, int(bucket.tokens))
        if take < batch:
            return 0, max(0.01, (batch - bucket.tokens) / self.rate.per_second)
        bucket.tokens -= take
        return take, 0.0

    @staticmethod
    def _give_back(session: Session, tokens: int) -> None:
        bucket = session.get(RateBucket, TELEGRAM_BUCKET)
        bucket.tokens += tokens

    def _one_per_recipient(
        self, session: Session, candidates: list, now: datetime, tokens: int
    ) -> list:
        if not candidates:
            return []
        keys = {row.recipient_key for row in candidates}
        busy: dict[str, int] = {}  # recipient -> smallest id in flight or waiting for a retry
        recent: set[str] = set()  # recipients whose last message left less than per_chat_interval ago
        cutoff = now - self.rate.per_chat_interval
        for key, row_id, state in session.execute(  # one query for both
            select(OutboxMessage.recipient_key, OutboxMessage.id, OutboxMessage.state).where(
                OutboxMessage.recipient_key.in_(keys),
                OutboxMessage.state.in_(("sending", "retrying"))
                | ((OutboxMessage.state == "sent") & (OutboxMessage.sent_at > cutoff) & (OutboxMessage.channel == "telegram")),
            )
        ):
            if state == "sent":
                recent.add(key)
            elif key not in busy or row_id < busy[key]:
                busy[key] = row_id
        chosen: list = []
        taken: set[str] = set()
        for row in candidates:
            key = row.recipient_key
            if key in taken or key in recent:
                continue
            first = busy.get(key)
            if first is not None and first != row.id:
                continue  # an earlier message to this person is in flight or backing off
            taken.add(key)
            chosen.append(row)
            if len(chosen) >= tokens:
                break
        return chosen

    def _release_stale(self, session: Session, now: datetime) -> None:
        cutoff = now - self.retry.stale_after
        stale = session.scalars(
            select(OutboxMessage).where(
                _IN_FLIGHT,
                OutboxMessage.claimed_at < cutoff,
                # this instance's own claims are alive: its sender records each of them (a slow send
                # released here would be sent twice)
                OutboxMessage.claimed_by != self.instance,
            )
        ).all()
        for row in stale:
            log.warning("outbox %s (%s): claim by %s went stale", row.id, row.kind, row.claimed_by)
            if row.on_uncertain == DROP:
                row.state = "unknown"
                row.last_error = "instance stopped while sending: may have been delivered"
            else:
                row.state = "retrying"
                row.hold_until = None
            row.claimed_by = None

    @staticmethod
    def _expire(session: Session, now: datetime) -> None:
        """Due rows whose time has passed are recorded ``expired`` (rows not due yet are left alone:
        they are looked at when they come due, which keeps this on the due-rows index)."""
        session.execute(
            update(OutboxMessage)
            .where(
                _DUE,
                OutboxMessage.next_attempt_at <= now,
                OutboxMessage.expires_at.is_not(None),
                OutboxMessage.expires_at <= now,
            )
            .values(state="expired", last_error="too late to be useful")
            .execution_options(synchronize_session=False)
        )

    def wall_clock(self) -> datetime:
        return self._timer()

    def pause_all(self, until: datetime) -> None:
        """A 429: no instance sends proactive messages before ``until``."""
        with self._db.transaction() as session:
            bucket = session.get(RateBucket, TELEGRAM_BUCKET, with_for_update=True)
            if bucket is None:
                bucket = RateBucket(name=TELEGRAM_BUCKET, tokens=0, refilled_at=self._timer())
                session.add(bucket)
            if bucket.paused_until is None or bucket.paused_until < until:
                bucket.paused_until = until
            bucket.tokens = min(bucket.tokens, 0)

    # finishing -----------------------------------------------------------------------------------

    def finish(self, row_id: int, state: str, *, error: str | None = None, message_id: int | None = None,
               retry_in: timedelta | None = None, attempts: int | None = None) -> bool:
        """Record a send's outcome. ``state``: sent, blocked, dead, unknown, skipped, expired, or
        ``retry`` (transient failure: retried after ``retry_in`` or the backoff, until max_attempts)."""
        return self.finish_many([Outcome(row_id, state, error, message_id, retry_in, attempts)])[0]

    def finish_many(self, outcomes: list[Outcome]) -> list[bool]:
        """Record several outcomes in one transaction (the sender groups those that arrive while a
        previous batch is being written: one write per batch, not per message)."""
        wall = self._timer()
        done = []
        with self._db.transaction() as session:
            for outcome in outcomes:
                done.append(
                    session.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.id == outcome.row_id, OutboxMessage.state == "sending",
                               OutboxMessage.claimed_by == self.instance)
                        .values(**self._outcome_values(outcome, wall))
                    ).rowcount
                    == 1
                )
        return done

    def _outcome_values(self, outcome: Outcome, wall: datetime) -> dict[str, Any]:
        error, state, attempts = outcome.error, outcome.state, outcome.attempts
        values: dict[str, Any] = {"claimed_by": None, "last_error": (error or None) and error[:500]}
        if state == "retry":
            if attempts is not None and attempts >= self.retry.max_attempts:
                log.error("outbox %s: giving up after %d attempts", outcome.row_id, attempts)
                values["state"] = "dead"
            else:
                values["state"] = "retrying"
                delay = outcome.retry_in if outcome.retry_in is not None else self.retry.delay(attempts or 1)
                values["hold_until"] = wall + delay
        else:
            values["state"] = state
            if state == "sent":
                values["sent_at"] = wall
                values["telegram_message_id"] = outcome.message_id
                values["last_error"] = None
        return values

    # for tests, the demo and staff ---------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        with self._db.read() as session:
            return dict(session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all())

    def rows(self, *, kind: str | None = None, subject: tuple[str, int] | None = None) -> list[tuple[str, int | None, str]]:
        """(kind, recipient_id, state) in id order."""
        with self._db.read() as session:
            query = select(OutboxMessage.kind, OutboxMessage.recipient_id, OutboxMessage.state).order_by(OutboxMessage.id)
            if kind is not None:
                query = query.where(OutboxMessage.kind == kind)
            if subject is not None:
                query = query.where(OutboxMessage.subject_type == subject[0], OutboxMessage.subject_id == subject[1])
            return [tuple(r) for r in session.execute(query)]

    def dead_letters(self, limit: int = 50) -> list[DeadLetter]:
        with self._db.read() as session:
            return dead_letters(session, limit)

    def report(self, actor, limit: int = 20) -> DeliveryReport:
        """Staff only: the state of deliveries and the dead letters, newest first."""
        from bot.domain.people import Role
        from bot.domain.permissions import require_role

        require_role(actor, "see deliveries", Role.STAFF)
        with self._db.read() as session:
            counts = dict(session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all())
            return DeliveryReport(counts=counts, dead=dead_letters(session, limit))

    def unfinished(self, now: datetime | None = None) -> int:
        """Rows due now and not finished (pending/retrying due, or sending)."""
        now = now or self._clock()
        with self._db.read() as session:
            return session.scalar(
                select(func.count()).select_from(OutboxMessage).where(_IN_FLIGHT)
            ) + session.scalar(
                select(func.count()).select_from(OutboxMessage).where(
                    _DUE,
                    OutboxMessage.next_attempt_at <= now,
                    (OutboxMessage.expires_at.is_(None)) | (OutboxMessage.expires_at > now),
                )
            )


def _claimed(row) -> Claimed:
    """From a Core row of ``outbox_messages`` (after the claim's update: attempts counted)."""
    return Claimed(
        id=row.id,
        channel=row.channel,
        recipient_id=row.recipient_id,
        chat_id=row.chat_id,
        email_to=row.email_to,
        kind=row.kind,
        template=row.template,
        params=decode(row.params or {}),
        text=row.text,
        subject_line=row.subject_line,
        keyboard=row.keyboard,
        document=decode(row.document) if row.document else None,
        document_content=row.document_content,
        priority=row.priority,
        attempts=row.attempts,
        on_uncertain=row.on_uncertain,
        options=dict(row.options or {}),
        group=row.group_key,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
    )
