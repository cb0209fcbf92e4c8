"""Engine, sessions and transactions.

`Database.transaction()` is the unit of work: one transaction, committed on success, rolled back on
error. On SQLite, write transactions start with BEGIN IMMEDIATE so that concurrent writers queue on
the database lock instead of failing half-way; WAL mode lets readers proceed meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.storage import people_changes, text_cleaning

log = logging.getLogger(__name__)

_WRITE_OPTION = "coachbot_write"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - exercised by every test
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


# Error messages never carry the bound values (names, texts: they would reach the logs), and every
# JSON value is cleaned of what the database refuses (see text_cleaning).
_COMMON_OPTIONS = {"hide_parameters": True, "json_serializer": text_cleaning.json_serializer}


def create_database_engine(url: str, *, echo: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 15}, **_COMMON_OPTIONS
        )
        _configure_sqlite(engine)
    else:
        engine = create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10, **_COMMON_OPTIONS)
    text_cleaning.install(engine)
    return engine


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = create_database_engine(url, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # called after a commit that wrote outbox rows (the sender wakes up instead of waiting to poll)
        self.after_outbox_commit: list[Callable[[], None]] = []
        # called after a commit that changed people or enrolments, with their ids (None: everyone)
        self.after_people_commit: list[Callable[[set[int | None]], None]] = []
        people_changes.track(self._sessions)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """One unit of work. `write=True` takes SQLite's write lock up front (BEGIN IMMEDIATE)."""
        with self._sessions() as session:
            session.connection(execution_options={_WRITE_OPTION: write})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            if session.info.pop("outbox_written", False):
                for hook in self.after_outbox_commit:
                    hook()
            people = session.info.pop(people_changes.CHANGED_KEY, None)
            if people:
                for hook in self.after_people_commit:
                    hook(people)

    def read(self):
        return self.transaction(write=False)

    def upgrade(self) -> None:
        from bot.storage.migrate import upgrade

        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
