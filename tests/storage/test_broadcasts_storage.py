"""Broadcasts on SQLite and PostgreSQL: audiences resolved and counted, one outbox row per recipient
written when due, blocked people recorded apart, a second confirmation refused, pause/resume/cancel,
scheduled ones released once, the year's announcements scheduled in one step."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from alembic.migration import MigrationContext
from alembic.autogenerate import compare_metadata

from bot.domain.broadcasts import Audience, BroadcastError, State
from bot.domain.people import PersonView, Role
from bot.domain.permissions import COMMAND_LINE, PermissionDenied
from bot.domain.semesters import Semester
from bot.services import outbox
from bot.services.broadcasts import BroadcastService, group_of
from bot.storage.models import Base, Enrolment, OutboxMessage, Person
from bot.telegram.rendering import Renderer
from tests.clock import Clock

NOW = datetime(2026, 9, 15, 8, 0, tzinfo=UTC)


@pytest.fixture
def world(db):
    """Staff, two tutors, five auditeurs in two cohorts and two certifications; one blocked, one unbound."""
    with db.transaction() as session:
        staff = Person(role="staff", display_name="Claire", telegram_user_id=1001)
        tutors = [Person(role="tutor", display_name=f"Tuteur {i}", telegram_user_id=2000 + i) for i in range(2)]
        session.add_all([staff, *tutors])
        session.flush()
        auditeurs = []
        for i, (semester, certification) in enumerate(
            [("2026-S1", "Licence Gestion"), ("2026-S1", "Licence Gestion"), ("2026-S1", "Titre RH"),
             ("2026-S2", "Titre RH"), ("2026-S2", "Licence Gestion")]
        ):
            person = Person(role="auditeur", display_name=f"Auditeur {i}", telegram_user_id=3000 + i)
            session.add(person)
            session.flush()
            session.add(Enrolment(auditeur_id=person.id, tutor_id=tutors[i % 2].id, certification=certification,
                                  report_type="ua", semester=semester))
            auditeurs.append(person)
        auditeurs[1].blocked_bot_at = NOW
        auditeurs[4].telegram_user_id = None
        session.flush()
        staff_view = PersonView(staff.id, Role.STAFF, "Claire", 1001)
        tutor_view = PersonView(tutors[0].id, Role.TUTOR, "Tuteur 0", 2000)
        return staff_view, tutor_view, [a.id for a in auditeurs]


@pytest.fixture
def service(db):
    clock = Clock(NOW)
    service = BroadcastService(db, clock=clock, render=Renderer().render)
    service.test_clock = clock
    return service


def _rows(db, broadcast_id):
    with db.read() as session:
        return sorted(
            (r.recipient_id, r.state, r.priority, r.on_uncertain)
            for r in session.query(OutboxMessage).filter(OutboxMessage.group_key == group_of(broadcast_id))
        )


def test_migrations_match_the_models(db):
    with db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_audiences_are_counted_with_blocked_people_apart(service, world):
    staff, _, _ = world
    count = lambda code: (lambda c: (c.reachable, c.blocked))(service.count(staff, Audience.parse(code)))  # noqa: E731
    assert count("auditeurs") == (3, 2)
    assert count("semestre:2026-S1") == (2, 1)
    assert count("semestre:2026-S2") == (1, 1)
    assert count("certification:licence gestion") == (1, 2)
    assert count("tuteurs") == (2, 0)
    assert count("tous") == (6, 2)
    choices = service.audience_choices(staff)
    assert choices.semesters == ["2026-S2", "2026-S1"]
    assert choices.certifications == ["Licence Gestion", "Titre RH"]
    assert choices.stages is None
    with pytest.raises(BroadcastError) as info:
        service.count(staff, Audience.parse("etape:2"))
    assert info.value.code == "audience_unavailable"


def test_stage_filter_plugs_in(db, world):
    staff, _, auditeurs = world
    from sqlalchemy import select

    service = BroadcastService(db, clock=Clock(NOW), stage_filter=lambda session, value: select(Person.id).where(Person.id == auditeurs[0]))
    assert service.count(staff, Audience.parse("etape:rdv1")).reachable == 1


def test_send_now_writes_one_row_per_recipient_once(db, service, world):
    staff, _, auditeurs = world
    preview = service.compose(staff, message_html="<b>Bonjour</b>", audience="semestre:2026-S1")
    assert preview.broadcast.state is State.DRAFT
    assert (preview.count.reachable, preview.count.blocked) == (2, 1)
    assert _rows(db, preview.broadcast.id) == []  # a draft sends nothing
    sent = service.send_now(staff, preview.broadcast.id)
    assert sent.broadcast.state is State.SENDING and sent.broadcast.recipients == 3
    rows = _rows(db, preview.broadcast.id)
    assert rows == sorted([
        (auditeurs[0], "pending", outbox.Priority.BROADCAST, "resend"),
        (auditeurs[1], "blocked", outbox.Priority.BROADCAST, "resend"),
        (auditeurs[2], "pending", outbox.Priority.BROADCAST, "resend"),
    ])
    with pytest.raises(BroadcastError) as info:
        service.send_now(staff, preview.broadcast.id)  # the second press
    assert info.value.code == "already_confirmed"
    assert len(_rows(db, preview.broadcast.id)) == 3


def test_only_staff_and_bad_input_sends_nothing(db, service, world):
    staff, tutor, _ = world
    with pytest.raises(PermissionDenied):
        service.compose(tutor, message_html="x", audience="tous")
    preview = service.compose(staff, message_html="x", audience="tous")
    with pytest.raises(PermissionDenied):
        service.send_now(tutor, preview.broadcast.id)
    for html, audience, code in [("", "tous", "message_empty"), ("<b>x", "tous", "html_broken"),
                                 ("x", "semestre:2030-S1", "audience_empty")]:
        with pytest.raises(BroadcastError) as info:
            service.compose(staff, message_html=html, audience=audience)
        assert info.value.code == code
    with db.read() as session:
        assert session.query(OutboxMessage).count() == 0


def test_scheduled_broadcasts_start_once_when_due_with_the_audience_of_the_day(db, service, world):
    staff, _, _ = world
    preview = service.compose(staff, message_html="Rappel", audience="tuteurs")
    with pytest.raises(BroadcastError) as info:
        service.schedule(staff, preview.broadcast.id, NOW - timedelta(minutes=1))
    assert info.value.code == "in_past"
    when = NOW + timedelta(days=1)
    assert service.schedule(staff, preview.broadcast.id, when).state is State.SCHEDULED
    assert [b.id for b in service.scheduled(staff)] == [preview.broadcast.id]
    service.edit_message(staff, preview.broadcast.id, "Rappel <i>modifié</i>")
    assert service.release_due() == []
    with db.transaction() as session:  # a tutor joins meanwhile
        session.add(Person(role="tutor", display_name="Nouveau", telegram_user_id=2999))
    service.test_clock.now = when
    other = BroadcastService(db, clock=service.test_clock)
    assert [b.id for b in service.release_due()] == [preview.broadcast.id]
    assert other.release_due() == []  # started once
    rows = _rows(db, preview.broadcast.id)
    assert len(rows) == 3
    with db.read() as session:
        assert {r.text for r in session.query(OutboxMessage)} == {"Rappel <i>modifié</i>"}
    with pytest.raises(BroadcastError):
        service.edit_message(staff, preview.broadcast.id, "trop tard")


def test_pause_resume_cancel_and_report(db, service, world):
    staff, _, auditeurs = world
    preview = service.compose(staff, message_html="x", audience="auditeurs")
    broadcast_id = preview.broadcast.id
    service.send_now(staff, broadcast_id)
    assert service.pause(staff, broadcast_id).state is State.PAUSED
    assert {s for _, s, _, _ in _rows(db, broadcast_id)} == {"paused", "blocked"}
    with pytest.raises(BroadcastError):
        service.pause(staff, broadcast_id)
    service.resume(staff, broadcast_id)
    store = outbox.OutboxStore(db, clock=service.test_clock, timer=service.test_clock, instance="t",
                               rate=outbox.RateSettings(per_second=100, burst=100, per_chat_interval=timedelta(0)))
    claimed, _ = store.claim(limit=1)
    store.finish(claimed[0].id, "sent")
    assert service.finish_delivered() == []  # still pending
    service.cancel(staff, broadcast_id)
    progress = service.progress(staff, broadcast_id)
    assert (progress.sent, progress.blocked, progress.cancelled, progress.remaining) == (1, 2, 2, 0)
    report = service.report(staff, broadcast_id)
    assert sorted(u.person_id for u in report.undeliverable) == sorted([auditeurs[1], auditeurs[4]])
    assert {u.reason for u in report.undeliverable} == {"blocked"}


def test_finished_broadcasts_report_to_their_author(db, service, world):
    staff, _, _ = world
    preview = service.compose(staff, message_html="x", audience="tuteurs")
    service.send_now(staff, preview.broadcast.id)
    store = outbox.OutboxStore(db, clock=service.test_clock, timer=service.test_clock, instance="t",
                               rate=outbox.RateSettings(per_second=100, burst=100, per_chat_interval=timedelta(0)))
    claimed, _ = store.claim(limit=10)
    for row in claimed:
        store.finish(row.id, "sent")
    (report,) = service.finish_delivered()
    assert report.progress.sent == 2 and report.progress.broadcast.state is State.DONE
    assert service.finish_delivered() == []
    assert store.rows(kind="broadcast.report") == [("broadcast.report", staff.id, "pending")]


def test_the_years_announcements_in_one_step(db, service, world):
    staff, _, _ = world
    with pytest.raises(BroadcastError) as info:
        service.schedule_announcements(staff, 2026)
    assert info.value.code == "calendar_missing"
    service.set_period(staff, Semester(2026, 1), date(2026, 10, 1), date(2026, 10, 31))
    service.set_period(staff, Semester(2026, 2), date(2027, 2, 15), date(2027, 3, 15))
    service.set_period(staff, Semester(2026, 2), date(2027, 2, 1), date(2027, 3, 15))  # corrected
    plan = service.schedule_announcements(staff, 2026)
    assert [b.scheduled_at for b in plan.scheduled] == [
        datetime(2026, 10, 1, 7, 0, tzinfo=UTC), datetime(2027, 2, 1, 8, 0, tzinfo=UTC)
    ]
    assert "1er février 2027" in plan.scheduled[1].message_html
    again = service.schedule_announcements(staff, 2026)
    assert again.scheduled == [] and {s["reason"] for s in again.skipped} == {"already_scheduled"}
    with pytest.raises(PermissionDenied):
        service.set_period(PersonView(99, Role.AUDITEUR, "x", None), Semester(2026, 1), date(2026, 10, 1), date(2026, 10, 2))
    # the command line acts as staff
    assert service.periods(2026)[1].closes_on == date(2026, 10, 31)
    assert service.count(COMMAND_LINE, Audience.parse("tous")).total == 8


def test_enrolment_periods_are_the_academic_calendars(db, service, world):
    """One source: what /diffuser sets is the accompaniment's calendar, and the reverse."""
    from bot.domain.accompaniment import AcademicYear, SemesterDates
    from bot.services.academic_calendar import AcademicCalendarStore

    staff, _, _ = world
    calendar = AcademicCalendarStore(db, clock=lambda: datetime(2026, 9, 1, tzinfo=UTC))
    service.set_period(staff, Semester(2026, 2), date(2027, 2, 8), date(2027, 3, 12))
    year = calendar.calendar().year(2026)
    assert (year.s2.enrolment_opens, year.s2.enrolment_closes) == (date(2027, 2, 8), date(2027, 3, 12))
    assert year.s1 == SemesterDates(date(2026, 9, 1), date(2027, 1, 31), date(2026, 10, 1), date(2026, 10, 31))  # defaults kept
    with pytest.raises(BroadcastError) as info:  # before the 2nd semester starts (1 February by default)
        service.set_period(staff, Semester(2026, 2), date(2027, 1, 15), date(2027, 3, 12))
    assert info.value.code == "calendar_incoherent" and info.value.details["problems"] == ["s2_enrolment_outside_semester"]
    calendar.save(None, AcademicYear(2027, SemesterDates(date(2027, 9, 1), date(2028, 1, 31), date(2027, 10, 4), date(2027, 10, 29)),
                                     SemesterDates(date(2028, 2, 1), date(2028, 8, 31), date(2028, 2, 7), date(2028, 3, 24))))
    periods = service.periods(2027)
    assert (periods[1].opens_on, periods[2].closes_on) == (date(2027, 10, 4), date(2028, 3, 24))
    assert service.periods(2028) == {1: None, 2: None}  # a year nobody set is not announced
