"""The outbox on SQLite and PostgreSQL: claimed once across instances, in order per person, paced by
one shared budget, stale claims recovered by each row's rule, expiry, dedupe, broadcast groups."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.services import outbox
from bot.services.outbox import OutboxStore, RateSettings
from bot.storage.db import Database
from bot.storage.models import OutboxMessage, Person
from tests.clock import Clock

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _people(db: Database, count: int) -> list[int]:
    with db.transaction() as session:
        rows = [Person(role="auditeur", display_name=f"P{i}", telegram_user_id=5000 + i) for i in range(count)]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def _store(db: Database, clock: Clock, name: str, **rate) -> OutboxStore:
    settings = RateSettings(**{"per_second": 1000.0, "burst": 1000.0, "per_chat_interval": timedelta(0), **rate})
    return OutboxStore(db, clock=clock, timer=clock, instance=name, rate=settings)


def test_two_instances_claim_each_row_exactly_once(db, database_url):
    people = _people(db, 40)
    with db.transaction() as session:
        for person_id in people:
            outbox.enqueue(session, recipient_id=person_id, kind="t", text="x", now=NOW - timedelta(minutes=1))
        outbox.enqueue(session, recipient_id=people[0], kind="later", text="x", not_before=NOW + timedelta(hours=1), now=NOW)
    other = Database(database_url)
    clock = Clock(NOW)
    try:
        stores = [_store(db, clock, "a"), _store(other, clock, "b")]
        claimed: list[list[int]] = [[], []]

        def drain(index: int) -> None:
            while True:
                batch, _ = stores[index].claim(limit=3)
                if not batch:
                    return
                claimed[index].extend(row.id for row in batch)
                for row in batch:
                    assert stores[index].finish(row.id, "sent")

        threads = [threading.Thread(target=drain, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        everything = claimed[0] + claimed[1]
        assert len(everything) == len(set(everything)) == 40
        assert not stores[1].finish(everything[0], "sent")  # only the claimer, and only once
        with db.read() as session:
            states = dict(session.execute(sa.select(OutboxMessage.kind, OutboxMessage.state).where(OutboxMessage.kind == "later")).all())
        assert states == {"later": "pending"}  # not due yet
    finally:
        other.dispose()


def test_one_persons_messages_go_out_in_order_one_at_a_time(db):
    (person,) = _people(db, 1)
    with db.transaction() as session:
        ids = [outbox.enqueue(session, recipient_id=person, kind="t", text=str(i), now=NOW).id for i in range(3)]
    clock = Clock(NOW)
    store = _store(db, clock, "a")
    first, _ = store.claim(limit=10)
    assert [row.id for row in first] == [ids[0]]
    assert store.claim(limit=10)[0] == []  # the first is in flight: the second waits
    store.finish(ids[0], "retry", retry_in=timedelta(seconds=30), attempts=1)
    assert store.claim(limit=10)[0] == []  # the first waits for its retry: the others still wait behind it
    clock.now += timedelta(seconds=31)
    assert [row.id for row in store.claim(limit=10)[0]] == [ids[0]]
    store.finish(ids[0], "sent")
    assert [row.id for row in store.claim(limit=10)[0]] == [ids[1]]


def test_per_chat_interval_spaces_one_persons_messages(db):
    (person,) = _people(db, 1)
    with db.transaction() as session:
        ids = [outbox.enqueue(session, recipient_id=person, kind="t", text=str(i), now=NOW).id for i in range(2)]
    clock = Clock(NOW)
    store = _store(db, clock, "a", per_chat_interval=timedelta(seconds=1))
    (row,), _ = store.claim(limit=10)
    store.finish(row.id, "sent")
    assert store.claim(limit=10)[0] == []
    clock.now += timedelta(milliseconds=1100)
    assert [r.id for r in store.claim(limit=10)[0]] == [ids[1]]


def test_the_shared_bucket_caps_every_instance_together(db, database_url):
    people = _people(db, 30)
    with db.transaction() as session:
        for person_id in people:
            outbox.enqueue(session, recipient_id=person_id, kind="t", text="x", now=NOW)
    other = Database(database_url)
    clock = Clock(NOW)
    try:
        a, b = (_store(x, clock, n, per_second=10.0, burst=10.0) for x, n in ((db, "a"), (other, "b")))
        first, _ = a.claim(limit=8)
        second, wait = b.claim(limit=8)
        assert len(first) + len(second) == 10 and wait == 0  # the burst, shared
        third, wait = b.claim(limit=8)
        assert third == [] and wait > 0
        clock.now += timedelta(seconds=0.5)  # 10/s: five more tokens
        assert len(a.claim(limit=8)[0]) == 5
        # replies sent meanwhile by an instance are drawn from the same budget
        clock.now += timedelta(seconds=1)
        assert len(b.claim(limit=20, reply_debt=7)[0]) == 3
    finally:
        other.dispose()


def test_a_429_pauses_every_instance(db):
    people = _people(db, 2)
    with db.transaction() as session:
        for person_id in people:
            outbox.enqueue(session, recipient_id=person_id, kind="t", text="x", now=NOW)
    clock = Clock(NOW)
    store = _store(db, clock, "a")
    store.pause_all(NOW + timedelta(seconds=5))
    rows, wait = store.claim(limit=10)
    assert rows == [] and 4.9 <= wait <= 5
    clock.now += timedelta(seconds=6)
    assert len(store.claim(limit=10)[0]) == 2


def test_a_stale_claim_follows_the_rows_rule(db):
    a, b = _people(db, 2)
    with db.transaction() as session:
        notification = outbox.enqueue(session, recipient_id=a, kind="n", text="x", now=NOW).id
        reminder = outbox.enqueue(session, recipient_id=b, kind="r", text="x", on_uncertain=outbox.DROP, now=NOW).id
    clock = Clock(NOW)
    dead_instance = _store(db, clock, "dead")
    assert len(dead_instance.claim(limit=10)[0]) == 2  # then the instance dies mid-send
    clock.now += timedelta(minutes=5)
    survivor = _store(db, clock, "alive")
    rows, _ = survivor.claim(limit=10)
    assert [row.id for row in rows] == [notification]  # resent: a missed notification is worse
    with db.read() as session:
        assert session.get(OutboxMessage, reminder).state == "unknown"  # not resent: may have arrived
    assert not dead_instance.finish(notification, "sent")


def test_an_instance_never_takes_its_own_slow_sends_for_stale_ones(db):
    (person,) = _people(db, 1)
    with db.transaction() as session:
        row_id = outbox.enqueue(session, recipient_id=person, kind="broadcast", text="x", now=NOW).id
    clock = Clock(NOW)
    store = _store(db, clock, "alive")
    assert [row.id for row in store.claim(limit=10)[0]] == [row_id]
    clock.now += timedelta(minutes=5)  # a very slow send: still this instance's, still in flight
    assert store.claim(limit=10)[0] == []  # not released and sent a second time
    assert store.finish_many([outbox.Outcome(row_id, "sent", message_id=7)]) == [True]
    with db.read() as session:
        row = session.get(OutboxMessage, row_id)
        assert (row.state, row.telegram_message_id, row.claimed_by) == ("sent", 7, None)


def test_expired_rows_are_not_sent_and_dedupe_keys_are_owed_once(db):
    (person,) = _people(db, 1)
    with db.transaction() as session:
        late = outbox.enqueue(
            session, recipient_id=person, kind="r", text="x", not_before=NOW - timedelta(hours=2),
            expires_at=NOW - timedelta(minutes=1), now=NOW,
        ).id
        assert outbox.enqueue(session, recipient_id=person, kind="d", text="x", dedupe_key="k", now=NOW) is not None
        assert outbox.enqueue(session, recipient_id=person, kind="d", text="y", dedupe_key="k", now=NOW) is None
    store = _store(db, Clock(NOW), "a")
    rows, _ = store.claim(limit=10)
    assert [row.kind for row in rows] == ["d"]
    with db.read() as session:
        assert session.get(OutboxMessage, late).state == "expired"


def test_retries_stop_at_the_cap_and_become_dead_letters(db):
    (person,) = _people(db, 1)
    with db.transaction() as session:
        row_id = outbox.enqueue(session, recipient_id=person, kind="t", text="x", now=NOW).id
    clock = Clock(NOW)
    store = OutboxStore(db, clock=clock, timer=clock, instance="a", rate=RateSettings(1000, 1000, timedelta(0)),
                        retry=outbox.RetryPolicy(max_attempts=3))
    for attempt in range(1, 4):
        (row,), _ = store.claim(limit=1)
        assert row.attempts == attempt
        store.finish(row.id, "retry", error="502", attempts=row.attempts)
        clock.now += timedelta(hours=1)
    assert store.claim(limit=1)[0] == []
    (letter,) = store.dead_letters()
    assert letter.id == row_id and letter.state == "dead" and letter.attempts == 3


def test_broadcast_groups_pause_resume_cancel_and_count(db):
    people = _people(db, 4)
    with db.transaction() as session:
        for person_id in people:
            outbox.enqueue(session, recipient_id=person_id, kind="b", text="x", group="broadcast:1",
                           priority=outbox.Priority.BROADCAST, now=NOW)
    store = _store(db, Clock(NOW), "a")
    (first,), _ = store.claim(limit=1)
    store.finish(first.id, "sent")
    with db.transaction() as session:
        assert outbox.pause_group(session, "broadcast:1") == 3
    assert store.claim(limit=10)[0] == []
    with db.transaction() as session:
        assert outbox.resume_group(session, "broadcast:1") == 3
    (second,), _ = store.claim(limit=1)
    store.finish(second.id, "blocked", error="403")
    with db.transaction() as session:
        assert outbox.cancel_group(session, "broadcast:1") == 2
        progress = outbox.group_progress(session, "broadcast:1")
    assert (progress.sent, progress.blocked, progress.cancelled, progress.pending, progress.total) == (1, 1, 2, 0, 4)
    assert progress.done


def test_parameters_keep_datetimes_dates_enums_and_views(db):
    from bot.domain.people import PersonView, Role

    (person,) = _people(db, 1)
    view = PersonView(id=person, role=Role.TUTOR, display_name="Tina", telegram_user_id=1)
    with db.transaction() as session:
        outbox.enqueue(
            session, recipient_id=person, kind="t", template="x.html",
            params={"when": NOW, "day": NOW.date(), "who": view, "left": timedelta(minutes=90)}, now=NOW,
        )
    (row,), _ = _store(db, Clock(NOW), "a").claim(limit=1)
    assert row.params["when"] == NOW and row.params["day"] == NOW.date()
    assert row.params["who"]["display_name"] == "Tina" and row.params["who"]["role"] == "tutor"
    assert row.params["who"]["is_staff"] is False  # properties come along
    assert row.params["left"] == timedelta(minutes=90)
