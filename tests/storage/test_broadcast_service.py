"""The broadcast service on SQLite and PostgreSQL: who each audience reaches and leaves out, what a
draft stores, documents, scheduling at its boundaries, cancel/pause/resume, progress and its
estimated end, the final report's figures, and the year's announcements."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from bot.domain.broadcasts import Audience, AudienceKind, BroadcastError, State
from bot.domain.people import PersonView, Role
from bot.domain.permissions import COMMAND_LINE, PermissionDenied
from bot.domain.semesters import Semester
from bot.services import outbox
from bot.services.broadcasts import BroadcastService, DocumentCache, group_of
from bot.storage.models import Broadcast, Enrolment, OutboxMessage, Person
from bot.telegram.rendering import Renderer
from tests.clock import Clock

NOW = datetime(2026, 9, 15, 8, 0, tzinfo=UTC)


@pytest.fixture
def world(db):
    """Staff, two tutors (and one gone), auditeurs of two cohorts and three certifications: one who
    blocked the bot, one not on Telegram yet, one whose enrolment is closed, one gone, one never enrolled."""
    with db.transaction() as session:
        staff = Person(role="staff", display_name="Claire", telegram_user_id=1001)
        tutors = [Person(role="tutor", display_name=f"Tuteur {i}", telegram_user_id=2000 + i) for i in range(2)]
        gone_tutor = Person(role="tutor", display_name="Tuteur parti", telegram_user_id=2009, active=False)
        session.add_all([staff, *tutors, gone_tutor])
        session.flush()
        people = {"staff": staff.id, "t0": tutors[0].id, "t1": tutors[1].id, "gone_tutor": gone_tutor.id}
        for name, semester, certification, status in [
            ("a0", "2026-S1", "Licence Gestion", "active"), ("blocked", "2026-S1", "Licence Gestion", "active"),
            ("a2", "2026-S1", "Titre RH", "active"), ("a3", "2026-S2", "Titre RH", "active"),
            ("unbound", "2026-S2", "licence pro", "active"), ("closed", "2025-S2", "Ancien titre", "closed"),
            ("gone", "2026-S1", "Licence Gestion", "active"), ("never", None, None, None),
        ]:
            person = Person(role="auditeur", display_name=f"Auditeur {name}", telegram_user_id=3000 + len(people))
            session.add(person)
            session.flush()
            people[name] = person.id
            if semester is not None:
                session.add(Enrolment(auditeur_id=person.id, tutor_id=tutors[0].id, certification=certification,
                                      report_type="ua", semester=semester, status=status))
        session.get(Person, people["blocked"]).blocked_bot_at = NOW
        session.get(Person, people["unbound"]).telegram_user_id = None
        session.get(Person, people["gone"]).active = False
    return people


@pytest.fixture
def staff(world):
    return PersonView(world["staff"], Role.STAFF, "Claire", 1001)


@pytest.fixture
def service(db):
    clock = Clock(NOW)
    service = BroadcastService(db, clock=clock, render=Renderer().render, per_second=2.0)
    service.test_clock = clock
    return service


def _rows(db, broadcast_id):
    with db.read() as session:
        return {r.recipient_id: r.state for r in session.scalars(select(OutboxMessage).where(
            OutboxMessage.group_key == group_of(broadcast_id)))}


def _set_states(db, broadcast_id, states):
    with db.transaction() as session:
        for person_id, state in states.items():
            session.execute(sa.update(OutboxMessage).where(
                OutboxMessage.group_key == group_of(broadcast_id), OutboxMessage.recipient_id == person_id
            ).values(state=state))


def _count(service, staff, code):
    count = service.count(staff, Audience.parse(code))
    return count.reachable, count.blocked


def test_each_audience_reaches_its_people_and_no_one_else(db, service, world, staff):
    w = world
    assert _count(service, staff, "auditeurs") == (3, 2)
    assert _count(service, staff, "semestre:2026-S1") == (2, 1)
    assert _count(service, staff, "semestre:2026-S2") == (1, 1)
    assert _count(service, staff, "semestre:2025-S2") == (0, 0)  # closed enrolments are not a cohort any more
    assert _count(service, staff, "certification:LICENCE GESTION") == (1, 1)
    assert _count(service, staff, "certification:Licence Pro") == (0, 1)
    assert _count(service, staff, "tuteurs") == (2, 0)
    assert _count(service, staff, "tous") == (8, 2)
    expected = {
        "tous": {"staff": "pending", "t0": "pending", "t1": "pending", "a0": "pending", "blocked": "blocked",
                 "a2": "pending", "a3": "pending", "unbound": "blocked", "closed": "pending", "never": "pending"},
        "auditeurs": {"a0": "pending", "blocked": "blocked", "a2": "pending", "a3": "pending", "unbound": "blocked"},
        "tuteurs": {"t0": "pending", "t1": "pending"},
        "semestre:2026-S2": {"a3": "pending", "unbound": "blocked"},
        "certification:titre rh": {"a2": "pending", "a3": "pending"},
    }
    for code, wanted in expected.items():
        preview = service.compose(staff, message_html="Bonjour", audience=code)
        sent = service.send_now(staff, preview.broadcast.id)
        assert _rows(db, preview.broadcast.id) == {w[name]: state for name, state in wanted.items()}, code
        blocked = sum(1 for s in wanted.values() if s == "blocked")
        assert (sent.count.reachable, sent.count.blocked, sent.broadcast.recipients) == (
            len(wanted) - blocked, blocked, len(wanted)), code
        assert (sent.broadcast.state, sent.broadcast.started_at) == (State.SENDING, NOW)
    with db.read() as session:
        errors = dict(session.execute(select(OutboxMessage.recipient_id, OutboxMessage.last_error).where(
            OutboxMessage.state == "blocked")).all())
    assert errors == {w["blocked"]: "has blocked the bot", w["unbound"]: "not on Telegram"}


def test_the_step_audience_is_the_step_among_active_auditeurs(db, world, staff):
    w = world
    seen = []

    def at_step(session, value):
        seen.append(value)
        return select(Person.id).where(Person.id.in_([w["a0"], w["unbound"], w["closed"], w["t0"]]))

    service = BroadcastService(db, clock=Clock(NOW), stage_filter=at_step,
                               stage_choices=lambda session: [("planned", 2), ("submitted", 0)])
    assert _count(service, staff, "etape:planned") == (1, 1)
    assert seen == ["planned"]
    assert service.audience_choices(staff).stages == [("planned", 2), ("submitted", 0)]


def test_the_audience_choices_are_those_of_active_enrolments_and_steps_need_wiring(service, world, staff):
    choices = service.audience_choices(staff)
    assert choices.semesters == ["2026-S2", "2026-S1"]
    assert choices.certifications == ["Licence Gestion", "licence pro", "Titre RH"]
    assert choices.stages is None
    with pytest.raises(BroadcastError) as info:  # the steps are not wired in this service
        service.count(staff, Audience.parse("etape:planned"))
    assert (info.value.code, info.value.details) == ("audience_unavailable", {"kind": "etape"})


def test_a_draft_keeps_the_message_and_who_wrote_it(db, service, world, staff):
    preview = service.compose(staff, message_html="  <b>Réunion</b> jeudi  ", audience="semestre:2026-S1")
    view = preview.broadcast
    assert (view.kind, view.state, view.message_html, view.audience, view.author_id, view.paid) == (
        "message", State.DRAFT, "<b>Réunion</b> jeudi", Audience(AudienceKind.SEMESTER, "2026-S1"), world["staff"], False)
    assert (view.document_name, view.has_document, view.document_file_id, view.scheduled_at, view.recipients) == (
        None, False, None, None, None)
    assert (view.created_at, view.started_at, view.finished_at) == (NOW, None, None)
    assert (preview.count.reachable, preview.count.blocked) == (2, 1)
    assert service.get(staff, view.id) == view
    assert _rows(db, view.id) == {}
    by_command_line = service.compose(COMMAND_LINE, message_html="x", audience=Audience(AudienceKind.TUTORS), kind="test")
    assert (by_command_line.broadcast.author_id, by_command_line.broadcast.kind) == (None, "test")
    with pytest.raises(BroadcastError) as info:
        service.get(staff, 9999)
    assert (info.value.code, info.value.details) == ("broadcast_unknown", {"id": 9999})


def test_an_audience_with_nobody_reachable_is_refused(db, service, world, staff):
    with pytest.raises(BroadcastError) as info:
        service.compose(staff, message_html="x", audience="certification:licence pro")  # only the unbound one
    assert (info.value.code, info.value.details) == ("audience_empty", {"audience": "certification:licence pro", "blocked": 1})
    preview = service.compose(staff, message_html="x", audience="semestre:2026-S2")
    with db.transaction() as session:  # the only reachable one blocks the bot before it is sent
        session.get(Person, world["a3"]).blocked_bot_at = NOW
    again = service.preview(staff, preview.broadcast.id)
    assert (again.count.reachable, again.count.blocked) == (0, 2)
    assert again.broadcast == preview.broadcast
    with pytest.raises(BroadcastError) as info:
        service.send_now(staff, preview.broadcast.id)
    assert (info.value.code, info.value.details) == ("audience_empty", {"audience": "semestre:2026-S2", "blocked": 2})
    assert service.get(staff, preview.broadcast.id).state is State.DRAFT and _rows(db, preview.broadcast.id) == {}
    with db.read() as session:
        assert session.scalar(select(sa.func.count()).select_from(Broadcast)) == 1


def test_only_staff_may_do_anything_with_broadcasts(db, service, world, staff):
    preview = service.compose(staff, message_html="x", audience="tous")
    bid = preview.broadcast.id
    for actor in (PersonView(world["t0"], Role.TUTOR, "Tuteur 0", 2000), PersonView(world["a0"], Role.AUDITEUR, "A", 3004)):
        calls = {
            "count broadcast recipients": lambda: service.count(actor, Audience(AudienceKind.EVERYONE)),
            "choose a broadcast audience": lambda: service.audience_choices(actor),
            "compose a broadcast": lambda: service.compose(actor, message_html="x", audience="tous"),
            "preview a broadcast": lambda: service.preview(actor, bid),
            "see a broadcast": lambda: service.get(actor, bid),
            "edit a broadcast": lambda: service.edit_message(actor, bid, "y"),
            "send a broadcast": lambda: service.send_now(actor, bid),
            "schedule a broadcast": lambda: service.schedule(actor, bid, NOW + timedelta(days=1)),
            "see scheduled broadcasts": lambda: service.scheduled(actor),
            "pause a broadcast": lambda: service.pause(actor, bid),
            "resume a broadcast": lambda: service.resume(actor, bid),
            "cancel a broadcast": lambda: service.cancel(actor, bid),
            "follow a broadcast": lambda: service.progress(actor, bid),
            "see a broadcast report": lambda: service.report(actor, bid),
            "set the academic calendar": lambda: service.set_period(actor, Semester(2026, 1), date(2026, 10, 1),
                                                                    date(2026, 10, 31)),
            "schedule the enrolment announcements": lambda: service.schedule_announcements(actor, 2026),
        }
        for action, call in calls.items():
            with pytest.raises(PermissionDenied) as info:
                call()
            assert (info.value.action, info.value.actor) == (action, actor)  # what the log says was refused
    view = service.get(staff, bid)
    assert (view.state, view.message_html) == (State.DRAFT, "x") and _rows(db, bid) == {}
    assert service.periods(2026) == {1: None, 2: None}


def test_editing_is_for_drafts_and_scheduled_ones(db, service, world, staff):
    preview = service.compose(staff, message_html="Première", audience="tuteurs")
    edited = service.edit_message(staff, preview.broadcast.id, " <i>Deuxième</i> ")
    assert edited.broadcast.message_html == "<i>Deuxième</i>" and edited.count.reachable == 2
    with pytest.raises(BroadcastError) as info:
        service.edit_message(staff, preview.broadcast.id, "")
    assert info.value.code == "message_empty"
    service.schedule(staff, preview.broadcast.id, NOW + timedelta(hours=1))
    assert service.edit_message(staff, preview.broadcast.id, "Troisième").broadcast.message_html == "Troisième"
    service.test_clock.now = NOW + timedelta(hours=1)
    service.release_due()
    with pytest.raises(BroadcastError) as info:
        service.edit_message(staff, preview.broadcast.id, "Quatrième")
    assert (info.value.code, info.value.details) == ("not_editable", {"state": "sending"})
    with db.read() as session:
        assert set(session.scalars(select(OutboxMessage.text))) == {"Troisième"}
    document = service.compose(staff, message_html="Légende", audience="tuteurs", document_name="a.pdf",
                               document_file_id="F1")
    assert service.edit_message(staff, document.broadcast.id, "").broadcast.message_html == ""  # a document needs no caption


def test_a_document_goes_by_file_id_or_is_built_from_its_content(db, service, world, staff):
    by_id = service.compose(staff, message_html="Le <b>guide</b>", audience="tuteurs", document_name="guide.pdf",
                            document_file_id="TG-FILE-1")
    assert (by_id.broadcast.document_name, by_id.broadcast.has_document, by_id.broadcast.document_file_id) == (
        "guide.pdf", True, "TG-FILE-1")
    service.send_now(staff, by_id.broadcast.id)
    uploaded = service.compose(staff, message_html="", audience="tuteurs", document_name="planning.pdf",
                               document_content=b"%PDF-planning")
    service.send_now(staff, uploaded.broadcast.id)
    with db.read() as session:
        rows = {(r.group_key, r.recipient_id): r for r in session.scalars(select(OutboxMessage))}
    first = rows[(group_of(by_id.broadcast.id), world["t0"])]
    assert first.text is None and first.document["filename"] == "guide.pdf"
    assert (first.document["file_id"], first.document["caption_text"], first.document["builder"]) == (
        "TG-FILE-1", "Le <b>guide</b>", None)
    assert first.options == {} and first.priority == outbox.Priority.BROADCAST and first.on_uncertain == "resend"
    assert (first.kind, first.created_at, first.chat_id, first.state) == ("broadcast", NOW, 2000, "pending")
    second = rows[(group_of(uploaded.broadcast.id), world["t1"])]
    assert second.text is None and second.document["filename"] == "planning.pdf"
    assert (second.document["file_id"], second.document["caption_text"], second.document["builder"]) == (
        None, None, "broadcast_document")
    assert second.document["builder_params"] == {"broadcast_id": uploaded.broadcast.id}
    assert service.document_content(uploaded.broadcast.id) == b"%PDF-planning"
    captioned = service.compose(staff, message_html="Le <i>planning</i>", audience="tuteurs", document_name="p.pdf",
                                document_content=b"%PDF")
    service.send_now(staff, captioned.broadcast.id)
    with db.read() as session:
        row = session.scalar(select(OutboxMessage).where(OutboxMessage.group_key == group_of(captioned.broadcast.id)))
    assert (row.text, row.document["caption_text"], row.document["builder"]) == (None, "Le <i>planning</i>",
                                                                                  "broadcast_document")
    assert service.document_content(by_id.broadcast.id) is None


def test_the_document_cache_reads_each_broadcast_once_and_keeps_the_latest(db, service, world, staff):
    ids = [service.compose(staff, message_html="", audience="tuteurs", document_name=f"{i}.pdf",
                           document_content=f"v1-{i}".encode()).broadcast.id for i in range(3)]
    cache = DocumentCache(service, size=2)
    assert cache({"broadcast_id": ids[0]}, NOW) == b"v1-0"
    with db.transaction() as session:
        session.execute(sa.update(Broadcast).values(document_content=b"V2"))
    assert cache({"broadcast_id": str(ids[0])}, NOW) == b"v1-0"  # kept: every recipient gets the same bytes
    assert cache({"broadcast_id": ids[1]}, NOW) == b"V2"
    assert cache({"broadcast_id": ids[0]}, NOW) == b"v1-0"  # still there (two kept)
    assert cache({"broadcast_id": ids[2]}, NOW) == b"V2"  # the oldest (the first) goes
    assert cache({"broadcast_id": ids[0]}, NOW) == b"V2"
    assert cache({"broadcast_id": 9999}, NOW) == b""
    four = DocumentCache(service)  # four kept by default
    more = ids + [service.compose(staff, message_html="", audience="tuteurs", document_name="3.pdf",
                                  document_content=b"v1-3").broadcast.id]
    assert [four({"broadcast_id": i}, NOW) for i in more] == [b"V2", b"V2", b"V2", b"v1-3"]
    with db.transaction() as session:
        session.execute(sa.update(Broadcast).values(document_content=b"V3"))
    assert [four({"broadcast_id": i}, NOW) for i in more] == [b"V2", b"V2", b"V2", b"v1-3"]  # all four kept
    assert four({"broadcast_id": 9999}, NOW) == b""  # a fifth: the oldest goes
    assert four({"broadcast_id": more[0]}, NOW) == b"V3"


def test_a_paid_broadcast_says_so_in_each_row(db, world, staff):
    service = BroadcastService(db, clock=Clock(NOW), paid_broadcast=True)
    preview = service.compose(staff, message_html="x", audience="tuteurs")
    assert preview.broadcast.paid is True
    service.send_now(staff, preview.broadcast.id)
    with db.read() as session:
        assert [r.options for r in session.scalars(select(OutboxMessage))] == [{"paid_broadcast": True}] * 2


def test_scheduling_times_and_states(db, service, world, staff):
    first = service.compose(staff, message_html="Un", audience="tuteurs").broadcast.id
    second = service.compose(staff, message_html="Deux", audience="tuteurs").broadcast.id
    third = service.compose(staff, message_html="Trois", audience="tuteurs").broadcast.id
    with pytest.raises(BroadcastError) as info:
        service.schedule(staff, first, NOW)  # now is not the future
    assert info.value.code == "in_past"
    with pytest.raises(BroadcastError) as info:
        service.schedule(staff, first, NOW + timedelta(days=401))
    assert info.value.code == "too_far"
    late = service.schedule(staff, first, NOW + timedelta(days=2))
    assert (late.state, late.scheduled_at, late.recipients) == (State.SCHEDULED, NOW + timedelta(days=2), None)
    service.schedule(staff, second, NOW + timedelta(days=1))
    service.schedule(staff, third, NOW + timedelta(days=1))
    assert [b.id for b in service.scheduled(staff)] == [second, third, first]
    assert service.schedule(staff, first, NOW + timedelta(hours=3)).scheduled_at == NOW + timedelta(hours=3)  # moved
    assert [b.id for b in service.scheduled(staff)] == [first, second, third]
    assert not service.anything_to_do()
    assert not service.anything_to_do(NOW + timedelta(hours=3) - timedelta(microseconds=1))
    assert service.anything_to_do(NOW + timedelta(hours=3))
    assert service.release_due(NOW + timedelta(hours=3) - timedelta(microseconds=1)) == []
    service.test_clock.now = NOW + timedelta(hours=3)
    (started,) = service.release_due()
    assert (started.id, started.state, started.recipients, started.started_at) == (
        first, State.SENDING, 2, NOW + timedelta(hours=3))
    assert _rows(db, first) == {world["t0"]: "pending", world["t1"]: "pending"}
    with pytest.raises(BroadcastError) as info:
        service.schedule(staff, first, NOW + timedelta(days=3))
    assert (info.value.code, info.value.details) == (
        "already_confirmed", {"state": "sending", "when": NOW + timedelta(hours=3)})
    with pytest.raises(BroadcastError) as info:
        service.send_now(staff, second)  # scheduled: confirmed already
    assert (info.value.code, info.value.details) == ("already_confirmed", {"state": "scheduled", "when": NOW + timedelta(days=1)})
    assert [b.id for b in service.scheduled(staff)] == [second, third]


def test_what_is_under_way_keeps_the_sender_busy(db, service, world, staff):
    assert not service.anything_to_do()
    draft = service.compose(staff, message_html="x", audience="tuteurs").broadcast.id
    assert not service.anything_to_do()
    service.send_now(staff, draft)
    assert service.anything_to_do()
    service.pause(staff, draft)
    assert service.anything_to_do()
    service.cancel(staff, draft)
    assert not service.anything_to_do()


def test_a_scheduled_broadcast_whose_audience_left_is_done_at_once(db, service, world, staff):
    preview = service.compose(staff, message_html="x", audience="tuteurs")
    service.schedule(staff, preview.broadcast.id, NOW + timedelta(days=1))
    with db.transaction() as session:
        session.execute(sa.update(Person).where(Person.role == "tutor").values(active=False))
    service.test_clock.now = NOW + timedelta(days=1)
    (started,) = service.release_due()
    assert (started.state, started.recipients, started.finished_at) == (State.DONE, 0, NOW + timedelta(days=1))
    assert service.get(staff, preview.broadcast.id).state is State.DONE
    assert not service.anything_to_do()


def test_cancel_pause_and_resume_are_refused_where_they_make_no_sense(db, service, world, staff):
    draft = service.compose(staff, message_html="x", audience="tuteurs").broadcast.id
    for action, code in ((service.pause, "cannot_pause"), (service.resume, "cannot_resume")):
        with pytest.raises(BroadcastError) as info:
            action(staff, draft)
        assert (info.value.code, info.value.details) == (code, {"state": "draft"})
    service.test_clock.now = NOW + timedelta(minutes=5)
    cancelled = service.cancel(staff, draft)
    assert (cancelled.state, cancelled.finished_at) == (State.CANCELLED, NOW + timedelta(minutes=5))
    with pytest.raises(BroadcastError) as info:
        service.cancel(staff, draft)
    assert (info.value.code, info.value.details) == ("cannot_cancel", {"state": "cancelled"})
    with pytest.raises(BroadcastError):
        service.send_now(staff, draft)
    scheduled = service.compose(staff, message_html="y", audience="tuteurs").broadcast.id
    service.schedule(staff, scheduled, NOW + timedelta(hours=1))
    assert service.cancel(staff, scheduled).state is State.CANCELLED
    service.test_clock.now = NOW + timedelta(hours=2)
    assert service.release_due() == [] and _rows(db, scheduled) == {}
    sending = service.compose(staff, message_html="z", audience="tuteurs").broadcast.id
    service.send_now(staff, sending)
    with pytest.raises(BroadcastError) as info:
        service.resume(staff, sending)
    assert info.value.code == "cannot_resume"
    paused = service.pause(staff, sending)
    assert (paused.state, paused.finished_at) == (State.PAUSED, None)
    assert set(_rows(db, sending).values()) == {"paused"}
    assert service.resume(staff, sending).state is State.SENDING
    assert set(_rows(db, sending).values()) == {"pending"}
    service.pause(staff, sending)
    assert service.cancel(staff, sending).state is State.CANCELLED
    assert set(_rows(db, sending).values()) == {"cancelled"}


def test_progress_and_its_estimated_end(db, service, world, staff):
    bid = service.compose(staff, message_html="x", audience="tous").broadcast.id
    service.send_now(staff, bid)
    _set_states(db, bid, {world["staff"]: "sent", world["t0"]: "dead", world["t1"]: "unknown", world["a0"]: "retrying",
                          world["a2"]: "expired"})
    progress = service.progress(staff, bid)
    assert (progress.sent, progress.failed, progress.blocked, progress.remaining, progress.cancelled, progress.total) == (
        1, 2, 2, 4, 1, 10)
    assert progress.estimated_end == NOW + timedelta(seconds=2)  # 4 left at 2 a second
    assert not progress.finished and progress.broadcast.state is State.SENDING
    assert service.current_progress(bid) == progress
    service.pause(staff, bid)
    paused = service.progress(staff, bid)
    assert paused.estimated_end is None and paused.remaining == 4 and not paused.finished  # paused rows are still to send
    service.cancel(staff, bid)
    done = service.progress(staff, bid)
    assert done.finished and done.remaining == 0 and done.estimated_end is None


def test_a_progress_message_just_attached_is_not_refreshed_at_once(db, service, world, staff):
    bid = service.compose(staff, message_html="x", audience="tuteurs").broadcast.id
    service.send_now(staff, bid)
    service.attach_progress_message(bid, 1001, 78)
    every = timedelta(minutes=5)
    assert service.progress_due(every=every) == []  # shown just now (wall clock)
    later = datetime.now(UTC) + every
    assert [p.broadcast.id for p in service.progress_due(every=every, wall=later)] == [bid]


def test_the_progress_message_is_refreshed_at_most_every_so_often(db, service, world, staff):
    bid = service.compose(staff, message_html="x", audience="tuteurs").broadcast.id
    service.send_now(staff, bid)
    quiet = service.compose(staff, message_html="y", audience="tuteurs").broadcast.id
    service.send_now(staff, quiet)  # nobody follows this one
    every = timedelta(seconds=10)
    wall = datetime(2026, 9, 15, 8, 0, 30, tzinfo=UTC)
    assert service.progress_due(every=every, wall=wall) == []
    service.attach_progress_message(bid, 1001, 77)
    view = service.get(staff, bid)
    assert (view.progress_chat_id, view.progress_message_id) == (1001, 77)
    followed = service.compose(staff, message_html="z", audience="semestre:2026-S1").broadcast.id
    service.send_now(staff, followed)
    service.attach_progress_message(followed, 1001, 79)
    with db.transaction() as session:  # as if they had been shown long ago
        session.execute(sa.update(Broadcast).where(Broadcast.id.in_([bid, followed])).values(progress_shown_at=None))
    shown = service.progress_due(every=every, wall=wall)
    assert [(p.broadcast.id, p.remaining) for p in shown] == [(bid, 2), (followed, 2)]  # each refreshed once
    assert shown[0].estimated_end == NOW + timedelta(seconds=1)
    assert service.progress_due(every=every, wall=wall + every - timedelta(microseconds=1)) == []
    assert [p.broadcast.id for p in service.progress_due(every=every, wall=wall + every)] == [bid, followed]
    service.cancel(staff, followed)
    service.cancel(staff, bid)
    assert service.progress_due(every=every, wall=wall + 5 * every) == []


def test_a_finished_broadcast_reports_its_figures_to_its_author(db, service, world, staff):
    w = world
    other = service.compose(staff, message_html="autre", audience="semestre:2026-S1").broadcast.id
    service.send_now(staff, other)  # still under way, with someone blocked: not part of this report
    bid = service.compose(staff, message_html="x", audience="tous").broadcast.id
    service.send_now(staff, bid)
    _set_states(db, bid, {w["staff"]: "sent", w["t0"]: "sent", w["t1"]: "dead", w["a0"]: "unknown", w["a2"]: "skipped"})
    assert service.finish_delivered() == []  # three still pending
    assert service.get(staff, bid).state is State.SENDING
    _set_states(db, bid, {w["a3"]: "sent", w["closed"]: "sent", w["never"]: "sending"})
    assert service.finish_delivered() == []  # one in flight
    _set_states(db, bid, {w["never"]: "sent"})
    service.test_clock.now = NOW + timedelta(minutes=3)
    (report,) = service.finish_delivered()
    p = report.progress
    assert (p.sent, p.failed, p.blocked, p.remaining, p.cancelled, p.total) == (5, 2, 2, 0, 1, 10)
    assert p.broadcast.state is State.DONE and p.broadcast.finished_at == NOW + timedelta(minutes=3) and p.finished
    assert [(u.person_id, u.name, u.reason) for u in report.undeliverable] == [
        (w["blocked"], "Auditeur blocked", "blocked"), (w["unbound"], "Auditeur unbound", "blocked"),
        (w["t1"], "Tuteur 1", "failed")]  # by name; "unknown" may have arrived: not listed
    assert report.more_undeliverable == 0
    assert service.finish_delivered() == []
    assert service.get(staff, other).state is State.SENDING
    with db.read() as session:
        (row,) = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "broadcast.report")).all()
    assert (row.recipient_id, row.template, row.dedupe_key, row.created_at) == (
        w["staff"], "broadcasts/report.html", f"broadcast:{bid}:report", NOW + timedelta(minutes=3))
    assert row.params == {"report": {
        "id": bid, "audience": "tous", "sent": 5, "failed": 2, "blocked": 2, "cancelled": 1, "total": 10,
        "undeliverable": [{"name": "Auditeur blocked", "reason": "blocked"}, {"name": "Auditeur unbound", "reason": "blocked"},
                          {"name": "Tuteur 1", "reason": "failed"}],
        "more": 0}}
    assert service.report(staff, bid) == report


def test_a_broadcast_from_the_command_line_finishes_without_report(db, service, world):
    bid = service.compose(COMMAND_LINE, message_html="x", audience="tuteurs").broadcast.id
    service.send_now(COMMAND_LINE, bid)
    _set_states(db, bid, {world["t0"]: "sent", world["t1"]: "sent"})
    (report,) = service.finish_delivered()
    assert report.progress.broadcast.state is State.DONE and report.undeliverable == []
    with db.read() as session:
        assert session.scalar(select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "broadcast.report")) == 0


def test_the_report_lists_fifty_undeliverable_and_counts_the_rest(db, service, world, staff):
    with db.transaction() as session:
        session.add_all([Person(role="tutor", display_name=f"Bloqué {i:02d}", telegram_user_id=5000 + i, blocked_bot_at=NOW)
                         for i in range(52)])
    bid = service.compose(staff, message_html="x", audience="tuteurs").broadcast.id
    service.send_now(staff, bid)
    report = service.report(staff, bid)
    assert [u.name for u in report.undeliverable] == [f"Bloqué {i:02d}" for i in range(50)]
    assert report.more_undeliverable == 2
    assert (report.progress.blocked, report.progress.remaining) == (52, 2)


def test_the_academic_year_turns_on_the_first_of_september_in_paris(db, world):
    clock = Clock(datetime(2026, 8, 31, 21, 59, tzinfo=UTC))  # 23:59 in Paris
    service = BroadcastService(db, clock=clock)
    assert service.current_academic_year() == 2025
    clock.now = datetime(2026, 8, 31, 22, 0, tzinfo=UTC)  # midnight in Paris
    assert service.current_academic_year() == 2026
    clock.now = datetime(2027, 1, 5, tzinfo=UTC)
    assert service.current_academic_year() == 2026


def test_the_announcements_skip_a_past_opening_and_reschedule_a_cancelled_one(db, service, world, staff):
    period = service.set_period(staff, Semester(2026, 1), date(2026, 9, 10), date(2026, 10, 31))
    assert (period.semester, period.opens_on, period.closes_on) == (Semester(2026, 1), date(2026, 9, 10), date(2026, 10, 31))
    service.set_period(staff, Semester(2026, 2), date(2027, 2, 1), date(2027, 3, 15))
    plan = service.schedule_announcements(COMMAND_LINE, 2026, audience="tous")
    assert plan.skipped == [{"semester": "2026-S1", "reason": "past", "when": datetime(2026, 9, 10, 7, 0, tzinfo=UTC)}]
    (s2,) = plan.scheduled
    assert (s2.kind, s2.state, s2.audience.code, s2.author_id, s2.scheduled_at, s2.created_at) == (
        "announcement.2026-S2", State.SCHEDULED, "tous", None, datetime(2027, 2, 1, 8, 0, tzinfo=UTC), NOW)
    assert s2.message_html.startswith("<b>📣 Inscriptions au 2e semestre 2026-2027</b>")
    assert "ouvertes du <b>lundi 1er février 2027</b> au <b>lundi 15 mars 2027</b>" in s2.message_html
    service.cancel(staff, s2.id)
    again = service.schedule_announcements(staff, 2026)
    (s2_again,) = again.scheduled
    assert (s2_again.kind, s2_again.audience.code, s2_again.author_id) == ("announcement.2026-S2", "auditeurs", world["staff"])
    third = service.schedule_announcements(staff, 2026)
    assert third.scheduled == [] and third.skipped[1] == {
        "semester": "2026-S2", "reason": "already_scheduled", "when": datetime(2027, 2, 1, 8, 0, tzinfo=UTC)}
    with pytest.raises(BroadcastError) as info:
        service.schedule_announcements(staff, 2027)
    assert (info.value.code, info.value.details) == ("calendar_missing", {"year": "2027-2028", "missing": [1, 2]})
    with pytest.raises(RuntimeError, match="^no renderer given for the announcement templates$"):
        BroadcastService(db, clock=Clock(NOW)).announcement_html(service.periods(2026)[1])


def test_the_log_says_who_did_what_to_which_broadcast(caplog, db, service, world, staff):
    """Operators follow broadcasts in the log: ids and figures, never a name or the message."""
    caplog.set_level(logging.INFO, logger="bot.services.broadcasts")
    me = world["staff"]
    sent = service.compose(staff, message_html="Secret", audience="tuteurs").broadcast.id
    service.send_now(staff, sent)
    service.pause(staff, sent)
    service.resume(staff, sent)
    _set_states(db, sent, {world["t0"]: "sent", world["t1"]: "dead"})
    service.finish_delivered()
    later = service.compose(staff, message_html="Plus tard", audience="semestre:2026-S1").broadcast.id
    service.schedule(staff, later, NOW + timedelta(hours=1))
    service.test_clock.now = NOW + timedelta(hours=1)
    service.release_due()
    service.cancel(staff, later)
    assert [r.getMessage() for r in caplog.records if r.name == "bot.services.broadcasts"] == [
        f"broadcast {sent} drafted by person {me} for tuteurs (2 recipients)",
        f"broadcast {sent} sent by person {me}: 2 rows",
        f"broadcast {sent}: pause by person {me}",
        f"broadcast {sent}: resume by person {me}",
        f"broadcast {sent} done: 1 sent, 0 blocked, 1 failed",
        f"broadcast {later} drafted by person {me} for semestre:2026-S1 (3 recipients)",
        f"broadcast {later} scheduled by person {me}",
        f"scheduled broadcast {later} started: 3 rows",
        f"broadcast {later}: cancel by person {me}",
    ]


def test_the_calendar_records_who_set_it_and_says_what_is_incoherent(db, service, world, staff):
    from bot.storage.models.accompaniment import AcademicYearRow

    service.set_period(staff, Semester(2026, 1), date(2026, 10, 1), date(2026, 10, 31))
    with db.read() as session:
        assert session.get(AcademicYearRow, 2026).updated_by_id == world["staff"]
    service.set_period(COMMAND_LINE, Semester(2027, 1), date(2027, 10, 1), date(2027, 10, 31))
    with db.read() as session:
        assert session.get(AcademicYearRow, 2027).updated_by_id is None
    with pytest.raises(BroadcastError) as info:
        service.set_period(staff, Semester(2026, 2), date(2027, 1, 15), date(2027, 3, 12))
    assert (info.value.code, info.value.details) == (
        "calendar_incoherent", {"semester": "2026-S2", "problems": ["s2_enrolment_outside_semester"]})


def test_both_announcements_ahead_and_one_exactly_due_now(db, world, staff):
    clock = Clock(datetime(2026, 9, 20, tzinfo=UTC))
    service = BroadcastService(db, clock=clock, render=Renderer().render, paid_broadcast=True)
    service.set_period(staff, Semester(2026, 1), date(2026, 10, 1), date(2026, 10, 31))
    service.set_period(staff, Semester(2026, 2), date(2027, 2, 1), date(2027, 3, 15))
    first = service.schedule_announcements(staff, 2026)
    assert [(b.kind, b.paid) for b in first.scheduled] == [("announcement.2026-S1", True), ("announcement.2026-S2", True)]
    service.cancel(staff, first.scheduled[1].id)
    again = service.schedule_announcements(staff, 2026)  # the first one stays, the second is scheduled again
    assert [b.kind for b in again.scheduled] == ["announcement.2026-S2"]
    assert again.skipped == [{"semester": "2026-S1", "reason": "already_scheduled",
                              "when": datetime(2026, 10, 1, 7, 0, tzinfo=UTC)}]
    service.set_period(staff, Semester(2027, 1), date(2027, 10, 4), date(2027, 10, 29))
    service.set_period(staff, Semester(2027, 2), date(2028, 2, 7), date(2028, 3, 24))
    clock.now = datetime(2027, 10, 4, 7, 0, tzinfo=UTC)  # 9h in Paris on the opening day: too late
    plan = service.schedule_announcements(staff, 2027)
    assert plan.skipped == [{"semester": "2027-S1", "reason": "past", "when": clock.now}]
    assert [b.kind for b in plan.scheduled] == ["announcement.2027-S2"]
