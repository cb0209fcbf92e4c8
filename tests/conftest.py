"""Shared fixtures: databases (SQLite always, PostgreSQL when TEST_DATABASE_URL is set), the Bot API
emulator, and the real bot driven through it."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.config import Settings, load_settings
from bot.storage.db import Database
from bot.storage.models import Base

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
STAFF_ID = 1001

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=[
            pytest.mark.postgresql,
            pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set: PostgreSQL run skipped"),
        ],
    ),
]


def base_settings(**env: str) -> Settings:
    # the outbox spaces one person's messages by 100 ms here (1 s in production): the emulator's
    # per-chat limit (1/s with bursts of 10) is respected all the same; pacing has its own tests.
    # A failed send is retried after 200 ms, then 400 ms… (2 s, 4 s… in production): same rule, less waiting.
    values = {"STAFF_TELEGRAM_IDS": str(STAFF_ID), "TIMEZONE": "Europe/Paris", "TELEGRAM_PER_CHAT_INTERVAL_MS": "100",
              "OUTBOX_RETRY_BASE_MS": "200"}
    values.update(env)
    return load_settings(values)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """One migrated SQLite file per session; each test gets a copy (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    with db.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """A private database on the PostgreSQL server, migrated once, dropped at the end."""
    assert TEST_DATABASE_URL
    admin_url = TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"coachbot_test_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    db.upgrade()
    db.dispose()
    yield url
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _truncate_postgresql(url: str) -> None:
    """Empty every table and restart the ids, as TRUNCATE … RESTART IDENTITY would: DELETE in
    dependency order is about 6x faster on these small tables (TRUNCATE creates new files for every
    table), and this runs before each PostgreSQL test."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        sequences = connection.exec_driver_sql(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()"
        ).scalars().all()
        statements = [f'DELETE FROM "{t.name}"' for t in reversed(Base.metadata.sorted_tables)]
        statements += [f"SELECT setval('\"{name}\"', 1, false)" for name in sequences]
        connection.exec_driver_sql("; ".join(statements))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "coachbot.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgresql_url")
    _truncate_postgresql(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template) -> str:
    path = tmp_path / "coachbot.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def db(database_url) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()
