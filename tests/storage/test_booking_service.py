"""The booking service's rules as stored, on SQLite and PostgreSQL: what a booking, a move, a
cancellation or a mark writes (the meeting, its audit event, the outbox rows for each side and
the reminders), and what it refuses, in the service itself rather than only in the domain."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.domain.availability import AvailabilityError, AvailabilityErrorCode, BookingSettings
from bot.domain.budget import MeetingStatus
from bot.domain.calendar import PARIS, HolidayCalendar
from bot.domain.meetings import BookingError, BookingErrorCode, Purpose, VideoMode, pending_booking
from bot.domain.permissions import COMMAND_LINE
from bot.services.booking import BookingService
from bot.services.onboarding import Onboarding
from bot.storage.models import AuditEvent, Meeting, OutboxMessage
from tests.clock import Clock

NOW = datetime(2026, 10, 19, 9, 0, tzinfo=UTC)  # a Monday, 11h in Paris


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


WEDNESDAY_10 = paris(21, 10)
THURSDAY_10 = paris(22, 10)
FRIDAY_10 = paris(23, 10)


@pytest.fixture
def world(db):
    """A tutor (Mon-Fri 9h-12h 14h-17h) with two auditeurs, another tutor with one, and the service."""
    onboarding = Onboarding(db, invitation_ttl=timedelta(days=14))
    tutor = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois").person
    other_tutor = onboarding.invite_tutor(COMMAND_LINE, "Lina Roche").person

    def enrol(name, tutor_id):
        return onboarding.enrol_auditeur(
            COMMAND_LINE, name=name, tutor=tutor_id, report_type="ua", semester="2026-S1", certification="C"
        ).person

    alice, bruno = enrol("Alice Martin", tutor.id), enrol("Bruno Petit", tutor.id)
    carla = enrol("Carla Diaz", other_tutor.id)
    clock = Clock(NOW)
    booking = BookingService(db, HolidayCalendar(), clock=clock, room_base="https://rooms.example/")
    booking.add_windows(tutor, "du lundi au vendredi 9h-12h 14h-17h")
    booking.add_windows(other_tutor, "du lundi au vendredi 9h-12h")
    return type("World", (), dict(db=db, booking=booking, clock=clock, tutor=tutor, other_tutor=other_tutor,
                                  alice=alice, bruno=bruno, carla=carla))


def rows(db, model, *where):
    with db.read() as session:
        found = session.scalars(sa.select(model).where(*where).order_by(model.id)).all()
        session.expunge_all()
        return found


def outbox(db, *where):
    return [(r.recipient_id, r.kind, r.template) for r in rows(db, OutboxMessage, *where)]


def meeting_row(db, meeting_id) -> Meeting:
    (row,) = rows(db, Meeting, Meeting.id == meeting_id)
    return row


def starts(page) -> list[datetime]:
    return [slot.start_utc for day in page.page.week.days for slot in day.slots]


def audit(db, action):
    return [(e.actor_id, e.subject_id, e.details) for e in rows(db, AuditEvent, AuditEvent.action == action)]


# -- booking -----------------------------------------------------------------------------------


def test_a_booking_stores_the_meeting_tells_the_tutor_and_schedules_both_sides_reminders(world):
    w = world
    view = w.booking.book(w.alice, WEDNESDAY_10, 30, topic="  mon plan  ")
    row = meeting_row(w.db, view.id)
    assert (row.tutor_id, row.auditeur_id, row.duration_minutes, row.sequence) == (w.tutor.id, w.alice.id, 30, 0)
    assert (row.start_at, row.end_at, row.blocked_until) == (WEDNESDAY_10, WEDNESDAY_10 + timedelta(minutes=30),
                                                             WEDNESDAY_10 + timedelta(minutes=30))
    assert (row.status, row.purpose, row.topic) == ("booked", "first", "mon plan")
    assert row.video_link.startswith("https://rooms.example/") and len(row.video_link) > len("https://rooms.example/")
    assert view.id == row.id and view.status is MeetingStatus.BOOKED and view.purpose is Purpose.FIRST
    assert view.tutor.id == w.tutor.id and view.auditeur.id == w.alice.id and view.video_link == row.video_link
    assert audit(w.db, "meeting.booked") == [
        (w.alice.id, w.alice.id, {"meeting_id": view.id, "start": WEDNESDAY_10.isoformat(), "minutes": 30})
    ]
    told = outbox(w.db, OutboxMessage.kind != "meeting.reminder")
    # the auditeur, who acted, only gets the .ics; the tutor a message and the .ics
    assert told == [
        (w.alice.id, "meeting.booked.ics", None),
        (w.tutor.id, "meeting.booked", "booking/tutor_booked.html"),
        (w.tutor.id, "meeting.booked.ics", None),
    ]
    for message in rows(w.db, OutboxMessage, OutboxMessage.kind != "meeting.reminder"):
        assert (message.subject_type, message.subject_id, message.on_uncertain) == ("meeting", view.id, "resend")
        if message.document:
            assert message.document["filename"] == "rdv-2026-10-21-1000.ics"
            assert message.document["builder"] == "meeting_ics"
            assert message.document["builder_params"]["method"] == "REQUEST"
            assert message.document["builder_params"]["meeting"]["id"] == view.id
            assert message.document["caption_template"] == "booking/ics_caption.html"
            assert message.document["caption_params"] == {"method": "REQUEST"}
        else:
            assert message.params["meeting"]["id"] == view.id
    reminders = rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.reminder")
    assert sorted((r.recipient_id, r.next_attempt_at, r.params["rule"]) for r in reminders) == sorted(
        (person, WEDNESDAY_10 - before, rule)
        for person in (w.alice.id, w.tutor.id)
        for before, rule in ((timedelta(hours=24), "meeting_24h"), (timedelta(hours=1), "meeting_1h"))
    )
    for reminder in reminders:
        assert reminder.template == "booking/reminder.html" and reminder.params["meeting_id"] == view.id
        assert (reminder.expires_at, reminder.on_uncertain, reminder.state) == (WEDNESDAY_10, "drop", "pending")
        assert (reminder.subject_type, reminder.subject_id) == ("meeting", view.id)
        assert reminder.dedupe_key == f"meeting:{view.id}:0:{reminder.params['rule']}:{reminder.recipient_id}"
        assert reminder.priority == 2  # after notifications (1), before broadcasts (3)
    assert rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.booked")[0].priority == 1


def test_the_tutors_room_and_buffer_are_used_and_the_second_meeting_is_a_follow_up(world):
    w = world
    w.booking.set_video_link(w.tutor, "https://meet.example.org/marc")
    w.booking.set_setting(w.tutor, "buffer", 30)
    first = w.booking.book(w.alice, WEDNESDAY_10, 30)
    follow_up = w.booking.book(w.alice, THURSDAY_10, 60)
    assert first.video_link == follow_up.video_link == "https://meet.example.org/marc"
    assert meeting_row(w.db, first.id).blocked_until == WEDNESDAY_10 + timedelta(minutes=60)
    assert (first.purpose, follow_up.purpose) == (Purpose.FIRST, Purpose.FOLLOW_UP)
    # the buffer keeps 10h30-11h free after Alice's meeting
    with pytest.raises(BookingError) as refused:
        w.booking.book(w.bruno, WEDNESDAY_10 + timedelta(minutes=30), 30)
    assert refused.value.code in ("taken", "overlaps")
    assert w.booking.budget(w.alice).remaining == timedelta(minutes=30)


def test_a_follow_up_before_the_first_meeting_and_a_second_press_are_refused(world):
    w = world
    first = w.booking.book(w.alice, THURSDAY_10, 30)
    with pytest.raises(BookingError) as refused:
        w.booking.book(w.alice, WEDNESDAY_10, 30)
    assert refused.value.code == BookingErrorCode.BEFORE_FIRST_MEETING
    assert refused.value.details["first"] == THURSDAY_10
    with pytest.raises(BookingError) as again:
        w.booking.book(w.alice, THURSDAY_10, 30)
    assert again.value.code == BookingErrorCode.ALREADY_BOOKED and again.value.details["meeting"].id == first.id
    assert len(rows(w.db, Meeting)) == 1


def test_the_budget_is_checked_in_the_service(world):
    w = world
    w.booking.book(w.alice, WEDNESDAY_10, 30)
    w.booking.book(w.alice, THURSDAY_10, 60)
    with pytest.raises(BookingError) as refused:
        w.booking.book(w.alice, FRIDAY_10, 60)
    assert refused.value.code == "exceeds_remaining" and refused.value.details["budget"].remaining == timedelta(minutes=30)
    with pytest.raises(BookingError) as bad:
        w.booking.slot_page(w.alice, 45)
    assert bad.value.code in ("bad_duration", "exceeds_remaining")
    w.booking.book(w.alice, FRIDAY_10, 30)
    with pytest.raises(BookingError) as exhausted:
        w.booking.slot_page(w.alice, None)
    assert exhausted.value.code == "budget_exhausted"


def test_a_slot_outside_the_windows_is_refused_and_nothing_is_written(world, db):
    w = world
    with pytest.raises(BookingError) as refused:
        w.booking.book(w.alice, paris(21, 13), 30)  # outside the windows
    assert refused.value.code == "outside_windows" and refused.value.details["start"] == paris(21, 13)
    assert rows(db, Meeting) == [] and rows(db, OutboxMessage) == []


def test_propose_checks_like_a_booking_and_confirm_books_only_the_pending_slot(world):
    w = world
    proposal = w.booking.propose(w.alice, WEDNESDAY_10, 30)
    assert (proposal.tutor.id, proposal.start_utc, proposal.end_utc) == (w.tutor.id, WEDNESDAY_10, WEDNESDAY_10 + timedelta(minutes=30))
    assert proposal.purpose is Purpose.FIRST and proposal.pending == pending_booking(30, WEDNESDAY_10, NOW)
    assert rows(w.db, Meeting) == []
    with pytest.raises(BookingError) as stale:
        w.booking.confirm(w.alice, None, 30, WEDNESDAY_10)
    assert stale.value.code == "confirmation_stale"
    with pytest.raises(BookingError) as other:
        w.booking.confirm(w.alice, proposal.pending, 30, THURSDAY_10)
    assert other.value.code == "confirmation_other_slot"
    assert rows(w.db, Meeting) == []
    meeting = w.booking.confirm(w.alice, proposal.pending, 30, WEDNESDAY_10, topic=" le plan ")
    assert meeting.topic == "le plan" and meeting.start_utc == WEDNESDAY_10
    with pytest.raises(BookingError) as again:  # the same button pressed again
        w.booking.confirm(w.alice, None, 30, WEDNESDAY_10)
    assert again.value.code == BookingErrorCode.ALREADY_BOOKED and again.value.details["meeting"].id == meeting.id
    with pytest.raises(BookingError) as proposed_again:
        w.booking.propose(w.alice, WEDNESDAY_10, 30)
    assert proposed_again.value.code == BookingErrorCode.ALREADY_BOOKED
    with pytest.raises(BookingError) as taken:
        w.booking.propose(w.bruno, WEDNESDAY_10, 30)
    assert taken.value.code == "overlaps"


# -- free slots --------------------------------------------------------------------------------


def test_slot_pages_offer_follow_ups_after_the_first_meeting_and_a_move_keeps_the_length(world):
    w = world
    page = w.booking.slot_page(w.alice, None)
    assert page.minutes == 30 and page.tutor.id == w.tutor.id and page.meeting is None
    assert page.budget.needs_first_meeting and page.budget.remaining == timedelta(hours=2)
    first = w.booking.book(w.alice, THURSDAY_10, 30)
    follow = w.booking.slot_page(w.alice, 60)
    assert starts(follow) and min(starts(follow)) >= THURSDAY_10 + timedelta(minutes=30)
    moving = w.booking.slot_page(w.alice, None, meeting_id=first.id)
    assert moving.minutes == 30 and moving.meeting.id == first.id
    assert THURSDAY_10 in starts(moving)  # its own slot is not busy for itself
    bruno_page = w.booking.slot_page(w.bruno, 30)
    assert starts(bruno_page) and THURSDAY_10 not in starts(bruno_page)
    with pytest.raises(BookingError) as foreign:
        w.booking.slot_page(w.bruno, None, meeting_id=first.id)
    assert foreign.value.code == BookingErrorCode.NOT_FOUND


# -- cancelling --------------------------------------------------------------------------------


def test_an_auditeur_cancelling_gives_the_time_back_and_the_tutor_is_told(world):
    w = world
    meeting = w.booking.book(w.alice, WEDNESDAY_10, 30)
    w.clock.now = NOW + timedelta(hours=1)
    cancelled = w.booking.cancel(w.alice, meeting.id)
    row = meeting_row(w.db, meeting.id)
    assert (row.status, row.cancelled_at, row.cancelled_by_id, row.sequence) == ("cancelled", w.clock.now, w.alice.id, 1)
    assert cancelled.status is MeetingStatus.CANCELLED and cancelled.sequence == 1
    reminders = rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.reminder")
    assert len(reminders) == 4 and {r.state for r in reminders} == {"cancelled"}
    assert outbox(w.db, OutboxMessage.kind.like("meeting.cancelled%")) == [
        (w.alice.id, "meeting.cancelled.ics", None),
        (w.tutor.id, "meeting.cancelled", "booking/cancelled.html"),
        (w.tutor.id, "meeting.cancelled.ics", None),
    ]
    (told,) = rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.cancelled")
    assert (told.params["by_tutor"], told.params["to_tutor"], told.params["reason"]) == (False, True, None)
    assert told.params["budget"]["remaining"] == {"$td": 7200.0}
    ics = rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.cancelled.ics")
    assert {m.document["builder_params"]["method"] for m in ics} == {"CANCEL"}
    assert audit(w.db, "meeting.cancelled") == [(w.alice.id, w.alice.id, {"meeting_id": meeting.id, "by": "auditeur"})]
    assert w.booking.budget(w.alice).remaining == timedelta(hours=2)
    with pytest.raises(BookingError) as twice:
        w.booking.cancel(w.alice, meeting.id)
    assert twice.value.code == BookingErrorCode.NOT_BOOKED


def test_inside_the_notice_the_auditeur_is_refused_by_the_service_and_the_tutor_is_not(world):
    w = world
    meeting = w.booking.book(w.alice, WEDNESDAY_10, 30)
    w.clock.now = WEDNESDAY_10 - timedelta(hours=23)
    before = outbox(w.db)
    for attempt in (lambda: w.booking.cancel(w.alice, meeting.id),
                    lambda: w.booking.reschedule(w.alice, meeting.id, FRIDAY_10)):
        with pytest.raises(BookingError) as refused:
            attempt()
        assert refused.value.code == BookingErrorCode.TOO_LATE_TO_CANCEL
        assert refused.value.details["notice"] == timedelta(hours=24)
    assert meeting_row(w.db, meeting.id).status == "booked" and meeting_row(w.db, meeting.id).start_at == WEDNESDAY_10
    assert outbox(w.db) == before
    assert w.booking.changeable_ids(w.alice, w.booking.meetings_of(w.alice)) == set()
    cancelled = w.booking.cancel(w.tutor, meeting.id)  # the tutor may, until it starts
    assert cancelled.status is MeetingStatus.CANCELLED
    (told,) = rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.cancelled")
    assert (told.recipient_id, told.params["by_tutor"], told.params["to_tutor"]) == (w.alice.id, True, False)
    assert audit(w.db, "meeting.cancelled")[0][2]["by"] == "tutor"


def test_once_started_nobody_cancels_or_moves(world):
    w = world
    meeting = w.booking.book(w.alice, WEDNESDAY_10, 30)
    w.clock.now = WEDNESDAY_10
    for attempt in (lambda: w.booking.cancel(w.tutor, meeting.id), lambda: w.booking.cancel(w.alice, meeting.id),
                    lambda: w.booking.reschedule(w.alice, meeting.id, FRIDAY_10)):
        with pytest.raises(BookingError) as refused:
            attempt()
        assert refused.value.code == BookingErrorCode.ALREADY_STARTED
    assert meeting_row(w.db, meeting.id).status == "booked"


def test_another_persons_real_meeting_id_is_refused_and_staff_may_cancel(world):
    w = world
    meeting = w.booking.book(w.alice, WEDNESDAY_10, 30)
    for actor in (w.bruno, w.carla, w.other_tutor):
        with pytest.raises(BookingError) as refused:
            w.booking.cancel(actor, meeting.id)
        assert refused.value.code == BookingErrorCode.NOT_FOUND
        with pytest.raises(BookingError) as hidden:
            w.booking.meeting(actor, meeting.id)
        assert hidden.value.code == BookingErrorCode.NOT_FOUND
    for auditeur in (w.bruno, w.carla):
        with pytest.raises(BookingError) as moved:
            w.booking.reschedule(auditeur, meeting.id, FRIDAY_10)
        assert moved.value.code == BookingErrorCode.NOT_FOUND
    w.clock.now = WEDNESDAY_10 + timedelta(minutes=5)
    with pytest.raises(BookingError) as marked:
        w.booking.mark(w.other_tutor, meeting.id, MeetingStatus.HELD)
    assert marked.value.code == BookingErrorCode.NOT_FOUND
    w.clock.now = NOW
    assert meeting_row(w.db, meeting.id).status == "booked" and meeting_row(w.db, meeting.id).start_at == WEDNESDAY_10
    with pytest.raises(BookingError) as unknown:
        w.booking.cancel(w.tutor, meeting.id + 100)
    assert unknown.value.code == BookingErrorCode.NOT_FOUND
    assert w.booking.meeting(w.alice, meeting.id).id == w.booking.meeting(w.tutor, meeting.id).id == meeting.id
    assert w.booking.meeting(COMMAND_LINE, meeting.id).id == meeting.id
    w.booking.cancel(COMMAND_LINE, meeting.id)
    row = meeting_row(w.db, meeting.id)
    assert row.status == "cancelled" and row.cancelled_by_id is None  # the command line is no person
    # neither side acted: both are told with a message
    assert [k for _, k, t in outbox(w.db, OutboxMessage.kind == "meeting.cancelled")] == ["meeting.cancelled"] * 2


def test_cancelling_the_first_meeting_cancels_the_follow_ups_and_tells_both_sides(world):
    w = world
    first = w.booking.book(w.alice, WEDNESDAY_10, 30)
    follow_up = w.booking.book(w.alice, THURSDAY_10, 30)
    other = w.booking.book(w.bruno, FRIDAY_10, 30)
    cancelled = w.booking.cancel(w.tutor, first.id)
    assert cancelled.id == first.id
    row = meeting_row(w.db, follow_up.id)
    assert (row.status, row.cancelled_at, row.cancelled_by_id, row.sequence) == ("cancelled", NOW, w.tutor.id, 1)
    assert meeting_row(w.db, other.id).status == "booked"
    assert outbox(w.db, OutboxMessage.kind.like("meeting.cancelled.follow_up%")) == [
        (w.alice.id, "meeting.cancelled.follow_up", "booking/follow_up_cancelled.html"),
        (w.alice.id, "meeting.cancelled.follow_up.ics", None),
        (w.tutor.id, "meeting.cancelled.follow_up", "booking/follow_up_cancelled.html"),
        (w.tutor.id, "meeting.cancelled.follow_up.ics", None),
    ]
    told = rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.cancelled.follow_up")
    assert [(m.params["to_tutor"], m.params["meeting"]["id"]) for m in told] == [(False, follow_up.id), (True, follow_up.id)]
    assert all(m.subject_id == follow_up.id for m in told)
    reminders = rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.reminder", OutboxMessage.subject_id == follow_up.id)
    assert len(reminders) == 4 and {r.state for r in reminders} == {"cancelled"}
    assert [d for _, _, d in audit(w.db, "meeting.cancelled")] == [
        {"meeting_id": first.id, "by": "tutor"}, {"meeting_id": follow_up.id, "by": "first_meeting_cancelled"},
    ]
    assert audit(w.db, "meeting.cancelled")[1][:2] == (w.tutor.id, w.alice.id)
    assert w.booking.budget(w.alice).remaining == timedelta(hours=2)
    w.booking.cancel(w.bruno, other.id)  # Bruno's first meeting, without follow-ups: only itself
    assert len(rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.cancelled.follow_up")) == 2


# -- moving ------------------------------------------------------------------------------------


def test_a_move_keeps_the_meeting_bumps_its_sequence_and_replaces_its_reminders(world):
    w = world
    w.booking.set_setting(w.tutor, "buffer", 15)
    meeting = w.booking.book(w.alice, WEDNESDAY_10, 30)
    moved, previous = w.booking.reschedule(w.alice, meeting.id, FRIDAY_10)
    assert previous == WEDNESDAY_10 and moved.id == meeting.id and moved.rescheduled_from == WEDNESDAY_10
    row = meeting_row(w.db, meeting.id)
    assert (row.start_at, row.end_at, row.sequence, row.status) == (FRIDAY_10, FRIDAY_10 + timedelta(minutes=30), 1, "booked")
    assert row.blocked_until == FRIDAY_10 + timedelta(minutes=45)
    reminders = rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.reminder")
    assert sorted((r.state, r.next_attempt_at) for r in reminders) == sorted(
        [("cancelled", WEDNESDAY_10 - timedelta(hours=h)) for h in (24, 24, 1, 1)]
        + [("pending", FRIDAY_10 - timedelta(hours=h)) for h in (24, 24, 1, 1)]
    )
    assert all(":1:" in r.dedupe_key for r in reminders if r.state == "pending")
    assert outbox(w.db, OutboxMessage.kind.like("meeting.moved%")) == [
        (w.alice.id, "meeting.moved.ics", None),
        (w.tutor.id, "meeting.moved", "booking/moved.html"),
        (w.tutor.id, "meeting.moved.ics", None),
    ]
    (told,) = rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.moved")
    assert told.params["previous"] == {"$dt": WEDNESDAY_10.isoformat()} and told.params["to_tutor"] is True
    assert {m.document["builder_params"]["meeting"]["sequence"] for m in rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.moved.ics")} == {1}
    assert audit(w.db, "meeting.rescheduled") == [
        (w.alice.id, w.alice.id, {"meeting_id": meeting.id, "from": WEDNESDAY_10.isoformat(), "to": FRIDAY_10.isoformat()})
    ]
    # Bruno may now book Wednesday 10h, not Friday 10h
    assert w.booking.book(w.bruno, WEDNESDAY_10, 30).start_utc == WEDNESDAY_10
    with pytest.raises(BookingError):
        w.booking.book(w.bruno, FRIDAY_10, 30)


def test_a_move_to_a_taken_slot_or_before_the_first_meeting_keeps_the_old_slot(world):
    w = world
    first = w.booking.book(w.alice, THURSDAY_10, 30)
    follow_up = w.booking.book(w.alice, FRIDAY_10, 30)
    taken = w.booking.book(w.bruno, WEDNESDAY_10, 30)
    with pytest.raises(BookingError) as refused:
        w.booking.reschedule(w.alice, first.id, WEDNESDAY_10)
    assert refused.value.code in ("taken", "overlaps")
    with pytest.raises(BookingError) as early:
        w.booking.reschedule(w.alice, follow_up.id, paris(22, 9))
    assert early.value.code == BookingErrorCode.BEFORE_FIRST_MEETING
    with pytest.raises(BookingError) as late:
        w.booking.reschedule(w.alice, first.id, paris(23, 11))
    assert late.value.code == BookingErrorCode.AFTER_FOLLOW_UP and late.value.details["follow_up"] == FRIDAY_10
    assert w.booking.reschedule(w.alice, first.id, paris(22, 9))[0].start_utc == paris(22, 9)
    assert [meeting_row(w.db, m.id).start_at for m in (follow_up, taken)] == [FRIDAY_10, WEDNESDAY_10]
    w.booking.cancel(w.bruno, taken.id)
    with pytest.raises(BookingError) as gone:
        w.booking.reschedule(w.bruno, taken.id, paris(21, 11))
    assert gone.value.code == BookingErrorCode.NOT_BOOKED


# -- marking -----------------------------------------------------------------------------------


def test_marking_waits_for_the_start_and_a_missed_meeting_is_told_to_the_auditeur(world):
    w = world
    first = w.booking.book(w.alice, WEDNESDAY_10, 30)
    second = w.booking.book(w.alice, THURSDAY_10, 30)
    with pytest.raises(BookingError) as early:
        w.booking.mark(w.tutor, first.id, MeetingStatus.HELD)
    assert early.value.code == BookingErrorCode.NOT_STARTED
    with pytest.raises(ValueError):
        w.booking.mark(w.tutor, first.id, MeetingStatus.CANCELLED)
    w.clock.now = WEDNESDAY_10
    held = w.booking.mark(w.tutor, first.id, MeetingStatus.HELD)
    assert held.status is MeetingStatus.HELD and meeting_row(w.db, first.id).status == "held"
    assert rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.missed") == []
    first_reminders = rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.reminder", OutboxMessage.subject_id == first.id)
    assert {r.state for r in first_reminders} == {"cancelled"}
    second_reminders = rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.reminder", OutboxMessage.subject_id == second.id)
    assert {r.state for r in second_reminders} == {"pending"}
    w.clock.now = THURSDAY_10 + timedelta(hours=2)
    missed = w.booking.mark(w.tutor, second.id, MeetingStatus.MISSED)
    assert missed.status is MeetingStatus.MISSED
    assert outbox(w.db, OutboxMessage.kind == "meeting.missed") == [(w.alice.id, "meeting.missed", "booking/missed_auditeur.html")]
    (told,) = rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.missed")
    assert (told.params["meeting"]["id"], told.subject_type, told.subject_id) == (second.id, "meeting", second.id)
    assert audit(w.db, "meeting.held") == [(w.tutor.id, w.alice.id, {"meeting_id": first.id})]
    assert audit(w.db, "meeting.missed") == [(w.tutor.id, w.alice.id, {"meeting_id": second.id})]
    assert [m.id for m in w.booking.history_of(w.tutor)] == [second.id, first.id]
    assert [m.id for m in w.booking.history_of(w.tutor, limit=1)] == [second.id]
    assert w.booking.meetings_of(w.tutor) == []  # the tutor's list keeps what is still booked
    assert [m.id for m in w.booking.meetings_of(w.alice)] == [first.id, second.id]
    assert w.booking.budget(w.alice).used == timedelta(hours=1)  # a missed meeting counts as used


def test_a_cancelled_meeting_cannot_be_marked(world):
    w = world
    meeting = w.booking.book(w.alice, WEDNESDAY_10, 30)
    w.booking.cancel(w.alice, meeting.id)
    w.clock.now = WEDNESDAY_10 + timedelta(hours=1)
    with pytest.raises(BookingError) as refused:
        w.booking.mark(w.tutor, meeting.id, MeetingStatus.MISSED)
    assert refused.value.code == BookingErrorCode.NOT_BOOKED
    assert meeting_row(w.db, meeting.id).status == "cancelled"


# -- the tutor's settings ----------------------------------------------------------------------


def test_a_new_room_reaches_the_future_booked_meetings_only(world):
    w = world
    past = w.booking.book(w.alice, WEDNESDAY_10, 30)
    future = w.booking.book(w.alice, FRIDAY_10, 30)
    w.clock.now = WEDNESDAY_10 + timedelta(hours=1)
    w.booking.mark(w.tutor, past.id, MeetingStatus.HELD)
    result = w.booking.set_video_link(w.tutor, "https://meet.example.org/marc")
    assert [m.id for m in result.updated] == [future.id]
    assert result.view.video_link == "https://meet.example.org/marc"
    row = meeting_row(w.db, future.id)
    assert (row.video_link, row.sequence) == ("https://meet.example.org/marc", 1)
    assert meeting_row(w.db, past.id).video_link == past.video_link
    assert outbox(w.db, OutboxMessage.kind.like("meeting.link_changed%")) == [
        (w.alice.id, "meeting.link_changed", "booking/link_changed.html"),
        (w.alice.id, "meeting.link_changed.ics", None),
        (w.tutor.id, "meeting.link_changed.ics", None),
    ]
    (told,) = rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.link_changed")
    assert told.params["previous_link"] == future.video_link
    assert told.params["meeting"]["video_link"] == "https://meet.example.org/marc"
    assert audit(w.db, "meeting.link_changed") == [(w.tutor.id, w.alice.id, {"meeting_id": future.id})]
    again = w.booking.set_video_link(w.tutor, "générer")  # back to generated rooms: a fresh one per meeting
    assert [m.id for m in again.updated] == [future.id]
    assert meeting_row(w.db, future.id).video_link.startswith("https://rooms.example/")
    assert meeting_row(w.db, future.id).sequence == 2


def test_settings_are_stored_among_the_choices_and_apply_to_bookings(world):
    w = world
    view = w.booking.set_setting(w.tutor, "notice", 72 * 60)
    assert view.settings.min_notice == timedelta(hours=72)
    assert w.booking.availability(w.tutor).settings.min_notice == timedelta(hours=72)
    with pytest.raises(BookingError) as refused:
        w.booking.book(w.alice, WEDNESDAY_10, 30)  # 49 hours ahead
    assert refused.value.code == "too_short_notice"
    assert w.booking.set_setting(w.tutor, "horizon", 14).settings.horizon == timedelta(days=14)
    with pytest.raises(Exception) as bad:
        w.booking.set_setting(w.tutor, "buffer", 7)
    assert getattr(bad.value, "code", None) == "bad_setting"
    assert w.booking.availability(w.tutor).settings.buffer == timedelta(0)
    assert w.booking.availability(w.other_tutor).settings.min_notice == timedelta(hours=24)


def test_windows_and_days_off_are_removed_only_by_their_tutor(world):
    w = world
    view = w.booking.availability(w.tutor)
    window = view.windows[0]
    assert w.booking.remove_window(w.other_tutor, window.id)[0] is False
    assert len(w.booking.availability(w.tutor).windows) == len(view.windows)
    removed, after = w.booking.remove_window(w.tutor, window.id)
    assert removed is True and window.id not in [x.id for x in after.windows] and len(after.windows) == len(view.windows) - 1
    added = w.booking.add_day_off(w.tutor, "23/10/2026")
    (day_off,) = added.view.days_off
    assert w.booking.remove_day_off(w.other_tutor, day_off.id)[0] is False
    removed, after = w.booking.remove_day_off(w.tutor, day_off.id)
    assert removed is True and after.days_off == ()


def test_a_day_off_over_booked_meetings_offers_to_cancel_them_once(world):
    w = world
    on_friday = w.booking.book(w.alice, FRIDAY_10, 30)
    thursday = w.booking.book(w.bruno, THURSDAY_10, 30)  # Bruno's first meeting, not on the day off
    afternoon = w.booking.book(w.bruno, paris(23, 15), 30)  # his follow-up, on it
    added = w.booking.add_day_off(w.tutor, "23/10/2026\n24/10/2026")
    assert [m.id for m in added.booked] == [on_friday.id, afternoon.id]
    assert len(added.day_off_ids) == 1 and [d.id for d in added.view.days_off][0] == added.day_off_ids[0]
    assert meeting_row(w.db, on_friday.id).status == "booked"  # nothing cancelled before the tutor confirms
    assert w.booking.cancel_on_days_off(w.other_tutor, added.day_off_ids).found is False
    done = w.booking.cancel_on_days_off(w.tutor, added.day_off_ids)
    assert done.found is True and [m.id for m in done.cancelled] == [on_friday.id, afternoon.id]
    assert [meeting_row(w.db, m.id).status for m in (on_friday, afternoon, thursday)] == ["cancelled", "cancelled", "booked"]
    told = rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.cancelled")
    assert sorted((m.recipient_id, m.params["reason"], m.params["by_tutor"]) for m in told) == [
        (w.alice.id, "day_off", True), (w.bruno.id, "day_off", True)
    ]
    assert {d["reason"] for _, _, d in audit(w.db, "meeting.cancelled")} == {"day_off"}
    again = w.booking.cancel_on_days_off(w.tutor, added.day_off_ids)
    assert again.found is True and again.cancelled == ()
    assert len(rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.cancelled")) == 2


# -- reminders ---------------------------------------------------------------------------------


def test_a_reminder_says_who_it_is_for_and_nothing_once_started_or_cancelled(world):
    w = world
    meeting = w.booking.book(w.alice, WEDNESDAY_10, 30)
    at = WEDNESDAY_10 - timedelta(minutes=53)
    values = w.booking.reminder_values(meeting.id, w.tutor.id, "meeting_1h", at)
    assert values["meeting"].id == meeting.id and values["kind"] == "meeting_1h"
    assert (values["to_tutor"], values["minutes_left"], values["day_offset"]) == (True, 53, 0)
    evening = w.booking.reminder_values(meeting.id, w.alice.id, "meeting_24h", paris(20, 21))
    assert (evening["to_tutor"], evening["day_offset"], evening["minutes_left"]) == (False, 1, 13 * 60)
    assert w.booking.reminder_values(meeting.id, w.alice.id, "meeting_1h", WEDNESDAY_10) is None
    assert w.booking.reminder_values(meeting.id + 50, w.alice.id, "meeting_1h", at) is None
    assert w.booking.meeting_for_reminder(meeting.id).id == meeting.id
    assert w.booking.meeting_for_reminder(meeting.id + 50) is None
    w.booking.cancel(w.alice, meeting.id)
    assert w.booking.reminder_values(meeting.id, w.alice.id, "meeting_1h", at) is None


def test_only_meetings_outside_the_notice_are_changeable(world):
    w = world
    soon = w.booking.book(w.alice, paris(20, 14), 30)  # Tuesday 14h, 28 h ahead
    later = w.booking.book(w.alice, FRIDAY_10, 30)
    w.clock.now = paris(20, 14) - timedelta(hours=23)
    meetings = w.booking.meetings_of(w.alice)
    assert [m.id for m in meetings] == [soon.id, later.id]
    assert w.booking.changeable_ids(w.alice, meetings) == {later.id}
    assert w.booking.changeable_ids(w.bruno, meetings) == set()  # not his
    assert [m.id for m in w.booking.meetings_of(w.tutor)] == [soon.id, later.id]


def test_availability_lists_windows_by_day_and_time_and_days_off_from_today(world):
    w = world
    w.booking.add_windows(w.other_tutor, "lundi 14h-15h")
    view = w.booking.availability(w.other_tutor)
    assert [(x.window.weekday, x.window.start.hour) for x in view.windows] == [
        (0, 9), (0, 14), (1, 9), (2, 9), (3, 9), (4, 9)
    ]
    w.booking.add_day_off(w.other_tutor, "30/10/2026")
    w.booking.add_day_off(w.other_tutor, "19/10/2026")  # today
    added = w.booking.add_day_off(w.other_tutor, "23/10/2026")
    assert [d.day_off.first for d in added.view.days_off] == [date(2026, 10, 19), date(2026, 10, 23), date(2026, 10, 30)]
    w.clock.now = NOW + timedelta(days=1)
    assert [d.day_off.first for d in w.booking.availability(w.other_tutor).days_off] == [date(2026, 10, 23), date(2026, 10, 30)]
    assert w.booking.availability(w.tutor).days_off == ()  # another tutor's


def test_a_settings_row_starts_from_the_defaults(world):
    w = world
    view = w.booking.set_video_link(w.tutor, "https://meet.example.org/marc").view
    assert view.settings == BookingSettings() and view.video_mode is VideoMode.ROOM
    view = w.booking.set_setting(w.other_tutor, "buffer", 15)
    assert (view.settings.min_notice, view.settings.horizon, view.settings.buffer) == (
        timedelta(hours=24), timedelta(days=56), timedelta(minutes=15)
    )
    assert view.video_mode is VideoMode.GENERATE and view.video_link is None
    assert w.booking.availability(w.tutor).settings.buffer == timedelta(0)


class FakeAccompaniment:
    """Stands for the accompaniment service: records the first meetings marked held."""

    def __init__(self) -> None:
        self.held: list[tuple[int, int, datetime]] = []

    def on_first_meeting_held(self, session, enrolment, actor, now) -> bool:
        self.held.append((enrolment.auditeur_id, actor.id, now))
        return True


def test_only_a_first_meeting_marked_held_moves_the_accompaniment_on(world, db):
    w = world
    steps = FakeAccompaniment()
    booking = BookingService(db, HolidayCalendar(), clock=w.clock, accompaniment=steps)
    first = booking.book(w.alice, WEDNESDAY_10, 30)
    follow_up = booking.book(w.alice, THURSDAY_10, 30)
    other_first = booking.book(w.bruno, FRIDAY_10, 30)
    w.clock.now = FRIDAY_10 + timedelta(hours=1)
    booking.mark(w.tutor, other_first.id, MeetingStatus.MISSED)
    booking.mark(w.tutor, follow_up.id, MeetingStatus.HELD)
    assert steps.held == []
    booking.mark(w.tutor, first.id, MeetingStatus.HELD)
    assert steps.held == [(w.alice.id, w.tutor.id, w.clock.now)]
    assert first.video_link.startswith("https://meet.jit.si/coachbot-")  # the default room base


def test_the_valid_lines_are_saved_and_the_refused_ones_said_and_none_valid_saves_nothing(world):
    w = world
    before = w.booking.availability(w.other_tutor)
    with pytest.raises(AvailabilityError) as one:
        w.booking.add_windows(w.other_tutor, "dimanche 25h-26h")
    assert one.value.code != AvailabilityErrorCode.NOTHING_VALID
    with pytest.raises(AvailabilityError) as several:
        w.booking.add_windows(w.other_tutor, "dimanche 25h-26h\nbla")
    assert several.value.code == AvailabilityErrorCode.NOTHING_VALID
    assert [r.number for r in several.value.details["refused"]] == [1, 2]
    assert w.booking.availability(w.other_tutor).windows == before.windows
    mixed = w.booking.add_windows(w.other_tutor, "bla\nlundi 14h-15h")
    assert [r.text for r in mixed.refused] == ["bla"] and [(x.weekday, x.start.hour) for x in mixed.added] == [(0, 14)]
    assert len(mixed.view.windows) == len(before.windows) + 1
    with pytest.raises(AvailabilityError) as one_day:
        w.booking.add_day_off(w.other_tutor, "bla")
    assert one_day.value.code != AvailabilityErrorCode.NOTHING_VALID
    with pytest.raises(AvailabilityError) as no_day:
        w.booking.add_day_off(w.other_tutor, "bla\n31/02/2026")
    assert no_day.value.code == AvailabilityErrorCode.NOTHING_VALID and len(no_day.value.details["refused"]) == 2
    days = w.booking.add_day_off(w.other_tutor, "bla\n23/10/2026")
    assert [r.text for r in days.refused] == ["bla"] and [d.first for d in days.added] == [date(2026, 10, 23)]
    assert days.booked == () and days.day_off_ids == ()
    assert [d.day_off.first for d in w.booking.availability(w.other_tutor).days_off] == [date(2026, 10, 23)]


def test_a_day_off_closes_its_slots_to_bookings_for_that_tutor_only(world):
    w = world
    w.booking.add_day_off(w.tutor, "23/10/2026")
    with pytest.raises(BookingError) as refused:
        w.booking.book(w.alice, FRIDAY_10, 30)
    assert refused.value.code == "day_off"
    page = w.booking.slot_page(w.alice, None)
    assert starts(page) and not [s for s in starts(page) if s.astimezone(PARIS).day == 23]
    assert [s for s in starts(w.booking.slot_page(w.carla, None)) if s.astimezone(PARIS).day == 23]
    assert w.booking.book(w.carla, FRIDAY_10, 30).start_utc == FRIDAY_10  # her tutor works that day


def test_the_tutors_notice_shapes_the_slots_and_the_budget_counts_what_is_booked(world):
    w = world
    w.booking.set_setting(w.tutor, "notice", 72 * 60)
    page = w.booking.slot_page(w.alice, None)
    assert min(starts(page)) >= NOW + timedelta(hours=72)
    w.booking.set_setting(w.tutor, "notice", 12 * 60)
    w.booking.book(w.alice, WEDNESDAY_10, 30)
    page = w.booking.slot_page(w.alice, 60)
    assert page.budget.remaining == timedelta(minutes=90) and page.budget.allowed_minutes == (30, 60)
    assert not page.budget.needs_first_meeting and page.minutes == 60
    with pytest.raises(BookingError) as first_length:
        w.booking.slot_page(w.bruno, 60)  # a premier rendez-vous lasts 30 minutes
    assert first_length.value.code == "first_meeting_length"
    assert first_length.value.details["budget"].needs_first_meeting
    w.booking.book(w.alice, THURSDAY_10, 60)
    w.booking.book(w.alice, FRIDAY_10, 30)
    with pytest.raises(BookingError) as exhausted:
        w.booking.slot_page(w.alice, None)
    assert exhausted.value.details["budget"].remaining == timedelta(0)


def test_a_meeting_moves_onto_part_of_its_own_slot(world):
    w = world
    w.booking.book(w.alice, WEDNESDAY_10, 30)
    follow_up = w.booking.book(w.alice, THURSDAY_10, 60)
    moved, _ = w.booking.reschedule(w.alice, follow_up.id, THURSDAY_10 + timedelta(minutes=30))
    assert moved.start_utc == THURSDAY_10 + timedelta(minutes=30)
    assert w.booking.budget(w.alice).remaining == timedelta(minutes=30)  # still one 60-minute meeting


def test_another_tutors_meeting_at_the_same_time_does_not_block(world):
    w = world
    w.booking.book(w.carla, WEDNESDAY_10, 30)
    assert w.booking.book(w.alice, WEDNESDAY_10, 30).tutor.id == w.tutor.id
    assert w.booking.availability(w.tutor).tutor.id == w.tutor.id


def test_a_closed_enrolment_books_nothing(world, db):
    w = world
    from bot.storage.models import Enrolment

    with db.transaction() as session:
        session.scalar(sa.select(Enrolment).where(Enrolment.auditeur_id == w.alice.id)).status = "closed"
    for attempt in (lambda: w.booking.book(w.alice, WEDNESDAY_10, 30), lambda: w.booking.budget(w.alice),
                    lambda: w.booking.slot_page(w.alice, None), lambda: w.booking.meetings_of(w.alice)):
        with pytest.raises(BookingError) as refused:
            attempt()
        assert refused.value.code == BookingErrorCode.NO_ENROLMENT


def test_an_overlapping_window_is_refused_against_the_saved_ones(world):
    w = world
    with pytest.raises(AvailabilityError) as refused:
        w.booking.add_windows(w.tutor, "lundi 10h-11h")
    assert refused.value.code == AvailabilityErrorCode.OVERLAP
    added = w.booking.add_windows(w.other_tutor, "lundi 14h-15h\nlundi 12h-13h")
    assert [(x.window.weekday, x.window.start.hour) for x in added.view.windows][:3] == [(0, 9), (0, 12), (0, 14)]


def test_cancelling_a_meeting_drops_its_reminders_but_not_what_was_said_before(world):
    w = world
    meeting = w.booking.book(w.alice, WEDNESDAY_10, 30)
    w.booking.cancel(w.alice, meeting.id)
    states = {r.kind: r.state for r in rows(w.db, OutboxMessage, OutboxMessage.subject_id == meeting.id)}
    assert states["meeting.reminder"] == "cancelled"
    assert states["meeting.booked"] == states["meeting.booked.ics"] == states["meeting.cancelled"] == "pending"
    assert {r.created_at for r in rows(w.db, OutboxMessage)} == {NOW}  # dated by the services' clock


def test_custom_reminder_rules_are_used(world, db):
    from bot.domain.reminders import MEETING_REMINDERS

    w = world
    booking = BookingService(db, HolidayCalendar(), clock=w.clock, reminder_rules=MEETING_REMINDERS[1:])
    meeting = booking.book(w.alice, WEDNESDAY_10, 30)
    reminders = rows(db, OutboxMessage, OutboxMessage.kind == "meeting.reminder", OutboxMessage.subject_id == meeting.id)
    assert sorted(r.next_attempt_at for r in reminders) == [WEDNESDAY_10 - timedelta(hours=1)] * 2


def test_only_the_confirmed_days_off_cancel_their_meetings_with_the_follow_ups(world):
    w = world
    first = w.booking.book(w.alice, FRIDAY_10, 30)
    follow_up = w.booking.book(w.alice, paris(27, 10), 30)
    later = w.booking.book(w.bruno, paris(30, 10), 30)  # booked first, starts later: listed after
    early = w.booking.book(w.carla, paris(23, 9), 30)  # another tutor's
    w.clock.now = NOW + timedelta(hours=2)
    friday = w.booking.add_day_off(w.tutor, "23/10/2026")
    thirtieth = w.booking.add_day_off(w.tutor, "30/10/2026")
    assert [m.id for m in friday.booked] == [first.id] and [m.id for m in thirtieth.booked] == [later.id]
    assert early.id not in [m.id for m in friday.booked]
    unknown = w.booking.cancel_on_days_off(w.tutor, [9999])
    assert unknown.found is False and unknown.cancelled == () and unknown.follow_ups == ()
    done = w.booking.cancel_on_days_off(w.tutor, friday.day_off_ids)
    assert [m.id for m in done.cancelled] == [first.id] and [m.id for m in done.follow_ups] == [follow_up.id]
    assert meeting_row(w.db, later.id).status == "booked" and meeting_row(w.db, early.id).status == "booked"
    assert meeting_row(w.db, first.id).cancelled_at == NOW + timedelta(hours=2)
    assert meeting_row(w.db, follow_up.id).status == "cancelled"
    removed, view = w.booking.remove_day_off(w.tutor, friday.day_off_ids[0])
    assert removed and [d.id for d in view.days_off] == list(thirtieth.day_off_ids)  # the other one stays


def test_a_meeting_starting_now_is_not_offered_for_cancelling_on_a_day_off(world):
    w = world
    started = w.booking.book(w.alice, FRIDAY_10, 30)
    later = w.booking.book(w.bruno, paris(23, 15), 30)
    w.clock.now = FRIDAY_10
    added = w.booking.add_day_off(w.tutor, "23/10/2026")
    assert [m.id for m in added.booked] == [later.id]  # Alice's has started: the tutor marks it


def test_an_unknown_or_unoffered_setting_is_refused_with_its_name_and_value(world):
    w = world
    for name, value in (("bogus", 15), ("buffer", 7)):
        with pytest.raises(AvailabilityError) as refused:
            w.booking.set_setting(w.tutor, name, value)
        assert refused.value.code == AvailabilityErrorCode.BAD_SETTING
        assert (refused.value.details["setting"], refused.value.details["value"]) == (name, value)


def test_going_back_to_generated_rooms_moves_only_the_meetings_on_the_old_room(world):
    w = world
    generated = w.booking.book(w.alice, WEDNESDAY_10, 30)
    w.booking.set_video_link(w.tutor, "https://meet.example.org/marc")  # Alice's meeting moves to the room
    on_room = w.booking.book(w.bruno, THURSDAY_10, 30)
    w.booking.cancel(w.alice, generated.id)
    kept = w.booking.book(w.alice, paris(21, 11), 30)  # booked on the room too
    result = w.booking.set_video_link(w.tutor, "générer")
    assert sorted(m.id for m in result.updated) == sorted([kept.id, on_room.id])
    assert all(meeting_row(w.db, m.id).video_link.startswith("https://rooms.example/") for m in (kept, on_room))
    ics = rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.link_changed.ics")
    assert {m.document["builder_params"]["method"] for m in ics} == {"REQUEST"}
    assert {m.created_at for m in ics} == {NOW}


def test_lists_are_in_time_order_and_each_tutor_sees_only_their_own(world):
    w = world
    later = w.booking.book(w.bruno, FRIDAY_10, 30)
    sooner = w.booking.book(w.alice, WEDNESDAY_10, 30)
    w.booking.book(w.carla, THURSDAY_10, 30)
    assert [m.id for m in w.booking.meetings_of(w.tutor)] == [sooner.id, later.id]
    w.clock.now = FRIDAY_10 + timedelta(hours=1)
    w.booking.mark(w.tutor, later.id, MeetingStatus.HELD)
    w.booking.mark(COMMAND_LINE, sooner.id, MeetingStatus.MISSED)  # staff may mark too
    assert [m.id for m in w.booking.history_of(w.tutor)] == [later.id, sooner.id]
    assert w.booking.history_of(w.other_tutor) == [] and w.booking.meetings_of(w.other_tutor) != []


def test_every_change_bumps_the_sequence_and_sends_the_right_calendar_method(world):
    w = world
    first = w.booking.book(w.alice, WEDNESDAY_10, 30)
    follow_up = w.booking.book(w.alice, FRIDAY_10, 30)
    w.booking.reschedule(w.alice, follow_up.id, paris(23, 11))
    moved, _ = w.booking.reschedule(w.alice, follow_up.id, paris(23, 14))
    assert moved.sequence == 2
    w.booking.cancel(w.alice, first.id)
    assert meeting_row(w.db, follow_up.id).sequence == 3
    methods = {(m.kind, m.document["builder_params"]["method"]) for m in rows(w.db, OutboxMessage) if m.document}
    assert methods == {("meeting.booked.ics", "REQUEST"), ("meeting.moved.ics", "REQUEST"),
                       ("meeting.cancelled.ics", "CANCEL"), ("meeting.cancelled.follow_up.ics", "CANCEL")}
    assert {m.created_at for m in rows(w.db, OutboxMessage)} == {NOW}


def test_cancelling_a_first_meeting_leaves_other_auditeurs_and_cancelled_follow_ups_alone(world):
    w = world
    first = w.booking.book(w.alice, WEDNESDAY_10, 30)
    gone = w.booking.book(w.alice, THURSDAY_10, 30)
    w.booking.cancel(w.alice, gone.id)
    w.booking.book(w.bruno, paris(21, 11), 30)
    bruno_follow_up = w.booking.book(w.bruno, FRIDAY_10, 30)
    w.booking.cancel(w.alice, first.id)
    assert meeting_row(w.db, bruno_follow_up.id).status == "booked"
    assert meeting_row(w.db, gone.id).sequence == 1  # cancelled once, not again
    assert rows(w.db, OutboxMessage, OutboxMessage.kind == "meeting.cancelled.follow_up") == []


def test_a_follow_up_may_start_as_the_first_meeting_ends_and_a_first_meeting_end_as_it_starts(world):
    w = world
    first = w.booking.book(w.alice, THURSDAY_10, 30)
    follow_up = w.booking.book(w.alice, THURSDAY_10 + timedelta(minutes=30), 30)
    assert follow_up.purpose is Purpose.FOLLOW_UP
    assert THURSDAY_10 + timedelta(minutes=30) in starts(w.booking.slot_page(w.alice, None, meeting_id=follow_up.id))
    page = w.booking.slot_page(w.alice, None, meeting_id=first.id)
    assert THURSDAY_10 in starts(page) and all(s + timedelta(minutes=30) <= follow_up.start_utc for s in starts(page))
    w.booking.reschedule(w.alice, follow_up.id, FRIDAY_10)
    moved, _ = w.booking.reschedule(w.alice, first.id, FRIDAY_10 - timedelta(minutes=30))
    assert moved.end_utc == FRIDAY_10


def test_a_held_first_meeting_still_orders_the_follow_ups(world):
    w = world
    first = w.booking.book(w.alice, paris(20, 14), 30)
    w.clock.now = paris(20, 15)
    w.booking.mark(w.tutor, first.id, MeetingStatus.HELD)
    w.clock.now = NOW
    page = w.booking.slot_page(w.alice, 60)
    assert starts(page) and min(starts(page)) >= paris(20, 14, 30)


def test_a_stale_confirmation_is_not_taken_for_someone_elses_booking(world):
    w = world
    w.booking.book(w.alice, WEDNESDAY_10, 30)
    with pytest.raises(BookingError) as refused:
        w.booking.confirm(w.bruno, None, 30, WEDNESDAY_10)
    assert refused.value.code == "confirmation_stale"


def test_a_cancelled_slot_can_be_booked_again_by_the_same_auditeur(world):
    w = world
    meeting = w.booking.book(w.alice, WEDNESDAY_10, 30)
    w.booking.cancel(w.alice, meeting.id)
    again = w.booking.book(w.alice, WEDNESDAY_10, 30)
    assert again.id != meeting.id and again.status is MeetingStatus.BOOKED


def test_changeable_meetings_follow_each_tutors_notice(world):
    w = world
    cancelled = w.booking.book(w.alice, WEDNESDAY_10, 30)
    w.booking.cancel(w.alice, cancelled.id)
    kept = w.booking.book(w.alice, FRIDAY_10, 30)
    assert w.booking.changeable_ids(w.alice, w.booking.meetings_of(w.alice)) == {kept.id}
    w.booking.set_setting(w.tutor, "notice", 72 * 60)
    w.clock.now = FRIDAY_10 - timedelta(hours=48)
    assert w.booking.changeable_ids(w.alice, w.booking.meetings_of(w.alice)) == set()
