"""Migration 0010: the broadcasts' enrolment periods move into the one academic calendar
(``academic_years``), on a fresh database migrated step by step (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set), and come back on a downgrade."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa
from alembic import command

from bot.storage.migrate import alembic_config
from tests.conftest import TEST_DATABASE_URL

WHEN = datetime(2026, 6, 1, 8, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(request, tmp_path):
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
        yield engine
        engine.dispose()
        return
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL run skipped")
    admin_url = TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"coachbot_mig_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = sa.create_engine(sa.engine.make_url(admin_url).set(database=name))
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def test_enrolment_periods_move_into_the_academic_calendar_and_back(fresh_engine):
    config = alembic_config(fresh_engine)
    command.upgrade(config, "0009")
    with fresh_engine.begin() as connection:
        # 2027-2028 was set by staff for the accompaniment (semester 1 ends on 15 February 2028)
        connection.execute(sa.text(
            "INSERT INTO academic_years (year, s1_start, s1_end, s1_enrolment_opens, s1_enrolment_closes, s2_start, s2_end,"
            " s2_enrolment_opens, s2_enrolment_closes, updated_at) VALUES (2027, :a, :b, :c, :d, :e, :f, :g, :h, :w)"),
            dict(a=date(2027, 9, 1), b=date(2028, 2, 15), c=date(2027, 10, 1), d=date(2027, 10, 31), e=date(2028, 2, 16),
                 f=date(2028, 8, 31), g=date(2028, 2, 16), h=date(2028, 3, 31), w=WHEN))
        insert = sa.text("INSERT INTO enrolment_periods (academic_year, semester, opens_on, closes_on, updated_at)"
                         " VALUES (:y, :s, :o, :c, :w)")
        connection.execute(insert, dict(y=2026, s=1, o=date(2026, 10, 5), c=date(2026, 10, 30), w=WHEN))  # no year row
        connection.execute(insert, dict(y=2027, s=2, o=date(2028, 2, 20), c=date(2028, 3, 20), w=WHEN))
    command.upgrade(config, "heads")
    with fresh_engine.connect() as connection:
        assert "enrolment_periods" not in sa.inspect(connection).get_table_names()
        rows = {r.year: r for r in connection.execute(sa.text("SELECT * FROM academic_years ORDER BY year"))}
    assert sorted(rows) == [2026, 2027]
    moved = rows[2026]  # a new row: the defaults, with the enrolment window staff set for semester 1
    assert (_day(moved.s1_start), _day(moved.s1_end), _day(moved.s2_start), _day(moved.s2_end)) == (
        date(2026, 9, 1), date(2027, 1, 31), date(2027, 2, 1), date(2027, 8, 31))
    assert (_day(moved.s1_enrolment_opens), _day(moved.s1_enrolment_closes)) == (date(2026, 10, 5), date(2026, 10, 30))
    assert (_day(moved.s2_enrolment_opens), _day(moved.s2_enrolment_closes)) == (date(2027, 2, 1), date(2027, 3, 31))
    kept = rows[2027]  # the existing row keeps its semester dates and takes the enrolment window
    assert _day(kept.s1_end) == date(2028, 2, 15) and _day(kept.s2_start) == date(2028, 2, 16)
    assert (_day(kept.s2_enrolment_opens), _day(kept.s2_enrolment_closes)) == (date(2028, 2, 20), date(2028, 3, 20))

    command.downgrade(config, "0009")
    with fresh_engine.connect() as connection:
        periods = connection.execute(sa.text(
            "SELECT academic_year, semester, opens_on, closes_on FROM enrolment_periods ORDER BY academic_year, semester")).all()
    assert [(y, s, _day(o), _day(c)) for y, s, o, c in periods] == [
        (2026, 1, date(2026, 10, 5), date(2026, 10, 30)), (2026, 2, date(2027, 2, 1), date(2027, 3, 31)),
        (2027, 1, date(2027, 10, 1), date(2027, 10, 31)), (2027, 2, date(2028, 2, 20), date(2028, 3, 20)),
    ]


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
