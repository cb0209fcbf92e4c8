"""The deposit in progress (/depot): the report version the auditeur chose and the annexes added so
far, stored until the deposit is assembled or abandoned, so that another command in between loses
nothing. Every call is the auditeur's own: ids from buttons are checked against the actor here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete

from bot.domain import deposit as rules
from bot.domain.deposit import Annex, DepositRuleError
from bot.domain.people import PersonView, Role
from bot.domain.permissions import PermissionDenied, require_role
from bot.services.drafts import DraftVersionView, _view
from bot.storage.db import Database
from bot.storage.models import DepositInProgress, DraftVersion, utcnow

__all__ = ["DepositRuleError", "DepositView", "Deposits"]


@dataclass(frozen=True)
class DepositView:
    report: DraftVersionView | None
    annexes: tuple[Annex, ...]
    warnings: tuple[str, ...]  # about the report: over_limit, missing_parts
    created_at: datetime

    @property
    def pages(self) -> int:
        return (self.report.pages if self.report else 0) + sum(a.pages for a in self.annexes)


class Deposits:
    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._clock = clock

    def current(self, actor: PersonView) -> DepositView | None:
        require_role(actor, "prepare a deposit", Role.AUDITEUR)
        with self._db.read() as session:
            row = session.get(DepositInProgress, actor.id)
            return self._view(session, row) if row is not None else None

    def choose_report(self, actor: PersonView, version_id: int) -> DepositView:
        """This version becomes the report (the annexes already added stay). Only one of the actor's
        own readable versions: a forged id of someone else's is refused."""
        require_role(actor, "prepare a deposit", Role.AUDITEUR)
        with self._db.transaction() as session:
            version = session.get(DraftVersion, version_id)
            if version is None or version.auditeur_id != actor.id:
                raise PermissionDenied("deposit a draft that is not theirs", actor)
            rules.report_warnings(_view(version).review)  # unreadable: refused
            row = self._row(session, actor, create=True)
            row.report_version_id = version.id
            row.updated_at = self._clock()
            session.flush()
            return self._view(session, row)

    def add_annex(self, actor: PersonView, annex: Annex) -> DepositView:
        return self._change(actor, lambda annexes: rules.add_annex(annexes, annex))

    def rename_annex(self, actor: PersonView, number: int, title: str) -> DepositView:
        return self._change(actor, lambda annexes: rules.rename_annex(annexes, number, title))

    def remove_annex(self, actor: PersonView, number: int) -> DepositView:
        return self._change(actor, lambda annexes: rules.remove_annex(annexes, number))

    def move_annex(self, actor: PersonView, number: int, offset: int) -> DepositView:
        return self._change(actor, lambda annexes: rules.move_annex(annexes, number, offset))

    def abandon(self, actor: PersonView) -> bool:
        """Forget the deposit in progress (also once it is assembled); False when there was none."""
        require_role(actor, "prepare a deposit", Role.AUDITEUR)
        with self._db.transaction() as session:
            return bool(session.execute(delete(DepositInProgress).where(DepositInProgress.auditeur_id == actor.id)).rowcount)

    # -- helpers --------------------------------------------------------------------------------

    def _change(self, actor: PersonView, change) -> DepositView:
        require_role(actor, "prepare a deposit", Role.AUDITEUR)
        with self._db.transaction() as session:
            row = self._row(session, actor, create=True)
            annexes = change(tuple(Annex.from_json(a) for a in row.annexes or []))
            row.annexes = [a.to_json() for a in annexes]
            row.updated_at = self._clock()
            session.flush()
            return self._view(session, row)

    def _row(self, session, actor: PersonView, *, create: bool) -> DepositInProgress | None:
        row = session.get(DepositInProgress, actor.id, with_for_update=True)
        if row is None and create:
            now = self._clock()
            row = DepositInProgress(auditeur_id=actor.id, annexes=[], created_at=now, updated_at=now)
            session.add(row)
            session.flush()
        return row

    @staticmethod
    def _view(session, row: DepositInProgress) -> DepositView:
        version = session.get(DraftVersion, row.report_version_id) if row.report_version_id is not None else None
        report = _view(version) if version is not None and version.problem is None else None
        return DepositView(
            report=report,
            annexes=tuple(Annex.from_json(a) for a in row.annexes or []),
            warnings=rules.report_warnings(report.review) if report is not None else (),
            created_at=row.created_at,
        )
