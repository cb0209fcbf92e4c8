"""The cache of people and enrolments: changes recorded with the change, forgotten in this process at
once and on other instances at their next read of the change feed; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot.domain.permissions import COMMAND_LINE
from bot.services.directory import Directory, TelegramIdentity
from bot.services.onboarding import Onboarding
from bot.services.people_cache import MISSING, Follower, PeopleCache
from bot.storage.db import Database
from bot.storage.models import Enrolment, Person, PersonChange
from bot.storage.people_changes import ChangeFeed

TUTOR_TG, AUDITEUR_TG = 2001, 3001


@pytest.fixture
def people(db):
    """A bound tutor and a bound auditeur enrolled with them: (tutor id, auditeur id)."""
    onboarding = Onboarding(db, invitation_ttl=timedelta(days=14))
    tutor_code = onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois").code
    tutor = onboarding.redeem(TUTOR_TG, onboarding.check_code(TUTOR_TG, tutor_code).invitation_id, notice_version="t").person
    issued = onboarding.enrol_auditeur(
        COMMAND_LINE, name="Léa Bernard", tutor="Marc Dubois", report_type="ua", semester="2026-S1", certification="Licence pro",
    )
    auditeur = onboarding.redeem(AUDITEUR_TG, onboarding.check_code(AUDITEUR_TG, issued.code).invitation_id, notice_version="t").person
    return tutor.id, auditeur.id


def _changes(db) -> list[int | None]:
    with db.read() as session:
        return list(session.scalars(sa.select(PersonChange.person_id).order_by(PersonChange.id)))


def _rename(db, person_id: int, name: str) -> None:
    with db.transaction() as session:
        session.get(Person, person_id).display_name = name


def test_a_change_is_recorded_in_the_transaction_that_makes_it(db, people):
    tutor_id, auditeur_id = people
    heard: list[set] = []
    db.after_people_commit.append(heard.append)
    before = len(_changes(db))

    _rename(db, tutor_id, "Marc Dubois-Martin")
    assert _changes(db)[before:] == [tutor_id] and heard == [{tutor_id}]

    with pytest.raises(RuntimeError), db.transaction() as session:  # rolled back: nothing recorded, nobody told
        session.get(Person, auditeur_id).display_name = "Autre"
        session.flush()
        raise RuntimeError("abandoned")
    assert _changes(db)[before:] == [tutor_id] and len(heard) == 1

    with db.transaction() as session:  # an enrolment concerns its auditeur and its tutor
        session.scalar(sa.select(Enrolment).where(Enrolment.auditeur_id == auditeur_id)).semester = "2026-S2"
    assert sorted(_changes(db)[before + 1:]) == sorted([auditeur_id, tutor_id]) and heard[-1] == {auditeur_id, tutor_id}

    with db.transaction() as session:  # a bulk statement: everyone
        session.execute(sa.update(Person).where(Person.id == auditeur_id).values(email="lea@exemple.fr"))
    assert _changes(db)[-1] is None and heard[-1] == {None}

    with db.transaction() as session:  # read, then set to the same value: no change, nothing recorded
        person = session.get(Person, tutor_id)
        person.display_name = person.display_name
    assert len(heard) == 3


def test_this_instance_forgets_a_person_as_soon_as_the_change_is_committed(db, people):
    tutor_id, auditeur_id = people
    directory = Directory(db, [], cache=PeopleCache(ttl=600))
    assert directory.identify(TelegramIdentity(AUDITEUR_TG, "Léa")).display_name == "Léa Bernard"
    assert directory.active_enrolment(auditeur_id).tutor.display_name == "Marc Dubois"
    assert directory.recently_identified(AUDITEUR_TG) is not None
    assert directory.remembered_enrolment(auditeur_id) is not MISSING

    _rename(db, tutor_id, "Marc Dubois-Martin")  # the tutor: the auditeur's enrolment shows them
    assert directory.remembered_enrolment(auditeur_id) is MISSING
    assert directory.recently_identified(AUDITEUR_TG) is not None  # the auditeur did not change
    assert directory.active_enrolment(auditeur_id).tutor.display_name == "Marc Dubois-Martin"

    _rename(db, auditeur_id, "Léa Bernard-Petit")
    assert directory.recently_identified(AUDITEUR_TG) is None
    assert directory.identify(TelegramIdentity(AUDITEUR_TG, "Léa")).display_name == "Léa Bernard-Petit"


def test_another_instance_hears_of_the_change_at_its_next_read(database_url, people):
    tutor_id, auditeur_id = people
    here, there = Database(database_url), Database(database_url)  # two instances: two engines, no shared hooks
    try:
        cache = PeopleCache(ttl=600)
        directory = Directory(here, [], cache=cache)
        follower = Follower(cache, ChangeFeed(here), interval=60, prune_every=1000)
        follower.read_once()  # the feed starts
        assert directory.identify(TelegramIdentity(AUDITEUR_TG, "Léa")).display_name == "Léa Bernard"
        assert directory.active_enrolment(auditeur_id).tutor.display_name == "Marc Dubois"

        with there.transaction() as session:  # the other instance unbinds the auditeur, renames the tutor
            session.get(Person, auditeur_id).telegram_user_id = None
            session.get(Person, tutor_id).display_name = "Marc Dubois-Martin"
        assert directory.recently_identified(AUDITEUR_TG) is not None  # not heard of yet

        follower.read_once()
        assert directory.recently_identified(AUDITEUR_TG) is None
        assert directory.identify(TelegramIdentity(AUDITEUR_TG, "Léa")) is None
        assert directory.active_enrolment(auditeur_id).tutor.display_name == "Marc Dubois-Martin"
        follower.read_once()  # read once, forgotten once: later reads do not forget again
        assert directory.remembered_enrolment(auditeur_id) is not MISSING
    finally:
        here.dispose()
        there.dispose()


def test_the_follower_thread_reads_the_feed_and_stops(database_url, people):
    tutor_id, _ = people
    here, there = Database(database_url), Database(database_url)
    try:
        directory = Directory(here, [], cache=PeopleCache(ttl=600))
        directory.follow_changes(interval=0.05)
        assert directory.identify(TelegramIdentity(TUTOR_TG, "Marc")).display_name == "Marc Dubois"
        _rename(there, tutor_id, "Marc Dubois-Martin")
        for _ in range(200):
            if directory.recently_identified(TUTOR_TG) is None:
                break
            threading.Event().wait(0.02)
        assert directory.recently_identified(TUTOR_TG) is None
        directory.stop_following()
        assert not any(t.name == "people-changes" and t.is_alive() for t in threading.enumerate())
    finally:
        here.dispose()
        there.dispose()


def test_a_value_read_before_a_change_is_not_remembered_after_it():
    cache = PeopleCache(ttl=600)
    from bot.domain.people import PersonView, Role

    person = PersonView(id=7, role=Role.AUDITEUR, display_name="Léa", telegram_user_id=3001, email=None, blocked=False)
    epoch = cache.epoch()  # a handler starts reading person 7...
    cache.invalidate([7])  # ...while a commit changes them
    cache.put_person(3001, person, epoch)  # what it read may predate the change
    assert cache.person(3001) is None
    cache.put_person(3001, person, cache.epoch())
    assert cache.person(3001) == person
    cache.invalidate([8])  # someone else
    assert cache.person(3001) == person
    cache.invalidate([None])  # everyone
    assert cache.person(3001) is None


def test_when_the_feed_cannot_be_read_nothing_is_trusted_for_long(db, people):
    class Broken(ChangeFeed):
        def read(self):
            raise sa.exc.OperationalError("SELECT", {}, Exception("server closed the connection"))

    cache = PeopleCache(ttl=0.2, followed_ttl=600)
    directory = Directory(db, [], cache=cache)
    follower = Follower(cache, Broken(db), interval=60, prune_every=1000)
    directory.identify(TelegramIdentity(TUTOR_TG, "Marc"))
    follower.read_once()
    assert directory.recently_identified(TUTOR_TG) is None  # cleared
    directory.identify(TelegramIdentity(TUTOR_TG, "Marc"))
    assert directory.recently_identified(TUTOR_TG) is not None
    threading.Event().wait(0.3)
    assert directory.recently_identified(TUTOR_TG) is None  # the short ttl, not the followed one


def test_a_late_commit_below_rows_already_read_is_not_missed(database_url, people):
    """PostgreSQL hands ids out before commit: a transaction can commit after a later one."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers: ids are committed in order")
    tutor_id, auditeur_id = people
    db = Database(database_url)
    try:
        feed = ChangeFeed(db)
        feed.start()
        slow = db._sessions()
        slow.get(Person, auditeur_id).display_name = "Léa (lente)"
        slow.flush()  # its change row has the lower id, not committed yet
        _rename(db, tutor_id, "Marc Dubois-Martin")
        assert feed.read() == [tutor_id]
        slow.commit()
        slow.close()
        assert feed.read() == [auditeur_id]
        assert feed.read() == []
    finally:
        db.dispose()


def test_only_the_latest_changes_are_kept(db, people):
    tutor_id, _ = people
    feed = ChangeFeed(db, keep=3)
    feed.start()
    for n in range(6):
        _rename(db, tutor_id, f"Marc {n}")
    assert len(feed.read()) == 6
    feed.prune()
    with db.read() as session:
        ids = list(session.scalars(sa.select(PersonChange.id).order_by(PersonChange.id)))
    assert len(ids) == 3 and ids[-1] == max(ids)
