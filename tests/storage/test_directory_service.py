"""The directory on SQLite and PostgreSQL: who an account is (configured staff provisioned once, staff
removed from the configuration no longer staff, deactivated people unknown), the views handed out,
the lookups (tutors, enrolments, a tutor's auditeurs, bound people) and recording who blocked the bot."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.domain.people import ReportType, Role
from bot.services.conversations import Conversation
from bot.services.directory import Directory, TelegramIdentity
from bot.services.people_cache import MISSING, PeopleCache
from bot.storage.db import Database
from bot.storage.models import AuditEvent, ConversationState, Enrolment, Person
from tests.clock import Clock

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STAFF_TG, TUTOR_TG, AUDITEUR_TG = 1001, 2001, 3001


def _add(db, **values) -> int:
    with db.transaction() as session:
        person = Person(**values)
        session.add(person)
        session.flush()
        return person.id


def _enrol(db, auditeur_id: int, tutor_id: int, *, status: str = "active", enrolled_at: datetime = NOW, **values) -> int:
    with db.transaction() as session:
        enrolment = Enrolment(auditeur_id=auditeur_id, tutor_id=tutor_id, certification="Licence pro",
                              report_type="stage", semester="2026-S1", status=status, enrolled_at=enrolled_at, **values)
        session.add(enrolment)
        session.flush()
        return enrolment.id


def _audit(db, subject_id: int) -> list[tuple[int | None, str]]:
    with db.read() as session:
        return list(session.execute(
            sa.select(AuditEvent.actor_id, AuditEvent.action).where(AuditEvent.subject_id == subject_id).order_by(AuditEvent.id)
        ).all())


@pytest.fixture
def directory(db) -> Directory:
    return Directory(db, [STAFF_TG], clock=Clock(NOW), cache=PeopleCache(ttl=600))


# -- who an account is ---------------------------------------------------------------------------------


def test_an_unknown_account_is_nobody_and_is_not_remembered(db, directory):
    assert directory.identify(TelegramIdentity(4242, "Inconnu")) is None
    assert directory.recently_identified(4242) is None
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0


def test_a_bound_person_is_identified_with_their_view_and_remembered(db, directory):
    tutor = _add(db, role="tutor", display_name="Marc Dubois", telegram_user_id=TUTOR_TG, email="marc@cnam.fr",
                 blocked_bot_at=NOW - timedelta(days=1))
    marc = directory.identify(TelegramIdentity(TUTOR_TG, "Marc"))
    assert (marc.id, marc.role, marc.display_name, marc.telegram_user_id, marc.email, marc.blocked) == (
        tutor, Role.TUTOR, "Marc Dubois", TUTOR_TG, "marc@cnam.fr", True,
    )
    assert directory.recently_identified(TUTOR_TG) == marc
    assert directory.get(tutor) == marc and directory.get(tutor + 100) is None


def test_a_deactivated_person_is_nobody(db, directory):
    _add(db, role="tutor", display_name="Ancien", telegram_user_id=TUTOR_TG, active=False)
    assert directory.identify(TelegramIdentity(TUTOR_TG, "Ancien")) is None
    assert directory.recently_identified(TUTOR_TG) is None


def test_the_stored_conversation_comes_with_the_person(db, directory):
    _add(db, role="auditeur", display_name="Léa", telegram_user_id=AUDITEUR_TG)
    with db.transaction() as session:
        session.add(ConversationState(telegram_user_id=AUDITEUR_TG, flow="booking", step="slot", data={"page": 2}))
        session.add(ConversationState(telegram_user_id=4242, flow="start", step="code", data={}))
    person, conversation = directory.identify_with_conversation(TelegramIdentity(AUDITEUR_TG, "Léa"))
    assert person.display_name == "Léa" and conversation == Conversation("booking", "slot", {"page": 2})
    assert directory.identify_with_conversation(TelegramIdentity(4242, "X")) == (None, Conversation("start", "code", {}))
    assert directory.identify_with_conversation(TelegramIdentity(5555, "Y")) == (None, None)


def test_configured_staff_are_provisioned_once_on_first_contact(db, directory):
    identity = TelegramIdentity(STAFF_TG, "Sophie", "Martin", username="smartin")
    sophie = directory.identify(identity)
    assert (sophie.role, sophie.display_name, sophie.telegram_user_id, sophie.blocked) == (Role.STAFF, "Sophie Martin", STAFF_TG, False)
    with db.read() as session:
        stored = session.get(Person, sophie.id)
    assert (stored.telegram_username, stored.bound_at, stored.active) == ("smartin", NOW, True)
    assert _audit(db, sophie.id) == [(sophie.id, "staff.provisioned")]
    directory.forget(STAFF_TG)
    assert directory.identify(identity) == sophie  # the same person, not a second one
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Person)) == 1
    assert len(_audit(db, sophie.id)) == 1


def test_a_provisioned_staff_name_is_bounded_and_never_empty(db, directory):
    long = directory.identify(TelegramIdentity(STAFF_TG, "A" * 150, "B" * 150))
    assert long.display_name == ("A" * 150 + " " + "B" * 150)[:200]
    other = Directory(db, [1002], clock=Clock(NOW))
    assert other.identify(TelegramIdentity(1002, "")).display_name == "1002"


def test_a_name_from_telegram_is_first_and_last_or_the_account_number():
    assert TelegramIdentity(7, "Léa", "Bernard").full_name == "Léa Bernard"
    assert TelegramIdentity(7, "Léa").full_name == "Léa"
    assert TelegramIdentity(7, "", "Bernard").full_name == "Bernard"
    assert TelegramIdentity(7, " ", None).full_name == "7"


def test_a_configured_staff_account_already_known_is_not_provisioned_again(db, directory):
    _add(db, role="tutor", display_name="Marc", telegram_user_id=TUTOR_TG)
    known = _add(db, role="staff", display_name="Sophie", telegram_user_id=STAFF_TG, active=False)
    sophie = directory.identify(TelegramIdentity(STAFF_TG, "Sophie", "Martin"))
    assert (sophie.id, sophie.display_name, sophie.role) == (known, "Sophie", Role.STAFF)
    assert _audit(db, known) == []
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Person)) == 2


def test_staff_removed_from_the_configuration_are_no_longer_staff(db):
    _add(db, role="staff", display_name="Ex", telegram_user_id=STAFF_TG)
    _add(db, role="tutor", display_name="Marc", telegram_user_id=TUTOR_TG)
    directory = Directory(db, [], cache=PeopleCache(ttl=600))
    assert directory.identify(TelegramIdentity(STAFF_TG, "Ex")) is None
    assert directory.recently_identified(STAFF_TG) is None
    assert directory.identify(TelegramIdentity(TUTOR_TG, "Marc")).role is Role.TUTOR  # only staff need the list


# -- lookups -------------------------------------------------------------------------------------------


def test_tutors_are_the_active_ones_by_name(db, directory):
    _add(db, role="tutor", display_name="Zoé")
    _add(db, role="tutor", display_name="Albert", telegram_user_id=TUTOR_TG)
    _add(db, role="tutor", display_name="Bruno", active=False)
    _add(db, role="auditeur", display_name="Aline")
    assert [t.display_name for t in directory.tutors()] == ["Albert", "Zoé"]


def test_the_active_enrolment_with_both_people_and_remembered(db, directory):
    tutor = _add(db, role="tutor", display_name="Marc", telegram_user_id=TUTOR_TG)
    someone = _add(db, role="auditeur", display_name="Paul")
    auditeur = _add(db, role="auditeur", display_name="Léa", telegram_user_id=AUDITEUR_TG)
    _enrol(db, someone, tutor)
    _enrol(db, auditeur, tutor, status="closed", enrolled_at=NOW - timedelta(days=400))
    active = _enrol(db, auditeur, tutor, units_validated=4, experience="justified")
    enrolment = directory.active_enrolment(auditeur)
    assert (enrolment.id, enrolment.auditeur.display_name, enrolment.tutor.display_name) == (active, "Léa", "Marc")
    assert (enrolment.certification, enrolment.report_type, enrolment.semester, enrolment.enrolled_at) == (
        "Licence pro", ReportType.STAGE, "2026-S1", NOW,
    )
    assert (enrolment.units_validated, enrolment.experience) == (4, "justified")
    assert directory.remembered_enrolment(auditeur) == enrolment
    with db.transaction() as session:  # behind the cache's back (no change recorded)
        session.execute(sa.text("DELETE FROM enrolments"))
    assert directory.active_enrolment(auditeur) == enrolment  # from the cache: no read


def test_no_active_enrolment_is_remembered_as_none(db, directory):
    auditeur = _add(db, role="auditeur", display_name="Léa", telegram_user_id=AUDITEUR_TG)
    assert directory.active_enrolment(auditeur) is None
    assert directory.remembered_enrolment(auditeur) is None
    assert directory.remembered_enrolment(auditeur + 1) is MISSING


def test_an_enrolment_read_while_someone_changed_is_not_remembered(db):
    tutor = _add(db, role="tutor", display_name="Marc")
    auditeur = _add(db, role="auditeur", display_name="Léa")
    _enrol(db, auditeur, tutor)

    class RacingCache(PeopleCache):
        def put_enrolment(self, auditeur_id, enrolment, epoch):
            self.invalidate([999])  # a change committed while the enrolment was being read
            super().put_enrolment(auditeur_id, enrolment, epoch)

    cache = RacingCache(ttl=600)
    directory = Directory(db, [], cache=cache)
    assert directory.active_enrolment(auditeur).tutor.display_name == "Marc"
    assert directory.remembered_enrolment(auditeur) is MISSING  # it may predate the change


def test_a_tutors_auditeurs_are_their_active_enrolments_oldest_first(db, directory):
    tutor = _add(db, role="tutor", display_name="Marc")
    other = _add(db, role="tutor", display_name="Paul")
    late = _add(db, role="auditeur", display_name="Tardif")
    early = _add(db, role="auditeur", display_name="Précoce")
    gone = _add(db, role="auditeur", display_name="Parti")
    elsewhere = _add(db, role="auditeur", display_name="Ailleurs")
    _enrol(db, late, tutor, enrolled_at=NOW)
    _enrol(db, early, tutor, enrolled_at=NOW - timedelta(days=30))
    _enrol(db, gone, tutor, status="closed", enrolled_at=NOW - timedelta(days=60))
    _enrol(db, elsewhere, other)
    assert [e.auditeur.display_name for e in directory.auditeurs_of(tutor)] == ["Précoce", "Tardif"]
    assert {e.tutor.display_name for e in directory.auditeurs_of(tutor)} == {"Marc"}
    assert directory.auditeurs_of(late) == []


def test_bound_people_are_the_active_ones_on_telegram(db, directory):
    _add(db, role="tutor", display_name="Marc", telegram_user_id=TUTOR_TG)
    _add(db, role="auditeur", display_name="Léa", telegram_user_id=AUDITEUR_TG)
    _add(db, role="auditeur", display_name="Pas encore")
    _add(db, role="auditeur", display_name="Parti", telegram_user_id=3002, active=False)
    assert sorted(p.display_name for p in directory.bound_people()) == ["Léa", "Marc"]


# -- who blocked the bot ---------------------------------------------------------------------------------


def test_blocking_and_unblocking_the_bot_are_recorded_once_each(db, directory):
    auditeur = _add(db, role="auditeur", display_name="Léa", telegram_user_id=AUDITEUR_TG)
    assert directory.identify(TelegramIdentity(AUDITEUR_TG, "Léa")).blocked is False
    assert directory.set_blocked(AUDITEUR_TG, True).blocked is True
    assert directory.recently_identified(AUDITEUR_TG) is None  # read again next time
    with db.read() as session:
        assert session.get(Person, auditeur).blocked_bot_at == NOW
    assert directory.set_blocked(AUDITEUR_TG, True).blocked is True  # again: nothing new
    assert _audit(db, auditeur) == [(None, "telegram.blocked_bot")]
    assert directory.identify(TelegramIdentity(AUDITEUR_TG, "Léa")).blocked is True
    assert directory.set_blocked(AUDITEUR_TG, False).blocked is False
    assert directory.set_blocked(AUDITEUR_TG, False).blocked is False
    assert _audit(db, auditeur) == [(None, "telegram.blocked_bot"), (None, "telegram.unblocked_bot")]
    with db.read() as session:
        assert session.get(Person, auditeur).blocked_bot_at is None
    assert directory.set_blocked(4242, True) is None  # nobody bound to that account


def test_a_block_already_recorded_elsewhere_still_refreshes_what_is_remembered(db, database_url, directory):
    auditeur = _add(db, role="auditeur", display_name="Léa", telegram_user_id=AUDITEUR_TG)
    assert directory.identify(TelegramIdentity(AUDITEUR_TG, "Léa")).blocked is False
    there = Database(database_url)  # another instance records the block first
    try:
        with there.transaction() as session:
            session.get(Person, auditeur).blocked_bot_at = NOW
    finally:
        there.dispose()
    assert directory.recently_identified(AUDITEUR_TG).blocked is False  # not heard of yet
    assert directory.set_blocked(AUDITEUR_TG, True).blocked is True  # a 403 here: nothing to record...
    assert directory.recently_identified(AUDITEUR_TG) is None  # ...but the stale view is dropped
    assert _audit(db, auditeur) == []


def test_forgetting_an_account_makes_the_next_identification_read_it(db, directory):
    auditeur = _add(db, role="auditeur", display_name="Léa", telegram_user_id=AUDITEUR_TG)
    directory.identify(TelegramIdentity(AUDITEUR_TG, "Léa"))
    directory.forget(AUDITEUR_TG)
    assert directory.recently_identified(AUDITEUR_TG) is None
    with db.transaction() as session:
        session.get(Person, auditeur).display_name = "Léa B."
    assert directory.identify(TelegramIdentity(AUDITEUR_TG, "Léa")).display_name == "Léa B."


def test_while_following_the_feed_people_are_remembered(db):
    tutor = _add(db, role="tutor", display_name="Marc", telegram_user_id=TUTOR_TG)
    directory = Directory(db, [], cache=PeopleCache(ttl=0, followed_ttl=600))  # trusted only while followed
    directory.identify(TelegramIdentity(TUTOR_TG, "Marc"))
    assert directory.recently_identified(TUTOR_TG) is None
    directory.follow_changes(interval=0.01)
    try:
        for _ in range(200):  # until the follower has read the feed once
            directory.identify(TelegramIdentity(TUTOR_TG, "Marc"))
            if directory.recently_identified(TUTOR_TG) is not None:
                break
            threading.Event().wait(0.005)
        assert directory.recently_identified(TUTOR_TG).display_name == "Marc"
        there = Database(db.url)  # another instance renames him: heard of at a later read
        try:
            with there.transaction() as session:
                session.get(Person, tutor).display_name = "Marc D."
        finally:
            there.dispose()
        for _ in range(400):
            if directory.recently_identified(TUTOR_TG) is None:
                break
            threading.Event().wait(0.005)
        assert directory.recently_identified(TUTOR_TG) is None
    finally:
        directory.stop_following()
    directory.identify(TelegramIdentity(TUTOR_TG, "Marc"))
    assert directory.recently_identified(TUTOR_TG) is None  # no longer followed: not trusted at all


def test_following_changes_starts_one_follower_and_stops_it(db):
    directory = Directory(db, [], cache=PeopleCache(ttl=600))
    directory.stop_following()  # not following: nothing to stop
    directory.follow_changes(interval=60)
    directory.follow_changes(interval=60)
    try:
        assert sum(t.name == "people-changes" and t.is_alive() for t in threading.enumerate()) == 1
    finally:
        directory.stop_following()
    assert not any(t.name == "people-changes" and t.is_alive() for t in threading.enumerate())
