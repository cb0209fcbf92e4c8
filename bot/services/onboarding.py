"""Inviting tutors, enrolling auditeurs and binding Telegram accounts with one-time codes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.services import outbox
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from bot.domain.invitations import (
    RedeemError,
    RedeemProblem,
    ThrottlePolicy,
    ThrottleState,
    check_redeemable,
    hash_code,
    new_code,
    normalise_code,
)
from bot.domain.enrolment import (
    MAX_UNITS,
    MIN_UNITS_VALIDATED,
    Candidate,
    Duplicate,
    Experience,
    likely_duplicates,
    prerequisite_problems,
)
from bot.domain.people import EnrolmentView, InvitationIssued, PersonView, ReportType, Role
from bot.domain.permissions import require_staff
from bot.domain.semesters import Semester
from bot.services.directory import enrolment_view, person_view
from bot.storage.db import Database
from bot.storage.models import (
    AuditEvent,
    Consent,
    ConversationState,
    Enrolment,
    Invitation,
    Person,
    SignInThrottle,
    utcnow,
)

NAME_MAX_LENGTH = 120
CERTIFICATION_MAX_LENGTH = 200


class EnrolmentError(ValueError):
    """Bad staff input; `code` selects the French message."""

    def __init__(self, code: str, **details) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


@dataclass(frozen=True)
class PendingBinding:
    """A valid code, waiting for the person to accept the data-protection notice."""

    invitation_id: int
    person: PersonView


@dataclass(frozen=True)
class TeamMember:
    """A tutor or an auditeur as staff see them in /equipe."""

    person: PersonView
    telegram_username: str | None
    bound_at: datetime | None
    code_expires_at: datetime | None  # a code still valid (None: none pending)
    invited: bool  # a code was ever issued
    enrolment: EnrolmentView | None = None
    stage: str | None = None  # the accompaniment's stage (auditeurs)

    @property
    def bound(self) -> bool:
        return self.person.telegram_user_id is not None


@dataclass(frozen=True)
class Unbound:
    member: TeamMember
    telegram_user_id: int  # the account detached (its cached identity and command list are stale)


@dataclass(frozen=True)
class BoundPerson:
    person: PersonView
    enrolment: EnrolmentView | None


def check_prerequisites(units_validated: int | None, experience: str | None) -> None:
    """The offer's prerequisites (seed 003), when recorded; raises the first one not met."""
    if units_validated is not None and (not isinstance(units_validated, int) or not 0 <= units_validated <= MAX_UNITS):
        raise EnrolmentError("units_invalid", value=units_validated)
    if experience is not None and experience not in {e.value for e in Experience}:
        raise EnrolmentError("experience_invalid", value=experience)
    for problem in prerequisite_problems(units_validated, experience):
        raise EnrolmentError(problem, minimum=MIN_UNITS_VALIDATED, value=units_validated)


def clean_name(raw: str, *, max_length: int = NAME_MAX_LENGTH, code: str = "name") -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise EnrolmentError(f"{code}_missing")
    if len(name) > max_length:
        raise EnrolmentError(f"{code}_too_long", max_length=max_length)
    return name


class Onboarding:
    def __init__(
        self,
        db: Database,
        *,
        invitation_ttl: timedelta,
        throttle: ThrottlePolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
        accompaniment=None,
    ) -> None:
        self._db = db
        self._accompaniment = accompaniment  # the accompaniment service's hooks (enrolled, bound)
        self._ttl = invitation_ttl
        self._throttle = throttle or ThrottlePolicy()
        self._clock = clock

    # --- staff side -------------------------------------------------------------------------

    def invite_tutor(self, actor: PersonView, name: str, *, email: str | None = None) -> InvitationIssued:
        require_staff(actor, "invite a tutor")
        name = clean_name(name)
        with self._db.transaction() as session:
            person = Person(role=Role.TUTOR, display_name=name, email=email)
            session.add(person)
            session.flush()
            code = self._issue(session, person, actor)
            session.add(AuditEvent(actor_id=_actor_id(actor), subject_id=person.id, action="tutor.invited"))
            return InvitationIssued(person=person_view(person), code=code, expires_at=self._expiry(session, code))

    def enrol_auditeur(
        self,
        actor: PersonView,
        *,
        name: str,
        tutor: str | int,
        report_type: str,
        semester: str,
        certification: str,
        email: str | None = None,
        units_validated: int | None = None,
        experience: str | None = None,
    ) -> InvitationIssued:
        """Staff enrol an auditeur. The prerequisites (``units_validated``, ``experience``) are checked
        when given: the offer is refused to someone who does not meet them (seed 003)."""
        require_staff(actor, "enrol an auditeur")
        name = clean_name(name)
        certification = clean_name(certification, max_length=CERTIFICATION_MAX_LENGTH, code="certification")
        check_prerequisites(units_validated, experience)
        try:
            report = ReportType(report_type)
        except ValueError:
            raise EnrolmentError("report_type_invalid") from None
        try:
            semester_code = Semester.parse(semester).code
        except ValueError:
            raise EnrolmentError("semester_invalid", value=semester) from None

        with self._db.transaction() as session:
            tutor_person = self._find_tutor(session, tutor)
            person = Person(role=Role.AUDITEUR, display_name=name, email=email)
            session.add(person)
            session.flush()
            enrolment = Enrolment(
                auditeur_id=person.id,
                tutor_id=tutor_person.id,
                certification=certification,
                report_type=report,
                semester=semester_code,
                created_by_id=_actor_id(actor),
                units_validated=units_validated,
                experience=experience,
            )
            session.add(enrolment)
            code = self._issue(session, person, actor)
            session.add(
                AuditEvent(
                    actor_id=_actor_id(actor),
                    subject_id=person.id,
                    action="auditeur.enrolled",
                    details={"tutor_id": tutor_person.id, "report_type": report.value, "semester": semester_code,
                             "units_validated": units_validated, "experience": experience},
                )
            )
            session.flush()
            session.refresh(enrolment)
            expires_at = self._expiry(session, code)
            if self._accompaniment is not None:  # step 1: its stage, and the e-mail with the invitation
                self._accompaniment.on_enrolled(session, enrolment, self._clock(), code=code, expires_at=expires_at)
            return InvitationIssued(
                person=person_view(person),
                code=code,
                expires_at=expires_at,
                enrolment=enrolment_view(enrolment),
            )

    def reissue(self, actor: PersonView, person_id: int) -> InvitationIssued:
        """A fresh code for someone who lost theirs or let it expire (older unused codes stop working)."""
        require_staff(actor, "reissue an invitation")
        now = self._clock()
        with self._db.transaction() as session:
            person = session.get(Person, person_id)
            if person is None or person.role == Role.STAFF:
                raise EnrolmentError("person_unknown")
            if person.telegram_user_id is not None:
                raise EnrolmentError("person_already_bound")
            session.execute(
                update(Invitation)
                .where(Invitation.person_id == person.id, Invitation.used_at.is_(None), Invitation.expires_at > now)
                .values(expires_at=now)
            )
            code = self._issue(session, person, actor)
            session.add(AuditEvent(actor_id=_actor_id(actor), subject_id=person.id, action="invitation.reissued"))
            enrolment = session.scalar(
                select(Enrolment).where(Enrolment.auditeur_id == person.id, Enrolment.status == "active")
            )
            return InvitationIssued(
                person=person_view(person), code=code, expires_at=self._expiry(session, code),
                enrolment=enrolment_view(enrolment) if enrolment is not None else None,
            )

    def likely_duplicates(self, actor: PersonView, name: str, email: str | None = None) -> list[Duplicate]:
        """People who are likely the one staff are about to create (same name or e-mail)."""
        require_staff(actor, "look for duplicates")
        with self._db.read() as session:
            people = session.scalars(select(Person).where(Person.erased_at.is_(None)).order_by(Person.id))
            return likely_duplicates(
                name, email, [Candidate(p.id, p.display_name, p.email, p.role) for p in people]
            )

    def team(self, actor: PersonView) -> list[TeamMember]:
        """Tutors and auditeurs with where each one stands (bound, code pending or expired, stage)."""
        require_staff(actor, "see the team")
        now = self._clock()
        with self._db.read() as session:
            people = list(
                session.scalars(
                    select(Person)
                    .where(Person.role != Role.STAFF, Person.erased_at.is_(None), Person.active.is_(True))
                    .order_by(Person.display_name, Person.id)
                )
            )
            return self._members(session, people, now)

    def member(self, actor: PersonView, person_id: int) -> TeamMember:
        require_staff(actor, "see a member of the team")
        with self._db.read() as session:
            return self._member(session, self._team_person(session, person_id), self._clock())

    def revoke(self, actor: PersonView, person_id: int) -> TeamMember:
        """The person's pending codes stop working now (a link sent to the wrong address)."""
        require_staff(actor, "revoke an invitation")
        now = self._clock()
        with self._db.transaction() as session:
            person = self._team_person(session, person_id)
            revoked = session.execute(
                update(Invitation)
                .where(Invitation.person_id == person.id, Invitation.used_at.is_(None), Invitation.expires_at > now)
                .values(expires_at=now)
            ).rowcount
            if not revoked:
                raise EnrolmentError("no_pending_code")
            session.add(AuditEvent(actor_id=_actor_id(actor), subject_id=person.id, action="invitation.revoked"))
            session.flush()
            return self._member(session, person, now)

    def unbind(self, actor: PersonView, person_id: int) -> Unbound:
        """Detach the Telegram account bound to this person (someone else opened their link); a new
        code can then be sent. Their data stay; the account's conversation is forgotten."""
        require_staff(actor, "unbind a Telegram account")
        now = self._clock()
        with self._db.transaction() as session:
            person = self._team_person(session, person_id)
            telegram_user_id = person.telegram_user_id
            if telegram_user_id is None:
                raise EnrolmentError("person_not_bound")
            session.add(
                AuditEvent(
                    actor_id=_actor_id(actor), subject_id=person.id, action="telegram.unbound",
                    details={"telegram_user_id": telegram_user_id, "telegram_username": person.telegram_username},
                )
            )
            person.telegram_user_id = None
            person.telegram_username = None
            person.bound_at = None
            person.blocked_bot_at = None
            state = session.get(ConversationState, telegram_user_id)
            if state is not None:
                session.delete(state)
            session.flush()
            return Unbound(member=self._member(session, person, now), telegram_user_id=telegram_user_id)

    @staticmethod
    def _team_person(session, person_id: int) -> Person:
        person = session.get(Person, person_id)
        if person is None or person.role == Role.STAFF or person.erased_at is not None:
            raise EnrolmentError("person_unknown")
        return person

    @classmethod
    def _member(cls, session, person: Person, now: datetime) -> TeamMember:
        return cls._members(session, [person], now)[0]

    @staticmethod
    def _members(session, people: list[Person], now: datetime) -> list[TeamMember]:
        """Each person's invitations, active enrolment and stage, in three queries for the whole list."""
        from bot.storage.models import Accompaniment

        ids = [p.id for p in people] or [-1]
        invitations: dict[int, list[Invitation]] = {}
        for invitation in session.scalars(select(Invitation).where(Invitation.person_id.in_(ids))):
            invitations.setdefault(invitation.person_id, []).append(invitation)
        enrolments = {
            e.auditeur_id: e
            for e in session.scalars(
                select(Enrolment)
                .where(Enrolment.auditeur_id.in_(ids), Enrolment.status == "active")
                .options(selectinload(Enrolment.auditeur), selectinload(Enrolment.tutor))
            )
        }
        stages = dict(
            session.execute(
                select(Accompaniment.enrolment_id, Accompaniment.stage).where(
                    Accompaniment.enrolment_id.in_([e.id for e in enrolments.values()] or [-1])
                )
            ).all()
        )
        members = []
        for person in people:
            own = invitations.get(person.id, [])
            pending = [i.expires_at for i in own if i.used_at is None and i.expires_at > now]
            enrolment = enrolments.get(person.id)
            members.append(
                TeamMember(
                    person=person_view(person),
                    telegram_username=person.telegram_username,
                    bound_at=person.bound_at,
                    code_expires_at=max(pending) if pending else None,
                    invited=bool(own),
                    enrolment=enrolment_view(enrolment) if enrolment is not None else None,
                    stage=stages.get(enrolment.id) if enrolment is not None else None,
                )
            )
        return members

    def _find_tutor(self, session, tutor: str | int) -> Person:
        query = select(Person).where(Person.role == Role.TUTOR, Person.active.is_(True))
        if isinstance(tutor, int) or str(tutor).isdecimal():
            found = session.scalars(query.where(Person.id == int(tutor))).all()
        else:
            wanted = " ".join(str(tutor).split()).casefold()
            found = [p for p in session.scalars(query) if wanted in p.display_name.casefold()]
        if not found:
            raise EnrolmentError("tutor_unknown", value=str(tutor))
        if len(found) > 1:
            raise EnrolmentError("tutor_ambiguous", value=str(tutor), candidates=[p.display_name for p in found])
        return found[0]

    def _issue(self, session, person: Person, actor: PersonView) -> str:
        for _ in range(5):
            code = new_code()
            invitation = Invitation(
                code_hash=hash_code(code),
                person_id=person.id,
                created_by_id=_actor_id(actor),
                expires_at=self._clock() + self._ttl,
            )
            try:
                with session.begin_nested():
                    session.add(invitation)
                return code
            except IntegrityError:  # pragma: no cover - a 60-bit collision
                continue
        raise RuntimeError("could not generate a unique invitation code")

    def invitation_expiry(self, invitation_id: int) -> datetime | None:
        with self._db.read() as session:
            return session.scalar(select(Invitation.expires_at).where(Invitation.id == invitation_id))

    @staticmethod
    def _expiry(session, code: str) -> datetime:
        return session.scalar(select(Invitation.expires_at).where(Invitation.code_hash == hash_code(code)))

    # --- the invited person's side ----------------------------------------------------------

    def check_code(self, telegram_user_id: int, raw_code: str, *, now: datetime | None = None) -> PendingBinding:
        """Validate a code typed or passed by deep link. Wrong codes count towards the throttle."""
        now = now or self._clock()
        failure: RedeemError | None = None
        with self._db.transaction() as session:
            throttle = session.get(SignInThrottle, telegram_user_id)
            state = _throttle_state(throttle, now)
            if (wait := state.remaining_lock(now)) is not None:
                raise RedeemError(RedeemProblem.THROTTLED, retry_after=wait)
            already = session.scalar(select(Person).where(Person.telegram_user_id == telegram_user_id))
            if already is not None:
                raise RedeemError(RedeemProblem.ALREADY_BOUND)

            code = normalise_code(raw_code)
            invitation = (
                session.scalar(select(Invitation).where(Invitation.code_hash == hash_code(code))) if code else None
            )
            if invitation is None:
                # Recorded and committed before the error is raised: wrong guesses must count.
                new_state = state.after_failure(now, self._throttle)
                _save_throttle(session, throttle, telegram_user_id, new_state)
                if (wait := new_state.remaining_lock(now)) is not None:
                    failure = RedeemError(RedeemProblem.THROTTLED, retry_after=wait)
                else:
                    failure = RedeemError(RedeemProblem.MALFORMED if code is None else RedeemProblem.UNKNOWN)
            else:
                check_redeemable(used_at=invitation.used_at, expires_at=invitation.expires_at, now=now)
                if invitation.person.telegram_user_id is not None:
                    raise RedeemError(RedeemProblem.USED)
                pending = PendingBinding(invitation_id=invitation.id, person=person_view(invitation.person))
        if failure is not None:
            raise failure
        return pending

    def redeem(
        self,
        telegram_user_id: int,
        invitation_id: int,
        *,
        notice_version: str,
        telegram_username: str | None = None,
        telegram_name: str | None = None,
        now: datetime | None = None,
    ) -> BoundPerson:
        """Consume the code and bind the account, atomically: two accounts racing for one code, one wins."""
        now = now or self._clock()
        with self._db.transaction() as session:
            if session.scalar(select(Person.id).where(Person.telegram_user_id == telegram_user_id)) is not None:
                raise RedeemError(RedeemProblem.ALREADY_BOUND)
            invitation = session.get(Invitation, invitation_id)
            if invitation is None:
                raise RedeemError(RedeemProblem.UNKNOWN)
            check_redeemable(used_at=invitation.used_at, expires_at=invitation.expires_at, now=now)
            claimed = session.execute(
                update(Invitation)
                .where(Invitation.id == invitation_id, Invitation.used_at.is_(None), Invitation.expires_at > now)
                .values(used_at=now, used_by_telegram_id=telegram_user_id)
            ).rowcount
            if claimed != 1:
                raise RedeemError(RedeemProblem.USED)
            bound = session.execute(
                update(Person)
                .where(Person.id == invitation.person_id, Person.telegram_user_id.is_(None))
                .values(telegram_user_id=telegram_user_id, telegram_username=telegram_username, bound_at=now)
            ).rowcount
            if bound != 1:
                raise RedeemError(RedeemProblem.USED)
            session.add(
                Consent(
                    person_id=invitation.person_id,
                    notice_version=notice_version,
                    accepted_at=now,
                    telegram_user_id=telegram_user_id,
                )
            )
            session.add(AuditEvent(subject_id=invitation.person_id, action="telegram.bound"))
            throttle = session.get(SignInThrottle, telegram_user_id)
            if throttle is not None:
                session.delete(throttle)
            session.flush()
            person = session.get(Person, invitation.person_id)
            session.refresh(person)
            enrolment = session.scalar(
                select(Enrolment).where(Enrolment.auditeur_id == person.id, Enrolment.status == "active")
            )
            bound = BoundPerson(person=person_view(person), enrolment=enrolment_view(enrolment) if enrolment else None)
            if bound.enrolment is not None:  # the tutor learns who joined, in the same transaction
                outbox.enqueue(
                    session, recipient_id=bound.enrolment.tutor.id, kind="enrolment.bound.tutor",
                    template="onboarding/tutor_new_auditeur.html", params={"enrolment": bound.enrolment}, now=now,
                )
                if self._accompaniment is not None:
                    self._accompaniment.on_bound(session, enrolment, now)
            inviter_id = invitation.created_by_id
            if inviter_id is not None and inviter_id != person.id:
                # whoever opens a link first takes the profile: the inviter learns who it was
                outbox.enqueue(
                    session, recipient_id=inviter_id, kind="invitation.bound.inviter",
                    template="staff/invitation_bound.html",
                    params={"person": bound.person, "enrolment": bound.enrolment,
                            "telegram_name": telegram_name, "telegram_username": telegram_username},
                    subject=("person", person.id), now=now,  # about them: emptied if they ask for erasure
                )
            return bound


def _actor_id(actor: PersonView) -> int | None:
    return actor.id if actor.id > 0 else None


def _throttle_state(row: SignInThrottle | None, now: datetime) -> ThrottleState:
    if row is None:
        return ThrottleState.fresh(now)
    return ThrottleState(row.failures, row.window_started_at, row.locked_until)


def _save_throttle(session, row: SignInThrottle | None, telegram_user_id: int, state: ThrottleState) -> None:
    if row is None:
        row = SignInThrottle(telegram_user_id=telegram_user_id)  # its values are set below, new or not
        session.add(row)
    row.failures = state.failures
    row.window_started_at = state.window_started_at
    row.locked_until = state.locked_until
