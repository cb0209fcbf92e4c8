"""Two small stores on SQLite and PostgreSQL: the conversation state a restart resumes from, and the
academic calendar staff set (who set it and when, what a refused year says, one semester's
enrolment window changed without touching the rest)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.domain.accompaniment import Refusal, RefusalCode, default_academic_year
from bot.domain.semesters import Semester
from bot.services.academic_calendar import AcademicCalendarStore
from bot.services.conversations import Conversation, Conversations
from bot.storage.models import AcademicYearRow, AuditEvent, ConversationState, Person
from tests.clock import Clock


def test_a_conversation_is_stored_replaced_and_read_back_by_another_instance(db):
    first, second = Conversations(db), Conversations(db)  # two instances, one database
    assert first.get(3001) is None
    assert first.set(3001, "coach", "section:choix", {"draft": "Mon texte"}) == Conversation(
        "coach", "section:choix", {"draft": "Mon texte"})
    assert second.get(3001) == Conversation("coach", "section:choix", {"draft": "Mon texte"})

    assert second.set(3001, "booking", "topic") == Conversation("booking", "topic", {})
    assert first.get(3001) == Conversation("booking", "topic", {})
    with db.read() as session:
        assert session.scalar(select(ConversationState.data).where(ConversationState.telegram_user_id == 3001)) == {}
        assert len(session.scalars(select(ConversationState)).all()) == 1

    first.set(3002, "coach", "menu", {"n": 1})
    assert first.get(3002).data == {"n": 1} and first.get(3001).flow == "booking"  # each person their own


def test_the_data_returned_is_a_copy_that_cannot_change_what_is_stored(db):
    conversations = Conversations(db)
    data = {"answers": "a"}
    returned = conversations.set(3001, "coach", "menu", data)
    returned.data["answers"] = "changed"
    data["answers"] = "changed too"
    assert conversations.get(3001).data == {"answers": "a"}


def test_clearing_a_conversation_of_another_flow_keeps_it(db):
    conversations = Conversations(db)
    conversations.set(3001, "coach", "menu")
    conversations.clear(3001, flow="booking")
    assert conversations.get(3001) == Conversation("coach", "menu", {})
    conversations.clear(3001, flow="coach")
    assert conversations.get(3001) is None
    conversations.set(3001, "coach", "menu")
    conversations.clear(3001)
    assert conversations.get(3001) is None
    conversations.clear(3001)  # nothing left: no error


@pytest.fixture
def store(db):
    clock = Clock(datetime(2026, 9, 3, 8, 30, tzinfo=UTC))
    with db.transaction() as session:
        staff = Person(role="staff", display_name="Sophie Staff", telegram_user_id=1001)
        session.add(staff)
        session.flush()
        staff_id = staff.id
    return AcademicCalendarStore(db, clock=clock), staff_id, clock


def test_a_saved_year_records_who_set_it_and_when_with_an_audit_event(db, store, caplog):
    calendar, staff_id, clock = store
    year = replace(default_academic_year(2026), s1=replace(default_academic_year(2026).s1,
                                                               enrolment_opens=date(2026, 10, 5)))
    with caplog.at_level("INFO", logger="bot.services.academic_calendar"):
        assert calendar.save(staff_id, year) == year
    assert [r.getMessage() for r in caplog.records if r.name == "bot.services.academic_calendar"] == [
        f"academic year 2026 set by person {staff_id}"]
    assert calendar.calendar().year(2026) == year and calendar.calendar().is_custom(2026)
    assert not calendar.calendar().is_custom(2027)
    with db.read() as session:
        row = session.get(AcademicYearRow, 2026)
        assert (row.updated_by_id, row.updated_at.replace(tzinfo=UTC)) == (staff_id, clock.now)
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "academic_year.set")).one()
        assert (event.actor_id, event.details) == (staff_id, {"year": 2026})
    windows = calendar.enrolment_windows(2026)
    assert windows[1].enrolment_opens == date(2026, 10, 5) and windows[2] == year.s2
    assert calendar.enrolment_windows(2027) is None


def test_a_year_that_does_not_hold_together_is_refused_by_name_and_nothing_is_stored(db, store):
    calendar, staff_id, _ = store
    default = default_academic_year(2026)
    backwards = replace(default, s2=replace(default.s2, start=date(2027, 9, 1)))
    with pytest.raises(Refusal) as refused:
        calendar.save(staff_id, backwards)
    assert refused.value.code is RefusalCode.BAD_CALENDAR
    assert refused.value.details == {"problems": backwards.problems(), "year": 2026}
    assert "s2_end_before_start" in refused.value.details["problems"]
    with db.read() as session:
        assert session.get(AcademicYearRow, 2026) is None
        assert session.scalars(select(AuditEvent)).all() == []


def test_one_semesters_enrolment_window_changes_and_the_rest_of_the_year_stays(db, store):
    calendar, staff_id, clock = store
    default = default_academic_year(2026)
    calendar.save(staff_id, replace(default, s1=replace(default.s1, start=date(2026, 9, 7))))
    clock.now = datetime(2027, 1, 10, 9, tzinfo=UTC)
    year = calendar.set_enrolment(staff_id, Semester(2026, 2), date(2027, 2, 2), date(2027, 3, 20))
    assert year.s2.enrolment_opens == date(2027, 2, 2) and year.s2.enrolment_closes == date(2027, 3, 20)
    assert year.s1.start == date(2026, 9, 7), "the first semester as it was stored, not the defaults"
    assert year.s2.start == default.s2.start and year.s2.end == default.s2.end
    assert calendar.calendar().year(2026) == year
    with db.read() as session:
        row = session.get(AcademicYearRow, 2026)
        assert (row.updated_by_id, row.updated_at.replace(tzinfo=UTC)) == (staff_id, clock.now)
        assert len(session.scalars(select(AuditEvent).where(AuditEvent.actor_id == staff_id)).all()) == 2

    fresh = calendar.set_enrolment(None, Semester(2027, 1), date(2027, 10, 4), date(2027, 10, 29))
    assert fresh.s1.enrolment_opens == date(2027, 10, 4) and fresh.s2 == default_academic_year(2027).s2
    with db.read() as session:
        assert session.get(AcademicYearRow, 2027).updated_by_id is None  # the command line


def test_an_enrolment_window_that_closes_before_it_opens_is_refused(db, store):
    calendar, staff_id, _ = store
    with pytest.raises(Refusal) as refused:
        calendar.set_enrolment(staff_id, Semester(2026, 1), date(2026, 10, 31), date(2026, 10, 1))
    assert refused.value.code is RefusalCode.BAD_CALENDAR and refused.value.details["year"] == 2026
    assert calendar.enrolment_windows(2026) is None
