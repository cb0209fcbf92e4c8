"""The people cache's rules: how long an entry is trusted, the epoch guard against values read before
a change, what a change forgets, the size bound, and the follower that reads the change feed."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from bot.domain.people import EnrolmentView, PersonView, ReportType, Role
from bot.services import people_cache
from bot.services.people_cache import MISSING, Follower, PeopleCache


class Monotonic:
    """The cache's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Monotonic:
    fake = Monotonic()
    monkeypatch.setattr(people_cache, "time", fake)
    return fake


def _person(person_id: int, tg: int | None = None, role: Role = Role.AUDITEUR) -> PersonView:
    return PersonView(id=person_id, role=role, display_name=f"P{person_id}", telegram_user_id=tg or 3000 + person_id)


def _enrolment(auditeur_id: int, tutor_id: int) -> EnrolmentView:
    return EnrolmentView(
        id=auditeur_id * 10, auditeur=_person(auditeur_id), tutor=_person(tutor_id, role=Role.TUTOR),
        certification="Licence", report_type=ReportType.UA, semester="2026-S1",
        enrolled_at=datetime(2026, 9, 1, tzinfo=UTC),
    )


def _remember(cache: PeopleCache, person: PersonView) -> None:
    cache.put_person(person.telegram_user_id, person, cache.epoch())


# -- how long an entry is trusted ---------------------------------------------------------------------


def test_an_entry_is_trusted_for_the_ttl_and_no_longer(clock):
    cache = PeopleCache(ttl=10, followed_ttl=600)
    lea = _person(1)
    _remember(cache, lea)
    cache.put_enrolment(1, None, cache.epoch())
    clock.now += 10
    assert cache.person(lea.telegram_user_id) == lea  # exactly the ttl: still trusted
    assert cache.enrolment(1) is None
    clock.now += 0.001
    assert cache.person(lea.telegram_user_id) is None
    assert cache.enrolment(1) is MISSING
    assert len(cache) == 0  # expired entries are dropped, not kept


def test_while_the_feed_is_followed_entries_are_trusted_for_longer(clock):
    cache = PeopleCache(ttl=10, followed_ttl=600)
    lea = _person(1)
    _remember(cache, lea)
    cache.trust_followed(True)
    clock.now += 600
    assert cache.person(lea.telegram_user_id) == lea
    cache.trust_followed(False)  # the feed stopped: back to the short ttl
    assert cache.person(lea.telegram_user_id) is None


def test_without_any_ttl_nothing_is_remembered(clock):
    cache = PeopleCache(ttl=0, followed_ttl=0)
    _remember(cache, _person(1))
    cache.put_enrolment(1, None, cache.epoch())
    assert len(cache) == 0 and cache.person(3001) is None and cache.enrolment(1) is MISSING


def test_a_cache_trusted_only_while_followed_remembers(clock):
    cache = PeopleCache(ttl=0, followed_ttl=600)
    lea = _person(1)
    cache.trust_followed(True)
    _remember(cache, lea)
    assert cache.person(lea.telegram_user_id) == lea
    clock.now += 0.001
    cache.trust_followed(False)
    assert cache.person(lea.telegram_user_id) is None  # zero seconds without the feed


def test_the_defaults_ten_seconds_alone_ten_minutes_while_followed(clock):
    cache = PeopleCache()
    lea, paul = _person(1), _person(3)
    _remember(cache, lea)
    clock.now += 10
    assert cache.person(lea.telegram_user_id) == lea
    clock.now += 0.001
    assert cache.person(lea.telegram_user_id) is None
    cache.trust_followed(True)
    _remember(cache, paul)
    clock.now += 600
    assert cache.person(paul.telegram_user_id) == paul
    clock.now += 0.001
    assert cache.person(paul.telegram_user_id) is None


def test_ten_thousand_entries_are_kept_by_default(clock):
    cache = PeopleCache()
    epoch = cache.epoch()
    for tg in range(10_001):
        cache.put_person(tg, PersonView(id=tg, role=Role.AUDITEUR, display_name="P", telegram_user_id=tg), epoch)
    assert len(cache) == 10_000
    assert cache.person(0) is None and cache.person(1) is not None and cache.person(10_000) is not None


@pytest.mark.parametrize(("ttl", "followed_ttl", "followed"), [(0.5, 0, False), (0, 1, True)])
def test_any_positive_ttl_remembers(clock, ttl, followed_ttl, followed):
    cache = PeopleCache(ttl=ttl, followed_ttl=followed_ttl)
    cache.trust_followed(followed)
    _remember(cache, _person(1))
    clock.now += 0.5
    assert cache.person(3001) == _person(1)


# -- the epoch guard ---------------------------------------------------------------------------------


def test_a_value_read_before_any_forgetting_is_not_stored(clock):
    cache = PeopleCache(ttl=600)
    lea, marc = _person(1), _person(2, role=Role.TUTOR)
    forgetting = (lambda: cache.invalidate([42]), lambda: cache.forget_account(9999), cache.clear,
                  lambda: cache.put_person(9998, None, cache.epoch()))
    for forget in forgetting * 2:
        epoch = cache.epoch()
        forget()
        assert cache.epoch() != epoch
        cache.put_person(lea.telegram_user_id, lea, epoch)
        cache.put_enrolment(1, _enrolment(1, 2), epoch)
        assert cache.person(lea.telegram_user_id) is None and cache.enrolment(1) is MISSING
    _remember(cache, marc)
    assert cache.person(marc.telegram_user_id) == marc


def test_a_read_that_began_before_several_changes_is_not_stored(clock):
    cache = PeopleCache(ttl=600)
    lea = _person(1)
    for first, second in ((lambda: cache.invalidate([42]), lambda: cache.forget_account(9999)),
                          (lambda: cache.forget_account(9999), lambda: cache.invalidate([42])),
                          (lambda: cache.invalidate([42]), lambda: cache.invalidate([43]))):
        epoch = cache.epoch()
        first()
        second()
        cache.put_person(lea.telegram_user_id, lea, epoch)
        assert cache.person(lea.telegram_user_id) is None


def test_a_stale_value_also_drops_what_was_remembered_for_that_key(clock):
    cache = PeopleCache(ttl=600)
    old = cache.epoch()
    cache.invalidate([42])
    _remember(cache, _person(1))
    cache.put_person(3001, _person(1), old)  # a late, older read of the same account
    assert cache.person(3001) is None


def test_nothing_changed_nothing_forgotten(clock):
    cache = PeopleCache(ttl=600)
    epoch = cache.epoch()
    cache.invalidate([])
    assert cache.epoch() == epoch
    cache.put_person(3001, _person(1), epoch)
    assert cache.person(3001) == _person(1)


# -- what a change forgets ---------------------------------------------------------------------------


def test_a_change_forgets_every_entry_that_shows_the_person(clock):
    cache = PeopleCache(ttl=600)
    lea, marc, paul = _person(1), _person(2, role=Role.TUTOR), _person(3)
    for person in (lea, marc, paul):
        _remember(cache, person)
    cache.put_enrolment(1, _enrolment(1, 2), cache.epoch())
    cache.put_enrolment(3, None, cache.epoch())
    assert len(cache) == 5
    cache.invalidate([2])  # the tutor: their own entry and the enrolment showing them
    assert cache.person(marc.telegram_user_id) is None and cache.enrolment(1) is MISSING
    assert cache.person(lea.telegram_user_id) == lea and cache.enrolment(3) is None
    cache.invalidate([3])  # an auditeur without enrolment: their "none" too
    assert cache.enrolment(3) is MISSING and cache.person(paul.telegram_user_id) is None
    assert cache.person(lea.telegram_user_id) == lea
    assert len(cache) == 1


def test_an_enrolment_shows_its_auditeur(clock):
    cache = PeopleCache(ttl=600)
    cache.put_enrolment(1, _enrolment(1, 2), cache.epoch())
    cache.invalidate([1])
    assert cache.enrolment(1) is MISSING


def test_everyone_changed_forgets_everything(clock):
    cache = PeopleCache(ttl=600)
    _remember(cache, _person(1))
    cache.put_enrolment(1, _enrolment(1, 2), cache.epoch())
    cache.invalidate([5, None])
    assert len(cache) == 0


def test_forgetting_an_account_keeps_the_others_and_the_enrolments(clock):
    cache = PeopleCache(ttl=600)
    lea, paul = _person(1), _person(3)
    _remember(cache, lea)
    _remember(cache, paul)
    cache.put_enrolment(1, _enrolment(1, 2), cache.epoch())
    cache.forget_account(lea.telegram_user_id)
    assert cache.person(lea.telegram_user_id) is None and cache.person(paul.telegram_user_id) == paul
    assert cache.enrolment(1) == _enrolment(1, 2)
    cache.put_person(paul.telegram_user_id, None, cache.epoch())  # nobody bound any more
    assert cache.person(paul.telegram_user_id) is None


def test_the_oldest_entries_go_first_past_the_size(clock):
    cache = PeopleCache(ttl=600, size=2)
    a, b, c = _person(1), _person(2), _person(3)
    _remember(cache, a)
    _remember(cache, b)
    _remember(cache, a)  # remembered again: now the newest
    _remember(cache, c)
    assert cache.person(b.telegram_user_id) is None
    assert cache.person(a.telegram_user_id) == a and cache.person(c.telegram_user_id) == c
    for auditeur in (1, 2, 3):
        cache.put_enrolment(auditeur, None, cache.epoch())
    assert cache.enrolment(1) is MISSING and cache.enrolment(3) is None and len(cache) == 4


# -- the follower ------------------------------------------------------------------------------------


class Feed:
    """A change feed that hands out what the test queues, or fails."""

    def __init__(self, *batches: list) -> None:
        self.started = False
        self.batches = list(batches)
        self.prunes = 0
        self.fail = False

    def start(self) -> None:
        self.started = True

    def read(self) -> list:
        if self.fail:
            raise ConnectionError("database unreachable")
        return self.batches.pop(0) if self.batches else []

    def prune(self) -> None:
        self.prunes += 1


def test_the_first_read_starts_the_feed_and_forgets_what_predates_it(clock):
    cache = PeopleCache(ttl=10, followed_ttl=600)
    _remember(cache, _person(1))
    feed = Feed()
    follower = Follower(cache, feed, interval=60, prune_every=1000)
    follower.read_once()
    assert feed.started and len(cache) == 0 and follower.reads == 1
    _remember(cache, _person(1))
    follower.read_once()  # started: nothing forgotten without news
    assert cache.person(3001) == _person(1)


def test_each_read_forgets_who_changed_and_extends_the_trust(clock):
    cache = PeopleCache(ttl=10, followed_ttl=600)
    feed = Feed([], [2])
    follower = Follower(cache, feed, interval=60, prune_every=1000)
    follower.read_once()
    lea, marc = _person(1), _person(2, role=Role.TUTOR)
    _remember(cache, lea)
    _remember(cache, marc)
    clock.now += 300
    follower.read_once()
    assert cache.person(marc.telegram_user_id) is None
    assert cache.person(lea.telegram_user_id) == lea  # trusted for followed_ttl, not ttl


def test_a_failed_read_forgets_everything_and_trusts_for_the_short_ttl(clock, caplog):
    cache = PeopleCache(ttl=10, followed_ttl=600)
    feed = Feed()
    follower = Follower(cache, feed, interval=60, prune_every=1000)
    follower.read_once()
    _remember(cache, _person(1))
    feed.fail = True
    with caplog.at_level("WARNING", logger="bot.services.people_cache"):
        follower.read_once()
    assert len(cache) == 0 and follower.reads == 1
    (record,) = caplog.records  # the operators are told why, with the error
    assert record.getMessage() == "people changes unreadable: cache cleared" and record.levelname == "WARNING"
    assert record.exc_info[0] is ConnectionError
    _remember(cache, _person(1))
    clock.now += 11
    assert cache.person(3001) is None
    feed.fail = False
    follower.read_once()  # read again: trusted for long again
    _remember(cache, _person(1))
    clock.now += 300
    assert cache.person(3001) == _person(1)


def test_a_feed_that_cannot_start_is_retried(clock):
    cache = PeopleCache(ttl=10, followed_ttl=600)

    class Unstartable(Feed):
        def start(self) -> None:
            raise ConnectionError("database unreachable")

    follower = Follower(cache, Unstartable(), interval=60, prune_every=1000)
    _remember(cache, _person(1))
    follower.read_once()
    assert len(cache) == 0 and follower.reads == 0


def test_the_feed_is_pruned_every_so_many_reads(clock):
    feed = Feed()
    follower = Follower(PeopleCache(), feed, interval=60, prune_every=3)
    for _ in range(7):
        follower.read_once()
    assert feed.prunes == 2


def test_following_runs_a_named_daemon_thread_until_stopped(clock):
    cache = PeopleCache(ttl=10, followed_ttl=600)
    feed = Feed()
    follower = cache.follow(feed, interval=0.001, prune_every=2)
    try:
        for _ in range(500):
            if follower.reads >= 4:
                break
            threading.Event().wait(0.002)
        assert follower.reads >= 4 and feed.prunes >= 2
        (thread,) = [t for t in threading.enumerate() if t.name == "people-changes"]
        assert thread.daemon
        _remember(cache, _person(1))
        clock.now += 300
        assert cache.person(3001) == _person(1)  # followed: trusted for long
    finally:
        follower.stop()
    assert not any(t.name == "people-changes" for t in threading.enumerate())
    assert cache.person(3001) is None  # stopped: back to the short ttl
    reads = follower.reads
    threading.Event().wait(0.01)
    assert follower.reads == reads


def test_a_follower_never_started_stops_quietly(clock):
    cache = PeopleCache(ttl=10, followed_ttl=600)
    cache.trust_followed(True)
    follower = Follower(cache, Feed(), interval=60, prune_every=10)
    follower.stop()
    _remember(cache, _person(1))
    clock.now += 11
    assert cache.person(3001) is None  # not followed: the short ttl
