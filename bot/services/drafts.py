"""Draft versions: record each PDF an auditeur sends, compare it with the previous one, list them.

An auditeur sees only their own drafts, a tutor only their auditeurs', staff everyone's. Files that
could not be read are recorded with their problem (the history shows them) but never compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from bot.domain.pdf_review import PdfReview, ReviewComparison, compare_reviews
from bot.domain.people import EnrolmentView, PersonView, Role
from bot.domain.permissions import PermissionDenied, may_see_auditeur, require_role
from bot.services import outbox
from bot.services.directory import enrolment_view, person_view
from bot.storage.db import Database
from bot.storage.models import AuditEvent, DraftVersion, Enrolment, Person, utcnow


@dataclass(frozen=True)
class DraftVersionView:
    id: int
    auditeur_id: int
    enrolment_id: int | None
    version: int
    sha256: str
    file_name: str
    size_bytes: int
    telegram_file_id: str
    pages: int
    words: int
    problem: str | None
    review: PdfReview
    received_at: datetime

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class DraftRecorded:
    """What recording a file did: a new ``version``, or ``same_as`` an earlier identical one."""

    version: DraftVersionView | None
    same_as: DraftVersionView | None = None
    previous: DraftVersionView | None = None  # the latest readable version before this one
    comparison: ReviewComparison | None = None


class DraftError(Exception):
    """``no_enrolment``: the auditeur has no active enrolment to attach a draft to."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _view(row: DraftVersion) -> DraftVersionView:
    return DraftVersionView(
        id=row.id,
        auditeur_id=row.auditeur_id,
        enrolment_id=row.enrolment_id,
        version=row.version,
        sha256=row.sha256,
        file_name=row.file_name,
        size_bytes=row.size_bytes,
        telegram_file_id=row.telegram_file_id,
        pages=row.pages,
        words=row.words,
        problem=row.problem,
        review=PdfReview.from_json(row.review),
        received_at=row.received_at,
    )


class Drafts:
    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._clock = clock

    # -- the auditeur sends a file ------------------------------------------------------------

    def same_as_latest(self, actor: PersonView, sha256: str) -> DraftVersionView | None:
        """The actor's latest version if it has this hash (a file sent twice is not reviewed again)."""
        require_role(actor, "send a draft", Role.AUDITEUR)
        with self._db.read() as session:
            latest = self._latest(session, actor.id)
            return _view(latest) if latest is not None and latest.sha256 == sha256 else None

    def record(self, actor: PersonView, *, review: PdfReview, file_name: str, telegram_file_id: str) -> DraftRecorded:
        """Store a reviewed file as the auditeur's next version (unless it is the same as the latest)."""
        require_role(actor, "send a draft", Role.AUDITEUR)
        with self._db.transaction() as session:
            enrolment = session.scalar(
                select(Enrolment).where(Enrolment.auditeur_id == actor.id, Enrolment.status == "active")
            )
            if enrolment is None:
                raise DraftError("no_enrolment")
            latest = self._latest(session, actor.id)
            if latest is not None and latest.sha256 == review.sha256:
                return DraftRecorded(version=None, same_as=_view(latest))
            previous = session.scalar(
                select(DraftVersion)
                .where(DraftVersion.auditeur_id == actor.id, DraftVersion.problem.is_(None))
                .order_by(DraftVersion.version.desc())
                .limit(1)
            )
            number = (latest.version if latest is not None else 0) + 1
            row = DraftVersion(
                auditeur_id=actor.id,
                enrolment_id=enrolment.id,
                version=number,
                sha256=review.sha256,
                file_name=file_name[:255],
                size_bytes=review.size_bytes,
                telegram_file_id=telegram_file_id,
                pages=review.pages,
                words=review.words,
                problem=review.problem,
                review=review.to_json(),
                received_at=self._clock(),
            )
            session.add(row)
            session.flush()
            session.add(
                AuditEvent(
                    actor_id=actor.id, subject_id=actor.id, action="draft.received",
                    details={"version": number, "problem": review.problem, "pages": review.pages},
                )
            )
            previous_view = _view(previous) if previous is not None else None
            comparison = None
            if previous_view is not None and review.ok:
                comparison = compare_reviews(previous_view.review, review)
            # Drafts stay the auditeur's: nothing goes to the tutor until they choose "envoyer à mon
            # tuteur" (send_to_tutor) or "déposer pour correction" (the accompaniment service).
            return DraftRecorded(version=_view(row), previous=previous_view, comparison=comparison)

    def send_to_tutor(self, actor: PersonView, version_id: int) -> bool:
        """The auditeur chose to show this version to their tutor (review summary, then the PDF).
        False when it was already sent (the tutor gets each version once)."""
        require_role(actor, "send a draft to their tutor", Role.AUDITEUR)
        with self._db.transaction() as session:
            row = session.get(DraftVersion, version_id)
            if row is None or row.auditeur_id != actor.id or row.problem is not None:
                raise PermissionDenied("send this draft", actor)
            enrolment = session.scalar(
                select(Enrolment).where(Enrolment.auditeur_id == actor.id, Enrolment.status == "active")
            )
            if enrolment is None:
                raise DraftError("no_enrolment")
            already = session.scalar(
                select(func.count()).select_from(AuditEvent).where(
                    AuditEvent.subject_id == actor.id, AuditEvent.action == "draft.sent_to_tutor",
                    AuditEvent.details["version_id"].as_integer() == version_id,
                )
            )
            if already:
                return False
            session.add(AuditEvent(actor_id=actor.id, subject_id=actor.id, action="draft.sent_to_tutor",
                                   details={"version_id": version_id}))
            self._forward(session, row, enrolment.tutor_id)
            return True

    @staticmethod
    def _forward(session, row: DraftVersion, tutor_id: int) -> None:
        """The tutor gets the review summary then the PDF itself (Telegram's file_id: no re-upload).
        Queued even when the tutor is not on Telegram yet or blocked the bot: the sender reads the
        tutor at send time and records an undelivered message where staff see it."""
        subject = ("draft", row.id)
        outbox.enqueue(
            session, recipient_id=tutor_id, kind="draft.to_tutor", template="drafts/tutor_new_draft.html",
            params={"version_id": row.id}, subject=subject,
        )
        outbox.enqueue(
            session, recipient_id=tutor_id, kind="draft.to_tutor.file",
            document=outbox.Document(
                filename=row.file_name, file_id=row.telegram_file_id, caption_template="drafts/tutor_caption.html",
            ),
            params={"version_id": row.id}, subject=subject,
        )

    def forward_values(self, version_id: int) -> dict | None:
        """For the outbox preparer: the version, its auditeur and the comparison with the one before."""
        with self._db.read() as session:
            row = session.get(DraftVersion, version_id)
            if row is None:
                return None
            previous = session.scalar(
                select(DraftVersion)
                .where(
                    DraftVersion.auditeur_id == row.auditeur_id,
                    DraftVersion.problem.is_(None),
                    DraftVersion.version < row.version,
                )
                .order_by(DraftVersion.version.desc())
                .limit(1)
            )
            version = _view(row)
            comparison = compare_reviews(_view(previous).review, version.review) if previous is not None else None
            return {"version": version, "auditeur": person_view(session.get(Person, row.auditeur_id)), "comparison": comparison}

    # -- reading ------------------------------------------------------------------------------

    def versions(self, actor: PersonView, auditeur_id: int) -> list[DraftVersionView]:
        """Every version of an auditeur, oldest first."""
        with self._db.read() as session:
            self._check_may_see(session, actor, auditeur_id)
            rows = session.scalars(
                select(DraftVersion).where(DraftVersion.auditeur_id == auditeur_id).order_by(DraftVersion.version)
            )
            return [_view(r) for r in rows]

    def version(self, actor: PersonView, version_id: int) -> DraftVersionView:
        with self._db.read() as session:
            row = session.get(DraftVersion, version_id)
            if row is None:
                raise PermissionDenied("see a draft that does not exist", actor)
            self._check_may_see(session, actor, row.auditeur_id)
            return _view(row)

    def latest_readable(self, actor: PersonView, auditeur_id: int) -> DraftVersionView | None:
        with self._db.read() as session:
            self._check_may_see(session, actor, auditeur_id)
            row = session.scalar(
                select(DraftVersion)
                .where(DraftVersion.auditeur_id == auditeur_id, DraftVersion.problem.is_(None))
                .order_by(DraftVersion.version.desc())
                .limit(1)
            )
            return _view(row) if row is not None else None

    def followed_auditeurs(self, actor: PersonView) -> list[tuple[EnrolmentView, int]]:
        """The auditeurs whose drafts the actor may see (tutor: theirs; staff: all), with version counts."""
        require_role(actor, "list auditeurs' drafts", Role.TUTOR, Role.STAFF)
        with self._db.read() as session:
            query = select(Enrolment).where(Enrolment.status == "active")
            if actor.role is Role.TUTOR:
                query = query.where(Enrolment.tutor_id == actor.id)
            enrolments = list(session.scalars(query.join(Enrolment.auditeur).order_by(Person.display_name)))
            counts = dict(
                session.execute(
                    select(DraftVersion.auditeur_id, func.count())
                    .where(DraftVersion.auditeur_id.in_([e.auditeur_id for e in enrolments]))
                    .group_by(DraftVersion.auditeur_id)
                ).all()
            )
            return [(enrolment_view(e), counts.get(e.auditeur_id, 0)) for e in enrolments]

    # -- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _latest(session, auditeur_id: int) -> DraftVersion | None:
        return session.scalar(
            select(DraftVersion)
            .where(DraftVersion.auditeur_id == auditeur_id)
            .order_by(DraftVersion.version.desc())
            .limit(1)
        )

    @staticmethod
    def _check_may_see(session, actor: PersonView, auditeur_id: int) -> None:
        auditeur = session.get(Person, auditeur_id)
        if auditeur is None or auditeur.role != Role.AUDITEUR:
            raise PermissionDenied("see the drafts of someone who is not an auditeur", actor)
        tutor_ids = set(
            session.scalars(
                select(Enrolment.tutor_id).where(Enrolment.auditeur_id == auditeur_id, Enrolment.status == "active")
            )
        )
        if not any(may_see_auditeur(actor, auditeur_id, t) for t in (tutor_ids or {None})):
            raise PermissionDenied("see these drafts", actor)
