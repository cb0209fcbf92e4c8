"""Personal data use cases: export everything stored about a person, erase it, purge it when retention ends.

One unit of work per call, permission checked here: a person may export or erase their own data;
staff (and the command line) anyone's. What an erasure removes and what it keeps is decided in
``bot/domain/personal_data.py``; this module applies it to every table:

- removed: coaching progress and feedback, the experience self-check, draft versions (file names,
  Telegram file ids, reviews), invitations, conversation state, the sign-in throttle row, a tutor's
  settings, windows and days off;
- emptied: the person's name (``#<id>``), e-mail, Telegram id and username; video links and topics of their
  meetings; free text of the audit events about them; the content of outbox messages to them (open
  ones cancelled), about their meetings, or naming them;
- kept: the anonymous record, enrolments (closed), meetings (date, length, status; future ones of an
  auditeur cancelled), consents (without the Telegram id), audit events, plus one ``person.erased``
  event.

Someone else concerned (the tutor of an erased auditeur, with the future meetings cancelled) is told
without the erased person's name, through the outbox, in the erasure's transaction. Outbox rows to
the person, about their meetings or naming them are cancelled if still open and emptied.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from bot.domain import personal_data as rules
from bot.domain.invitations import ThrottlePolicy
from bot.domain.people import PersonView, Role
from bot.domain.permissions import PermissionDenied
from bot.services import outbox
from bot.services.directory import person_view
from bot.storage.db import Database
from bot.storage.models.outbox import OPEN_STATES
from bot.storage.models import (
    AuditEvent,
    AvailabilityWindow,
    CoachingFeedback,
    CoachingProgress,
    Consent,
    ConversationState,
    DepositInProgress,
    DraftVersion,
    Enrolment,
    ExperienceCheck,
    Invitation,
    Meeting,
    Person,
    OutboxMessage,
    SignInThrottle,
    TutorBookingSettings,
    TutorDayOff,
    utcnow,
)

log = logging.getLogger(__name__)

EXPORT_FORMAT = 1

# Every table is either read by export() and handled by erase() here, or holds no personal data.
# tests/unit/test_personal_data_rules.py fails for a table in neither set: a new table must be
# exported and erased (or anonymised) here, or declared without personal data.
PERSONAL_TABLES = frozenset({
    "people", "enrolments", "invitations", "consents", "sign_in_throttle", "conversation_states", "audit_events",
    "coaching_progress", "coaching_feedback", "experience_checks", "draft_versions", "tutor_booking_settings",
    "availability_windows", "tutor_days_off", "meetings", "outbox_messages",
    # the accompaniment (issue 14) and broadcasts (issue 15), handled when their tables exist
    "accompaniments", "accompaniment_events", "planning_dates", "report_submissions", "opinions",
    "follow_up_cases", "broadcasts",
    # issue 17: the deposit being put together (report version, annex titles and Telegram file ids)
    "deposits_in_progress",
})
# people_changes: which person id changed (no content), read by the caches within a second, pruned
NO_PERSONAL_DATA = frozenset({"rate_buckets", "academic_years", "certification_grids", "people_changes"})
# Columns of a kept row that hold personal data: exported, and emptied by an erasure (the row stays).
# tests/unit/test_personal_data_rules.py checks each one exists.
PERSONAL_COLUMNS: dict[str, dict[str, Any]] = {
    "meetings": {"video_link": "", "topic": None},  # the link; what the auditeur wanted to talk about
}


def _table(name: str):
    """A table of a feature that may not be installed yet (read through its metadata, not its model)."""
    from bot.storage.models import Base

    return Base.metadata.tables.get(name)


class HandOverFirst(Exception):
    """The person still has open work (auditeurs, future meetings, staff configuration)."""

    def __init__(self, work: rules.OpenWork) -> None:
        super().__init__(f"open work: {work}")
        self.work = work


class AlreadyErased(Exception):
    pass


@dataclass(frozen=True)
class ErasurePreview:
    person: PersonView
    work: rules.OpenWork
    future_meetings: int  # an auditeur's: cancelled by the erasure
    drafts: int
    erased: tuple[rules.Erased, ...] = rules.ERASED
    kept: tuple[rules.Kept, ...] = rules.KEPT


@dataclass(frozen=True)
class Notice:
    """A message for someone else concerned by an erasure (template + params, no erased name)."""

    recipient: PersonView
    template: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ErasureDone:
    person_id: int
    role: Role
    telegram_user_id: int | None  # the account that was bound (to reset its command list)
    cancelled_meetings: int
    notified: int = 0  # people told through the outbox (the tutor of an erased auditeur)


@dataclass(frozen=True)
class HandOverDone:
    auditeurs: int  # each was told, and so was the new tutor (outbox)


@dataclass(frozen=True)
class PurgeReport:
    erased: tuple[int, ...]  # people ids
    throttle_rows: int
    conversations: int


def _iso(value: Any) -> Any:
    """JSON-ready: datetimes and dates in ISO 8601, inside lists and dicts too."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_iso(v) for v in value]
    if isinstance(value, timedelta):
        return value.total_seconds()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)  # enums and the like


def _row(obj: Any, columns: Iterable[str]) -> dict[str, Any]:
    return {name: _iso(getattr(obj, name)) for name in columns}


class PersonalData:
    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        staff_telegram_ids: Iterable[int] = (),
        retention_months: int = rules.DEFAULT_RETENTION_MONTHS,
        throttle: ThrottlePolicy | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._staff_ids = frozenset(staff_telegram_ids)
        self.retention_months = retention_months
        self._throttle = throttle or ThrottlePolicy()

    # --- finding people (command line) --------------------------------------------------------

    def find(self, actor: PersonView, *, telegram_id: int | None = None, name: str | None = None) -> list[PersonView]:
        self._require_staff(actor, "look people up")
        with self._db.read() as session:
            query = select(Person).where(Person.erased_at.is_(None))
            if telegram_id is not None:
                query = query.where(Person.telegram_user_id == telegram_id)
            if name is not None:
                query = query.where(func.lower(Person.display_name) == " ".join(name.split()).lower())
            return [person_view(p) for p in session.scalars(query.order_by(Person.id))]

    # --- export ------------------------------------------------------------------------------------

    def export(self, actor: PersonView, person_id: int) -> dict[str, Any]:
        """Everything stored about the person, as plain JSON-ready data (dates in ISO 8601, UTC)."""
        self._require_self_or_staff(actor, person_id, "export someone else's data")
        with self._db.read() as session:
            person = session.get(Person, person_id)
            if person is None:
                raise LookupError(person_id)
            names = _names(session)
            enrolments = list(
                session.scalars(
                    select(Enrolment)
                    .where(or_(Enrolment.auditeur_id == person_id, Enrolment.tutor_id == person_id))
                    .order_by(Enrolment.id)
                )
            )
            meetings = list(
                session.scalars(
                    select(Meeting)
                    .where(or_(Meeting.auditeur_id == person_id, Meeting.tutor_id == person_id))
                    .order_by(Meeting.start_at)
                )
            )
            progress = list(session.scalars(select(CoachingProgress).where(CoachingProgress.auditeur_id == person_id)))
            feedback = list(
                session.scalars(
                    select(CoachingFeedback)
                    .where(CoachingFeedback.progress_id.in_([p.id for p in progress] or [-1]))
                    .order_by(CoachingFeedback.id)
                )
            )
            experience = session.scalar(select(ExperienceCheck).where(ExperienceCheck.person_id == person_id))
            drafts = list(
                session.scalars(select(DraftVersion).where(DraftVersion.auditeur_id == person_id).order_by(DraftVersion.version))
            )
            deposit = session.get(DepositInProgress, person_id)
            settings = session.get(TutorBookingSettings, person_id)
            windows = list(session.scalars(select(AvailabilityWindow).where(AvailabilityWindow.tutor_id == person_id)))
            days_off = list(session.scalars(select(TutorDayOff).where(TutorDayOff.tutor_id == person_id)))
            messages = list(
                session.scalars(select(OutboxMessage).where(OutboxMessage.recipient_id == person_id).order_by(OutboxMessage.id))
            )
            audit = list(
                session.scalars(
                    select(AuditEvent)
                    .where(or_(AuditEvent.subject_id == person_id, AuditEvent.actor_id == person_id))
                    .order_by(AuditEvent.id)
                )
            )
            consents = list(session.scalars(select(Consent).where(Consent.person_id == person_id).order_by(Consent.id)))
            invitations = list(session.scalars(select(Invitation).where(Invitation.person_id == person_id)))
            tid = person.telegram_user_id
            conversation = session.get(ConversationState, tid) if tid is not None else None
            throttle = session.get(SignInThrottle, tid) if tid is not None else None
            return {
                "format": EXPORT_FORMAT,
                "exported_at": _iso(self._clock()),
                "person": _row(
                    person,
                    ("id", "role", "display_name", "email", "telegram_user_id", "telegram_username", "created_at",
                     "bound_at", "blocked_bot_at", "active", "erased_at"),
                ),
                "consents": [_row(c, ("notice_version", "accepted_at", "telegram_user_id")) for c in consents],
                "invitations": [_row(i, ("created_at", "expires_at", "used_at", "used_by_telegram_id")) for i in invitations],
                "enrolments": [
                    {
                        **_row(e, ("id", "certification", "report_type", "semester", "status", "enrolled_at", "ended_at",
                                   "units_validated", "experience")),
                        "as": "auditeur" if e.auditeur_id == person_id else "tutor",
                        "auditeur": names.get(e.auditeur_id),
                        "tutor": names.get(e.tutor_id),
                    }
                    for e in enrolments
                ],
                "coaching": [
                    {**_row(p, ("report_type", "created_at", "updated_at")), "state": p.state} for p in progress
                ],
                "coaching_feedback": [
                    _row(f, ("section_id", "engine", "remarks", "created_at")) for f in feedback
                ],
                "experience_check": (
                    _row(experience, ("answers", "outcome", "reasons", "confirm_with_tutor", "completed_at", "updated_at"))
                    if experience
                    else None
                ),
                "drafts": [
                    _row(d, ("version", "file_name", "size_bytes", "sha256", "pages", "words", "problem", "received_at", "review"))
                    for d in drafts
                ],
                "deposit_in_progress": (
                    {
                        **_row(deposit, ("created_at", "updated_at")),
                        "report_version": session.scalar(
                            select(DraftVersion.version).where(DraftVersion.id == deposit.report_version_id)
                        ) if deposit.report_version_id is not None else None,
                        "annexes": [{"title": a.get("title"), "pages": a.get("pages")} for a in deposit.annexes or []],
                    }
                    if deposit
                    else None
                ),
                "meetings": [
                    {
                        **_row(m, ("id", "start_at", "end_at", "duration_minutes", "status", "purpose", "video_link",
                                   "topic", "rescheduled_from", "cancelled_at")),
                        "as": "auditeur" if m.auditeur_id == person_id else "tutor",
                        "auditeur": names.get(m.auditeur_id),
                        "tutor": names.get(m.tutor_id),
                    }
                    for m in meetings
                ],
                "tutor_settings": (
                    _row(settings, ("video_mode", "video_link", "min_notice_minutes", "horizon_days", "buffer_minutes"))
                    if settings
                    else None
                ),
                "availability": [_row(w, ("weekday", "start_minute", "end_minute")) for w in windows],
                "days_off": [
                    {"first_day": d.first_day.isoformat(), "last_day": d.last_day.isoformat()} for d in days_off
                ],
                "messages": [
                    {**_row(m, ("kind", "channel", "state", "created_at", "sent_at")), "due_at": _iso(m.next_attempt_at),
                     "params": _iso(outbox.decode(m.params)) if m.params else {}}
                    for m in messages
                ],
                "audit_events": [
                    {
                        **_row(a, ("occurred_at", "action", "details", "note")),
                        "by": names.get(a.actor_id) if a.actor_id is not None else None,
                        "about": names.get(a.subject_id) if a.subject_id is not None else None,
                    }
                    for a in audit
                ],
                **self._export_accompaniment(session, person_id, [e.id for e in enrolments if e.auditeur_id == person_id], names),
                "conversation": _row(conversation, ("flow", "step", "data", "updated_at")) if conversation else None,
                "sign_in_throttle": (
                    _row(throttle, ("failures", "window_started_at", "locked_until")) if throttle else None
                ),
            }

    # --- erasure -----------------------------------------------------------------------------------

    def preview_erasure(self, actor: PersonView, person_id: int) -> ErasurePreview:
        self._require_self_or_staff(actor, person_id, "erase someone else's data")
        with self._db.read() as session:
            person = self._live_person(session, person_id)
            return self._preview(session, person)

    def erase(self, actor: PersonView, person_id: int, *, reason: str = "request") -> ErasureDone:
        """Erase or anonymise the person's data (see the module docstring); HandOverFirst if they have open work."""
        self._require_self_or_staff(actor, person_id, "erase someone else's data")
        with self._db.transaction() as session:
            person = self._live_person(session, person_id)
            preview = self._preview(session, person)
            if preview.work.blocking:
                raise HandOverFirst(preview.work)
            done = self._erase(session, person, actor_id=_actor_id(actor, person_id), reason=reason)
        log.info("personal data of person %s erased (%s)", person_id, reason)
        return done

    def _preview(self, session: Session, person: Person) -> ErasurePreview:
        now = self._clock()
        role = Role(person.role)
        active_auditeurs = session.scalar(
            select(func.count()).select_from(Enrolment).where(Enrolment.tutor_id == person.id, Enrolment.status == "active")
        )
        future = session.scalar(
            select(func.count())
            .select_from(Meeting)
            .where(
                or_(Meeting.tutor_id == person.id, Meeting.auditeur_id == person.id),
                Meeting.status == "booked",
                Meeting.end_at > now,
            )
        )
        drafts = session.scalar(select(func.count()).select_from(DraftVersion).where(DraftVersion.auditeur_id == person.id))
        work = rules.open_work(
            role,
            active_auditeurs=active_auditeurs or 0,
            future_meetings=future or 0,
            configured_staff=person.telegram_user_id in self._staff_ids,
        )
        return ErasurePreview(
            person=person_view(person),
            work=work,
            future_meetings=future if role is Role.AUDITEUR else 0,
            drafts=drafts or 0,
        )

    def _erase(self, session: Session, person: Person, *, actor_id: int | None, reason: str) -> ErasureDone:
        now = self._clock()
        pid, tid, role = person.id, person.telegram_user_id, Role(person.role)
        notices: list[Notice] = []

        # an auditeur's future meetings are cancelled; their tutor is told (without the name)
        future = list(
            session.scalars(
                select(Meeting)
                .where(Meeting.auditeur_id == pid, Meeting.status == "booked", Meeting.end_at > now)
                .order_by(Meeting.start_at)
            )
        )
        for meeting in future:
            meeting.status = "cancelled"
            meeting.cancelled_at = now
            meeting.cancelled_by_id = pid
            meeting.sequence += 1
        meeting_ids = list(session.scalars(select(Meeting.id).where(or_(Meeting.auditeur_id == pid, Meeting.tutor_id == pid))))
        for enrolment in session.scalars(select(Enrolment).where(Enrolment.auditeur_id == pid, Enrolment.status == "active")):
            tutor = session.get(Person, enrolment.tutor_id)
            if tutor is not None and tutor.erased_at is None:
                notices.append(
                    Notice(
                        person_view(tutor),
                        "personal_data/tutor_notified.html",
                        {
                            "certification": enrolment.certification,
                            "semester": enrolment.semester,
                            "enrolled_at": enrolment.enrolled_at,
                            "cancelled": [m.start_at for m in future if m.tutor_id == tutor.id],
                        },
                    )
                )
            enrolment.status = "closed"
            enrolment.ended_at = now

        # messages: to them, cancelled and emptied; about their meetings or naming them, emptied too
        outbox.cancel_for_recipient(session, pid)
        enrolment_ids = list(session.scalars(select(Enrolment.id).where(Enrolment.auditeur_id == pid)))
        accompaniment_ids = self._erase_accompaniment(session, pid, enrolment_ids)
        for meeting in future:
            outbox.cancel_subject(session, "meeting", meeting.id)
        self._scrub_messages(session, person, meeting_ids, accompaniment_ids)
        if meeting_ids:
            session.execute(update(Meeting).where(Meeting.id.in_(meeting_ids)).values(**PERSONAL_COLUMNS["meetings"]))
        for notice in notices:  # written after the scrub: they never name the erased person
            outbox.enqueue(
                session, recipient_id=notice.recipient.id, kind="person.erased.tutor", template=notice.template,
                params=notice.params, now=now,
            )

        # what goes entirely
        progress_ids = list(session.scalars(select(CoachingProgress.id).where(CoachingProgress.auditeur_id == pid)))
        if progress_ids:
            session.execute(delete(CoachingFeedback).where(CoachingFeedback.progress_id.in_(progress_ids)))
        session.execute(delete(CoachingProgress).where(CoachingProgress.auditeur_id == pid))
        session.execute(delete(ExperienceCheck).where(ExperienceCheck.person_id == pid))
        session.execute(delete(DepositInProgress).where(DepositInProgress.auditeur_id == pid))
        drafts = session.execute(delete(DraftVersion).where(DraftVersion.auditeur_id == pid)).rowcount
        session.execute(delete(Invitation).where(Invitation.person_id == pid))
        session.execute(delete(TutorBookingSettings).where(TutorBookingSettings.tutor_id == pid))
        session.execute(delete(AvailabilityWindow).where(AvailabilityWindow.tutor_id == pid))
        session.execute(delete(TutorDayOff).where(TutorDayOff.tutor_id == pid))
        if tid is not None:
            session.execute(delete(ConversationState).where(ConversationState.telegram_user_id == tid))
            session.execute(delete(SignInThrottle).where(SignInThrottle.telegram_user_id == tid))

        # what stays, without personal text
        session.execute(update(Consent).where(Consent.person_id == pid).values(telegram_user_id=0))
        session.execute(
            update(AuditEvent)
            .where(or_(AuditEvent.subject_id == pid, AuditEvent.actor_id == pid))
            .values(note=None, details={})
        )
        person.display_name = rules.anonymous_name(pid)
        person.email = None
        person.telegram_user_id = None
        person.telegram_username = None
        person.active = False
        person.erased_at = now
        session.add(
            AuditEvent(
                occurred_at=now,
                actor_id=actor_id,
                subject_id=pid,
                action="person.erased",
                details={"reason": reason, "role": role.value, "drafts": drafts, "cancelled_meetings": len(future)},
            )
        )
        return ErasureDone(pid, role, tid, len(future), len(notices))

    # --- hand-over -----------------------------------------------------------------------------------

    def hand_over(self, actor: PersonView, from_tutor_id: int, to_tutor_id: int) -> HandOverDone:
        """Staff give a tutor's active auditeurs to another tutor (before the first one's erasure).

        Future meetings are not moved (the other tutor's calendar decides): the first tutor cancels
        them first, otherwise HandOverFirst. Each auditeur and the new tutor are told.
        """
        self._require_staff(actor, "hand a tutor's auditeurs over")
        with self._db.transaction() as session:
            source = self._live_person(session, from_tutor_id)
            target = self._live_person(session, to_tutor_id)
            if source.role != Role.TUTOR or target.role != Role.TUTOR or source.id == target.id:
                raise ValueError("hand-over needs two different tutors")
            future = session.scalar(
                select(func.count())
                .select_from(Meeting)
                .where(Meeting.tutor_id == source.id, Meeting.status == "booked", Meeting.end_at > self._clock())
            )
            if future:
                raise HandOverFirst(rules.OpenWork(future_meetings=future))
            enrolments = list(
                session.scalars(
                    select(Enrolment).where(Enrolment.tutor_id == source.id, Enrolment.status == "active").order_by(Enrolment.id)
                )
            )
            now = self._clock()
            names = []
            for enrolment in enrolments:
                enrolment.tutor_id = target.id
                session.add(
                    AuditEvent(
                        occurred_at=now, actor_id=_actor_id(actor, -1), subject_id=enrolment.auditeur_id,
                        action="enrolment.handed_over", details={"from_tutor": source.id, "to_tutor": target.id},
                    )
                )
                outbox.enqueue(
                    session, recipient_id=enrolment.auditeur_id, kind="tutor.handed_over.auditeur",
                    template="personal_data/new_tutor.html", params={"tutor": person_view(target)}, now=now,
                )
                names.append(session.get(Person, enrolment.auditeur_id).display_name)
            if names:
                outbox.enqueue(
                    session, recipient_id=target.id, kind="tutor.handed_over.tutor",
                    template="personal_data/auditeurs_received.html", params={"auditeurs": names}, now=now,
                )
            moved = len(enrolments)
        log.info("tutor %s handed %d auditeurs over to tutor %s", from_tutor_id, moved, to_tutor_id)
        return HandOverDone(moved)

    # --- the accompaniment and broadcasts (tables read through the metadata) ---------------------------

    @staticmethod
    def _accompaniment_ids(session: Session, enrolment_ids: list[int]) -> list[int]:
        accompaniments = _table("accompaniments")
        if accompaniments is None or not enrolment_ids:
            return []
        return list(session.scalars(select(accompaniments.c.id).where(accompaniments.c.enrolment_id.in_(enrolment_ids))))

    def _export_accompaniment(self, session: Session, person_id: int, enrolment_ids: list[int], names: dict) -> dict:
        """The five-step accompaniment of the person's enrolments, with what the tutor and staff wrote
        (correction comments, the opinion, the follow-up notes), and the broadcasts a staff member wrote."""
        out: dict[str, Any] = {}
        ids = self._accompaniment_ids(session, enrolment_ids)
        columns = {
            "accompaniments": ("stage", "moved_at", "limit_date", "created_at"),
            "accompaniment_events": ("at", "party", "action", "from_stage", "to_stage", "details", "actor_id"),
            "planning_dates": ("kind", "day", "recorded_at"),
            "report_submissions": ("kind", "submitted_at", "received_on", "due_on", "weeks", "corrected_at",
                                   "correction_file_name", "correction_comments", "correction_summary"),
            "opinions": ("verdict", "assessments", "comments", "reasons", "given_at", "tutor_id"),
            "follow_up_cases": ("reason", "opened_at", "closed_at", "contact_note", "agreed"),
        }
        for name, wanted in columns.items():
            table = _table(name)
            if table is None:
                continue
            key = table.c.id if name == "accompaniments" else table.c.accompaniment_id
            rows = session.execute(select(table).where(key.in_(ids or [-1])).order_by(table.c.id)).mappings().all()
            items = []
            for row in rows:
                item = {c: _iso(row[c]) for c in wanted if c in row}
                for id_column, label in (("actor_id", "by"), ("tutor_id", "tutor")):
                    if id_column in item:
                        item[label] = names.get(item.pop(id_column))
                items.append(item)
            out[name] = items
        opinions = _table("opinions")
        if opinions is not None:
            out["opinions_given"] = [
                {"verdict": r.verdict, "given_at": _iso(r.given_at)}
                for r in session.execute(select(opinions.c.verdict, opinions.c.given_at).where(opinions.c.tutor_id == person_id))
            ]
        broadcasts = _table("broadcasts")
        if broadcasts is not None:
            out["broadcasts_written"] = [
                {"kind": r.kind, "audience": r.audience, "state": r.state, "created_at": _iso(r.created_at),
                 "message_html": r.message_html}
                for r in session.execute(select(broadcasts).where(broadcasts.c.author_id == person_id))
            ]
        return out

    def _erase_accompaniment(self, session: Session, person_id: int, enrolment_ids: list[int]) -> list[int]:
        """Keep the steps, dates and verdicts (the tutoring given, the opinion given); drop free texts,
        file ids and the opinion's PDF (it names the auditeur). Returns the accompaniment ids."""
        ids = self._accompaniment_ids(session, enrolment_ids)
        emptied = {
            "accompaniment_events": {"details": {}},
            "report_submissions": {"correction_file_id": None, "correction_file_name": None,
                                   "correction_comments": {}, "correction_summary": None},
            "opinions": {"comments": {}, "reasons": "", "pdf": b""},
            "follow_up_cases": {"contact_note": None, "agreed": None},
        }
        for name, values in emptied.items():
            table = _table(name)
            if table is None or not ids:
                continue
            values = {k: v for k, v in values.items() if k in table.c}
            session.execute(update(table).where(table.c.accompaniment_id.in_(ids)).values(**values))
        events = _table("accompaniment_events")
        if events is not None:  # what a tutor or staff member did elsewhere keeps no text either
            session.execute(update(events).where(events.c.actor_id == person_id).values(details={}))
        broadcasts = _table("broadcasts")
        if broadcasts is not None:
            session.execute(update(broadcasts).where(broadcasts.c.author_id == person_id).values(progress_chat_id=None))
        for accompaniment_id in ids:
            outbox.cancel_subject(session, "accompaniment", accompaniment_id)
        return ids

    @staticmethod
    def _finished_accompaniments(session: Session) -> dict[int, datetime]:
        """enrolment id -> when its accompaniment reached a final stage (the opinion), if it did."""
        accompaniments = _table("accompaniments")
        if accompaniments is None:
            return {}
        rows = session.execute(
            select(accompaniments.c.enrolment_id, accompaniments.c.moved_at).where(
                accompaniments.c.stage.in_(rules.FINAL_STAGES)
            )
        ).all()
        return {enrolment_id: _aware(moved_at) for enrolment_id, moved_at in rows}

    # --- retention -----------------------------------------------------------------------------------

    def purge_expired(self) -> PurgeReport:
        """The daily purge: auditeurs whose accompaniment ended ``retention_months`` ago are erased,
        and so are people invited who never joined (invitations expired that long ago); throttle rows
        expire with their window; conversations untouched that long are forgotten."""
        now = self._clock()
        months = self.retention_months
        with self._db.transaction() as session:
            people = list(session.scalars(select(Person).where(Person.erased_at.is_(None), Person.role != Role.STAFF)))
            spans: dict[int, list[rules.EnrolmentSpan]] = {}
            finished = self._finished_accompaniments(session)
            for enrolment in session.scalars(select(Enrolment)):
                active, ended_at = enrolment.status == "active", enrolment.ended_at
                if active and enrolment.id in finished:  # opinion given: the accompaniment is over
                    active, ended_at = False, finished[enrolment.id]
                spans.setdefault(enrolment.auditeur_id, []).append(rules.EnrolmentSpan(enrolment.semester, active, ended_at))
            last_invitation = dict(  # max() keeps the column's type: aware UTC datetimes on every database
                session.execute(select(Invitation.person_id, func.max(Invitation.expires_at)).group_by(Invitation.person_id)).all()
            )
            due: list[Person] = []
            for person in people:
                if person.role == Role.AUDITEUR and person.id in spans:
                    if rules.retention_due(rules.accompaniment_end(spans[person.id]), now, months):
                        due.append(person)
                elif person.bound_at is None and person.id in last_invitation:
                    expired = last_invitation[person.id]
                    if person.role == Role.TUTOR and session.scalar(
                        select(func.count()).select_from(Enrolment).where(Enrolment.tutor_id == person.id)
                    ):
                        continue  # a tutor with enrolments is kept until handed over
                    if rules.retention_due(expired, now, months):
                        due.append(person)
            erased = []
            for person in due:
                self._erase(session, person, actor_id=None, reason="retention")
                erased.append(person.id)
            window_end = now - self._throttle.window
            throttles = session.execute(
                delete(SignInThrottle).where(
                    SignInThrottle.window_started_at <= window_end,
                    or_(SignInThrottle.locked_until.is_(None), SignInThrottle.locked_until <= now),
                )
            ).rowcount
            idle_since = rules.add_months(now, -months)
            conversations = session.execute(delete(ConversationState).where(ConversationState.updated_at <= idle_since)).rowcount
        if erased or throttles or conversations:
            log.info("retention purge: %d people erased, %d throttle rows, %d conversations", len(erased), throttles, conversations)
        return PurgeReport(tuple(erased), throttles, conversations)

    # --- helpers --------------------------------------------------------------------------------------

    @staticmethod
    def _scrub_messages(session: Session, person: Person, meeting_ids: list[int], accompaniment_ids: list[int]) -> None:
        """Empty every outbox row to the person, about their meetings, or whose content names them.

        Rows others were sent keep their kind, state and dates (the delivery history) but lose their
        content; those still open are cancelled (they would name someone who is gone).
        """
        needles = [n for n in (person.display_name, person.email, person.telegram_username) if n and len(n) >= 3]
        file_ids = list(session.scalars(select(DraftVersion.telegram_file_id).where(DraftVersion.auditeur_id == person.id)))
        rows = session.scalars(select(OutboxMessage))
        for row in rows:
            to_them = row.recipient_id == person.id or bool(
                person.email and row.email_to and row.email_to.strip().lower() == person.email.strip().lower()
            )  # an e-mail to their address is theirs, even without their id
            about = (
                to_them
                or (row.subject_type == "meeting" and row.subject_id in meeting_ids)
                or (row.subject_type == "accompaniment" and row.subject_id in accompaniment_ids)
                or (row.subject_type == "person" and row.subject_id == person.id)
            )
            if not about:
                content = json.dumps([row.params, row.text, row.document, row.keyboard, row.subject_line], ensure_ascii=False)
                about = any(n in content for n in needles + file_ids) or (
                    row.document_content is not None and any(n.encode() in row.document_content for n in needles)
                )
            if not about:
                continue
            if row.state in OPEN_STATES:
                row.state = "cancelled"
            row.params, row.text, row.keyboard, row.document, row.document_content = {}, None, None, None, None
            row.subject_line, row.last_error = None, "person erased"
            if to_them:
                row.chat_id, row.email_to = None, None
                if row.channel == "email":
                    row.recipient_key = f"p{person.id}"


    @staticmethod
    def _live_person(session: Session, person_id: int) -> Person:
        person = session.get(Person, person_id)
        if person is None:
            raise LookupError(person_id)
        if person.erased_at is not None:
            raise AlreadyErased(person_id)
        return person

    @staticmethod
    def _require_staff(actor: PersonView, action: str) -> None:
        if actor.role is not Role.STAFF:
            raise PermissionDenied(action, actor)

    @staticmethod
    def _require_self_or_staff(actor: PersonView, person_id: int, action: str) -> None:
        if actor.id != person_id and actor.role is not Role.STAFF:
            raise PermissionDenied(action, actor)


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Person.id, Person.display_name)).all())


def _actor_id(actor: PersonView, person_id: int) -> int | None:
    return actor.id if actor.id > 0 else None  # the command line (id 0) is nobody in the database

