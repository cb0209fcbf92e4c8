"""Which people changed, for the caches that remember them (`bot/services/people_cache.py`).

Every transaction that writes a person or an enrolment also writes, in the same transaction, one
`people_changes` row per person concerned: the person; for an enrolment, its auditeur and its
tutor. A bulk UPDATE or DELETE of those tables writes one row for everyone (`person_id` NULL).
Nothing has to remember to call this: it hangs on the session's flush and bulk-statement events.

After the commit this process hears of it at once (`Database.transaction` calls its
`after_people_commit` hooks with the ids); other instances read the rows (`ChangeFeed`).
"""

from __future__ import annotations

from itertools import chain

from sqlalchemy import delete, event, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.models import Enrolment, Person, PersonChange

EVERYONE = None  # a changed id of None: every person may have changed
CHANGED_KEY = "people_changed"  # session.info: the ids written in this transaction
_TRACKED = (Person, Enrolment)


def _concerned(session: Session) -> set[int]:
    ids: set[int] = set()
    dirty = (o for o in session.dirty if isinstance(o, _TRACKED) and session.is_modified(o))
    for obj in chain(session.new, session.deleted, dirty):
        if isinstance(obj, Person):
            ids.add(obj.id)
        elif isinstance(obj, Enrolment):
            ids.update((obj.auditeur_id, obj.tutor_id))
    ids.discard(None)  # type: ignore[arg-type] - an object not flushed has no id yet
    return ids


def _record(session: Session, ids: set[int | None]) -> None:
    written: set[int | None] = session.info.setdefault(CHANGED_KEY, set())
    new = ids - written
    if new:
        session.connection().execute(insert(PersonChange), [{"person_id": person_id} for person_id in sorted(new, key=str)])
        written |= new


def track(sessions: sessionmaker) -> None:
    """Record, in the same transaction, every change to people and enrolments made through `sessions`."""

    @event.listens_for(sessions, "after_flush")
    def _after_flush(session: Session, _flush_context) -> None:  # the pre-flush state is still readable
        ids = _concerned(session)
        if ids:
            _record(session, set(ids))

    @event.listens_for(sessions, "do_orm_execute")
    def _bulk(state) -> None:
        if (state.is_update or state.is_delete) and any(m.class_ in _TRACKED for m in state.all_mappers):
            _record(state.session, {EVERYONE})


class ChangeFeed:
    """The rows other instances wrote, read in id order.

    Ids are handed out before commit, so a transaction that commits late may show a row below one
    already read: each read looks again at the last `slack` ids and reports only rows not seen yet.
    """

    def __init__(self, db, *, slack: int = 200, keep: int = 10_000) -> None:
        self._db = db
        self._slack = slack
        self._keep = keep
        self._high: int | None = None
        self._seen: set[int] = set()

    def start(self) -> None:
        """From now on: what was written before is already in the database every cache reads."""
        with self._db.read() as session:
            high = session.scalar(select(func.max(PersonChange.id))) or 0
            self._seen = set(session.scalars(select(PersonChange.id).where(PersonChange.id > high - self._slack)))
        self._high = high

    @property
    def started(self) -> bool:
        return self._high is not None

    def read(self) -> list[int | None]:
        """The person ids changed since the last read (None: everyone); `start` first."""
        assert self._high is not None, "ChangeFeed.start() first"
        floor = max(0, self._high - self._slack)
        with self._db.read() as session:
            rows = session.execute(
                select(PersonChange.id, PersonChange.person_id).where(PersonChange.id > floor).order_by(PersonChange.id)
            ).all()
        changed = [person_id for row_id, person_id in rows if row_id not in self._seen]
        self._seen = {row_id for row_id, _ in rows}
        if rows:
            self._high = max(self._high, rows[-1][0])
        return changed

    def prune(self) -> None:
        """Keep the latest `keep` rows (any instance may prune: older rows were read long ago)."""
        if self._high is not None and self._high > self._keep:
            with self._db.transaction() as session:
                session.execute(delete(PersonChange).where(PersonChange.id <= self._high - self._keep))
