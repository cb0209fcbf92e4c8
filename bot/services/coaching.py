"""The report coach's service: the auditeur's progress section by section, the experience
self-check, and the feedback given. One unit of work per call.

Every coach action is a read-modify-write of the auditeur's ``ReportProgress`` in one transaction.
The row carries a version: a save made on a state another instance changed meanwhile fails with
StaleDataError, and the action is re-applied on the fresh state (on SQLite, BEGIN IMMEDIATE already
serialises writers; on PostgreSQL the version check is what keeps both answers). Actions name the
section and question the auditeur saw, and are refused as stale when the state has moved on.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot.domain.coaching import (
    AnsweredQuestion,
    CoachingError,
    ProgressSummary,
    ReportProgress,
    SectionOverview,
    SectionSession,
    SectionStatus,
)
from bot.domain.experience import (
    ExperienceContent,
    ExperienceOutcome,
    ExperienceQuestion,
    decide,
    default_experience_content,
    next_question_id,
    question_for,
    question_position,
    validate_answer,
)
from bot.domain.feedback import Remark
from bot.domain.people import PersonView, Role
from bot.domain.permissions import PermissionDenied, may_see_auditeur, require_role
from bot.domain.report import Catalogue
from bot.storage.db import Database
from bot.storage.models import CoachingFeedback, CoachingProgress, Enrolment, ExperienceCheck, utcnow

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_ATTEMPTS = 25
ENGINE_OFFLINE, ENGINE_LLM = "offline", "llm"


class NoEnrolment(Exception):
    """The auditeur has no active enrolment, hence no report to coach."""


class StaleAction(Exception):
    """A button or message about a section/question that is no longer the open one."""


class UnknownSection(Exception):
    """A section id that is not in the catalogue (forged or outdated callback data)."""


@dataclass(frozen=True)
class SectionView:
    """Where the auditeur is in one section, for the handler to render."""

    report_type: str
    section_id: str
    status: SectionStatus
    question_id: str | None  # None: at the summary
    position: tuple[int, int]
    current_answers: tuple[str, ...]
    notes: tuple[AnsweredQuestion, ...]
    first_visit: bool = False

    @property
    def at_summary(self) -> bool:
        return self.question_id is None


@dataclass(frozen=True)
class OverviewView:
    report_type: str
    rows: tuple[SectionOverview, ...]
    summary: ProgressSummary
    active_section: str | None


@dataclass(frozen=True)
class PlanNotes:
    report_type: str
    notes: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class ExperienceStep:
    """The next self-check question with its position, or the outcome once complete."""

    question: ExperienceQuestion | None
    position: tuple[int, int]
    outcome: ExperienceOutcome | None
    first: bool = False


class Coaching:
    def __init__(
        self,
        db: Database,
        catalogue: Catalogue,
        experience: ExperienceContent | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._clock = clock
        self._catalogue = catalogue
        self._experience = experience or default_experience_content()

    @property
    def experience_content(self) -> ExperienceContent:
        return self._experience

    # --- reading -----------------------------------------------------------------------------

    def overview(self, actor: PersonView) -> OverviewView:
        require_role(actor, "read own coaching progress", Role.AUDITEUR)
        with self._db.read() as session:
            enrolment = self._enrolment(session, actor.id)
            row = self._row(session, enrolment.id)
            progress = self._progress(row, enrolment.report_type)
        return OverviewView(
            report_type=progress.report_type,
            rows=tuple(progress.overview(self._catalogue)),
            summary=progress.summary(self._catalogue),
            active_section=progress.active_section,
        )

    def notes_of(self, actor: PersonView, auditeur_id: int) -> PlanNotes:
        """The notes of an auditeur by section: the auditeur, their tutor, or staff."""
        with self._db.read() as session:
            enrolment = session.scalar(
                select(Enrolment).where(Enrolment.auditeur_id == auditeur_id, Enrolment.status == "active")
            )
            if not may_see_auditeur(actor, auditeur_id, enrolment.tutor_id if enrolment else None):
                raise PermissionDenied("read coaching notes", actor)
            if enrolment is None:
                raise NoEnrolment(auditeur_id)
            progress = self._progress(self._row(session, enrolment.id), enrolment.report_type)
        notes = {sid: tuple(texts) for sid, texts in progress.notes_by_section().items()}
        return PlanNotes(report_type=progress.report_type, notes=notes)

    def feedback_history(self, actor: PersonView, auditeur_id: int) -> list[dict]:
        """The feedback given to an auditeur, oldest first (for dashboards and tests)."""
        with self._db.read() as session:
            enrolment = session.scalar(
                select(Enrolment).where(Enrolment.auditeur_id == auditeur_id, Enrolment.status == "active")
            )
            if not may_see_auditeur(actor, auditeur_id, enrolment.tutor_id if enrolment else None):
                raise PermissionDenied("read coaching feedback", actor)
            if enrolment is None:
                return []
            rows = session.scalars(
                select(CoachingFeedback)
                .join(CoachingProgress, CoachingFeedback.progress_id == CoachingProgress.id)
                .where(CoachingProgress.enrolment_id == enrolment.id)
                .order_by(CoachingFeedback.id)
            )
            return [
                {
                    "section_id": r.section_id,
                    "engine": r.engine,
                    "llm_failure": r.llm_failure,
                    "remarks": list(r.remarks),
                    "created_at": r.created_at,
                }
                for r in rows
            ]

    # --- the coach's actions (auditeur only, on their own progress) --------------------------

    def open_section(self, actor: PersonView, section_id: str) -> SectionView:
        section = self._section(section_id)

        def act(progress: ReportProgress) -> bool:
            first = section_id not in progress.sessions
            progress.open(section)
            return first

        progress, first = self._mutate(actor, act)
        return self._view(progress, section_id, first_visit=first)

    def current(self, actor: PersonView, section_id: str, question_id: str | None) -> SectionView:
        """The section as it is, checking the auditeur is still where they think they are."""
        with self._db.read() as session:
            enrolment = self._enrolment(session, require_role(actor, "coach", Role.AUDITEUR).id)
            progress = self._progress(self._row(session, enrolment.id), enrolment.report_type)
        self._check_position(progress, section_id, question_id)
        return self._view(progress, section_id)

    def answer(self, actor: PersonView, section_id: str, question_id: str, text: str) -> SectionView:
        """One more message for the question the auditeur was shown (many messages per question)."""

        def act(progress: ReportProgress) -> None:
            session = self._open_session(progress, section_id)
            try:
                session.goto(question_id)
            except CoachingError:
                raise StaleAction(question_id) from None
            session.record(text)

        progress, _ = self._mutate(actor, act)
        return self._view(progress, section_id)

    def add_after_summary(self, actor: PersonView, section_id: str, text: str) -> tuple[SectionView, str]:
        """A message typed at the section's summary: kept as (part of) the answer to the question it
        follows (``SectionSession.follow_up_question``). Returns the summary view and that question."""

        def act(progress: ReportProgress) -> str:
            session = self._open_session(progress, section_id)
            if not session.at_end:
                raise StaleAction(section_id)
            question_id = session.follow_up_question()
            session.add_to(question_id, text)
            return question_id

        self._section(section_id)
        progress, question_id = self._mutate(actor, act)
        return self._view(progress, section_id), question_id

    def kept_in_section(self, actor: PersonView, section_id: str) -> tuple[int, int]:
        """(questions with an answer, messages kept) in a section: what /annuler leaves in place."""
        with self._db.read() as session:
            enrolment = self._enrolment(session, require_role(actor, "coach", Role.AUDITEUR).id)
            progress = self._progress(self._row(session, enrolment.id), enrolment.report_type)
        state = progress.sessions.get(section_id)
        if state is None:
            return 0, 0
        answered = [q for q in state.question_ids if state.answers.get(q)]
        return len(answered), sum(len(state.answers[q]) for q in answered)

    def next_question(self, actor: PersonView, section_id: str, question_id: str) -> SectionView:
        return self._step(actor, section_id, question_id, lambda s: s.advance())

    def skip(self, actor: PersonView, section_id: str, question_id: str) -> SectionView:
        return self._step(actor, section_id, question_id, lambda s: s.skip())

    def back(self, actor: PersonView, section_id: str, question_id: str | None) -> SectionView:
        def move(session: SectionSession) -> None:
            if session.current == 0:
                return  # already at the first question: stay there
            session.back()

        return self._step(actor, section_id, question_id, move, allow_summary=True)

    def edit_answer(self, actor: PersonView, section_id: str, question_id: str, text: str) -> SectionView:
        """Replace the whole answer to the question (the auditeur pressed "Modifier ma réponse")."""
        return self._step(actor, section_id, question_id, lambda s: s.edit(question_id, text))

    def finish_later(self, actor: PersonView, section_id: str) -> OverviewView:
        def act(progress: ReportProgress) -> None:
            if progress.active_section != section_id:
                raise StaleAction(section_id)
            progress.close()

        self._section(section_id)
        self._mutate(actor, act)
        return self.overview(actor)

    def finish_section(self, actor: PersonView, section_id: str) -> SectionView:
        def act(progress: ReportProgress) -> None:
            self._open_session(progress, section_id).finish()

        self._section(section_id)
        progress, _ = self._mutate(actor, act)
        return self._view(progress, section_id)

    def record_feedback(
        self, actor: PersonView, section_id: str, remarks: list[Remark], *, engine: str, llm_failure: str | None
    ) -> None:
        require_role(actor, "record coaching feedback", Role.AUDITEUR)
        self._section(section_id)
        with self._db.transaction() as session:
            enrolment = self._enrolment(session, actor.id)
            row = self._row(session, enrolment.id)
            if row is None:
                raise StaleAction(section_id)
            session.add(
                CoachingFeedback(
                    progress_id=row.id,
                    section_id=section_id,
                    engine=engine,
                    llm_failure=llm_failure,
                    remarks=[r.to_dict() for r in remarks],
                )
            )

    # --- the experience self-check -------------------------------------------------------------

    def start_experience(self, actor: PersonView) -> ExperienceStep:
        """Start (or restart) the self-check from its first question."""
        require_role(actor, "run the experience self-check", Role.AUDITEUR)
        with self._db.transaction() as session:
            row = session.scalar(select(ExperienceCheck).where(ExperienceCheck.person_id == actor.id))
            if row is None:
                row = ExperienceCheck(person_id=actor.id)
                session.add(row)
            row.answers, row.outcome, row.reasons, row.confirm_with_tutor, row.completed_at = {}, None, [], None, None
        step = self._experience_step({})
        return ExperienceStep(step.question, step.position, step.outcome, first=True)

    def answer_experience(self, actor: PersonView, question_id: str, value: str) -> ExperienceStep:
        """Record an answer to the question currently asked; StaleAction for any other question."""
        require_role(actor, "run the experience self-check", Role.AUDITEUR)
        with self._db.transaction() as session:
            row = session.scalar(select(ExperienceCheck).where(ExperienceCheck.person_id == actor.id))
            answers = dict(row.answers) if row is not None else {}
            if row is None or row.completed_at is not None or next_question_id(answers) != question_id:
                raise StaleAction(question_id)
            try:
                answers[question_id] = validate_answer(self._experience.question(question_id), value, answers)
            except (KeyError, ValueError):
                raise StaleAction(question_id) from None
            row.answers = answers
            step = self._experience_step(answers)
            if step.outcome is not None:
                row.outcome = step.outcome.report_type
                row.reasons = list(step.outcome.reasons)
                row.confirm_with_tutor = step.outcome.confirm_with_tutor
                row.completed_at = self._clock()
        return step

    def experience_state(self, actor: PersonView) -> tuple[dict[str, str], str | None]:
        """The stored answers and outcome ("ua"/"stage", None while incomplete)."""
        require_role(actor, "run the experience self-check", Role.AUDITEUR)
        with self._db.read() as session:
            row = session.scalar(select(ExperienceCheck).where(ExperienceCheck.person_id == actor.id))
            return (dict(row.answers), row.outcome) if row else ({}, None)

    def enrolled_report_type(self, actor: PersonView) -> str | None:
        with self._db.read() as session:
            enrolment = session.scalar(
                select(Enrolment).where(Enrolment.auditeur_id == actor.id, Enrolment.status == "active")
            )
            return enrolment.report_type if enrolment else None

    def parse_typed_experience_answer(
        self, question_id: str, text: str, answers: dict[str, str] | None = None
    ) -> str | None:
        """A typed answer ("oui", "Non", a choice label, or a number of years) to a choice value,
        among the answers consistent with the previous ones."""
        try:
            question = question_for(self._experience.question(question_id), answers or {})
        except KeyError:
            return None
        typed = " ".join(text.casefold().split()).strip(" .!")
        for choice in question.choices:
            if typed in {choice.value.casefold(), choice.label.casefold()}:
                return choice.value
        numeric = [c for c in question.choices if c.value.isdigit()]
        if numeric and typed.isdecimal():  # not isdigit(): "²" is a digit int() refuses
            fitting = [c for c in numeric if int(c.value) <= int(typed)]
            return max(fitting, key=lambda c: int(c.value)).value if fitting else None
        return None

    def _experience_step(self, answers: dict[str, str]) -> ExperienceStep:
        question_id = next_question_id(answers)
        if question_id is None:
            return ExperienceStep(None, (len(answers), len(answers)), decide(answers))
        question = question_for(self._experience.question(question_id), answers)
        return ExperienceStep(question, question_position(answers), None)

    # --- internals -------------------------------------------------------------------------------

    def _section(self, section_id: str):
        try:
            return self._catalogue.section(section_id)
        except KeyError:
            raise UnknownSection(section_id) from None

    def _step(
        self,
        actor: PersonView,
        section_id: str,
        question_id: str | None,
        move: Callable[[SectionSession], object],
        *,
        allow_summary: bool = False,
    ) -> SectionView:
        self._section(section_id)

        def act(progress: ReportProgress) -> None:
            self._check_position(progress, section_id, question_id, allow_summary=allow_summary)
            try:
                move(progress.sessions[section_id])
            except CoachingError:
                raise StaleAction(question_id) from None

        progress, _ = self._mutate(actor, act)
        return self._view(progress, section_id)

    @staticmethod
    def _check_position(
        progress: ReportProgress, section_id: str, question_id: str | None, *, allow_summary: bool = False
    ) -> None:
        session = progress.sessions.get(section_id)
        if progress.active_section != section_id or session is None:
            raise StaleAction(section_id)
        if session.current_question_id != question_id and not (allow_summary and session.at_end and not question_id):
            raise StaleAction(question_id)

    @staticmethod
    def _open_session(progress: ReportProgress, section_id: str) -> SectionSession:
        session = progress.sessions.get(section_id)
        if progress.active_section != section_id or session is None:
            raise StaleAction(section_id)
        return session

    def _view(self, progress: ReportProgress, section_id: str, *, first_visit: bool = False) -> SectionView:
        section = self._section(section_id)
        session = progress.sessions.get(section_id) or SectionSession.for_section(section)
        question_id = session.current_question_id
        return SectionView(
            report_type=progress.report_type,
            section_id=section_id,
            status=session.status,
            question_id=question_id,
            position=session.position,
            current_answers=tuple(session.answers_to(question_id)) if question_id else (),
            notes=tuple(session.structured_notes(section)),
            first_visit=first_visit,
        )

    def _mutate(self, actor: PersonView, act: Callable[[ReportProgress], T]) -> tuple[ReportProgress, T]:
        """Apply `act` to the auditeur's progress and save it; re-apply on a concurrent change."""
        require_role(actor, "coach", Role.AUDITEUR)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self._db.transaction() as session:
                    enrolment = self._enrolment(session, actor.id)
                    row = self._row(session, enrolment.id)
                    progress = self._progress(row, enrolment.report_type)
                    result = act(progress)
                    if row is None:
                        row = CoachingProgress(
                            enrolment_id=enrolment.id, auditeur_id=actor.id, report_type=enrolment.report_type
                        )
                        session.add(row)
                    row.state = progress.to_dict()
                    session.flush()
                return progress, result
            except (StaleDataError, IntegrityError) as exc:
                if attempt == MAX_ATTEMPTS:
                    raise
                log.info("coaching progress of person %s changed concurrently (%s); retrying", actor.id, type(exc).__name__)
                time.sleep(random.uniform(0, 0.005 * attempt))
        raise AssertionError("unreachable")

    @staticmethod
    def _enrolment(session: Session, auditeur_id: int) -> Enrolment:
        enrolment = session.scalar(
            select(Enrolment).where(Enrolment.auditeur_id == auditeur_id, Enrolment.status == "active")
        )
        if enrolment is None:
            raise NoEnrolment(auditeur_id)
        return enrolment

    @staticmethod
    def _row(session: Session, enrolment_id: int) -> CoachingProgress | None:
        return session.scalar(select(CoachingProgress).where(CoachingProgress.enrolment_id == enrolment_id))

    def _progress(self, row: CoachingProgress | None, report_type: str) -> ReportProgress:
        if row is None or not row.state:
            return ReportProgress(report_type)
        return ReportProgress.from_dict(row.state, self._catalogue)
