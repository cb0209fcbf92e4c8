"""Staff broadcasts: compose, preview, count, send now or schedule, pause/resume/cancel, report.

Every call checks that the actor is staff. A broadcast is a row of ``broadcasts``; when it becomes
due (at once, or at its scheduled time, by :meth:`BroadcastService.release_due`, which each
instance calls every few hundred milliseconds) one transaction moves it to ``sending`` and writes one
outbox row per recipient (group ``broadcast:<id>``, priority BROADCAST, ``on_uncertain=resend``:
every recipient gets it, and a crash mid-send duplicates at most the messages then in flight — with
``drop`` those would be recorded ``unknown`` and the ones that had not left yet would be lost). The audience is resolved then, so a
broadcast scheduled in September for October reaches the people enrolled in October. People who
blocked the bot get a row recorded ``blocked`` at once: counted apart and listed in the report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from bot.domain import broadcasts as rules
from bot.domain.broadcasts import Audience, AudienceKind, BroadcastError, EnrolmentPeriod, RecipientCount, State
from bot.domain.people import PersonView, Role
from bot.domain.permissions import require_staff
from bot.domain.semesters import Semester
from bot.services import outbox
from bot.storage.db import Database
from bot.domain.accompaniment import Refusal
from bot.services.academic_calendar import AcademicCalendarStore
from bot.storage.models import Broadcast, Enrolment, OutboxMessage, Person, utcnow

log = logging.getLogger(__name__)

KIND = "broadcast"
REPORT_KIND = "broadcast.report"
DOCUMENT_BUILDER = "broadcast_document"
UNDELIVERABLE_SHOWN = 50

StageFilter = Callable[[Session, str], Select]
"""Issue 14 plugs this in: the ids of the auditeurs at one step of the accompaniment."""
StageChoices = Callable[[Session], list[tuple[str, int]]]
"""(stage code, number of auditeurs there) of the accompaniment steps staff can choose."""


def group_of(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}"


@dataclass(frozen=True)
class BroadcastView:
    id: int
    kind: str
    state: State
    message_html: str
    audience: Audience
    document_name: str | None
    has_document: bool
    document_file_id: str | None
    scheduled_at: datetime | None
    recipients: int | None
    author_id: int | None
    paid: bool
    progress_chat_id: int | None
    progress_message_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class Preview:
    broadcast: BroadcastView
    count: RecipientCount


@dataclass(frozen=True)
class AudienceChoices:
    semesters: list[str]
    certifications: list[str]
    stages: list[tuple[str, int]] | None  # (stage, auditeurs there); None: the steps are not wired


@dataclass(frozen=True)
class Undeliverable:
    person_id: int | None
    name: str
    reason: str  # blocked, failed


@dataclass(frozen=True)
class ProgressView:
    broadcast: BroadcastView
    sent: int
    failed: int
    blocked: int
    remaining: int
    cancelled: int
    total: int
    estimated_end: datetime | None

    @property
    def finished(self) -> bool:
        return self.remaining == 0 or self.broadcast.state in (State.CANCELLED, State.DONE)


@dataclass(frozen=True)
class Report:
    progress: ProgressView
    undeliverable: list[Undeliverable]
    more_undeliverable: int


@dataclass(frozen=True)
class AnnouncementPlan:
    scheduled: list[BroadcastView]
    skipped: list[dict[str, Any]]  # {"semester": "2026-S1", "reason": "past" | "already_scheduled", "when": ...}


def _view(row: Broadcast) -> BroadcastView:
    return BroadcastView(
        id=row.id, kind=row.kind, state=State(row.state), message_html=row.message_html,
        audience=Audience.parse(row.audience), document_name=row.document_name,
        has_document=row.document_name is not None,
        document_file_id=row.document_file_id, scheduled_at=row.scheduled_at, recipients=row.recipients,
        author_id=row.author_id, paid=row.paid, progress_chat_id=row.progress_chat_id,
        progress_message_id=row.progress_message_id, created_at=row.created_at, started_at=row.started_at,
        finished_at=row.finished_at,
    )


class BroadcastService:
    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        timezone: ZoneInfo = ZoneInfo("Europe/Paris"),
        render: Callable[..., str] | None = None,
        per_second: float = 28.0,
        paid_broadcast: bool = False,
        stage_filter: StageFilter | None = None,
        stage_choices: StageChoices | None = None,
        academic: AcademicCalendarStore | None = None,
    ) -> None:
        self._db = db
        # the one academic calendar (shared with the accompaniment): the announcements' dates
        self.academic = academic or AcademicCalendarStore(db, clock=lambda: self._clock())
        self._clock = clock
        self.timezone = timezone
        self._render = render  # renders the announcement templates (Renderer.render)
        self.per_second = per_second
        self.paid_broadcast = paid_broadcast
        self.stage_filter = stage_filter
        self.stage_choices = stage_choices

    # -- audiences ----------------------------------------------------------------------------------

    def _people_query(self, session: Session, audience: Audience) -> Select:
        person = select(Person.id, Person.telegram_user_id, Person.blocked_bot_at).where(Person.active.is_(True))
        kind = audience.kind
        if kind is AudienceKind.EVERYONE:
            return person
        if kind is AudienceKind.TUTORS:
            return person.where(Person.role == Role.TUTOR)
        auditeurs = person.where(Person.role == Role.AUDITEUR).where(
            Person.id.in_(self._enrolled(audience))
        )
        if kind is AudienceKind.STAGE:
            if self.stage_filter is None:
                raise BroadcastError("audience_unavailable", kind=kind.value)
            auditeurs = auditeurs.where(Person.id.in_(self.stage_filter(session, audience.value)))
        return auditeurs

    @staticmethod
    def _enrolled(audience: Audience) -> Select:
        query = select(Enrolment.auditeur_id).where(Enrolment.status == "active")
        if audience.kind is AudienceKind.SEMESTER:
            query = query.where(Enrolment.semester == audience.value)
        elif audience.kind is AudienceKind.CERTIFICATION:
            query = query.where(func.lower(Enrolment.certification) == audience.value.lower())
        return query

    def _recipients(self, session: Session, audience: Audience) -> list[tuple[int, int | None, bool]]:
        rows = session.execute(self._people_query(session, audience).order_by(Person.id)).all()
        return [(pid, chat, blocked_at is not None or chat is None) for pid, chat, blocked_at in rows]

    def _count(self, session: Session, audience: Audience) -> RecipientCount:
        rows = self._recipients(session, audience)
        blocked = sum(1 for _, _, b in rows if b)
        return RecipientCount(reachable=len(rows) - blocked, blocked=blocked)

    def count(self, actor: PersonView, audience: Audience) -> RecipientCount:
        require_staff(actor, "count broadcast recipients")
        with self._db.read() as session:
            return self._count(session, audience)

    def audience_choices(self, actor: PersonView) -> AudienceChoices:
        require_staff(actor, "choose a broadcast audience")
        with self._db.read() as session:
            active = select(Enrolment).where(Enrolment.status == "active").subquery()
            semesters = sorted(session.scalars(select(active.c.semester).distinct()), reverse=True)
            certifications = sorted(session.scalars(select(active.c.certification).distinct()), key=str.lower)
            stages = self.stage_choices(session) if self.stage_choices is not None else None
        return AudienceChoices(semesters=list(semesters), certifications=list(certifications), stages=stages)

    # -- composing ----------------------------------------------------------------------------------

    def compose(
        self,
        actor: PersonView,
        *,
        message_html: str,
        audience: Audience | str,
        document_name: str | None = None,
        document_file_id: str | None = None,
        document_content: bytes | None = None,
        kind: str = "message",
    ) -> Preview:
        """Check the message and the audience and keep the broadcast as a draft (for the preview)."""
        require_staff(actor, "compose a broadcast")
        audience = Audience.parse(audience) if isinstance(audience, str) else audience
        has_document = document_name is not None
        html = rules.validate_message(message_html, has_document=has_document)
        with self._db.transaction() as session:
            count = self._count(session, audience)
            if count.reachable == 0:
                raise BroadcastError("audience_empty", audience=audience.code, blocked=count.blocked)
            row = Broadcast(
                author_id=actor.id or None, kind=kind, message_html=html, audience=audience.code,
                document_name=document_name, document_file_id=document_file_id, document_content=document_content,
                state=State.DRAFT, paid=self.paid_broadcast, created_at=self._clock(),
            )
            session.add(row)
            session.flush()
            log.info("broadcast %s drafted by person %s for %s (%d recipients)", row.id, actor.id, audience.code, count.total)
            return Preview(_view(row), count)

    def preview(self, actor: PersonView, broadcast_id: int) -> Preview:
        require_staff(actor, "preview a broadcast")
        with self._db.read() as session:
            row = self._get(session, broadcast_id)
            return Preview(_view(row), self._count(session, Audience.parse(row.audience)))

    def get(self, actor: PersonView, broadcast_id: int) -> BroadcastView:
        require_staff(actor, "see a broadcast")
        with self._db.read() as session:
            return _view(self._get(session, broadcast_id))

    def document_content(self, broadcast_id: int) -> bytes | None:
        """For the sender's document builder (content uploaded from the command line)."""
        with self._db.read() as session:
            return session.scalar(select(Broadcast.document_content).where(Broadcast.id == broadcast_id))

    @staticmethod
    def _get(session: Session, broadcast_id: int, *, lock: bool = False) -> Broadcast:
        row = session.get(Broadcast, broadcast_id, with_for_update=lock)
        if row is None:
            raise BroadcastError("broadcast_unknown", id=broadcast_id)
        return row

    def edit_message(self, actor: PersonView, broadcast_id: int, message_html: str) -> Preview:
        require_staff(actor, "edit a broadcast")
        with self._db.transaction() as session:
            row = self._get(session, broadcast_id, lock=True)
            if State(row.state) not in rules.EDITABLE:
                raise BroadcastError("not_editable", state=row.state)
            row.message_html = rules.validate_message(message_html, has_document=row.document_name is not None)
            return Preview(_view(row), self._count(session, Audience.parse(row.audience)))

    # -- confirming ---------------------------------------------------------------------------------

    def send_now(self, actor: PersonView, broadcast_id: int) -> Preview:
        """Draft -> sending, with every outbox row, in one transaction. A second press finds it no
        longer a draft and is refused (``already_confirmed``): nothing is sent twice."""
        require_staff(actor, "send a broadcast")
        now = self._clock()
        with self._db.transaction() as session:
            row = self._get(session, broadcast_id, lock=True)
            if row.state != State.DRAFT:
                raise BroadcastError("already_confirmed", state=row.state, when=row.scheduled_at)
            count = self._start(session, row, now)
            if count.reachable == 0:
                raise BroadcastError("audience_empty", audience=row.audience, blocked=count.blocked)
            log.info("broadcast %s sent by person %s: %d rows", row.id, actor.id, row.recipients)
            return Preview(_view(row), count)

    def schedule(self, actor: PersonView, broadcast_id: int, when: datetime) -> BroadcastView:
        """Draft (or scheduled: a new time) -> scheduled at ``when`` (UTC, in the future)."""
        require_staff(actor, "schedule a broadcast")
        rules.check_schedule(when, now=self._clock())
        with self._db.transaction() as session:
            row = self._get(session, broadcast_id, lock=True)
            if row.state not in (State.DRAFT, State.SCHEDULED):
                raise BroadcastError("already_confirmed", state=row.state, when=row.scheduled_at)
            row.state = State.SCHEDULED
            row.scheduled_at = when
            log.info("broadcast %s scheduled by person %s", row.id, actor.id)
            return _view(row)

    def scheduled(self, actor: PersonView) -> list[BroadcastView]:
        require_staff(actor, "see scheduled broadcasts")
        with self._db.read() as session:
            rows = session.scalars(
                select(Broadcast).where(Broadcast.state == State.SCHEDULED).order_by(Broadcast.scheduled_at, Broadcast.id)
            )
            return [_view(r) for r in rows]

    def _start(self, session: Session, row: Broadcast, now: datetime) -> RecipientCount:
        audience = Audience.parse(row.audience)
        people = self._recipients(session, audience)
        document = None
        if row.document_name is not None:
            if row.document_file_id is not None:
                document = outbox.Document(filename=row.document_name, file_id=row.document_file_id,
                                           caption_text=row.message_html or None)
            else:
                document = outbox.Document(filename=row.document_name, caption_text=row.message_html or None,
                                           builder=DOCUMENT_BUILDER, builder_params={"broadcast_id": row.id})
        written = outbox.enqueue_many(
            session,
            [(pid, chat) for pid, chat, _ in people],
            blocked=[pid for pid, _, blocked in people if blocked],
            kind=KIND,
            text=row.message_html if document is None else None,
            document=document,
            priority=outbox.Priority.BROADCAST,
            group=group_of(row.id),
            on_uncertain=outbox.RESEND,  # every recipient gets it; a crash mid-send may duplicate one
            options={"paid_broadcast": True} if row.paid else None,
            now=now,
        )
        row.state = State.SENDING
        row.recipients = written
        row.started_at = now
        blocked = sum(1 for _, _, b in people if b)
        return RecipientCount(reachable=written - blocked, blocked=blocked)

    def anything_to_do(self, now: datetime | None = None) -> bool:
        """Whether a broadcast is due to start, under way or paused: one small read, so that an
        instance with no broadcast going on spends one query per pass on them, not three."""
        now = now or self._clock()
        with self._db.read() as session:
            return session.scalar(
                select(Broadcast.id).where(
                    Broadcast.state.in_((State.SENDING, State.PAUSED))
                    | ((Broadcast.state == State.SCHEDULED) & (Broadcast.scheduled_at <= now))
                ).limit(1)
            ) is not None

    def release_due(self, now: datetime | None = None) -> list[BroadcastView]:
        """Scheduled broadcasts whose time has come start sending (each in its own transaction; the
        state check makes sure only one instance starts each)."""
        now = now or self._clock()
        with self._db.read() as session:
            due = list(
                session.scalars(
                    select(Broadcast.id).where(Broadcast.state == State.SCHEDULED, Broadcast.scheduled_at <= now)
                )
            )
        started = []
        for broadcast_id in due:
            with self._db.transaction() as session:
                row = session.get(Broadcast, broadcast_id, with_for_update=True)
                if row is None or row.state != State.SCHEDULED:
                    continue
                self._start(session, row, now)
                if row.recipients == 0:
                    row.state = State.DONE
                    row.finished_at = now
                log.info("scheduled broadcast %s started: %d rows", row.id, row.recipients)
                started.append(_view(row))
        return started

    # -- while sending ------------------------------------------------------------------------------

    def _transition(self, actor: PersonView, broadcast_id: int, action: str, allowed: tuple[State, ...],
                    target: State, group_change: Callable[[Session, str], int] | None) -> BroadcastView:
        require_staff(actor, f"{action} a broadcast")
        with self._db.transaction() as session:
            row = self._get(session, broadcast_id, lock=True)
            if State(row.state) not in allowed:
                raise BroadcastError(f"cannot_{action}", state=row.state)
            if group_change is not None and row.state in (State.SENDING, State.PAUSED):
                group_change(session, group_of(row.id))
            row.state = target
            if target is State.CANCELLED:
                row.finished_at = self._clock()
            log.info("broadcast %s: %s by person %s", row.id, action, actor.id)
            return _view(row)

    def pause(self, actor: PersonView, broadcast_id: int) -> BroadcastView:
        return self._transition(actor, broadcast_id, "pause", (State.SENDING,), State.PAUSED, outbox.pause_group)

    def resume(self, actor: PersonView, broadcast_id: int) -> BroadcastView:
        return self._transition(actor, broadcast_id, "resume", (State.PAUSED,), State.SENDING, outbox.resume_group)

    def cancel(self, actor: PersonView, broadcast_id: int) -> BroadcastView:
        return self._transition(
            actor, broadcast_id, "cancel", (State.DRAFT, State.SCHEDULED, State.SENDING, State.PAUSED), State.CANCELLED,
            outbox.cancel_group,
        )

    def _progress(self, session: Session, row: Broadcast, now: datetime) -> ProgressView:
        counts = outbox.group_progress(session, group_of(row.id))
        eta = None
        if counts.pending and row.state == State.SENDING:
            eta = rules.estimated_end(counts.pending, self.per_second, now)
        return ProgressView(
            broadcast=_view(row), sent=counts.sent, failed=counts.failed, blocked=counts.blocked,
            remaining=counts.pending, cancelled=counts.cancelled, total=counts.total, estimated_end=eta,
        )

    def progress(self, actor: PersonView, broadcast_id: int) -> ProgressView:
        require_staff(actor, "follow a broadcast")
        with self._db.read() as session:
            return self._progress(session, self._get(session, broadcast_id), self._clock())

    def current_progress(self, broadcast_id: int) -> ProgressView:
        """For the author's progress message (no actor: the bot itself refreshes what staff launched)."""
        with self._db.read() as session:
            return self._progress(session, self._get(session, broadcast_id), self._clock())

    def attach_progress_message(self, broadcast_id: int, chat_id: int, message_id: int) -> None:
        with self._db.transaction() as session:
            row = self._get(session, broadcast_id)
            row.progress_chat_id, row.progress_message_id = chat_id, message_id
            row.progress_shown_at = utcnow()

    def progress_due(self, *, every: timedelta, wall: datetime | None = None) -> list[ProgressView]:
        """Broadcasts under way whose progress message was last edited ``every`` ago or more; each is
        taken by one instance only (the timestamp is updated conditionally)."""
        wall = wall or utcnow()
        now = self._clock()
        shown = []
        with self._db.read() as session:
            ids = list(
                session.scalars(
                    select(Broadcast.id).where(
                        Broadcast.state.in_((State.SENDING, State.PAUSED)), Broadcast.progress_message_id.is_not(None),
                        (Broadcast.progress_shown_at.is_(None)) | (Broadcast.progress_shown_at <= wall - every),
                    )
                )
            )
        for broadcast_id in ids:
            with self._db.transaction() as session:
                taken = session.execute(
                    update(Broadcast)
                    .where(Broadcast.id == broadcast_id,
                           (Broadcast.progress_shown_at.is_(None)) | (Broadcast.progress_shown_at <= wall - every))
                    .values(progress_shown_at=wall)
                ).rowcount
                if taken:
                    shown.append(self._progress(session, session.get(Broadcast, broadcast_id), now))
        return shown

    def finish_delivered(self) -> list[Report]:
        """Broadcasts with nothing left to send become ``done``; their author gets the final report
        (an outbox row, written with the change). Returned so the progress message shows the end."""
        now = self._clock()
        with self._db.read() as session:  # a read first: the write lock only for those that are finished
            ids = [
                broadcast_id
                for broadcast_id in session.scalars(select(Broadcast.id).where(Broadcast.state == State.SENDING))
                if not _has_open_rows(session, broadcast_id)
            ]
        reports = []
        for broadcast_id in ids:
            with self._db.transaction() as session:
                row = session.get(Broadcast, broadcast_id, with_for_update=True)
                if row is None or row.state != State.SENDING:
                    continue
                if outbox.group_progress(session, group_of(row.id)).pending:
                    continue
                row.state = State.DONE
                row.finished_at = now
                report = self._report(session, row, now)
                if row.author_id is not None:
                    outbox.enqueue(
                        session, recipient_id=row.author_id, kind=REPORT_KIND, template="broadcasts/report.html",
                        params={"report": _report_params(report)}, dedupe_key=f"broadcast:{row.id}:report", now=now,
                    )
                log.info("broadcast %s done: %d sent, %d blocked, %d failed", row.id, report.progress.sent,
                         report.progress.blocked, report.progress.failed)
                reports.append(report)
        return reports

    def report(self, actor: PersonView, broadcast_id: int) -> Report:
        require_staff(actor, "see a broadcast report")
        with self._db.read() as session:
            return self._report(session, self._get(session, broadcast_id), self._clock())

    def _report(self, session: Session, row: Broadcast, now: datetime) -> Report:
        progress = self._progress(session, row, now)
        failed = (
            select(Person.id, Person.display_name, OutboxMessage.state)
            .join(Person, Person.id == OutboxMessage.recipient_id)
            .where(OutboxMessage.group_key == group_of(row.id), OutboxMessage.state.in_(("blocked", "dead")))
            .order_by(Person.display_name, Person.id)
        )
        rows = session.execute(failed).all()
        shown = [Undeliverable(pid, name, "blocked" if state == "blocked" else "failed") for pid, name, state in rows]
        return Report(progress, shown[:UNDELIVERABLE_SHOWN], max(0, len(shown) - UNDELIVERABLE_SHOWN))

    # -- the academic calendar and the enrolment announcements -----------------------------------

    def set_period(self, actor: PersonView, semester: Semester, opens_on: date, closes_on: date) -> EnrolmentPeriod:
        """One semester's enrolment window, written into the academic calendar (the semester dates
        of a year not set yet are the defaults)."""
        require_staff(actor, "set the academic calendar")
        period = rules.check_period(semester, opens_on, closes_on)
        try:
            self.academic.set_enrolment(actor.id or None, semester, opens_on, closes_on)
        except Refusal as refusal:
            raise BroadcastError("calendar_incoherent", semester=semester.code,
                                 problems=refusal.details.get("problems", [])) from None
        return period

    def periods(self, academic_year: int) -> dict[int, EnrolmentPeriod | None]:
        """The enrolment periods of an academic year, from the academic calendar (None for both
        when staff have not set that year)."""
        windows = self.academic.enrolment_windows(academic_year)
        return {
            n: EnrolmentPeriod(Semester(academic_year, n), windows[n].enrolment_opens, windows[n].enrolment_closes)
            if windows is not None else None
            for n in (1, 2)
        }

    def current_academic_year(self) -> int:
        today = self._clock().astimezone(self.timezone).date()
        return today.year if today.month >= 9 else today.year - 1

    def announcement_html(self, period: EnrolmentPeriod) -> str:
        if self._render is None:
            raise RuntimeError("no renderer given for the announcement templates")
        return self._render(period.template, period=period, semester=period.semester,
                            year_label=period.semester.academic_year_label)

    def schedule_announcements(self, actor: PersonView, academic_year: int, *,
                               audience: Audience | str = Audience(AudienceKind.AUDITEURS)) -> AnnouncementPlan:
        """The year's two enrolment announcements, each at 9h on its opening day, in one step. One
        already scheduled is left as it is; one whose day has passed is skipped."""
        require_staff(actor, "schedule the enrolment announcements")
        audience = Audience.parse(audience) if isinstance(audience, str) else audience
        periods = self.periods(academic_year)
        if any(p is None for p in periods.values()):
            raise BroadcastError("calendar_missing", year=f"{academic_year}-{academic_year + 1}",
                                 missing=[n for n, p in periods.items() if p is None])
        now = self._clock()
        scheduled, skipped = [], []
        with self._db.transaction() as session:
            for number, period in periods.items():
                kind = f"announcement.{period.semester.code}"
                when = rules.announcement_time(period, self.timezone)
                existing = session.scalar(
                    select(Broadcast).where(Broadcast.kind == kind, Broadcast.state.in_((State.SCHEDULED, State.SENDING, State.DONE)))
                )
                if existing is not None:
                    skipped.append({"semester": period.semester.code, "reason": "already_scheduled", "when": existing.scheduled_at})
                    continue
                if when <= now:
                    skipped.append({"semester": period.semester.code, "reason": "past", "when": when})
                    continue
                row = Broadcast(
                    author_id=actor.id or None, kind=kind, message_html=self.announcement_html(period),
                    audience=audience.code, state=State.SCHEDULED, scheduled_at=when, paid=self.paid_broadcast,
                    created_at=now,
                )
                session.add(row)
                session.flush()
                scheduled.append(_view(row))
        return AnnouncementPlan(scheduled, skipped)


class DocumentCache:
    """The sender's builder for a broadcast's document uploaded from the command line: read once per
    broadcast and kept (every recipient gets the same bytes)."""

    def __init__(self, service: BroadcastService, size: int = 4) -> None:
        self._service = service
        self._size = size
        self._cache: dict[int, bytes] = {}

    def __call__(self, params: dict[str, Any], now: datetime) -> bytes:
        broadcast_id = int(params["broadcast_id"])
        content = self._cache.get(broadcast_id)
        if content is None:
            content = self._service.document_content(broadcast_id) or b""
            if len(self._cache) >= self._size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[broadcast_id] = content
        return content


def _has_open_rows(session: Session, broadcast_id: int) -> bool:
    return session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.group_key == group_of(broadcast_id),
            OutboxMessage.state.in_(("pending", "sending", "retrying", "paused")),
        ).limit(1)
    ) is not None


def _report_params(report: Report) -> dict[str, Any]:
    progress = report.progress
    return {
        "id": progress.broadcast.id,
        "audience": progress.broadcast.audience.code,
        "sent": progress.sent,
        "failed": progress.failed,
        "blocked": progress.blocked,
        "cancelled": progress.cancelled,
        "total": progress.total,
        "undeliverable": [{"name": u.name, "reason": u.reason} for u in report.undeliverable],
        "more": report.more_undeliverable,
    }
