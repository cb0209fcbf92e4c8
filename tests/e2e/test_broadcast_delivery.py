"""Broadcast delivery at scale: a `coachbot run` process killed (SIGKILL) halfway through a
2,000-recipient broadcast and another started: everyone has it, a duplicate at most for the
messages in flight at the kill. Two instances on one database deliver one broadcast together
without exceeding the rate, measured at the emulator.

The emulator's flood limit and the bot's TELEGRAM_RATE_PER_SECOND are raised together in the first
test to keep it short; the second runs at Telegram's 30/s.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from bot.domain.people import PersonView, Role
from bot.emulator.driver import BotDriver
from bot.emulator.server import BotApiEmulator, FloodLimits
from bot.services.broadcasts import BroadcastService, group_of
from bot.services import outbox
from bot.storage.db import Database
from bot.storage.models import Enrolment, Person
from tests.conftest import base_settings

STAFF_TG = 1001
FIRST_TG = 100_000
TEXT = "Inscriptions au 2e semestre : du 1er février au 31 mars"


def seed(db: Database, emulator: BotApiEmulator, count: int) -> PersonView:
    """A staff member, a tutor and ``count`` auditeurs on Telegram (bulk: faster than the services)."""
    with db.transaction() as session:
        staff = Person(role="staff", display_name="Claire Martin", telegram_user_id=STAFF_TG)
        tutor = Person(role="tutor", display_name="Marc Dubois", telegram_user_id=2001)
        session.add_all([staff, tutor])
        session.flush()
        session.execute(sa.insert(Person), [
            {"role": "auditeur", "display_name": f"Auditeur {i}", "telegram_user_id": FIRST_TG + i, "active": True}
            for i in range(count)
        ])
        ids = session.scalars(sa.select(Person.id).where(Person.role == "auditeur")).all()
        session.execute(sa.insert(Enrolment), [
            {"auditeur_id": pid, "tutor_id": tutor.id, "certification": "Titre RH", "report_type": "ua",
             "semester": "2026-S2", "status": "active"}
            for pid in ids
        ])
        staff_view = PersonView(staff.id, Role.STAFF, "Claire Martin", STAFF_TG)
    emulator.add_user(STAFF_TG, "Claire", "Martin")
    emulator.add_user(2001, "Marc", "Dubois")
    for i in range(count):
        emulator.add_user(FIRST_TG + i, "Auditeur", str(i))
    return staff_view


def copies(emulator: BotApiEmulator, count: int) -> Counter:
    found = Counter()
    for i in range(count):
        found[sum(1 for m in emulator.chat(FIRST_TG + i) if m.plain_text == TEXT)] += 1
    return found


def launch(db: Database, staff: PersonView) -> int:
    service = BroadcastService(db)
    preview = service.compose(staff, message_html=TEXT, audience="semestre:2026-S2")
    service.send_now(staff, preview.broadcast.id)
    return preview.broadcast.id


def delivered(emulator: BotApiEmulator) -> int:
    with emulator._lock:
        return sum(1 for chat, messages in emulator.messages.items() if chat >= FIRST_TG for m in messages if m.from_bot)


async def test_killed_halfway_through_2000_recipients_and_restarted(tmp_path):
    count = 2000
    fast = FloodLimits(overall_per_second=400, overall_burst=400)
    url = f"sqlite:///{tmp_path / 'run.db'}"
    with BotApiEmulator(flood_limits=fast) as emulator:
        db = Database(url)
        db.upgrade()
        staff = seed(db, emulator, count)
        broadcast_id = launch(db, staff)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_", "DATABASE_URL", "OUTBOX_"))}
        env.update(
            TELEGRAM_BOT_TOKEN=emulator.token, TELEGRAM_API_BASE_URL=emulator.base_url,
            TELEGRAM_API_FILE_URL=emulator.base_file_url, DATABASE_URL=url, STAFF_TELEGRAM_IDS=str(STAFF_TG),
            TELEGRAM_RATE_PER_SECOND="300", TELEGRAM_PER_CHAT_INTERVAL_MS="100", LOG_LEVEL="WARNING",
        )
        process = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 240
            while delivered(emulator) < count // 2 and time.monotonic() < deadline and process.poll() is None:
                await asyncio.sleep(0.02)
            assert process.poll() is None, process.communicate()[0]
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        at_kill = delivered(emulator)
        assert count // 2 <= at_kill < count, at_kill  # killed halfway, not after the end
        with db.read() as session:
            in_flight = outbox.group_progress(session, group_of(broadcast_id))
        # a fresh instance on the same database takes over the claims the dead one left
        settings = BotDriver.settings_for(emulator, base_settings(
            TELEGRAM_RATE_PER_SECOND="300", OUTBOX_STALE_AFTER_SECONDS="1",
        )).with_overrides(database_url=url)
        driver = BotDriver(emulator, settings, Database(url))
        await driver.start()
        try:
            await asyncio.sleep(1.2)
            await driver.drain(timeout=240)
            with driver.db.read() as session:
                progress = outbox.group_progress(session, group_of(broadcast_id))
        finally:
            await driver.stop()
            db.dispose()
        assert progress.pending == 0 and progress.sent == count and progress.failed == 0
        found = copies(emulator, count)
        assert found[0] == 0, "every recipient has it"
        assert found[1] + found[2] == count and found[2] <= 16, found  # duplicates: at most the sends in flight
        assert in_flight.pending > 0


def _max_per_window(times: list[float], window: float = 1.0) -> int:
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_two_instances_deliver_one_broadcast_together_within_the_rate(database_url):
    count = 240
    with BotApiEmulator() as emulator:  # Telegram's limits: 30/s overall, burst 30
        db = Database(database_url)
        staff = seed(db, emulator, count)
        settings = BotDriver.settings_for(emulator, base_settings(TELEGRAM_RATE_PER_SECOND="28")).with_overrides(
            database_url=database_url
        )
        drivers = [BotDriver(emulator, settings, Database(database_url)) for _ in range(2)]
        finished: list[set[int]] = [set(), set()]  # row ids each instance recorded as sent
        for index, driver in enumerate(drivers):
            await driver.start()
            store = driver.services.outbox
            original = store.finish_many

            # Counted when outcomes are written, not at claim: a claim already running in a thread
            # when the wrapper is installed would escape it, whereas every send starts after launch.
            def counting(outcomes, _original=original, _index=index):
                done = _original(outcomes)
                finished[_index].update(o.row_id for o, ok in zip(outcomes, done) if ok and o.state == "sent")
                return done

            store.finish_many = counting
        try:
            started = time.monotonic()
            broadcast_id = launch(db, staff)
            for driver in drivers:
                driver.application.bot_data["sender"].wake()
            await asyncio.gather(*(d.drain(timeout=60) for d in drivers))
            with db.read() as session:
                progress = outbox.group_progress(session, group_of(broadcast_id))
                broadcast_rows = set(session.scalars(sa.select(outbox.OutboxMessage.id).where(
                    outbox.OutboxMessage.group_key == group_of(broadcast_id))))
                retried = session.scalar(sa.select(sa.func.count()).select_from(outbox.OutboxMessage).where(
                    outbox.OutboxMessage.group_key == group_of(broadcast_id), outbox.OutboxMessage.attempts > 1))
                claims = sorted(moment.timestamp() for moment in session.scalars(
                    sa.select(outbox.OutboxMessage.claimed_at).where(outbox.OutboxMessage.group_key == group_of(broadcast_id))))
        finally:
            for driver in drivers:
                await driver.stop()
            db.dispose()
        with emulator._lock:
            sends = sorted(t for t, method in emulator.requests if method.lower() == "sendmessage" and t >= started)
        assert progress.sent == count and copies(emulator, count)[1] == count  # each exactly once
        by_instance = [len(ids & broadcast_rows) for ids in finished]
        assert by_instance[0] > 0 and by_instance[1] > 0 and sum(by_instance) == count, by_instance  # both delivered
        # The shared bucket (28/s, bursts of 28): both instances together never claim more than it gives,
        # whatever the machine's load (claims are timed under the claim lock). How the requests then reach
        # Telegram depends on scheduling: on a loaded machine a batch's requests can arrive bunched with the
        # next one's and meet a 429, honoured and sent once (above); the number of such retries is a timing
        # and is not asserted (bench/bench_outbox.py measures the pace).
        for window in (1.0, 3.0, 5.0):
            assert _max_per_window(claims, window) <= 28 + 28 * window, (window, retried)
            # measured at the emulator, with the arrival jitter of a loaded machine
            assert _max_per_window(sends, window) <= 28 + 28 * window + 8, (window, retried)
        # (the average over the whole run is not asserted: with the initial burst of 28 it may exceed
        # 28/s by design; the windows above and "no 429" are what Telegram's limits ask)


async def test_answers_never_wait_for_threads_held_by_a_broadcast(sqlite_url):
    """The sender's database calls run on threads of their own: with every one of them stuck (a
    directory read that hangs for each of the 16 sends in flight), a person using the bot is still
    answered; once released, the broadcast completes."""
    count = 40
    with BotApiEmulator() as emulator:
        db = Database(sqlite_url)
        staff = seed(db, emulator, count)
        settings = BotDriver.settings_for(emulator, base_settings()).with_overrides(database_url=sqlite_url)
        driver = BotDriver(emulator, settings, Database(sqlite_url))
        await driver.start()
        sender = driver.application.bot_data["sender"]
        release, stuck = threading.Event(), threading.Semaphore(0)
        directory = sender._directory

        class Hanging:  # the sender's view of the directory: every read hangs until released
            def __getattr__(self, name):
                return getattr(directory, name)

            def get(self, person_id):
                stuck.release()
                release.wait(60)
                return directory.get(person_id)

        sender._directory = Hanging()
        try:
            broadcast_id = launch(db, staff)
            sender.wake()
            for _ in range(4):  # the sender's threads are all taken
                assert await asyncio.to_thread(stuck.acquire, True, 20)
            since = emulator.last_sequence()
            update_id = emulator.send_text(FIRST_TG + 1, "/aide")
            await driver.application.bot_data["processor"].wait_for_update(update_id, 15)
            answer = [m for m in emulator.sent_since(since) if m.chat_id == FIRST_TG + 1]
            assert answer and "/rapport" in answer[0].plain_text  # answered while the broadcast is stuck
            assert delivered(emulator) == 1  # nothing of the broadcast went out meanwhile: only the answer
            release.set()
            await driver.drain(timeout=60)
            with db.read() as session:
                progress = outbox.group_progress(session, group_of(broadcast_id))
        finally:
            release.set()
            await driver.stop()
            db.dispose()
        assert progress.sent == count and copies(emulator, count)[1] == count
