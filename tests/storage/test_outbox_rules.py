"""The outbox's rules one by one, on SQLite and PostgreSQL: what a row stores and what the sender gets
back, the claim order, the shared budget and its waits, leases, expiry, retries and their backoff,
dead letters, blocked recipients, cancellations, broadcast groups and the staff report."""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import UTC, date, datetime, timedelta
from enum import Enum

import pytest
import sqlalchemy as sa

from bot.domain.people import PersonView, Role
from bot.domain.permissions import PermissionDenied
from bot.services import outbox
from bot.services.outbox import Document, Outcome, OutboxStore, Priority, RateSettings, RetryPolicy
from bot.storage.db import Database
from bot.storage.models import OutboxMessage, Person
from tests.clock import Clock

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STAFF = PersonView(id=1, role=Role.STAFF, display_name="Sam", telegram_user_id=1)
TUTOR = PersonView(id=2, role=Role.TUTOR, display_name="Tina", telegram_user_id=2)


def _people(db: Database, count: int, *, bound: bool = True) -> list[int]:
    with db.transaction() as session:
        rows = [
            Person(role="auditeur", display_name=f"P{i}", telegram_user_id=(7000 + i) if bound else None)
            for i in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def _store(db: Database, clock: Clock, name: str = "a", *, retry: RetryPolicy = RetryPolicy(), **rate) -> OutboxStore:
    settings = RateSettings(**{"per_second": 1000.0, "burst": 1000.0, "per_chat_interval": timedelta(0), **rate})
    return OutboxStore(db, clock=clock, timer=clock, instance=name, rate=settings, retry=retry)


def _row(db: Database, row_id: int) -> OutboxMessage:
    with db.read() as session:
        return session.get(OutboxMessage, row_id)


def _set_state(db: Database, row_id: int, state: str, **values) -> None:
    with db.transaction() as session:
        session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == row_id).values(state=state, **values))


def _text(db: Database, person_id: int, kind: str = "t", **kwargs) -> int:
    kwargs.setdefault("now", NOW)
    with db.transaction() as session:
        return outbox.enqueue(session, recipient_id=person_id, kind=kind, text="x", **kwargs).id


def _texts(db: Database, people: list[int]) -> None:
    """One message to each person, in one transaction."""
    with db.transaction() as session:
        for person_id in people:
            outbox.enqueue(session, recipient_id=person_id, kind="t", text="x", now=NOW)


def _ids(rows) -> list[int]:
    return [row.id for row in rows]


# -- what is stored and handed to the sender -------------------------------------------------------


class Colour(Enum):
    RED = "red"


def test_a_claimed_row_carries_everything_that_was_enqueued(db):
    (person,) = _people(db, 1)
    keyboard = [[{"text": "Voir", "callback_data": "m:1"}]]
    with db.transaction() as session:
        row = outbox.enqueue(
            session, recipient_id=person, kind="meeting.booked", template="meeting/booked.html",
            params={"colour": Colour.RED, 3: "three", "tags": {"a"}, "pair": (1, 2), "flag": True, "none": None,
                    "ratio": 1.5, "nested": [{"at": NOW}], "look": {"$dt": "not a date", "other": 1},
                    "day": {"$date": "x", "other": 2}, "wait": {"$td": "x", "other": 3}},
            text="<b>hi</b>", keyboard=keyboard, priority=Priority.REMINDER, group="g1", subject=("meeting", 42),
            dedupe_key="booked:42", on_uncertain=outbox.DROP, options={"protect": True},
            expires_at=NOW + timedelta(hours=1), now=NOW - timedelta(minutes=3),
        )
        row_id = row.id
    stored = _row(db, row_id)
    assert (stored.channel, stored.chat_id, stored.recipient_key, stored.state, stored.attempts) == (
        "telegram", 7000, f"p{person}", "pending", 0,
    )
    assert stored.created_at == NOW - timedelta(minutes=3) and stored.next_attempt_at == outbox.IMMEDIATELY
    assert stored.dedupe_key == "booked:42" and stored.expires_at == NOW + timedelta(hours=1)

    (claimed,), wait = _store(db, Clock(NOW)).claim(limit=5)
    assert wait == 0.0
    assert claimed == outbox.Claimed(
        id=row_id, channel="telegram", recipient_id=person, chat_id=7000, email_to=None, kind="meeting.booked",
        template="meeting/booked.html",
        params={"colour": "red", "3": "three", "tags": ["a"], "pair": [1, 2], "flag": True, "none": None,
                "ratio": 1.5, "nested": [{"at": NOW}], "look": {"$dt": "not a date", "other": 1},
                "day": {"$date": "x", "other": 2}, "wait": {"$td": "x", "other": 3}},
        text="<b>hi</b>", subject_line=None, keyboard=keyboard, document=None, document_content=None,
        priority=2, attempts=1, on_uncertain="drop", options={"protect": True}, group="g1",
        subject_type="meeting", subject_id=42,
    )


def test_defaults_an_empty_keyboard_and_no_subject(db):
    (person,) = _people(db, 1)
    with db.transaction() as session:
        row_id = outbox.enqueue(session, recipient_id=person, kind="t", template="x.html", keyboard=[]).id
    stored = _row(db, row_id)
    assert stored.keyboard is None and stored.params == {} and stored.options == {}
    assert (stored.subject_type, stored.subject_id, stored.group_key, stored.dedupe_key) == (None, None, None, None)
    assert (stored.priority, stored.on_uncertain, stored.text) == (1, "resend", None)
    assert abs(stored.created_at - datetime.now(UTC)) < timedelta(minutes=1)  # no `now`: the current time


def test_a_document_is_stored_with_its_caption_and_content(db):
    (person,) = _people(db, 1)
    document = Document(
        filename="rdv.ics", content=b"BEGIN:VCALENDAR", file_id="F1", caption_template="cap.html",
        caption_params={"at": NOW}, caption_text="<i>cap</i>", builder="meeting_ics", builder_params={"day": NOW.date()},
    )
    with db.transaction() as session:
        outbox.enqueue(session, recipient_id=person, kind="ics", document=document, now=NOW)
    (claimed,), _ = _store(db, Clock(NOW)).claim(limit=1)
    assert claimed.document == {
        "filename": "rdv.ics", "file_id": "F1", "caption_template": "cap.html", "caption_params": {"at": NOW},
        "caption_text": "<i>cap</i>", "builder": "meeting_ics", "builder_params": {"day": NOW.date()},
    }
    assert claimed.document_content == b"BEGIN:VCALENDAR" and claimed.text is None and claimed.template is None


def test_a_message_needs_something_to_say_and_a_known_rule_for_uncertain_sends(db):
    (person,) = _people(db, 1)
    with db.transaction() as session:
        with pytest.raises(ValueError, match=r"^an outbox message needs a template, a text or a document$"):
            outbox.enqueue(session, recipient_id=person, kind="t")
        with pytest.raises(ValueError, match=r"^on_uncertain must be 'resend' or 'drop'$"):
            outbox.enqueue(session, recipient_id=person, kind="t", text="x", on_uncertain="maybe")
        with pytest.raises(ValueError, match=r"^an outbox message needs a template, a text or a document$"):
            outbox.enqueue_many(session, [(person, 7000)], kind="b")
        with pytest.raises(TypeError, match=r"^cannot store a object in an outbox message$"):
            outbox.enqueue(session, recipient_id=person, kind="t", text="x", params={"x": object()})
    assert _store(db, Clock(NOW)).counts() == {}


def test_a_person_not_on_telegram_yet_gets_a_row_without_chat(db):
    (person,) = _people(db, 1, bound=False)
    row_id = _text(db, person)
    assert _row(db, row_id).chat_id is None and _row(db, row_id).state == "pending"


def test_the_sender_is_woken_only_when_a_row_was_written(db):
    (person,) = _people(db, 1)
    woken: list[int] = []
    db.after_outbox_commit.append(lambda: woken.append(1))
    _text(db, person, dedupe_key="once")
    assert woken == [1]
    with db.transaction() as session:
        assert outbox.enqueue(session, recipient_id=person, kind="t", text="x", dedupe_key="once") is None
    assert woken == [1]  # owed once: nothing written, nobody woken
    with db.transaction() as session:
        assert outbox.enqueue_many(session, [], kind="b", text="x") == 0
    assert woken == [1]
    with db.transaction() as session:
        assert outbox.enqueue_many(session, [(person, 7000)], kind="b", text="x") == 1
    assert woken == [1, 1]
    with db.transaction() as session:
        outbox.enqueue_email(session, to="a@b.fr", kind="mail", text="x")
    assert woken == [1, 1, 1]


def test_instance_names_are_unique_and_say_where_they_run():
    first, second = outbox.instance_name(), outbox.instance_name()
    assert first != second
    host, pid, suffix = first.split(":")
    assert host == socket.gethostname()[:40] and pid == str(os.getpid()) and len(suffix) == 8


def test_a_dedupe_key_taken_meanwhile_by_another_instance_leaves_the_callers_change_intact(db, monkeypatch):
    (person,) = _people(db, 1)
    _text(db, person, dedupe_key="k")  # committed by another instance...
    looked: list = []
    with db.transaction() as session:
        real = session.scalar

        def scalar(statement, *args, **kwargs):  # ...just after this transaction looked for the key
            if not looked and "dedupe_key" in str(statement):
                looked.append(statement)
                return None
            return real(statement, *args, **kwargs)

        monkeypatch.setattr(session, "scalar", scalar)
        assert outbox.enqueue(session, recipient_id=person, kind="t", text="y", dedupe_key="k") is None
        session.get(Person, person).display_name = "Léa"  # the change the message was about
    assert looked
    with db.read() as session:
        assert session.get(Person, person).display_name == "Léa"  # committed all the same
        assert session.scalars(sa.select(OutboxMessage.text)).all() == ["x"]  # the message is owed once


# -- broadcasts and e-mails -------------------------------------------------------------------------


def test_a_broadcast_writes_every_row_and_records_the_unreachable_as_blocked(db):
    people = _people(db, 4)
    recipients = [(people[0], 7000), (people[1], 7001), (people[2], None), (people[3], 7003)]
    with db.transaction() as session:
        assert outbox.enqueue_many(session, recipients, kind="broadcast", blocked=[people[1]], text="Bonjour",
                                   group="broadcast:9", now=NOW) == 4
    with db.read() as session:
        rows = {r.recipient_id: r for r in session.scalars(sa.select(OutboxMessage))}
    assert {p: (r.state, r.last_error) for p, r in rows.items()} == {
        people[0]: ("pending", None),
        people[1]: ("blocked", "has blocked the bot"),
        people[2]: ("blocked", "not on Telegram"),
        people[3]: ("pending", None),
    }
    first = rows[people[0]]
    assert (first.priority, first.on_uncertain, first.group_key, first.chat_id, first.recipient_key) == (
        3, "drop", "broadcast:9", 7000, f"p{people[0]}",
    )
    clock = Clock(NOW)
    store = _store(db, clock, burst=2.0)  # the blocked take nothing from the budget
    assert sorted(r.recipient_id for r in store.claim(limit=10)[0]) == [people[0], people[3]]
    clock.now += timedelta(hours=1)
    assert store.claim(limit=10)[0] == []  # and are never sent to


def test_a_broadcast_stores_its_content_for_everyone(db):
    people = _people(db, 3)
    document = Document(filename="planning.pdf", content=b"%PDF", caption_params={"day": NOW.date()})
    with db.transaction() as session:
        outbox.enqueue_many(session, [(people[0], 7000)], kind="b1", template="broadcast.html",
                            params={"at": NOW}, not_before=NOW + timedelta(hours=1), options={"paid": True},
                            on_uncertain=outbox.RESEND, priority=Priority.NOTIFICATION, now=NOW - timedelta(days=1))
        outbox.enqueue_many(session, [(people[1], 7001)], kind="b2", document=document, now=NOW)
        outbox.enqueue_many(session, [(people[2], 7002)], kind="b3", text="Bonjour")
    with db.read() as session:
        rows = {r.kind: r for r in session.scalars(sa.select(OutboxMessage))}
    first = rows["b1"]
    assert (first.channel, first.template, first.params, first.next_attempt_at, first.options) == (
        "telegram", "broadcast.html", {"at": {"$dt": NOW.isoformat()}}, NOW + timedelta(hours=1), {"paid": True},
    )
    assert (first.on_uncertain, first.priority, first.created_at, first.expires_at, first.dedupe_key) == (
        "resend", 1, NOW - timedelta(days=1), None, None,
    )
    second = rows["b2"]
    assert second.document["filename"] == "planning.pdf" and second.document_content == b"%PDF"
    assert second.document["caption_params"] == {"day": {"$date": NOW.date().isoformat()}}
    assert (second.options, second.params, second.next_attempt_at) == ({}, {}, outbox.IMMEDIATELY)
    assert abs(rows["b3"].created_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_a_large_broadcast_is_written_in_batches_without_losing_or_doubling_rows(db):
    (person,) = _people(db, 1)
    recipients = [(person, 7000)] * 1001
    with db.transaction() as session:
        assert outbox.enqueue_many(session, recipients, kind="broadcast", text="x", now=NOW) == 1001
    assert _store(db, Clock(NOW)).counts() == {"pending": 1001}


def test_an_email_is_keyed_by_its_address_and_not_paced_like_telegram(db):
    (person,) = _people(db, 1)
    with db.transaction() as session:
        first = outbox.enqueue_email(session, to="  Lea@Exemple.FR ", subject_line="Rendez-vous", kind="mail",
                                     text="corps", recipient_id=person, subject=("meeting", 3), now=NOW).id
        second = outbox.enqueue_email(session, to="lea@exemple.fr", kind="mail", template="mail.txt", params={"n": 2},
                                      priority=Priority.REMINDER, not_before=NOW - timedelta(seconds=1), group="g",
                                      dedupe_key="mail:2", now=NOW - timedelta(hours=1)).id
    later = _row(db, second)
    assert (later.template, later.params, later.priority, later.next_attempt_at, later.group_key, later.dedupe_key) == (
        "mail.txt", {"n": 2}, 2, NOW - timedelta(seconds=1), "g", "mail:2",
    )
    assert (later.created_at, later.subject_line, later.recipient_id, later.kind) == (NOW - timedelta(hours=1), None, None, "mail")
    stored = _row(db, first)
    assert (stored.channel, stored.email_to, stored.recipient_key, stored.on_uncertain, stored.chat_id) == (
        "email", "Lea@Exemple.FR", "e:lea@exemple.fr", "resend", None,
    )
    clock = Clock(NOW)
    store = _store(db, clock, per_chat_interval=timedelta(minutes=5))
    (claimed,), _ = store.claim(limit=10)  # one address, one at a time
    assert (claimed.id, claimed.email_to, claimed.subject_line, claimed.recipient_id) == (
        first, "Lea@Exemple.FR", "Rendez-vous", person,
    )
    assert (claimed.subject_type, claimed.subject_id, claimed.text) == ("meeting", 3, "corps")
    store.finish(first, "sent")
    assert _ids(store.claim(limit=10)[0]) == [second]  # at once: the per-chat interval is Telegram's


def test_dedupe_keys_hold_across_transactions_and_channels(db):
    (person,) = _people(db, 1)
    _text(db, person, dedupe_key="k")
    with db.transaction() as session:
        assert outbox.enqueue(session, recipient_id=person, kind="t", text="y", dedupe_key="k") is None
        assert outbox.enqueue_email(session, to="a@b.fr", kind="mail", text="y", dedupe_key="k") is None
        assert outbox.enqueue(session, recipient_id=person, kind="t", text="y", dedupe_key="other") is not None
    assert _store(db, Clock(NOW)).counts() == {"pending": 2}


# -- claim order and the budget -------------------------------------------------------------------


def test_lower_priority_first_then_the_earliest_due_then_the_oldest(db):
    people = _people(db, 5)
    broadcast = _text(db, people[0], priority=Priority.BROADCAST)
    reminder = _text(db, people[1], priority=Priority.REMINDER)
    late_due = _text(db, people[2], not_before=NOW - timedelta(minutes=1))
    early_due = _text(db, people[3], not_before=NOW - timedelta(minutes=5))
    immediate = _text(db, people[4])
    store = _store(db, Clock(NOW))
    assert _ids(store.claim(limit=10)[0]) == [immediate, early_due, late_due, reminder, broadcast]


def test_a_small_budget_takes_the_most_urgent_rows(db):
    people = _people(db, 3)
    broadcast = _text(db, people[0], priority=Priority.BROADCAST)
    first = _text(db, people[1])
    second = _text(db, people[2])
    store = _store(db, Clock(NOW))
    assert _ids(store.claim(limit=2)[0]) == [first, second]
    assert _ids(store.claim(limit=2)[0]) == [broadcast]


def test_rows_not_due_yet_or_held_back_wait(db):
    people = _people(db, 2)
    later = _text(db, people[0], not_before=NOW + timedelta(seconds=10))
    held = _text(db, people[1])
    _set_state(db, held, "retrying", hold_until=NOW + timedelta(seconds=5))
    clock = Clock(NOW)
    store = _store(db, clock)
    assert store.claim(limit=10)[0] == []
    clock.now = NOW + timedelta(seconds=5)  # the hold ends at its time
    assert _ids(store.claim(limit=10)[0]) == [held]
    clock.now = NOW + timedelta(seconds=10)  # due at its time
    assert _ids(store.claim(limit=10)[0]) == [later]


def test_a_claim_records_who_took_the_row_when_and_counts_the_attempt(db):
    (person,) = _people(db, 1)
    row_id = _text(db, person)
    clock = Clock(NOW + timedelta(seconds=3))
    (claimed,), _ = _store(db, clock, "worker-1").claim(limit=1)
    stored = _row(db, row_id)
    assert (stored.state, stored.claimed_by, stored.claimed_at, stored.attempts, claimed.attempts) == (
        "sending", "worker-1", NOW + timedelta(seconds=3), 1, 1,
    )


def test_the_bucket_starts_full_refills_at_its_rate_and_never_beyond_its_burst(db):
    people = _people(db, 14)
    _texts(db, people)
    clock = Clock(NOW)
    store = _store(db, clock, per_second=10.0, burst=5.0)
    assert len(store.claim(limit=50)[0]) == 5  # full at first
    clock.now += timedelta(minutes=10)  # idle for long: still no more than the burst
    assert len(store.claim(limit=50)[0]) == 5
    clock.now += timedelta(seconds=0.3)  # 10/s: three tokens
    assert len(store.claim(limit=50)[0]) == 3


def test_tokens_not_used_are_given_back(db):
    people = _people(db, 10)
    _texts(db, people[:2])
    clock = Clock(NOW)
    store = _store(db, clock, per_second=0.001, burst=10.0)
    assert len(store.claim(limit=10)[0]) == 2
    _texts(db, people[2:])
    rows, wait = store.claim(limit=10)
    assert len(rows) == 8 and wait == 0.0  # the eight tokens the first claim did not use


def test_an_empty_bucket_says_how_long_until_a_batch_is_worth_claiming(db):
    people = _people(db, 20)
    _texts(db, people)
    clock = Clock(NOW)
    store = _store(db, clock, per_second=10.0, burst=10.0, batch_seconds=0.2)  # a batch: two tokens
    assert len(store.claim(limit=10)[0]) == 10
    rows, wait = store.claim(limit=10)
    assert rows == [] and wait == pytest.approx(0.2)  # two tokens at 10/s
    clock.now += timedelta(seconds=0.1)
    rows, wait = store.claim(limit=10)
    assert rows == [] and wait == pytest.approx(0.1)  # one token there, one to come
    clock.now += timedelta(seconds=0.0999)
    rows, wait = store.claim(limit=10)
    assert rows == [] and wait == 0.01  # almost there: a short floor, not a busy loop
    clock.now += timedelta(seconds=0.0011)
    assert len(store.claim(limit=10)[0]) == 2
    clock.now += timedelta(seconds=0.1)  # one token: a claim of one row is not held back for a batch
    assert len(store.claim(limit=1)[0]) == 1


def test_a_batch_is_never_larger_than_the_burst(db):
    people = _people(db, 5)
    _texts(db, people)
    clock = Clock(NOW)
    store = _store(db, clock, per_second=100.0, burst=2.0, batch_seconds=1.0)  # 100 tokens' worth, burst 2
    assert len(store.claim(limit=10)[0]) == 2
    clock.now += timedelta(seconds=1)
    assert len(store.claim(limit=10)[0]) == 2


def test_a_clock_behind_another_instances_neither_refills_nor_rewinds_the_bucket(db):
    people = _people(db, 8)
    _texts(db, people)
    ahead, behind = Clock(NOW + timedelta(seconds=10)), Clock(NOW)
    a = _store(db, ahead, "a", per_second=1.0, burst=5.0)
    b = _store(db, behind, "b", per_second=1.0, burst=5.0)
    assert len(a.claim(limit=10)[0]) == 5  # the bucket is refilled at a's time
    rows, wait = b.claim(limit=10)
    assert rows == [] and wait == pytest.approx(1.0)  # no tokens from b's earlier time
    assert a.claim(limit=10)[0] == []  # and a's refill time is not set back to b's


def test_a_429_pause_is_exact_and_only_ever_extended(db):
    people = _people(db, 12)
    _texts(db, people)
    clock = Clock(NOW)
    store = _store(db, clock, per_second=2.0, burst=100.0)
    store.pause_all(NOW + timedelta(seconds=5))  # no bucket yet: one is made, empty
    store.pause_all(NOW + timedelta(seconds=2))  # an earlier end does not shorten it
    clock.now = NOW + timedelta(seconds=3)
    rows, wait = store.claim(limit=50)
    assert rows == [] and wait == pytest.approx(2.0)
    clock.now = NOW + timedelta(seconds=5)  # over at its time, with the tokens earned since it began
    assert len(store.claim(limit=60)[0]) == 10


def test_a_429_empties_the_bucket(db):
    people = _people(db, 12)
    _texts(db, people)
    clock = Clock(NOW)
    store = _store(db, clock, per_second=2.0, burst=20.0)
    assert len(store.claim(limit=4)[0]) == 4  # 16 tokens left
    store.pause_all(NOW + timedelta(seconds=1))
    clock.now = NOW + timedelta(seconds=1)
    assert len(store.claim(limit=50)[0]) == 2  # one second's worth, not the 16 left before


def test_a_429_while_the_bucket_is_in_debt_keeps_the_debt(db):
    people = _people(db, 8)
    _texts(db, people)
    clock = Clock(NOW)
    store = _store(db, clock, per_second=2.0, burst=10.0)
    assert store.claim(limit=10, reply_debt=14)[0] == []  # replies overdrew the bucket: -4
    store.pause_all(NOW + timedelta(seconds=1))
    clock.now = NOW + timedelta(seconds=4)
    assert len(store.claim(limit=50)[0]) == 4  # 8 tokens in 4 s, less the 4 owed


# -- one person at a time -------------------------------------------------------------------------


def test_one_row_per_person_per_claim_and_no_more_than_the_limit(db):
    people = _people(db, 4)
    first_a = _text(db, people[0])
    _text(db, people[0])
    first_b = _text(db, people[1])
    _text(db, people[2])
    _text(db, people[3])
    store = _store(db, Clock(NOW))
    assert _ids(store.claim(limit=2)[0]) == [first_a, first_b]


def test_a_person_with_a_message_in_flight_holds_back_only_their_own(db):
    people = _people(db, 2)
    _text(db, people[0])
    store = _store(db, Clock(NOW))
    store.claim(limit=10)  # in flight
    _text(db, people[0])
    other = _text(db, people[1])
    assert _ids(store.claim(limit=10)[0]) == [other]


def test_a_backlog_for_one_person_does_not_hold_back_the_others(db):
    people = _people(db, 2)
    with db.transaction() as session:
        for _ in range(20):
            outbox.enqueue(session, recipient_id=people[0], kind="t", text="x", now=NOW)
        other = outbox.enqueue(session, recipient_id=people[1], kind="t", text="x", now=NOW).id
    store = _store(db, Clock(NOW))
    rows, _ = store.claim(limit=11)
    assert len(rows) == 2 and rows[1].id == other


def test_the_earliest_of_a_persons_rows_waiting_for_a_retry_goes_first(db):
    (person,) = _people(db, 1)
    ids = [_text(db, person) for _ in range(3)]
    _set_state(db, ids[0], "retrying")  # two rows waiting for a retry (left by an instance that stopped)
    _set_state(db, ids[1], "retrying")
    store = _store(db, Clock(NOW))
    assert _ids(store.claim(limit=10)[0]) == [ids[0]]
    store.finish(ids[0], "sent")
    assert _ids(store.claim(limit=10)[0]) == [ids[1]]


def test_the_per_chat_interval_ends_exactly_on_time(db):
    (person,) = _people(db, 1)
    ids = [_text(db, person) for _ in range(2)]
    clock = Clock(NOW)
    store = _store(db, clock, per_chat_interval=timedelta(seconds=1))
    store.claim(limit=10)
    store.finish(ids[0], "sent")
    clock.now = NOW + timedelta(milliseconds=999)
    assert store.claim(limit=10)[0] == []
    clock.now = NOW + timedelta(seconds=1)
    assert _ids(store.claim(limit=10)[0]) == [ids[1]]


def test_the_per_chat_interval_concerns_only_that_person(db):
    people = _people(db, 2)
    a = _text(db, people[0])
    a2 = _text(db, people[0])
    b = _text(db, people[1])
    clock = Clock(NOW)
    store = _store(db, clock, per_chat_interval=timedelta(seconds=1))
    assert _ids(store.claim(limit=1)[0]) == [a]
    store.finish(a, "sent")
    assert _ids(store.claim(limit=10)[0]) == [b]  # a's next one waits, b's does not
    clock.now += timedelta(seconds=1)
    assert _ids(store.claim(limit=10)[0]) == [a2]


def test_a_failed_row_does_not_space_the_next_ones(db):
    (person,) = _people(db, 1)
    ids = [_text(db, person) for _ in range(2)]
    store = _store(db, Clock(NOW), per_chat_interval=timedelta(seconds=1))
    store.claim(limit=10)
    store.finish(ids[0], "dead", error="400 chat not found")
    assert _ids(store.claim(limit=10)[0]) == [ids[1]]


class _AnnouncedTransactions:
    """The store's database, telling the test when a claim asks for its transaction (and its lock)."""

    def __init__(self, db: Database, asked: threading.Event) -> None:
        self._db, self._asked = db, asked

    def __getattr__(self, name):
        return getattr(self._db, name)

    def transaction(self, **kwargs):
        self._asked.set()
        return self._db.transaction(**kwargs)


def test_a_claim_that_waited_for_the_lock_judges_what_is_due_by_the_time_it_got_it(db):
    """Another instance holds the claim lock (SQLite's write lock, PostgreSQL's advisory lock)
    while time passes and a row falls due: the waiting claim takes it, and the clock it reads is
    the one of the moment it holds the lock, never the one of the moment it asked."""
    (person,) = _people(db, 1)
    clock, asked = Clock(NOW), threading.Event()
    store = OutboxStore(_AnnouncedTransactions(db, asked), clock=clock, timer=clock, instance="a",
                        rate=RateSettings(per_second=1000.0, burst=1000.0, per_chat_interval=timedelta(0)))
    claimed: list = []
    with db.transaction() as session:
        if db.dialect == "postgresql":
            session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": outbox._CLAIM_LOCK_KEY})
        waiting = threading.Thread(target=lambda: claimed.extend(store.claim(limit=10)[0]))
        waiting.start()
        assert asked.wait(5)
        time.sleep(0.2)  # the claim is now queued on the lock
        clock.now = NOW + timedelta(minutes=1)
        due_meanwhile = outbox.enqueue(session, recipient_id=person, kind="t", text="x", now=NOW,
                                       not_before=NOW + timedelta(seconds=30)).id
    waiting.join(10)
    assert _ids(claimed) == [due_meanwhile]
    assert _row(db, due_meanwhile).claimed_at == NOW + timedelta(minutes=1)


# -- leases: claims abandoned by a stopped instance ---------------------------------------------------


def test_a_claim_is_released_only_once_its_lease_has_run_out(db, caplog):
    people = _people(db, 2)
    notification = _text(db, people[0])
    reminder = _text(db, people[1], on_uncertain=outbox.DROP, kind="reminder")
    clock = Clock(NOW)
    _store(db, clock, "dead").claim(limit=10)
    survivor = _store(db, clock, "alive", retry=RetryPolicy(stale_after=timedelta(minutes=2)))
    clock.now = NOW + timedelta(minutes=2)
    assert survivor.claim(limit=10)[0] == []  # exactly two minutes: still the other instance's
    assert (_row(db, notification).state, _row(db, reminder).state) == ("sending", "sending")
    clock.now = NOW + timedelta(minutes=2, microseconds=1)
    with caplog.at_level("WARNING", logger="bot.services.outbox"):
        (again,), _ = survivor.claim(limit=10)
    assert sorted(r.getMessage() for r in caplog.records) == sorted([
        f"outbox {notification} (t): claim by dead went stale", f"outbox {reminder} (reminder): claim by dead went stale",
    ])
    assert again.id == notification and again.attempts == 2
    assert _row(db, notification).claimed_by == "alive"
    dropped = _row(db, reminder)
    assert (dropped.state, dropped.claimed_by) == ("unknown", None)
    (letter,) = survivor.dead_letters()
    assert (letter.id, letter.state, letter.kind) == (reminder, "unknown", "reminder")
    assert letter.last_error == "instance stopped while sending: may have been delivered"


def test_a_released_notification_is_resent_at_once_even_after_a_backoff(db):
    (person,) = _people(db, 1)
    row_id = _text(db, person)
    clock = Clock(NOW)
    dead = _store(db, clock, "dead")
    dead.claim(limit=1)
    dead.finish(row_id, "retry", retry_in=timedelta(seconds=30), attempts=1)
    clock.now = NOW + timedelta(seconds=30)
    dead.claim(limit=1)  # claimed again, then the instance stops
    clock.now = NOW + timedelta(minutes=10)
    assert _ids(_store(db, clock, "alive").claim(limit=1)[0]) == [row_id]


# -- expiry -----------------------------------------------------------------------------------------


def test_a_row_expires_at_its_time_once_due(db):
    people = _people(db, 4)
    at_time = _text(db, people[0], expires_at=NOW)
    still_useful = _text(db, people[1], expires_at=NOW + timedelta(seconds=1))
    not_due = _text(db, people[2], not_before=NOW + timedelta(hours=1), expires_at=NOW - timedelta(minutes=1))
    due_and_over = _text(db, people[0], not_before=NOW, expires_at=NOW)
    forever = _text(db, people[3])
    store = _store(db, Clock(NOW))
    assert sorted(_ids(store.claim(limit=10)[0])) == sorted([still_useful, forever])
    expired = _row(db, at_time)
    assert (expired.state, expired.last_error) == ("expired", "too late to be useful")
    assert _row(db, not_due).state == "pending"  # looked at when it comes due
    assert _row(db, due_and_over).state == "expired"  # due this very moment, and over this very moment


def test_only_waiting_rows_expire(db):
    people = _people(db, 3)
    sent = _text(db, people[0], expires_at=NOW + timedelta(minutes=1))
    in_flight = _text(db, people[1], expires_at=NOW + timedelta(minutes=1))
    paused = _text(db, people[2], expires_at=NOW + timedelta(minutes=1), group="g")
    clock = Clock(NOW)
    store = _store(db, clock)
    store.claim(limit=10)
    store.finish(sent, "sent")
    _set_state(db, paused, "paused", claimed_by=None)  # a broadcast paused by staff
    clock.now = NOW + timedelta(hours=1)
    store.claim(limit=10)
    assert [_row(db, i).state for i in (sent, in_flight, paused)] == ["sent", "sending", "paused"]
    assert store.finish(in_flight, "sent")  # a slow send still records its outcome


# -- finishing: sent, retries and their backoff, permanent failures -----------------------------------


def test_a_sent_row_records_when_and_its_message_and_clears_the_error(db):
    (person,) = _people(db, 1)
    row_id = _text(db, person)
    clock = Clock(NOW)
    store = _store(db, clock)
    store.claim(limit=1)
    store.finish(row_id, "retry", error="502 Bad Gateway", retry_in=timedelta(0), attempts=1)
    assert _row(db, row_id).last_error == "502 Bad Gateway"
    clock.now = NOW + timedelta(seconds=1)
    store.claim(limit=1)
    assert store.finish(row_id, "sent", error="ignored", message_id=99)
    stored = _row(db, row_id)
    assert (stored.state, stored.sent_at, stored.telegram_message_id, stored.last_error, stored.claimed_by) == (
        "sent", NOW + timedelta(seconds=1), 99, None, None,
    )


def test_retry_delays_double_from_the_base_up_to_the_cap():
    policy = RetryPolicy(base_delay=timedelta(seconds=2), max_delay=timedelta(seconds=30))
    assert [policy.delay(n) for n in (0, 1, 2, 3, 4, 5)] == [timedelta(seconds=s) for s in (2, 2, 4, 8, 16, 30)]
    defaults = RetryPolicy()
    assert (defaults.max_attempts, defaults.base_delay, defaults.max_delay, defaults.stale_after) == (
        8, timedelta(seconds=2), timedelta(minutes=10), timedelta(minutes=2),
    )
    assert defaults.delay(20) == timedelta(minutes=10)


@pytest.mark.parametrize(("attempts", "delay"), [(None, 2), (1, 2), (2, 4), (3, 8)])
def test_a_temporary_failure_is_held_back_by_the_backoff(db, attempts, delay):
    (person,) = _people(db, 1)
    row_id = _text(db, person)
    clock = Clock(NOW)
    store = _store(db, clock)
    store.claim(limit=1)
    assert store.finish(row_id, "retry", error="timeout", attempts=attempts)
    stored = _row(db, row_id)
    assert (stored.state, stored.hold_until, stored.claimed_by) == ("retrying", NOW + timedelta(seconds=delay), None)
    clock.now = NOW + timedelta(seconds=delay) - timedelta(milliseconds=1)
    assert store.claim(limit=1)[0] == []
    clock.now = NOW + timedelta(seconds=delay)
    assert _ids(store.claim(limit=1)[0]) == [row_id]


def test_a_retry_after_given_by_telegram_wins_over_the_backoff(db):
    (person,) = _people(db, 1)
    row_id = _text(db, person)
    store = _store(db, Clock(NOW))
    store.claim(limit=1)
    store.finish(row_id, "retry", retry_in=timedelta(seconds=45), attempts=3)
    assert _row(db, row_id).hold_until == NOW + timedelta(seconds=45)


def test_the_last_allowed_attempt_is_retried_and_the_next_is_a_dead_letter(db, caplog):
    people = _people(db, 2)
    retried, given_up = _text(db, people[0]), _text(db, people[1])
    store = _store(db, Clock(NOW), retry=RetryPolicy(max_attempts=3))
    store.claim(limit=10)
    with caplog.at_level("ERROR", logger="bot.services.outbox"):
        assert store.finish_many(
            [Outcome(retried, "retry", "502", attempts=2), Outcome(given_up, "retry", "502", attempts=3)]
        ) == [True, True]
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", f"outbox {given_up}: giving up after 3 attempts"),
    ]
    assert _row(db, retried).state == "retrying"
    dead = _row(db, given_up)
    assert (dead.state, dead.last_error, dead.claimed_by) == ("dead", "502", None)


def test_a_permanent_failure_is_recorded_as_given(db):
    people = _people(db, 2)
    dead_id, blocked_id = _text(db, people[0]), _text(db, people[1])
    store = _store(db, Clock(NOW))
    store.claim(limit=10)
    store.finish(dead_id, "dead", error="x" * 600)
    store.finish(blocked_id, "blocked", error="")
    dead = _row(db, dead_id)
    assert (dead.state, dead.last_error, dead.hold_until) == ("dead", "x" * 500, None)  # the error, shortened
    blocked = _row(db, blocked_id)
    assert (blocked.state, blocked.last_error) == ("blocked", None)
    assert store.claim(limit=10)[0] == []


def test_only_the_claiming_instance_finishes_a_row_and_only_once(db):
    people = _people(db, 2)
    claimed, waiting = _text(db, people[0]), _text(db, people[1], not_before=NOW + timedelta(hours=1))
    clock = Clock(NOW)
    mine, other = _store(db, clock, "mine"), _store(db, clock, "other")
    mine.claim(limit=10)
    assert other.finish_many([Outcome(claimed, "sent")]) == [False]
    assert _row(db, claimed).state == "sending"
    assert mine.finish_many([Outcome(claimed, "sent", message_id=5), Outcome(waiting, "sent")]) == [True, False]
    assert not mine.finish(claimed, "dead")
    assert (_row(db, claimed).state, _row(db, waiting).state) == ("sent", "pending")


# -- cancelling ------------------------------------------------------------------------------------


def _rows_in_every_open_state(db, person: int, **kwargs) -> dict[str, int]:
    rows = {}
    for state in ("pending", "retrying", "paused", "sending", "sent", "dead"):
        rows[state] = _text(db, person, **kwargs)
        if state != "pending":
            _set_state(db, rows[state], state)
    return rows


def test_cancelling_a_subject_cancels_only_its_unsent_rows(db):
    people = _people(db, 2)
    rows = _rows_in_every_open_state(db, people[0], kind="reminder", subject=("meeting", 1))
    notice = _text(db, people[0], kind="notice", subject=("meeting", 1))
    other_meeting = _text(db, people[0], kind="reminder", subject=("meeting", 2))
    other_type = _text(db, people[1], kind="reminder", subject=("deadline", 1))
    with db.transaction() as session:
        assert outbox.cancel_subject(session, "meeting", 1, kinds=["reminder"]) == 3
    states = {state: _row(db, row_id).state for state, row_id in rows.items()}
    assert states == {"pending": "cancelled", "retrying": "cancelled", "paused": "cancelled",
                      "sending": "sending", "sent": "sent", "dead": "dead"}
    assert _row(db, rows["pending"]).last_error == "no longer applies"
    assert [_row(db, i).state for i in (notice, other_meeting, other_type)] == ["pending"] * 3
    with db.transaction() as session:
        assert outbox.cancel_subject(session, "meeting", 1) == 1  # every kind: the notice too
    assert _row(db, notice).state == "cancelled"
    assert _store(db, Clock(NOW)).rows(subject=("meeting", 2)) == [("reminder", people[0], "pending")]


def test_erasing_a_person_cancels_what_is_not_yet_sent_to_them(db):
    people = _people(db, 2)
    rows = _rows_in_every_open_state(db, people[0])
    someone_else = _text(db, people[1])
    with db.transaction() as session:
        assert outbox.cancel_for_recipient(session, people[0]) == 3
    assert {s: _row(db, i).state for s, i in rows.items()} == {
        "pending": "cancelled", "retrying": "cancelled", "paused": "cancelled",
        "sending": "sending", "sent": "sent", "dead": "dead",
    }
    assert _row(db, rows["retrying"]).last_error == "recipient erased"
    assert _row(db, someone_else).state == "pending"


# -- broadcast groups -------------------------------------------------------------------------------


def test_group_progress_counts_every_state(db):
    people = _people(db, 1)
    states = ["sent", "dead", "unknown", "blocked", "pending", "sending", "retrying", "paused",
              "cancelled", "expired", "skipped"]
    for state in states:
        row_id = _text(db, people[0], group="g")
        if state != "pending":
            _set_state(db, row_id, state)
    _text(db, people[0], group="other")
    with db.read() as session:
        progress = outbox.group_progress(session, "g")
        other = outbox.group_progress(session, "other")
        finished = outbox.group_progress(session, "none")
    assert progress == outbox.Progress(sent=1, failed=2, blocked=1, pending=4, cancelled=3, total=11)
    assert not progress.done and not other.done
    assert other == outbox.Progress(pending=1, total=1)
    assert finished.done and finished == outbox.Progress(sent=0, failed=0, blocked=0, pending=0, cancelled=0, total=0)


def test_pausing_resuming_and_cancelling_a_group_touch_only_its_waiting_rows(db):
    people = _people(db, 1)
    rows = _rows_in_every_open_state(db, people[0], group="g")
    outside = _text(db, people[0], group="h")
    paused_outside = _text(db, people[0], group="h")
    _set_state(db, paused_outside, "paused")
    with db.transaction() as session:
        assert outbox.pause_group(session, "g") == 2  # pending and retrying
    assert {s: _row(db, i).state for s, i in rows.items()} == {
        "pending": "paused", "retrying": "paused", "paused": "paused",
        "sending": "sending", "sent": "sent", "dead": "dead",
    }
    with db.transaction() as session:
        assert outbox.resume_group(session, "g") == 3
    assert [_row(db, rows[s]).state for s in ("pending", "retrying", "paused", "sending")] == ["pending"] * 3 + ["sending"]
    _set_state(db, rows["retrying"], "retrying")
    _set_state(db, rows["paused"], "paused")
    with db.transaction() as session:
        assert outbox.cancel_group(session, "g") == 3
    assert {s: _row(db, i).state for s, i in rows.items()} == {
        "pending": "cancelled", "retrying": "cancelled", "paused": "cancelled",
        "sending": "sending", "sent": "sent", "dead": "dead",
    }
    assert _row(db, rows["paused"]).last_error == "cancelled by staff"
    assert _row(db, outside).state == "pending" and _row(db, paused_outside).state == "paused"


# -- for staff ----------------------------------------------------------------------------------------


def test_dead_letters_newest_first_within_the_limit(db):
    (person,) = _people(db, 1)
    ids = {}
    for kind, state in (("a", "dead"), ("b", "unknown"), ("c", "blocked"), ("d", "dead"), ("e", "sent")):
        ids[kind] = _text(db, person, kind=kind, now=NOW - timedelta(hours=1))
        _set_state(db, ids[kind], state, attempts=4, last_error=f"err {kind}")
    store = _store(db, Clock(NOW))
    letters = store.dead_letters()
    assert [(d.kind, d.state) for d in letters] == [("d", "dead"), ("b", "unknown"), ("a", "dead")]
    assert letters[0] == outbox.DeadLetter(ids["d"], "d", person, "telegram", "dead", 4, "err d", NOW - timedelta(hours=1))
    assert [d.kind for d in store.dead_letters(limit=2)] == ["d", "b"]


def test_the_delivery_report_is_for_staff_only(db):
    (person,) = _people(db, 1)
    for state in ("pending", "sending", "retrying", "paused", "sent", "dead", "unknown"):
        row_id = _text(db, person, kind=state)
        _set_state(db, row_id, state)
    store = _store(db, Clock(NOW))
    with pytest.raises(PermissionDenied, match="may not see deliveries"):
        store.report(TUTOR)
    with pytest.raises(PermissionDenied):
        store.report(None)
    report = store.report(STAFF)
    assert report.counts == {s: 1 for s in ("pending", "sending", "retrying", "paused", "sent", "dead", "unknown")}
    assert report.waiting == 4
    assert [d.kind for d in report.dead] == ["unknown", "dead"]
    assert [d.kind for d in store.report(STAFF, limit=1).dead] == ["unknown"]
    assert outbox.DeliveryReport(counts={"sent": 3}, dead=[]).waiting == 0


def test_counts_and_rows_by_kind_and_subject(db):
    people = _people(db, 2)
    _text(db, people[0], kind="reminder", subject=("meeting", 1))
    sent = _text(db, people[1], kind="reminder", subject=("meeting", 2))
    _text(db, people[1], kind="notice", subject=("meeting", 1))
    _text(db, people[0], kind="deadline", subject=("deadline", 1))
    _set_state(db, sent, "sent")
    store = _store(db, Clock(NOW))
    assert store.counts() == {"pending": 3, "sent": 1}
    assert store.rows() == [("reminder", people[0], "pending"), ("reminder", people[1], "sent"), ("notice", people[1], "pending"),
                            ("deadline", people[0], "pending")]
    assert store.rows(kind="reminder") == [("reminder", people[0], "pending"), ("reminder", people[1], "sent")]
    assert store.rows(subject=("meeting", 1)) == [("reminder", people[0], "pending"), ("notice", people[1], "pending")]
    assert store.rows(kind="notice", subject=("meeting", 2)) == []
    assert store.wall_clock() == NOW


def test_unfinished_counts_rows_in_flight_and_those_due_and_still_useful(db):
    people = _people(db, 7)
    in_flight = _text(db, people[0])
    _set_state(db, in_flight, "sending")
    _text(db, people[1])  # due
    retrying = _text(db, people[2])
    _set_state(db, retrying, "retrying")  # due
    _text(db, people[3], not_before=NOW + timedelta(seconds=1))  # due in a second
    _text(db, people[4], expires_at=NOW)  # too late
    _text(db, people[5], expires_at=NOW + timedelta(seconds=2))  # due and still useful
    done = _text(db, people[6])
    _set_state(db, done, "sent")
    clock = Clock(NOW + timedelta(seconds=1))
    store = _store(db, clock)
    assert store.unfinished(NOW) == 4
    assert store.unfinished() == 5  # the services' clock by default: one more due
    assert store.unfinished(NOW + timedelta(seconds=2)) == 4  # and then one too late


def test_staff_see_fifty_dead_letters_by_default_and_twenty_in_the_report(db):
    (person,) = _people(db, 1)
    with db.transaction() as session:
        outbox.enqueue_many(session, [(person, 7000)] * 51, kind="b", text="x", now=NOW)
        session.execute(sa.update(OutboxMessage).values(state="dead"))
    store = _store(db, Clock(NOW))
    assert len(store.dead_letters()) == 50
    with db.read() as session:
        letters = outbox.dead_letters(session)
    assert len(letters) == 50 and letters[0].id == 51
    assert len(store.report(STAFF).dead) == 20  # the report shows the twenty newest
