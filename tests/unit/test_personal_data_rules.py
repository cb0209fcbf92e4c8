"""Personal-data rules: retention dates, open work before an erasure, the log and webhook guards."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.domain.people import Role
from bot.domain.personal_data import (
    EnrolmentSpan,
    accompaniment_end,
    add_months,
    anonymous_name,
    open_work,
    retention_due,
    semester_end,
)
from bot.telegram.log_redaction import HIDDEN, install_redaction
from bot.telegram.webhook import parse_update


def test_add_months_clips_the_day():
    assert add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2026, 11, 15, tzinfo=UTC), 14) == datetime(2028, 1, 15, tzinfo=UTC)
    assert add_months(datetime(2026, 3, 15, tzinfo=UTC), -3) == datetime(2025, 12, 15, tzinfo=UTC)


def test_semester_ends_and_accompaniment_end():
    assert semester_end("2026-S1") == datetime(2027, 2, 1, tzinfo=UTC)
    assert semester_end("2026-S2") == datetime(2027, 9, 1, tzinfo=UTC)
    assert semester_end("nonsense") is None
    closed = EnrolmentSpan("2026-S1", active=False, ended_at=datetime(2026, 12, 1, tzinfo=UTC))
    later = EnrolmentSpan("2026-S2", active=True, ended_at=None)
    assert accompaniment_end([closed]) == datetime(2026, 12, 1, tzinfo=UTC)
    assert accompaniment_end([closed, later]) == datetime(2027, 9, 1, tzinfo=UTC)
    assert accompaniment_end([]) is None


def test_retention_due():
    end = datetime(2027, 2, 1, tzinfo=UTC)
    assert not retention_due(end, datetime(2028, 1, 31, tzinfo=UTC), 12)
    assert retention_due(end, datetime(2028, 2, 1, tzinfo=UTC), 12)
    assert not retention_due(None, datetime(2100, 1, 1, tzinfo=UTC), 1)


def test_open_work_depends_on_the_role():
    assert not open_work(Role.AUDITEUR, active_auditeurs=0, future_meetings=3, configured_staff=False).blocking
    assert open_work(Role.TUTOR, active_auditeurs=2, future_meetings=0, configured_staff=False).blocking
    assert open_work(Role.TUTOR, active_auditeurs=0, future_meetings=1, configured_staff=False).blocking
    assert not open_work(Role.TUTOR, active_auditeurs=0, future_meetings=0, configured_staff=False).blocking
    assert open_work(Role.STAFF, active_auditeurs=0, future_meetings=0, configured_staff=True).blocking
    assert anonymous_name(12) == "#12"


def test_third_party_log_records_keep_numbers_and_lose_text(caplog):
    install_redaction([])
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("telegram.ext.ExtBot").debug("Calling `%s` with `%s` for %d", "sendMessage", {"text": "Léa"}, 42)
        logging.getLogger("httpx").info("ids %s", [1, 2])
        logging.getLogger("bot.services.x").info("person %s did %s", 7, "something")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [f"Calling `{HIDDEN}` with `{HIDDEN}` for 42", "ids [1, 2]", "person 7 did something"]


def test_webhook_bodies_that_are_not_updates():
    assert parse_update(b"\xff", None) is None
    assert parse_update(b"{", None) is None
    assert parse_update(b"[]", None) is None
    assert parse_update(b'{"update_id": "1"}', None) is None
    assert parse_update(b'{"update_id": 1}', None).update_id == 1


def test_every_message_state_and_meeting_status_has_a_french_label():
    from bot.domain.budget import MeetingStatus
    from bot.storage.models.outbox import OUTBOX_STATES
    from bot.telegram.rendering import Renderer

    renderer = Renderer()
    for state in OUTBOX_STATES:
        assert renderer.label(f"personal_data.message_state.{state}")
    for status in MeetingStatus:
        assert renderer.label(f"personal_data.meeting_status.{status.value}")


def test_every_table_is_covered_by_export_and_erasure_or_declared_without_personal_data():
    from bot.services.personal_data import NO_PERSONAL_DATA, PERSONAL_TABLES
    from bot.storage.models import Base

    unclassified = set(Base.metadata.tables) - PERSONAL_TABLES - NO_PERSONAL_DATA
    assert not unclassified, (
        f"tables {sorted(unclassified)}: export and erase them in bot/services/personal_data.py "
        "(PERSONAL_TABLES) or declare them in NO_PERSONAL_DATA"
    )


def test_personal_columns_of_kept_tables_exist_and_the_meeting_topic_is_one():
    from bot.services.personal_data import PERSONAL_COLUMNS, PERSONAL_TABLES
    from bot.storage.models import Base

    for table, columns in PERSONAL_COLUMNS.items():
        assert table in PERSONAL_TABLES
        assert set(columns) <= set(Base.metadata.tables[table].columns.keys()), table
    assert {"video_link", "topic"} <= set(PERSONAL_COLUMNS["meetings"])
