"""Looking people up, provisioning configured staff, and recording who blocked the bot."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from bot.domain.people import EnrolmentView, PersonView, ReportType, Role
from bot.services.conversations import Conversation
from bot.services.people_cache import MISSING, Follower, PeopleCache
from bot.storage.db import Database
from bot.storage.people_changes import ChangeFeed
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


class Directory:
    def __init__(
        self,
        db: Database,
        staff_telegram_ids: Iterable[int],
        *,
        clock: Callable[[], datetime] = utcnow,
        cache: PeopleCache | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._staff_ids = frozenset(staff_telegram_ids)
        self._cache = cache if cache is not None else PeopleCache()
        db.after_people_commit.append(self._cache.invalidate)  # this process's changes, at once
        self._follower: Follower | None = None

    def follow_changes(self, interval: float = 1.0) -> None:
        """Hear of other instances' changes to people every `interval` seconds (a daemon thread)."""
        if self._follower is None:
            self._follower = self._cache.follow(ChangeFeed(self._db), interval=interval)

    def stop_following(self) -> None:
        follower, self._follower = self._follower, None
        if follower is not None:
            follower.stop()

    def recently_identified(self, telegram_user_id: int) -> PersonView | None:
        """The person remembered for this account (no database read), if any; see `PeopleCache`."""
        return self._cache.person(telegram_user_id)

    def remembered_enrolment(self, auditeur_id: int) -> EnrolmentView | None | object:
        """The auditeur's active enrolment if remembered (no database read), else `MISSING`."""
        return self._cache.enrolment(auditeur_id)

    def forget(self, telegram_user_id: int) -> None:
        """This account was just bound, blocked or changed: the next identification reads it again."""
        self._cache.forget_account(telegram_user_id)

    def identify(self, identity: TelegramIdentity) -> PersonView | None:
        """The person bound to this Telegram account; configured staff are provisioned on first contact."""
        return self.identify_with_conversation(identity)[0]

    def identify_with_conversation(self, identity: TelegramIdentity) -> tuple[PersonView | None, Conversation | None]:
        """The person (as `identify`) and their stored conversation, read in one session."""
        epoch = self._cache.epoch()
        person, conversation = self._identify_with_conversation(identity)
        self._cache.put_person(identity.user_id, person, epoch)
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
        remembered = self._cache.enrolment(auditeur_id)
        if remembered is not MISSING:
            return remembered  # type: ignore[return-value]
        epoch = self._cache.epoch()
        with self._db.read() as session:
            enrolment = session.scalar(
                select(Enrolment)
                .where(Enrolment.auditeur_id == auditeur_id, Enrolment.status == "active")
                .options(joinedload(Enrolment.auditeur), joinedload(Enrolment.tutor))
            )
            view = enrolment_view(enrolment) if enrolment else None
        self._cache.put_enrolment(auditeur_id, view, epoch)
        return view

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
