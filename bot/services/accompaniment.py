"""The five-step accompaniment: every transition, its permission check, its history entry, the
messages it owes the other side and its reminders, in one transaction per call.

The rules are in :mod:`bot.domain.accompaniment`; this module loads the accompaniment of an
enrolment (created on demand, so enrolments older than this feature have one), asks the domain
whether the actor may take the action from the current stage, stores the change and its
:class:`AccompanimentEvent`, writes the notifications with ``outbox.enqueue`` and replaces the
stage's reminders (``outbox.cancel_subject`` then new rows with ``not_before``) — all in the same
transaction. A refusal raises :class:`Refusal` before anything is written.

Other services call the ``on_*`` functions with their own session (enrolment, binding, a first
meeting marked held) so that those changes and the accompaniment's move are one unit of work.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select, type_coerce
from sqlalchemy.orm import Session, selectinload

from bot.domain import accompaniment as rules
from bot.domain.accompaniment import (
    AcademicCalendar,
    AcademicYear,
    Action,
    HistoryEntry,
    Opinion as Verdict,
    Party,
    Refusal,
    RefusalCode,
    ReminderKind,
    ReminderPolicy,
    Stage,
)
from bot.domain.calendar import HolidayCalendar, correction_delay, paris_date, paris_to_utc
from bot.domain.people import EnrolmentView, PersonView, Role
from bot.domain.report import Criterion, Grid
from bot.domain.semesters import Semester
from bot.services import outbox
from bot.services.academic_calendar import AcademicCalendarStore
from bot.services.directory import enrolment_view
from bot.storage.db import Database
from bot.storage.models import UTCDateTime
from bot.storage.models import (
    Accompaniment,
    AccompanimentEvent,
    AuditEvent,
    CertificationGrid,
    DraftVersion,
    Enrolment,
    FollowUpCase,
    Meeting,
    Opinion,
    Person,
    PlanningDate,
    ReportSubmission,
)

log = logging.getLogger(__name__)

SUBJECT = "accompaniment"


# -- views ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmissionView:
    id: int
    kind: str  # submission | revision
    version: int | None
    submitted_at: datetime
    received_on: date
    due_on: date | None
    weeks: int | None
    holidays: tuple[dict, ...]
    corrected_at: datetime | None
    has_correction_file: bool
    comments: dict
    summary: str | None


@dataclass(frozen=True)
class CaseView:
    id: int
    accompaniment_id: int
    enrolment: EnrolmentView
    opened_at: datetime
    closed_at: datetime | None
    contact_note: str | None
    agreed: str | None


@dataclass(frozen=True)
class AccompanimentView:
    id: int
    enrolment: EnrolmentView
    stage: Stage
    moved_at: datetime
    limit_date: date
    deadline: date | None
    intermediate: tuple[date, ...]
    current: SubmissionView | None  # the latest submission or revision
    verdict: str | None
    open_case: CaseView | None
    next_due: date | None  # the auditeur's deadline (planned) or the tutor's correction (submitted)
    overdue: bool
    history: tuple[HistoryEntry, ...] = ()

    @property
    def step(self) -> int:
        return self.stage.step


@dataclass(frozen=True)
class FollowRow:
    """One line of a tutor's or staff's follow-up list (cheap to build for 1,000 auditeurs)."""

    accompaniment_id: int
    enrolment_id: int
    auditeur_id: int
    auditeur_name: str
    tutor_name: str
    certification: str
    semester: str
    stage: Stage
    moved_at: datetime
    next_due: date | None
    overdue: bool
    limit_date: date | None


@dataclass(frozen=True)
class StaffFollowUp:
    overdue_corrections: tuple[FollowRow, ...]
    open_cases: tuple[CaseView, ...]
    stalled: tuple[FollowRow, ...]
    overdue_opinions: tuple[FollowRow, ...] = ()  # revised reports whose opinion is late


@dataclass(frozen=True)
class OpinionGiven:
    view: AccompanimentView
    verdict: Verdict
    pdf: bytes
    file_name: str


# -- the service ------------------------------------------------------------------------------------

PdfBuilder = Callable[[dict], bytes]


class Accompaniments:
    def __init__(
        self,
        db: Database,
        calendar: HolidayCalendar,
        grid: Grid | None,
        *,
        clock: Callable[[], datetime],
        grid_pdf: PdfBuilder | None = None,
        policy: ReminderPolicy = ReminderPolicy(),
        catalogue=None,
        email_invitations: bool = False,
        bot_username: str | None = None,
        contact: str = "",
        academic: AcademicCalendarStore | None = None,
    ) -> None:
        self.academic = academic or AcademicCalendarStore(db, clock=lambda: self._clock())
        self._catalogue = catalogue
        self._email_invitations = email_invitations  # SMTP is configured
        self._bot_username = bot_username
        self._contact = contact
        self._db = db
        self.calendar = calendar
        self.default_grid = grid
        self._clock = clock
        self._grid_pdf = grid_pdf
        self.policy = policy

    def now(self) -> datetime:
        return self._clock()

    # -- loading ------------------------------------------------------------------------------

    def academic_calendar(self, session: Session | None = None) -> AcademicCalendar:
        if session is None:
            with self._db.read() as session:
                return self.academic_calendar(session)
        return self.academic.calendar(session)

    def _limit(self, session: Session, enrolment: Enrolment) -> date:
        return self.academic_calendar(session).accompaniment_limit(Semester.parse(enrolment.semester))

    def _ensure(self, session: Session, enrolment: Enrolment, now: datetime) -> Accompaniment:
        acc = session.scalar(select(Accompaniment).where(Accompaniment.enrolment_id == enrolment.id))
        if acc is None:
            acc = Accompaniment(
                enrolment_id=enrolment.id, stage=Stage.ENROLLED.value, moved_at=now,
                limit_date=self._limit(session, enrolment), created_at=now,
            )
            session.add(acc)
            session.flush()
        return acc

    def _enrolment_of(self, session: Session, actor: PersonView, auditeur_id: int | None, *, lock: bool = False) -> Enrolment:
        """The active enrolment the actor acts on: their own (auditeur) or the auditeur named."""
        target = actor.id if actor.role is Role.AUDITEUR and auditeur_id is None else auditeur_id
        if target is None:
            raise Refusal(RefusalCode.NO_ACCOMPANIMENT)
        query = select(Enrolment).where(Enrolment.auditeur_id == target, Enrolment.status == "active")
        if lock:
            query = query.with_for_update()
        enrolment = session.scalar(query)
        if enrolment is None:
            raise Refusal(RefusalCode.NO_ACCOMPANIMENT)
        return enrolment

    @staticmethod
    def _party(actor: PersonView | None, enrolment: Enrolment) -> Party:
        if actor is None:
            return Party.SYSTEM
        return rules.party_of(actor.role.value, actor.id, auditeur_id=enrolment.auditeur_id, tutor_id=enrolment.tutor_id)

    def _move(
        self, session: Session, acc: Accompaniment, enrolment: Enrolment, actor: PersonView | None, action: Action,
        now: datetime, *, target: Stage | None = None, details: Mapping | None = None,
    ) -> Stage:
        """Check, then record the transition and its history entry, then replace the reminders."""
        source = Stage(acc.stage)
        party = self._party(actor, enrolment)
        allowed_target = rules.check(action, source, party)
        new = allowed_target or target
        assert new is not None
        acc.stage = new.value
        acc.moved_at = now
        session.add(
            AccompanimentEvent(
                accompaniment_id=acc.id, at=now, actor_id=actor.id if actor is not None and actor.id > 0 else None,
                party=party.value, action=action.value, from_stage=source.value, to_stage=new.value,
                details=dict(details or {}),
            )
        )
        session.flush()
        self._reschedule(session, acc, enrolment, now)
        log.info("accompaniment %s: %s -> %s (%s, person %s)", acc.id, source, new, action, actor.id if actor else None)
        return new

    # -- hooks for other services (their session, their transaction) --------------------------

    def on_enrolled(self, session: Session, enrolment: Enrolment, now: datetime, *, code: str | None = None,
                    expires_at: datetime | None = None) -> None:
        """Step 1: the accompaniment starts; with an e-mail address and SMTP configured, the auditeur
        is e-mailed the invitation link with the tutor's name and contact (an outbox row: retried,
        failures shown to staff)."""
        acc = self._ensure(session, enrolment, now)
        auditeur = enrolment.auditeur
        if self._email_invitations and auditeur.email and code:
            tutor = enrolment.tutor
            outbox.enqueue_email(
                session, to=auditeur.email, kind="email.invitation", template="email/invitation.txt",
                params={
                    "auditeur": auditeur.display_name, "tutor": tutor.display_name, "tutor_email": tutor.email,
                    "certification": enrolment.certification, "code": code, "expires_at": expires_at,
                    "link": f"https://t.me/{self._bot_username}?start={code}" if self._bot_username else None,
                    "contact": self._contact,
                },
                recipient_id=auditeur.id, subject=(SUBJECT, acc.id), now=now,
            )

    def on_bound(self, session: Session, enrolment: Enrolment, now: datetime) -> None:
        """The auditeur joined: staff are alerted if no first meeting is booked some days later."""
        acc = self._ensure(session, enrolment, now)
        if acc.stage == Stage.ENROLLED:
            for reminder in rules.first_meeting_alert(now, self.calendar, now, self.policy):
                self._enqueue_reminder(session, acc, enrolment, reminder, now, seq=0)

    def on_first_meeting_held(self, session: Session, enrolment: Enrolment, actor: PersonView, now: datetime) -> bool:
        """The tutor marked the first meeting held (booking service): step 2. False when already past it."""
        acc = self._ensure(session, enrolment, now)
        if acc.stage != Stage.ENROLLED:
            return False
        self._move(session, acc, enrolment, actor, Action.FIRST_MEETING_HELD, now)
        outbox.enqueue(
            session, recipient_id=enrolment.auditeur_id, kind="accompaniment.first_meeting_held",
            template="accompaniment/first_meeting_held.html", params={"limit": acc.limit_date},
            subject=(SUBJECT, acc.id), now=now,
        )
        return True

    # -- step 2: the planning ------------------------------------------------------------------

    def record_planning(self, actor: PersonView, auditeur_id: int, deadline: date, intermediate: tuple[date, ...] = ()) -> AccompanimentView:
        now = self.now()
        with self._db.transaction() as session:
            enrolment = self._enrolment_of(session, actor, auditeur_id, lock=True)
            acc = self._ensure(session, enrolment, now)
            rules.check(Action.RECORD_PLANNING, Stage(acc.stage), self._party(actor, enrolment))
            acc.limit_date = self._limit(session, enrolment)
            planning = rules.check_planning(deadline, intermediate, today=paris_date(now), limit=acc.limit_date)
            for row in session.scalars(select(PlanningDate).where(PlanningDate.accompaniment_id == acc.id)):
                session.delete(row)
            session.add(PlanningDate(accompaniment_id=acc.id, kind="deadline", day=planning.deadline, recorded_at=now))
            for day in planning.intermediate:
                session.add(PlanningDate(accompaniment_id=acc.id, kind="intermediate", day=day, recorded_at=now))
            session.flush()
            self._move(
                session, acc, enrolment, actor, Action.RECORD_PLANNING, now,
                details={"deadline": planning.deadline.isoformat(), "intermediate": [d.isoformat() for d in planning.intermediate]},
            )
            outbox.enqueue(
                session, recipient_id=enrolment.auditeur_id, kind="accompaniment.planning",
                template="accompaniment/planning_auditeur.html",
                params={"deadline": planning.deadline, "intermediate": list(planning.intermediate), "limit": acc.limit_date,
                        "tutor": enrolment.tutor.display_name},
                subject=(SUBJECT, acc.id), now=now,
            )
            return self._view(session, acc, enrolment, now)

    # -- step 3 and 4: submission, correction, revision ----------------------------------------

    def submit(self, actor: PersonView, version_id: int | None = None) -> AccompanimentView:
        """The auditeur submits a draft version (the latest readable one by default): for correction
        when the planning is agreed, as the revised report after the correction."""
        now = self.now()
        with self._db.transaction() as session:
            enrolment = self._enrolment_of(session, actor, None, lock=True)
            acc = self._ensure(session, enrolment, now)
            stage = Stage(acc.stage)
            action = Action.SUBMIT_REVISION if stage is Stage.CORRECTED else Action.SUBMIT
            rules.check(action, stage, self._party(actor, enrolment))
            draft = self._draft(session, enrolment.auditeur_id, version_id)
            received = paris_date(now)
            row = ReportSubmission(
                accompaniment_id=acc.id, kind="revision" if action is Action.SUBMIT_REVISION else "submission",
                draft_version_id=draft.id, submitted_at=now, received_on=received,
            )
            if action is Action.SUBMIT:
                delay = correction_delay(received, self.calendar)
                row.due_on, row.weeks = delay.due, delay.weeks
                row.holidays = [{"name": h.name, "first": h.first.isoformat(), "last": h.last.isoformat()} for h in delay.holidays]
            session.add(row)
            session.flush()
            self._move(session, acc, enrolment, actor, action, now, details={"version": draft.version, "submission_id": row.id})
            view = self._view(session, acc, enrolment, now)
            params = {"auditeur": enrolment.auditeur.display_name, "submission": view.current,
                      "comparison": self._comparison(session, draft) if action is Action.SUBMIT_REVISION else None}
            outbox.enqueue(
                session, recipient_id=enrolment.tutor_id,
                kind="accompaniment.submitted" if action is Action.SUBMIT else "accompaniment.revised",
                template="accompaniment/tutor_submitted.html", params=params, subject=(SUBJECT, acc.id), now=now,
                keyboard=[[{"text": "📋 Suivi", "callback_data": f"acc:show:{enrolment.auditeur_id}"}]],
            )
            outbox.enqueue(
                session, recipient_id=enrolment.tutor_id, kind="accompaniment.submitted.file",
                document=outbox.Document(filename=draft.file_name, file_id=draft.telegram_file_id),
                subject=(SUBJECT, acc.id), now=now,
            )
            return view

    @staticmethod
    def _draft(session: Session, auditeur_id: int, version_id: int | None) -> DraftVersion:
        query = select(DraftVersion).where(DraftVersion.auditeur_id == auditeur_id, DraftVersion.problem.is_(None))
        if version_id is not None:
            query = query.where(DraftVersion.id == version_id)
        draft = session.scalar(query.order_by(DraftVersion.version.desc()).limit(1))
        if draft is None:
            raise Refusal(RefusalCode.NOTHING_TO_SEND)
        return draft

    def _comparison(self, session: Session, draft: DraftVersion) -> dict | None:
        from bot.domain.pdf_review import PdfReview, compare_reviews

        previous = session.scalar(
            select(DraftVersion)
            .where(DraftVersion.auditeur_id == draft.auditeur_id, DraftVersion.problem.is_(None), DraftVersion.version < draft.version)
            .order_by(DraftVersion.version.desc())
            .limit(1)
        )
        if previous is None:
            return None
        comparison = compare_reviews(PdfReview.from_json(previous.review), PdfReview.from_json(draft.review))

        def titles(ids):
            if self._catalogue is None:
                return list(ids)
            found = []
            for section_id in ids:
                try:
                    found.append(self._catalogue.section(section_id).title)
                except KeyError:
                    found.append(section_id)
            return found

        return {"previous_version": previous.version, "version": draft.version, "comparison": comparison,
                "sections_gained": titles(comparison.sections_gained), "sections_lost": titles(comparison.sections_lost)}

    def return_correction(
        self, actor: PersonView, auditeur_id: int, *, file_id: str | None = None, file_name: str | None = None,
        comments: Mapping[str, str] | None = None, summary: str | None = None,
    ) -> AccompanimentView:
        """The tutor returns the annotated correction: their PDF and/or comments per grid criterion."""
        now = self.now()
        comments = {k: v.strip()[:2000] for k, v in (comments or {}).items() if v and v.strip()}
        with self._db.transaction() as session:
            enrolment = self._enrolment_of(session, actor, auditeur_id, lock=True)
            acc = self._ensure(session, enrolment, now)
            rules.check(Action.RETURN_CORRECTION, Stage(acc.stage), self._party(actor, enrolment))
            if not file_id and not comments and not (summary or "").strip():
                raise Refusal(RefusalCode.NOTHING_TO_SEND)
            grid = self.grid_for(session, enrolment.certification)
            unknown = set(comments) - {c.id for c in grid.criteria}
            if unknown:
                raise Refusal(RefusalCode.BAD_ASSESSMENT, {"criteria": sorted(unknown)})
            row = self._current(session, acc.id)
            row.corrected_at = now
            row.correction_file_id, row.correction_file_name = file_id, (file_name or "")[:255] or None
            row.correction_comments = comments
            row.correction_summary = (summary or "").strip()[:4000] or None
            self._move(session, acc, enrolment, actor, Action.RETURN_CORRECTION, now,
                       details={"submission_id": row.id, "file": bool(file_id), "comments": len(comments)})
            labelled = [{"label": c.label, "comment": comments[c.id]} for c in grid.criteria if c.id in comments]
            subject = (SUBJECT, acc.id)
            outbox.enqueue(
                session, recipient_id=enrolment.auditeur_id, kind="accompaniment.corrected",
                template="accompaniment/auditeur_corrected.html",
                params={"tutor": enrolment.tutor.display_name, "comments": labelled, "summary": row.correction_summary,
                        "has_file": bool(file_id), "on_time": row.due_on is None or paris_date(now) <= row.due_on},
                subject=subject, now=now,
            )
            if file_id:
                outbox.enqueue(
                    session, recipient_id=enrolment.auditeur_id, kind="accompaniment.corrected.file",
                    document=outbox.Document(filename=row.correction_file_name or "correction.pdf", file_id=file_id),
                    subject=subject, now=now,
                )
            return self._view(session, acc, enrolment, now)

    @staticmethod
    def _current(session: Session, accompaniment_id: int) -> ReportSubmission:
        row = session.scalar(
            select(ReportSubmission).where(ReportSubmission.accompaniment_id == accompaniment_id)
            .order_by(ReportSubmission.id.desc()).limit(1)
        )
        if row is None:
            raise Refusal(RefusalCode.NOTHING_TO_SEND)
        return row

    # -- step 5: the opinion --------------------------------------------------------------------

    def grid_for(self, session: Session | None, certification: str) -> Grid:
        """The certifier's grid for this certification when staff loaded one, else the default."""
        if session is None:
            with self._db.read() as session:
                return self.grid_for(session, certification)
        row = session.scalar(select(CertificationGrid).where(CertificationGrid.certification == certification))
        if row is not None:
            return grid_from_json(row.grid)
        if self.default_grid is None:
            raise RuntimeError("no evaluation grid (prompts/report/grid.toml)")
        return self.default_grid

    def grid_of(self, actor: PersonView, auditeur_id: int) -> Grid:
        with self._db.read() as session:
            enrolment = self._enrolment_of(session, actor, auditeur_id)
            if self._party(actor, enrolment) in (Party.OTHER,):
                raise Refusal(RefusalCode.NOT_YOURS)
            return self.grid_for(session, enrolment.certification)

    def give_opinion(
        self, actor: PersonView, auditeur_id: int, *, verdict: Verdict, assessments: Mapping[str, str],
        reasons: str, comments: Mapping[str, str] | None = None,
    ) -> OpinionGiven:
        now = self.now()
        with self._db.transaction() as session:
            enrolment = self._enrolment_of(session, actor, auditeur_id, lock=True)
            acc = self._ensure(session, enrolment, now)
            rules.check(Action.GIVE_OPINION, Stage(acc.stage), self._party(actor, enrolment))
            grid = self.grid_for(session, enrolment.certification)
            checked = rules.check_assessments(grid, assessments)
            reasons = rules.check_reasons(reasons)
            comments = {k: v.strip()[:2000] for k, v in (comments or {}).items() if v and v.strip() and k in checked}
            document = {
                "grid": grid_to_json(grid),
                "auditeur": enrolment.auditeur.display_name,
                "tutor": enrolment.tutor.display_name,
                "certification": enrolment.certification,
                "report_type": enrolment.report_type,
                "semester": enrolment.semester,
                "assessments": {k: v.value for k, v in checked.items()},
                "comments": comments,
                "verdict": verdict.value,
                "reasons": reasons,
                "given_on": paris_date(now).isoformat(),
            }
            pdf = self._grid_pdf(document) if self._grid_pdf is not None else b""
            submission = self._current(session, acc.id)
            session.add(
                Opinion(
                    accompaniment_id=acc.id, submission_id=submission.id, tutor_id=enrolment.tutor_id,
                    verdict=verdict.value, grid=document["grid"], assessments=document["assessments"],
                    comments=comments, reasons=reasons, pdf=pdf, given_at=now,
                )
            )
            self._move(session, acc, enrolment, actor, Action.GIVE_OPINION, now, target=rules.opinion_stage(verdict),
                       details={"verdict": verdict.value})
            file_name = f"grille-evaluation-{paris_date(now).isoformat()}.pdf"
            subject = (SUBJECT, acc.id)
            labelled = [
                {"label": c.label, "assessment": checked[c.id].value, "comment": comments.get(c.id)} for c in grid.criteria
            ]
            outbox.enqueue(
                session, recipient_id=enrolment.auditeur_id, kind="accompaniment.opinion",
                template="accompaniment/auditeur_opinion.html",
                params={"verdict": verdict.value, "validated": verdict is Verdict.VALIDATED, "reasons": reasons,
                        "criteria": labelled, "tutor": enrolment.tutor.display_name},
                subject=subject, now=now,
            )
            if pdf:
                outbox.enqueue(
                    session, recipient_id=enrolment.auditeur_id, kind="accompaniment.opinion.file",
                    document=outbox.Document(filename=file_name, content=pdf,
                                             caption_template="accompaniment/grid_caption.html"),
                    subject=subject, now=now,
                )
            if verdict is Verdict.NOT_VALIDATED:
                case = FollowUpCase(accompaniment_id=acc.id, reason="not_validated", opened_at=now)
                session.add(case)
                session.flush()
                for staff_id in self._staff_ids(session):
                    outbox.enqueue(
                        session, recipient_id=staff_id, kind="accompaniment.not_validated.staff",
                        template="accompaniment/staff_not_validated.html",
                        params={"auditeur": enrolment.auditeur.display_name, "tutor": enrolment.tutor.display_name,
                                "certification": enrolment.certification, "reasons": reasons, "case_id": case.id},
                        keyboard=[[{"text": "📝 Enregistrer le contact", "callback_data": f"acc:case:{case.id}"}]],
                        subject=subject, now=now,
                    )
            return OpinionGiven(self._view(session, acc, enrolment, now), verdict, pdf, file_name)

    def opinion_pdf(self, actor: PersonView, auditeur_id: int | None = None) -> tuple[str, bytes] | None:
        """The kept completed grid (the attestation), for the auditeur, their tutor or staff."""
        with self._db.read() as session:
            enrolment = self._enrolment_of(session, actor, auditeur_id)
            if self._party(actor, enrolment) is Party.OTHER:
                raise Refusal(RefusalCode.NOT_YOURS)
            acc = self._ensure(session, enrolment, self.now())
            row = session.scalar(select(Opinion).where(Opinion.accompaniment_id == acc.id).order_by(Opinion.id.desc()).limit(1))
            if row is None:
                return None
            return f"grille-evaluation-{paris_date(row.given_at).isoformat()}.pdf", row.pdf

    # -- staff follow-up -------------------------------------------------------------------------

    def record_contact(self, actor: PersonView, case_id: int, *, contact_note: str, agreed: str, resume: bool = False) -> CaseView:
        """Staff record the contact with the auditeur and what was agreed; the case leaves the list.
        ``resume``: the auditeur goes on (a new planning with the tutor)."""
        if actor.role is not Role.STAFF:
            raise Refusal(RefusalCode.WRONG_PERSON, {"action": "record_contact", "allowed": ["staff"]})
        now = self.now()
        contact_note, agreed = (contact_note or "").strip(), (agreed or "").strip()
        if len(contact_note) < 3 or len(agreed) < 3:
            raise Refusal(RefusalCode.REASONS_MISSING, {"min": 3})
        with self._db.transaction() as session:
            case = session.get(FollowUpCase, case_id)
            if case is None:
                raise Refusal(RefusalCode.NO_ACCOMPANIMENT)
            if case.closed_at is not None:
                raise Refusal(RefusalCode.CASE_CLOSED)
            case.closed_at, case.closed_by_id = now, actor.id if actor.id > 0 else None
            case.contact_note, case.agreed = contact_note[:4000], agreed[:4000]
            acc = session.get(Accompaniment, case.accompaniment_id)
            enrolment = session.get(Enrolment, acc.enrolment_id)
            session.add(AuditEvent(actor_id=case.closed_by_id, subject_id=enrolment.auditeur_id, action="follow_up.closed",
                                   details={"case_id": case.id, "resume": resume}))
            if resume:
                self._move(session, acc, enrolment, actor, Action.RESUME, now, details={"case_id": case.id})
                outbox.enqueue(
                    session, recipient_id=enrolment.tutor_id, kind="accompaniment.resumed",
                    template="accompaniment/tutor_resumed.html", params={"auditeur": enrolment.auditeur.display_name},
                    subject=(SUBJECT, acc.id), now=now,
                )
            session.flush()
            return _case_view(case, enrolment)

    def open_cases(self, actor: PersonView) -> list[CaseView]:
        self._require_staff(actor)
        with self._db.read() as session:
            return self._open_cases(session)

    @staticmethod
    def _open_cases(session: Session) -> list[CaseView]:
        rows = session.execute(
            select(FollowUpCase, Enrolment)
            .join(Accompaniment, Accompaniment.id == FollowUpCase.accompaniment_id)
            .join(Enrolment, Enrolment.id == Accompaniment.enrolment_id)
            .where(FollowUpCase.closed_at.is_(None))
            .order_by(FollowUpCase.opened_at)
            .options(selectinload(Enrolment.auditeur), selectinload(Enrolment.tutor))
        ).all()
        return [_case_view(case, enrolment) for case, enrolment in rows]

    @staticmethod
    def _require_staff(actor: PersonView, action: str = "staff_view") -> None:
        if actor.role is not Role.STAFF:
            raise Refusal(RefusalCode.WRONG_PERSON, {"action": action, "allowed": ["staff"]})

    # -- academic calendar and grids (staff) -----------------------------------------------------

    def set_academic_year(self, actor: PersonView, year: AcademicYear) -> AcademicYear:
        """Staff set a year's semester and enrolment dates (the one academic calendar: the
        announcements of the broadcasts read the same row)."""
        self._require_staff(actor, "set_calendar")
        with self._db.transaction() as session:
            saved = self.academic.save(actor.id if actor.id > 0 else None, year, session=session)
            session.flush()
            calendar = self.academic.calendar(session)
            # the two-semester limit of the accompaniments under way follows the new dates
            rows = session.execute(
                select(Accompaniment, Enrolment).join(Enrolment, Enrolment.id == Accompaniment.enrolment_id)
                .where(Enrolment.status == "active", Accompaniment.stage.not_in([s.value for s in Stage if s.final]))
            ).all()
            now = self.now()
            for acc, enrolment in rows:
                limit = calendar.accompaniment_limit(Semester.parse(enrolment.semester))
                if acc.limit_date != limit:
                    acc.limit_date = limit
                    self._reschedule_stalled(session, acc, enrolment, now)  # staff's alert follows the limit
            return saved

    def calendar_years(self, actor: PersonView) -> list[tuple[AcademicYear, bool]]:
        """The current and the next academic year as they stand, each with whether staff set it
        (False: the defaults)."""
        self._require_staff(actor, "set_calendar")
        today = paris_date(self.now())
        first = today.year if today.month >= 9 else today.year - 1
        calendar = self.academic_calendar()
        return [(calendar.year(y), calendar.is_custom(y)) for y in (first, first + 1)]

    def grid_certifications(self, actor: PersonView) -> list[tuple[str, bool]]:
        """The certifications staff may load a grid for (those of active enrolments and those that
        have one), each with whether a certifier's grid is loaded."""
        self._require_staff(actor, "load_grid")
        with self._db.read() as session:
            loaded = set(session.scalars(select(CertificationGrid.certification)))
            active = set(session.scalars(select(Enrolment.certification).where(Enrolment.status == "active").distinct()))
        return [(c, c in loaded) for c in sorted(active | loaded, key=str.lower)]

    def load_grid(self, actor: PersonView, certification: str, grid: Grid) -> Grid:
        self._require_staff(actor, "load_grid")
        certification = (certification or "").strip()
        if not certification or len(certification) > 200:
            raise Refusal(RefusalCode.BAD_GRID, {"reason": "certification"})
        if not grid.criteria:
            raise Refusal(RefusalCode.GRID_INCOMPLETE, {"missing": []})
        with self._db.transaction() as session:
            row = session.scalar(select(CertificationGrid).where(CertificationGrid.certification == certification))
            row = row or CertificationGrid(certification=certification)
            row.grid, row.loaded_by_id, row.loaded_at = grid_to_json(grid), (actor.id if actor.id > 0 else None), self.now()
            session.add(row)
            return grid

    # -- views -----------------------------------------------------------------------------------

    def status(self, actor: PersonView, auditeur_id: int | None = None, *, history: bool = False) -> AccompanimentView:
        now = self.now()
        with self._db.transaction() as session:  # may create the row of an older enrolment
            enrolment = self._enrolment_of(session, actor, auditeur_id)
            if self._party(actor, enrolment) is Party.OTHER:
                raise Refusal(RefusalCode.NOT_YOURS)
            acc = self._ensure(session, enrolment, now)
            return self._view(session, acc, enrolment, now, history=history)

    def _view(self, session: Session, acc: Accompaniment, enrolment: Enrolment, now: datetime, *, history: bool = False) -> AccompanimentView:
        dates = list(session.scalars(select(PlanningDate).where(PlanningDate.accompaniment_id == acc.id).order_by(PlanningDate.day)))
        deadline = next((d.day for d in dates if d.kind == "deadline"), None)
        sub = session.scalar(
            select(ReportSubmission).where(ReportSubmission.accompaniment_id == acc.id).order_by(ReportSubmission.id.desc()).limit(1)
        )
        current = None
        if sub is not None:
            version = session.scalar(select(DraftVersion.version).where(DraftVersion.id == sub.draft_version_id)) if sub.draft_version_id else None
            current = _submission_view(sub, version)
        verdict = session.scalar(select(Opinion.verdict).where(Opinion.accompaniment_id == acc.id).order_by(Opinion.id.desc()).limit(1))
        case = session.scalar(select(FollowUpCase).where(FollowUpCase.accompaniment_id == acc.id, FollowUpCase.closed_at.is_(None)))
        stage = Stage(acc.stage)
        next_due = _next_due(stage, deadline, sub.due_on if sub is not None else None,
                             self._opinion_due(sub.received_on) if sub is not None and sub.kind == "revision" else None)
        entries: tuple[HistoryEntry, ...] = ()
        if history:
            entries = tuple(
                HistoryEntry(e.at, e.actor_id, Party(e.party), Action(e.action), Stage(e.from_stage), Stage(e.to_stage), e.details)
                for e in session.scalars(select(AccompanimentEvent).where(AccompanimentEvent.accompaniment_id == acc.id).order_by(AccompanimentEvent.id))
            )
        return AccompanimentView(
            id=acc.id, enrolment=enrolment_view(enrolment), stage=stage, moved_at=acc.moved_at,
            limit_date=acc.limit_date or self._limit(session, enrolment), deadline=deadline,
            intermediate=tuple(d.day for d in dates if d.kind == "intermediate"), current=current, verdict=verdict,
            open_case=_case_view(case, enrolment) if case is not None else None,
            next_due=next_due, overdue=rules.overdue(next_due, paris_date(now)), history=entries,
        )

    def follow_rows(self, actor: PersonView) -> list[FollowRow]:
        """A tutor's auditeurs (staff: everyone's), overdue first, then by next due date, then the
        others by stage. A few queries whatever the number of auditeurs."""
        if actor.role not in (Role.TUTOR, Role.STAFF):
            raise Refusal(RefusalCode.WRONG_PERSON, {"action": "follow", "allowed": ["tutor", "staff"]})
        now = self.now()
        with self._db.read() as session:
            rows = self._rows(session, tutor_id=actor.id if actor.role is Role.TUTOR else None, now=now)
        return sorted(rows, key=_follow_order)

    def _opinion_due(self, revised_on: date | None) -> date | None:
        return rules.opinion_due(revised_on, self.policy) if revised_on is not None else None

    def _rows(self, session: Session, *, tutor_id: int | None, now: datetime, attention: bool = False) -> list[FollowRow]:
        """One query: each active enrolment with its stage, deadline and open correction due date.
        ``attention``: only those the staff view may list (a superset, refined in Python)."""
        auditeur, tutor = Person.__table__.alias("auditeur"), Person.__table__.alias("tutor")
        deadline = (
            select(PlanningDate.day)
            .where(PlanningDate.accompaniment_id == Accompaniment.id, PlanningDate.kind == "deadline")
            .limit(1).correlate(Accompaniment).scalar_subquery()
        )
        due = (
            select(ReportSubmission.due_on)
            .where(ReportSubmission.accompaniment_id == Accompaniment.id, ReportSubmission.corrected_at.is_(None),
                   ReportSubmission.due_on.is_not(None))
            .order_by(ReportSubmission.id.desc()).limit(1).correlate(Accompaniment).scalar_subquery()
        )
        revised = (
            select(ReportSubmission.received_on)
            .where(ReportSubmission.accompaniment_id == Accompaniment.id, ReportSubmission.kind == "revision")
            .order_by(ReportSubmission.id.desc()).limit(1).correlate(Accompaniment).scalar_subquery()
        )
        moved = type_coerce(func.coalesce(Accompaniment.moved_at, Enrolment.enrolled_at), UTCDateTime)
        stage = func.coalesce(Accompaniment.stage, Stage.ENROLLED.value)
        query = (
            select(
                Enrolment.id, Enrolment.auditeur_id, auditeur.c.display_name, tutor.c.display_name, Enrolment.certification,
                Enrolment.semester, Accompaniment.id, stage, moved, Accompaniment.limit_date, deadline, due, revised,
            )
            .join(auditeur, auditeur.c.id == Enrolment.auditeur_id)
            .join(tutor, tutor.c.id == Enrolment.tutor_id)
            .outerjoin(Accompaniment, Accompaniment.enrolment_id == Enrolment.id)
            .where(Enrolment.status == "active")
        )
        if tutor_id is not None:
            query = query.where(Enrolment.tutor_id == tutor_id)
        today = paris_date(now)
        if attention:
            query = query.where(
                stage.not_in((Stage.VALIDATED.value, Stage.NOT_VALIDATED.value)),
                (stage == Stage.SUBMITTED.value) & (due < today)
                | (stage != Stage.SUBMITTED.value) & (
                    ((stage == Stage.ENROLLED.value) & (moved <= now - self.policy.no_first_meeting_after))
                    | (moved <= now - self.policy.stalled_after)
                    | (Accompaniment.limit_date <= today + self.policy.stalled_before_limit)
                    | ((stage == Stage.PLANNED.value) & (deadline < today))
                    | ((stage == Stage.REVISED.value) & (revised < today - timedelta(days=self.policy.opinion_days)))
                ),
            )
        result = []
        for (enrolment_id, auditeur_id, a_name, t_name, cert, semester, acc_id, stage_value, moved_at, limit_date, day, due_on,
             revised_on) in session.execute(query):
            stage_now = Stage(stage_value)
            next_due = _next_due(stage_now, day, due_on, self._opinion_due(revised_on))
            result.append(FollowRow(
                accompaniment_id=acc_id or 0, enrolment_id=enrolment_id, auditeur_id=auditeur_id, auditeur_name=a_name,
                tutor_name=t_name, certification=cert, semester=semester, stage=stage_now, moved_at=moved_at,
                next_due=next_due, overdue=rules.overdue(next_due, today), limit_date=limit_date,
            ))
        return result

    def staff_follow_up(self, actor: PersonView) -> StaffFollowUp:
        self._require_staff(actor)
        now = self.now()
        with self._db.read() as session:
            rows = self._rows(session, tutor_id=None, now=now, attention=True)
            cases = self._open_cases(session)
        overdue_corrections = tuple(sorted((r for r in rows if r.stage is Stage.SUBMITTED and r.overdue), key=_follow_order))
        overdue_opinions = tuple(sorted((r for r in rows if r.stage is Stage.REVISED and r.overdue), key=_follow_order))
        stalled = tuple(sorted(
            (r for r in rows if not r.stage.final and r.stage is not Stage.SUBMITTED
             and not (r.stage is Stage.REVISED and r.overdue) and self._stalled(r, now)),
            key=lambda r: r.moved_at,
        ))
        return StaffFollowUp(overdue_corrections, tuple(cases), stalled, overdue_opinions)

    def _stalled(self, row: FollowRow, now: datetime) -> bool:
        if row.stage is Stage.ENROLLED:
            return now - row.moved_at >= self.policy.no_first_meeting_after
        if row.overdue:
            return True
        near_limit = row.limit_date is not None and paris_date(now) >= row.limit_date - self.policy.stalled_before_limit
        return now - row.moved_at >= self.policy.stalled_after or near_limit

    def cohort_csv(self, actor: PersonView) -> str:
        """The cohort export (``coachbot suivi --csv``): one line per active enrolment."""
        self._require_staff(actor)
        rows = sorted(self.follow_rows(actor), key=lambda r: (r.semester, r.tutor_name, r.auditeur_name))
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["auditeur", "tuteur", "certification", "semestre", "etape", "stage", "depuis", "prochaine_echeance", "en_retard", "limite"])
        for r in rows:
            writer.writerow([
                r.auditeur_name, r.tutor_name, r.certification, r.semester, r.stage.step, r.stage.value,
                paris_date(r.moved_at).isoformat(), r.next_due.isoformat() if r.next_due else "", "oui" if r.overdue else "non",
                r.limit_date.isoformat() if r.limit_date else "",
            ])
        return out.getvalue()

    # -- broadcast audiences (issue 15: "auditeurs at a given step") -----------------------------

    @staticmethod
    def _stage_column():
        return func.coalesce(Accompaniment.stage, Stage.ENROLLED.value)  # an older enrolment has no row yet

    def stage_members(self, session: Session, code: str):
        """The broadcast service's stage filter: the ids of the auditeurs whose active enrolment is
        at stage ``code`` (a :class:`Stage` value). Raises ``BroadcastError`` for an unknown stage."""
        from bot.domain.broadcasts import BroadcastError

        try:
            stage = Stage(code)
        except ValueError:
            raise BroadcastError("stage_unknown", value=code, known=[s.value for s in Stage]) from None
        return (
            select(Enrolment.auditeur_id)
            .outerjoin(Accompaniment, Accompaniment.enrolment_id == Enrolment.id)
            .where(Enrolment.status == "active", self._stage_column() == stage.value)
        )

    def stage_counts(self, session: Session) -> list[tuple[str, int]]:
        """The broadcast service's stage choices: (stage, number of auditeurs) for the stages where
        someone is, in the order of the accompaniment."""
        stage = self._stage_column()
        counts = dict(session.execute(
            select(stage, func.count(func.distinct(Enrolment.auditeur_id)))
            .select_from(Enrolment)
            .outerjoin(Accompaniment, Accompaniment.enrolment_id == Enrolment.id)
            .join(Person, Person.id == Enrolment.auditeur_id)
            .where(Enrolment.status == "active", Person.active.is_(True))
            .group_by(stage)
        ).all())
        return [(s.value, counts[s.value]) for s in Stage if counts.get(s.value)]

    # -- reminders -------------------------------------------------------------------------------

    @staticmethod
    def _staff_ids(session: Session) -> list[int]:
        return list(session.scalars(
            select(Person.id).where(Person.role == Role.STAFF.value, Person.active.is_(True), Person.telegram_user_id.is_not(None))
        ))

    def _reschedule(self, session: Session, acc: Accompaniment, enrolment: Enrolment, now: datetime) -> None:
        """Replace the reminders of the accompaniment by those of its new stage (same transaction)."""
        outbox.cancel_subject(session, SUBJECT, acc.id, kinds=list(rules.REMINDER_KINDS))
        seq = session.scalar(select(func.count()).select_from(AccompanimentEvent).where(AccompanimentEvent.accompaniment_id == acc.id))
        stage = Stage(acc.stage)
        due: list[rules.PlannedReminder] = []
        if stage is Stage.PLANNED:
            dates = list(session.execute(
                select(PlanningDate.kind, PlanningDate.day).where(PlanningDate.accompaniment_id == acc.id)
            ))
            deadline = next((day for kind, day in dates if kind == "deadline"), None)
            if deadline is not None:
                due += rules.deadline_reminders(deadline, self.calendar, now, self.policy)
            due += rules.intermediate_reminders([day for kind, day in dates if kind == "intermediate"], self.calendar, now, self.policy)
        if stage is Stage.SUBMITTED:
            row = self._current(session, acc.id)
            if row.due_on is not None:
                due += rules.correction_reminders(row.due_on, self.calendar, now, self.policy)
        if stage is Stage.REVISED:
            due += rules.opinion_reminders(self._current(session, acc.id).received_on, self.calendar, now, self.policy)
        if _watched_for_stall(acc):
            due += rules.stalled_alert(now, acc.limit_date, self.calendar, now, self.policy)
        for reminder in due:
            # a reminder is dropped once the next one of its series is due (a bot down for a week
            # sends "dans 7 jours", not a stale "dans 14 jours" as well; one overdue alert, not
            # two), and a reminder ahead of a date at the latest that day
            later = [r.due_utc for r in due if r.kind is reminder.kind and r.about == reminder.about
                     and (r.days > 0) == (reminder.days > 0) and r.due_utc > reminder.due_utc]
            if reminder.days > 0 and reminder.about is not None:
                later.append(paris_to_utc(reminder.about + timedelta(days=1), time(0)))
            expires = min(later) if later else None
            self._enqueue_reminder(session, acc, enrolment, reminder, now, seq=seq, expires_at=expires)

    def _reschedule_stalled(self, session: Session, acc: Accompaniment, enrolment: Enrolment, now: datetime) -> None:
        """The limit moved: the staff alert "nothing moved / the limit is near" is planned again
        from the last move, for the new limit (the other reminders of the stage stay as they are)."""
        outbox.cancel_subject(session, SUBJECT, acc.id, kinds=[ReminderKind.STAFF_STALLED.value])
        if not _watched_for_stall(acc):
            return
        last_move = session.scalar(
            select(func.max(AccompanimentEvent.at)).where(AccompanimentEvent.accompaniment_id == acc.id)
        ) or acc.created_at
        for reminder in rules.stalled_alert(last_move, acc.limit_date, self.calendar, now, self.policy):
            # the key names the moment it was planned: a limit moved back and forth is planned again
            self._enqueue_reminder(session, acc, enrolment, reminder, now, seq=f"limit@{int(now.timestamp())}")

    def _enqueue_reminder(self, session: Session, acc: Accompaniment, enrolment: Enrolment, reminder: rules.PlannedReminder,
                          now: datetime, *, seq: int | str, expires_at: datetime | None = None) -> None:
        recipients = {"auditeur": [enrolment.auditeur_id], "tutor": [enrolment.tutor_id]}.get(reminder.to) or self._staff_ids(session)
        for person_id in recipients:
            outbox.enqueue(
                session, recipient_id=person_id, kind=reminder.kind.value, template="accompaniment/reminder.html",
                params={"kind": reminder.kind.value, "days": reminder.days, "about": reminder.about,
                        "auditeur": enrolment.auditeur.display_name, "auditeur_id": enrolment.auditeur_id,
                        "accompaniment_id": acc.id, "stage": acc.stage},
                priority=outbox.Priority.REMINDER, not_before=reminder.due_utc, expires_at=expires_at, subject=(SUBJECT, acc.id),
                dedupe_key=f"acc:{acc.id}:{seq}:{reminder.kind.value}:{reminder.days}:{reminder.about}:{person_id}",
                on_uncertain=outbox.DROP, now=now,
            )

    def reminder_still_applies(self, params: dict, now: datetime) -> bool:
        """For the outbox preparer: the stage is the one the reminder was written for, and the staff
        alert about a first meeting is only sent while none is booked or held."""
        with self._db.read() as session:
            acc = session.get(Accompaniment, params.get("accompaniment_id"))
            if acc is None or acc.stage != params.get("stage"):
                return False
            if params.get("kind") == ReminderKind.STAFF_NO_FIRST_MEETING.value:
                booked = session.scalar(
                    select(func.count()).select_from(Meeting)
                    .where(Meeting.enrolment_id == acc.enrolment_id, Meeting.status.in_(("booked", "held")))
                )
                return not booked
            return True


# -- helpers ----------------------------------------------------------------------------------------


def _watched_for_stall(acc: Accompaniment) -> bool:
    """Staff hear of an accompaniment that stalls or nears its limit, except while the tutor has
    the report (correction or opinion: those have their own overdue alerts) and once it is over."""
    stage = Stage(acc.stage)
    return not stage.final and stage not in (Stage.SUBMITTED, Stage.REVISED) and acc.limit_date is not None


def _next_due(stage: Stage, deadline: date | None, correction_due: date | None, opinion_due: date | None = None) -> date | None:
    if stage is Stage.PLANNED:
        return deadline
    if stage is Stage.SUBMITTED:
        return correction_due
    if stage is Stage.REVISED:
        return opinion_due
    return None


def _follow_order(row: FollowRow):
    return (not row.overdue, row.next_due is None, row.next_due or date.max, row.stage.final, row.auditeur_name)


def _submission_view(row: ReportSubmission, version: int | None) -> SubmissionView:
    return SubmissionView(
        id=row.id, kind=row.kind, version=version, submitted_at=row.submitted_at, received_on=row.received_on,
        due_on=row.due_on, weeks=row.weeks,
        holidays=tuple({"name": h["name"], "first": date.fromisoformat(h["first"]), "last": date.fromisoformat(h["last"])} for h in row.holidays or ()),
        corrected_at=row.corrected_at, has_correction_file=bool(row.correction_file_id),
        comments=dict(row.correction_comments or {}), summary=row.correction_summary,
    )


def _case_view(case: FollowUpCase, enrolment: Enrolment) -> CaseView:
    return CaseView(
        id=case.id, accompaniment_id=case.accompaniment_id, enrolment=enrolment_view(enrolment), opened_at=case.opened_at,
        closed_at=case.closed_at, contact_note=case.contact_note, agreed=case.agreed,
    )


def grid_to_json(grid: Grid) -> dict:
    return {
        "title": grid.title, "intro": grid.intro, "verdicts": list(grid.verdicts),
        "criteria": [{"id": c.id, "label": c.label, "description": c.description} for c in grid.criteria],
    }


def grid_from_json(doc: dict) -> Grid:
    return Grid(
        title=doc.get("title", ""), intro=doc.get("intro", ""), verdicts=tuple(doc.get("verdicts") or ("validé", "non validé")),
        criteria=tuple(Criterion(c["id"], c["label"], c.get("description", ""), tuple(c.get("sections", ()))) for c in doc["criteria"]),
    )


MAX_GRID_BYTES = 100_000


def grid_from_toml(text: str) -> Grid:
    """A certifier's grid written like prompts/report/grid.toml (title, [[criteria]] id/label/description).
    Raises :class:`Refusal` ``bad_grid`` with the reason (not_toml, no_criteria, duplicate_ids, label_missing,
    title_missing: the title heads the completed grid the auditeur receives, so it is never made up)."""
    import tomllib

    def bad(reason: str, **more) -> Refusal:
        return Refusal(RefusalCode.BAD_GRID, {"reason": reason, **more})

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise bad("not_toml", line=getattr(error, "lineno", None)) from None
    criteria = doc.get("criteria")
    if not isinstance(criteria, list) or not criteria or not all(isinstance(c, dict) and c.get("id") for c in criteria):
        raise bad("no_criteria")
    ids = [str(c["id"]) for c in criteria]
    if len(set(ids)) != len(ids):
        raise bad("duplicate_ids")
    if not all(isinstance(c.get("label"), str) and c["label"].strip() for c in criteria):
        raise bad("label_missing")
    if not isinstance(doc.get("title"), str) or not doc["title"].strip():
        raise bad("title_missing")
    try:
        return grid_from_json({"title": doc["title"].strip(), "intro": doc.get("intro", ""), "criteria": criteria})
    except (KeyError, TypeError, ValueError):
        raise bad("no_criteria") from None


def grid_from_file(content: bytes) -> Grid:
    """A grid file as uploaded (Telegram document or command line): UTF-8 TOML, 100 KB at most."""
    if len(content) > MAX_GRID_BYTES:
        raise Refusal(RefusalCode.BAD_GRID, {"reason": "too_large"})
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Refusal(RefusalCode.BAD_GRID, {"reason": "not_toml"}) from None
    return grid_from_toml(text)
