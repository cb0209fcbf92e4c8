"""Looking people up, provisioning configured staff, and recording who blocked the bot."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from bot.domain.people import EnrolmentView, PersonView, ReportType, Role
from bot.services.conversations import Conversation
from bot.storage.db import Database
from bot.storage.models import AuditEvent, ConversationState, Enrolment, Person, utcnow


def person_view(person: Person) -> PersonView:
    return PersonView(
        id=person.id,
        role=Role(person.role),
        display_name=person.display_name,
        telegram_user_id=person.telegram_user_id,
        email=person.email,
        blocked=person.blocked_bot_at is not None,
    )


def enrolment_view(enrolment: Enrolment) -> EnrolmentView:
    return EnrolmentView(
        id=enrolment.id,
        auditeur=person_view(enrolment.auditeur),
        tutor=person_view(enrolment.tutor),
        certification=enrolment.certification,
        report_type=ReportType(enrolment.report_type),
        semester=enrolment.semester,
        enrolled_at=enrolment.enrolled_at,
        units_validated=enrolment.units_validated,
        experience=enrolment.experience,
    )


@dataclass(frozen=True)
class TelegramIdentity:
    user_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part).strip() or str(self.user_id)


class _RecentPeople:
    """Who wrote lately, so that their next update needs no database read: bound people only (an
    unknown account may be bound by another instance at any moment), for `ttl` seconds, forgotten at
    once when this instance binds, blocks or changes them. Another instance's change is seen within
    `ttl`; a 403 from Telegram is recorded whatever the cache says."""

    def __init__(self, ttl: float, size: int) -> None:
        self._ttl = ttl
        self._size = size
        self._entries: OrderedDict[int, tuple[float, PersonView]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, telegram_user_id: int) -> PersonView | None:
        with self._lock:
            entry = self._entries.get(telegram_user_id)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._entries[telegram_user_id]
                return None
            return entry[1]

    def put(self, telegram_user_id: int, person: PersonView | None) -> None:
        with self._lock:
            self._entries.pop(telegram_user_id, None)
            if person is not None and self._ttl > 0:
                self._entries[telegram_user_id] = (time.monotonic() + self._ttl, person)
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class Directory:
    def __init__(
        self,
        db: Database,
        staff_telegram_ids: Iterable[int],
        *,
        clock: Callable[[], datetime] = utcnow,
        recent_ttl: float = 10.0,
        recent_size: int = 10_000,
    ) -> None:
        self._db = db
        self._clock = clock
        self._staff_ids = frozenset(staff_telegram_ids)
        self._recent = _RecentPeople(recent_ttl, recent_size)

    def recently_identified(self, telegram_user_id: int) -> PersonView | None:
        """The person identified for this account in the last few seconds (no database read), if any."""
        return self._recent.get(telegram_user_id)

    def forget(self, telegram_user_id: int) -> None:
        """This account was just bound, blocked or changed: the next identification reads it again."""
        self._recent.put(telegram_user_id, None)

    def identify(self, identity: TelegramIdentity) -> PersonView | None:
        """The person bound to this Telegram account; configured staff are provisioned on first contact."""
        return self.identify_with_conversation(identity)[0]

    def identify_with_conversation(self, identity: TelegramIdentity) -> tuple[PersonView | None, Conversation | None]:
        """The person (as `identify`) and their stored conversation, read in one session."""
        person, conversation = self._identify_with_conversation(identity)
        self._recent.put(identity.user_id, person)
        return person, conversation

    def _identify_with_conversation(self, identity: TelegramIdentity) -> tuple[PersonView | None, Conversation | None]:
        with self._db.read() as session:
            person = session.scalar(select(Person).where(Person.telegram_user_id == identity.user_id))
            row = session.get(ConversationState, identity.user_id)
            conversation = Conversation(row.flow, row.step, dict(row.data or {})) if row else None
            if person is not None and person.active:
                if person.role == Role.STAFF and identity.user_id not in self._staff_ids:
                    return None, conversation  # removed from STAFF_TELEGRAM_IDS: no longer staff
                return person_view(person), conversation
        if identity.user_id in self._staff_ids:
            return self._provision_staff(identity), conversation
        return None, conversation

    def _provision_staff(self, identity: TelegramIdentity) -> PersonView:
        with self._db.transaction() as session:
            person = session.scalar(select(Person).where(Person.telegram_user_id == identity.user_id))
            if person is None:
                person = Person(
                    role=Role.STAFF,
                    display_name=identity.full_name[:200],
                    telegram_user_id=identity.user_id,
                    telegram_username=identity.username,
                    bound_at=self._clock(),
                )
                session.add(person)
                session.flush()
                session.add(AuditEvent(actor_id=person.id, subject_id=person.id, action="staff.provisioned"))
            return person_view(person)

    def get(self, person_id: int) -> PersonView | None:
        with self._db.read() as session:
            person = session.get(Person, person_id)
            return person_view(person) if person else None

    def tutors(self) -> list[PersonView]:
        with self._db.read() as session:
            rows = session.scalars(
                select(Person).where(Person.role == Role.TUTOR, Person.active.is_(True)).order_by(Person.display_name)
            )
            return [person_view(p) for p in rows]

    def active_enrolment(self, auditeur_id: int) -> EnrolmentView | None:
        with self._db.read() as session:
            enrolment = session.scalar(
                select(Enrolment)
                .where(Enrolment.auditeur_id == auditeur_id, Enrolment.status == "active")
                .options(joinedload(Enrolment.auditeur), joinedload(Enrolment.tutor))
            )
            return enrolment_view(enrolment) if enrolment else None

    def auditeurs_of(self, tutor_id: int) -> list[EnrolmentView]:
        with self._db.read() as session:
            rows = session.scalars(
                select(Enrolment)
                .where(Enrolment.tutor_id == tutor_id, Enrolment.status == "active")
                .options(joinedload(Enrolment.auditeur), joinedload(Enrolment.tutor))
                .order_by(Enrolment.enrolled_at)
            )
            return [enrolment_view(e) for e in rows]

    def bound_people(self) -> list[PersonView]:
        with self._db.read() as session:
            rows = session.scalars(select(Person).where(Person.telegram_user_id.is_not(None), Person.active.is_(True)))
            return [person_view(p) for p in rows]

    def set_blocked(self, telegram_user_id: int, blocked: bool) -> PersonView | None:
        """Record that a person blocked (or unblocked) the bot, from a my_chat_member update or a 403."""
        self.forget(telegram_user_id)
        with self._db.transaction() as session:
            person = session.scalar(select(Person).where(Person.telegram_user_id == telegram_user_id))
            if person is None:
                return None
            was_blocked = person.blocked_bot_at is not None
            if blocked and not was_blocked:
                person.blocked_bot_at = self._clock()
                session.add(AuditEvent(subject_id=person.id, action="telegram.blocked_bot"))
            elif not blocked and was_blocked:
                person.blocked_bot_at = None
                session.add(AuditEvent(subject_id=person.id, action="telegram.unblocked_bot"))
            return person_view(person)
