"""Booking under concurrency, on SQLite and PostgreSQL: no double booking, no budget overrun, and
the notifications and reminders written with the meeting."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.domain.calendar import PARIS, HolidayCalendar
from bot.domain.meetings import BookingError
from bot.domain.permissions import COMMAND_LINE
from bot.services.booking import BookingService
from bot.services.onboarding import Onboarding
from bot.storage.db import Database
from bot.storage.models import Meeting, OutboxMessage

NOW = datetime(2026, 10, 19, 9, 0, tzinfo=UTC)
SLOT = datetime(2026, 10, 21, 10, 0, tzinfo=PARIS).astimezone(UTC)  # Wednesday 10h Paris


def _people(db: Database, auditeurs: int):
    onboarding = Onboarding(db, invitation_ttl=timedelta(days=14))
    tutor = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois").person
    enrolled = [
        onboarding.enrol_auditeur(
            COMMAND_LINE, name=f"Auditeur {i}", tutor=tutor.id, report_type="ua", semester="2026-S1", certification="C"
        ).person
        for i in range(auditeurs)
    ]
    booking = BookingService(db, HolidayCalendar(), clock=lambda: NOW)
    booking.add_windows(tutor, "du lundi au vendredi 9h-12h 14h-17h")
    return booking, tutor, enrolled


def _race(count: int, attempt) -> list[object]:
    barrier = threading.Barrier(count)

    def run(index: int):
        barrier.wait()
        try:
            return attempt(index)
        except BookingError as error:
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_fifty_simultaneous_attempts_at_one_slot_give_exactly_one_meeting(db):
    booking, tutor, auditeurs = _people(db, 50)
    results = _race(50, lambda i: booking.book(auditeurs[i], SLOT, 30))
    winners = [r for r in results if not isinstance(r, BookingError)]
    assert len(winners) == 1
    assert {r.code for r in results if isinstance(r, BookingError)} <= {"taken", "overlaps"}
    with db.read() as session:
        rows = session.scalars(sa.select(Meeting)).all()
        assert len(rows) == 1 and rows[0].start_at == SLOT and rows[0].auditeur_id == winners[0].auditeur.id
        kinds = sorted(session.scalars(sa.select(OutboxMessage.kind)))
        # both sides: two reminders each; the tutor's notification; both .ics — for the winner only
        assert kinds == sorted(["meeting.reminder"] * 4 + ["meeting.booked", "meeting.booked.ics", "meeting.booked.ics"])


def test_concurrent_bookings_of_one_auditeur_never_exceed_the_budget(db):
    booking, tutor, (auditeur,) = _people(db, 1)
    booking.book(auditeur, SLOT, 30)  # the first meeting: 1h30 left
    starts = [
        datetime(2026, 10, day, 9, 0, tzinfo=PARIS).astimezone(UTC) + timedelta(minutes=30 * step)
        for day in (22, 23) for step in range(6)
    ]
    assert len(set(starts)) == 12
    results = _race(12, lambda i: booking.book(auditeur, starts[i], 30))
    assert sum(not isinstance(r, BookingError) for r in results) == 3
    assert {r.code for r in results if isinstance(r, BookingError)} == {"budget_exhausted"}
    with db.read() as session:
        total = session.scalar(sa.select(sa.func.sum(Meeting.duration_minutes)).where(Meeting.status != "cancelled"))
    assert total == 120

    booking2, _, (other,) = _people_more(db, tutor)
    booking2.book(other, datetime(2026, 10, 26, 9, 0, tzinfo=PARIS).astimezone(UTC), 30)
    hours = [datetime(2026, 10, 27, h, 0, tzinfo=PARIS).astimezone(UTC) for h in (9, 10, 11, 14, 15, 16)]
    results = _race(6, lambda i: booking2.book(other, hours[i], 60))
    assert sum(not isinstance(r, BookingError) for r in results) == 1  # 60 fits once in the 90 left
    assert {r.code for r in results if isinstance(r, BookingError)} == {"exceeds_remaining"}


def _people_more(db: Database, tutor):
    onboarding = Onboarding(db, invitation_ttl=timedelta(days=14))
    person = onboarding.enrol_auditeur(
        COMMAND_LINE, name="Bo Chen", tutor=tutor.id, report_type="ua", semester="2026-S1", certification="C"
    ).person
    return BookingService(db, HolidayCalendar(), clock=lambda: NOW), tutor, [person]


def test_the_database_itself_refuses_overlapping_meetings(db):
    booking, tutor, (first, second) = _people(db, 2)
    meeting = booking.book(first, SLOT, 30)
    with db.read() as session:
        enrolment_id = session.get(Meeting, meeting.id).enrolment_id
    with pytest.raises(IntegrityError), db.transaction() as session:
        session.add(
            Meeting(
                tutor_id=tutor.id, auditeur_id=second.id, enrolment_id=enrolment_id, start_at=SLOT + timedelta(minutes=15),
                end_at=SLOT + timedelta(minutes=45), blocked_until=SLOT + timedelta(minutes=45), duration_minutes=30,
                status="booked", purpose="first", sequence=0, video_link="https://example.org/x",
            )
        )
    booking.cancel(first, meeting.id)  # a cancelled meeting frees its slot
    assert booking.book(second, SLOT, 30).start_utc == SLOT
