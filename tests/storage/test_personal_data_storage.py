"""Retention and erasure in storage, on SQLite and PostgreSQL: the daily purge with the clock moved."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.domain.permissions import COMMAND_LINE, PermissionDenied
from bot.services.onboarding import Onboarding
from bot.services.personal_data import AlreadyErased, PersonalData
from bot.storage.models import (
    AuditEvent,
    Base,
    ConversationState,
    DraftVersion,
    Enrolment,
    Invitation,
    Person,
    SignInThrottle,
    utcnow,
)
from tests.clock import Clock


def _bound(onboarding, code, telegram_id):
    pending = onboarding.check_code(telegram_id, code)
    return onboarding.redeem(telegram_id, pending.invitation_id, notice_version="t").person


def _dump(db) -> str:
    with db.read() as session:
        return "\n".join(
            json.dumps([str(v) for v in row], ensure_ascii=False)
            for table in Base.metadata.sorted_tables
            for row in session.execute(sa.select(table)).all()
        )


@pytest.fixture
def world(db):
    onboarding = Onboarding(db, invitation_ttl=timedelta(days=14))
    tutor = _bound(onboarding, onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois").code, 2001)
    old = onboarding.enrol_auditeur(
        COMMAND_LINE, name="Oscar Ancien", tutor=tutor.id, report_type="ua", semester="2026-S1", certification="Licence"
    )
    oscar = _bound(onboarding, old.code, 3001)
    recent = onboarding.enrol_auditeur(
        COMMAND_LINE, name="Rita Récente", tutor=tutor.id, report_type="ua", semester="2027-S2", certification="Master"
    )
    rita = _bound(onboarding, recent.code, 3002)
    never = onboarding.invite_tutor(COMMAND_LINE, "Noé Jamaisvenu", email="noe@exemple.fr").person
    with db.transaction() as session:
        session.add(
            DraftVersion(
                auditeur_id=oscar.id, enrolment_id=old.enrolment.id, version=1, sha256="0" * 64,
                file_name="oscar-rapport.pdf", size_bytes=10, telegram_file_id="FILE-ID-OSCAR", review={"sections": []},
            )
        )
        session.add(AuditEvent(subject_id=oscar.id, action="staff.note", note="Oscar note libre", details={"who": "Oscar"}))
        session.add(ConversationState(telegram_user_id=3001, flow="coach", step="q", data={"text": "Oscar écrit"}))
        session.execute(  # whatever today is: Noé's code expired in December 2026
            sa.update(Invitation).where(Invitation.person_id == never.id).values(expires_at=datetime(2026, 12, 15, tzinfo=UTC))
        )
    return {"tutor": tutor, "oscar": oscar, "rita": rita, "never": never}


def test_retention_purge_with_the_clock_moved(db, world):
    clock = Clock(datetime(2027, 6, 1, tzinfo=UTC))
    service = PersonalData(db, clock=clock, retention_months=12)
    with db.transaction() as session:  # a stranger's wrong codes, yesterday, and a fresh window
        session.add(SignInThrottle(telegram_user_id=9001, failures=3, window_started_at=clock.now - timedelta(days=1)))
        session.add(SignInThrottle(telegram_user_id=9002, failures=1, window_started_at=clock.now - timedelta(minutes=2)))

    first = service.purge_expired()  # 2026-S1 ended on 1 Feb 2027: kept until 1 Feb 2028
    assert first.erased == () and first.throttle_rows == 1
    with db.read() as session:
        assert session.scalars(sa.select(SignInThrottle.telegram_user_id)).all() == [9002]

    clock.now = datetime(2028, 2, 2, tzinfo=UTC)
    second = service.purge_expired()
    assert set(second.erased) == {world["oscar"].id, world["never"].id}  # Noé's invitation expired in Dec. 2026
    dump = _dump(db)
    for secret in ("Oscar", "Ancien", "oscar-rapport", "FILE-ID-OSCAR", "Noé", "noe@exemple.fr"):
        assert secret not in dump, secret
    assert "Rita Récente" in dump and "Marc Dubois" in dump  # not due, and tutors are kept
    with db.read() as session:
        oscar = session.get(Person, world["oscar"].id)
        assert oscar.erased_at == clock.now and oscar.telegram_user_id is None
        assert session.scalar(sa.select(sa.func.count()).select_from(DraftVersion)) == 0
        enrolment = session.scalar(sa.select(Enrolment).where(Enrolment.auditeur_id == oscar.id))
        assert enrolment.status == "closed" and enrolment.certification == "Licence"  # what the institution keeps
        events = session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_id == oscar.id)).all()
        assert {e.action for e in events} >= {"staff.note", "person.erased"}
        assert all(e.note is None for e in events)
        erased = next(e for e in events if e.action == "person.erased")
        assert erased.details["reason"] == "retention" and erased.actor_id is None
        assert session.get(ConversationState, 3001) is None

    assert service.purge_expired().erased == ()  # idempotent
    clock.now = datetime(2029, 9, 2, tzinfo=UTC)  # 2027-S2 ended on 1 Sept 2028
    assert service.purge_expired().erased == (world["rita"].id,)


def test_a_closed_enrolment_counts_from_its_closing_date(db, world):
    clock = Clock(datetime(2026, 12, 1, tzinfo=UTC))
    with db.transaction() as session:
        enrolment = session.scalar(sa.select(Enrolment).where(Enrolment.auditeur_id == world["rita"].id))
        enrolment.status, enrolment.ended_at = "closed", datetime(2026, 11, 30, tzinfo=UTC)
    service = PersonalData(db, clock=clock, retention_months=3)
    assert world["rita"].id not in service.purge_expired().erased
    clock.now = datetime(2027, 3, 1, tzinfo=UTC)
    assert world["rita"].id in service.purge_expired().erased


def test_erasure_permissions_and_twice(db, world):
    service = PersonalData(db, clock=utcnow)
    with pytest.raises(PermissionDenied):
        service.export(world["rita"], world["oscar"].id)
    with pytest.raises(PermissionDenied):
        service.erase(world["rita"], world["oscar"].id)
    with pytest.raises(PermissionDenied):
        service.find(world["rita"], name="Oscar Ancien")
    assert [p.id for p in service.find(COMMAND_LINE, name="  oscar   ANCIEN ")] == [world["oscar"].id]
    service.erase(world["oscar"], world["oscar"].id)
    with pytest.raises(AlreadyErased):
        service.erase(COMMAND_LINE, world["oscar"].id)
    assert service.find(COMMAND_LINE, telegram_id=3001) == []


def test_a_staff_members_erasure_keeps_her_broadcasts_but_forgets_her_chat(db, world):
    """A sent broadcast is the institution's message: it stays, without its author's name or the chat
    where her progress message was (the progress is no longer edited)."""
    from bot.domain.people import PersonView, Role
    from bot.services.broadcasts import BroadcastService

    with db.transaction() as session:
        claire = Person(role="staff", display_name="Claire Martin", telegram_user_id=1001)
        session.add(claire)
        session.flush()
        staff = PersonView(claire.id, Role.STAFF, "Claire Martin", 1001)
    broadcasts = BroadcastService(db)
    preview = broadcasts.compose(staff, message_html="Inscriptions au 2e semestre : du 1er février au 31 mars",
                                 audience="semestre:2026-S1")
    broadcasts.send_now(staff, preview.broadcast.id)
    broadcasts.attach_progress_message(preview.broadcast.id, 1001, 77)

    exported = PersonalData(db, clock=utcnow).export(staff, staff.id)
    assert [b["message_html"] for b in exported["broadcasts_written"]] == [
        "Inscriptions au 2e semestre : du 1er février au 31 mars"]
    PersonalData(db, clock=utcnow).erase(staff, staff.id)

    with db.read() as session:
        row = session.execute(sa.text("SELECT author_id, progress_chat_id, message_html FROM broadcasts")).one()
    assert row.author_id == staff.id and row.progress_chat_id is None and "2e semestre" in row.message_html
    assert "Claire" not in _dump(db) and "1001" not in [v for v in _dump(db).split('"')]
