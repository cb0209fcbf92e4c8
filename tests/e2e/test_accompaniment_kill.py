"""A real `coachbot run` process (``python -m bot run`` against the emulator) killed with SIGKILL while
an accompaniment deadline reminder, written by the real planning use case, is due or in flight; a
new instance on the same database then sends it exactly once (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set).

The process runs on the wall clock, so the planning is recorded with the services' clock twenty days
back and a deadline ten days ahead: the 14-day reminder is due (it fell four days ago) and has not
expired (the 7-day one is still ahead). The emulator's faults make the kill land where it must:

* due, not claimed: the planning notice to the same auditeur is in flight (``delay``: Telegram has
  not processed it) and, one message per person at a time, the reminder waits behind it;
* in flight, already received by Telegram (``delay_after``: processed, the answer never comes
  before the kill): the reminder's rule (``on_uncertain = drop``) applies, it is not sent twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.demo import AUDITEUR_ID, STAFF_ID, seed
from bot.domain.calendar import PARIS, HolidayCalendar
from bot.domain.semesters import Semester
from bot.emulator.driver import BotDriver
from bot.emulator.server import BotApiEmulator
from bot.storage.db import Database
from bot.storage.models import Enrolment, OutboxMessage
from bot.storage.models.base import utcnow
from tests.conftest import base_settings

REMINDER = "accompaniment.deadline.auditeur"
PLANNING = "accompaniment.planning"


def _deadline_whose_next_reminder_is_ahead(today):
    """Ten days ahead or a little more: the 14-day reminder is then due (and not yet expired) only if
    the 7-day one, moved to the working day before when it falls on a weekend or a public holiday,
    is still at least two days away; whatever today's date, the test sees the same situation."""
    calendar = HolidayCalendar()
    deadline = today + timedelta(days=10)
    while True:
        seven_before = deadline - timedelta(days=7)
        while not calendar.is_working_day(seven_before):
            seven_before -= timedelta(days=1)
        if seven_before >= today + timedelta(days=2):
            assert deadline - timedelta(days=14) < today  # the 14-day reminder is due already
            return deadline
        deadline += timedelta(days=1)


async def _plan(emulator: BotApiEmulator, url: str, *, deliver_notice: bool) -> None:
    """The demo's people, the first meeting held and the planning recorded twenty days ago (the real
    use cases, in-process, clock pinned then); the planning notice delivered or left in the outbox."""
    db = Database(url)
    db.upgrade()
    driver = BotDriver(emulator, BotDriver.settings_for(emulator, base_settings()).with_overrides(database_url=url), db)
    await driver.start()
    try:
        then = utcnow() - timedelta(days=20)
        services = driver.services
        services.clock = lambda: then
        cast = await asyncio.to_thread(seed, services, emulator)
        with services.db.transaction() as session:
            enrolment = session.scalar(sa.select(Enrolment).where(Enrolment.auditeur_id == cast.auditeur.person.id))
            enrolment.semester = str(Semester.containing(then.astimezone(PARIS).date()))  # the limit stays ahead
            services.accompaniment.on_first_meeting_held(session, enrolment, cast.tutor.person, then)
        await driver.drain()
        if not deliver_notice:
            await driver.stop()  # its sender would deliver the notice as soon as it is written
        deadline = _deadline_whose_next_reminder_is_ahead(datetime.now(PARIS).date())
        await asyncio.to_thread(services.accompaniment.record_planning, cast.tutor.person, cast.auditeur.person.id, deadline)
        if deliver_notice:
            await driver.drain()
    finally:
        await driver.stop()
        db.dispose()


def _rows(url: str, kind: str) -> list[tuple[str, int]]:
    db = Database(url)
    try:
        with db.read() as session:
            return [tuple(r) for r in session.execute(
                sa.select(OutboxMessage.state, OutboxMessage.attempts)
                .where(OutboxMessage.kind == kind, OutboxMessage.state != "cancelled")
                .order_by(OutboxMessage.id)
            )]
    finally:
        db.dispose()


def _start_process(emulator: BotApiEmulator, url: str, cwd) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_", "DATABASE_URL", "OUTBOX_", "SMTP_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=emulator.token, TELEGRAM_API_BASE_URL=emulator.base_url,
        TELEGRAM_API_FILE_URL=emulator.base_file_url, DATABASE_URL=url, STAFF_TELEGRAM_IDS=str(STAFF_ID),
        TELEGRAM_PER_CHAT_INTERVAL_MS="100", LOG_LEVEL="WARNING",
    )
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


async def _kill_when(process: subprocess.Popen, condition, timeout: float = 20.0) -> None:
    try:
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline and process.poll() is None:
            await asyncio.sleep(0.02)
        assert process.poll() is None, process.communicate()[0]
        assert condition(), "the process never got there"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()


async def _second_instance(emulator: BotApiEmulator, url: str) -> None:
    """A fresh instance on the same database, on the wall clock, that takes over stale claims after 1 s."""
    settings = BotDriver.settings_for(emulator, base_settings(OUTBOX_STALE_AFTER_SECONDS="1")).with_overrides(database_url=url)
    driver = BotDriver(emulator, settings, Database(url))
    await driver.start()
    try:
        await asyncio.sleep(1.2)  # the dead instance's claim goes stale on the wall clock
        await driver.drain()
        await driver.drain()  # a second pass finds nothing more to send
    finally:
        await driver.stop()
        driver.db.dispose()


def _to_auditeur(emulator: BotApiEmulator, since: int, words: str) -> list[str]:
    return [m.plain_text for m in emulator.sent_since(since, AUDITEUR_ID) if words in m.plain_text]


def _requested(emulator: BotApiEmulator, chat_id: int) -> int:
    with emulator._lock:
        return sum(1 for method, chat in emulator.chat_requests if method.lower() == "sendmessage" and str(chat) == str(chat_id))


async def test_killed_while_the_reminder_is_due_then_restarted_sends_it_once(database_url, tmp_path):
    url = database_url
    with BotApiEmulator() as emulator:
        await _plan(emulator, url, deliver_notice=False)
        assert _rows(url, REMINDER)[0] == ("pending", 0)
        since = emulator.last_sequence()
        asked = _requested(emulator, AUDITEUR_ID)
        # the planning notice goes first and hangs before Telegram processes it; the reminder waits
        emulator.inject_fault("sendMessage", "delay", delay=60)
        process = _start_process(emulator, url, tmp_path)
        await _kill_when(process, lambda: _requested(emulator, AUDITEUR_ID) > asked)
        assert _rows(url, PLANNING) == [("sending", 1)], (_rows(url, PLANNING), _rows(url, REMINDER))
        assert _rows(url, REMINDER)[0] == ("pending", 0)  # due, not claimed when the process died
        assert not emulator.sent_since(since, AUDITEUR_ID)

        await _second_instance(emulator, url)
        assert len(_to_auditeur(emulator, since, "Votre planning est fixé")) == 1  # a notification is resent
        reminders = _to_auditeur(emulator, since, "date butoir")
        assert len(reminders) == 1 and "dans 10 jours" in reminders[0], reminders
        assert _rows(url, REMINDER)[0] == ("sent", 1)


async def test_killed_while_telegram_has_the_reminder_and_the_answer_is_in_flight_not_sent_twice(database_url, tmp_path):
    url = database_url
    with BotApiEmulator() as emulator:
        await _plan(emulator, url, deliver_notice=True)
        since = emulator.last_sequence()
        # Telegram processes the reminder; its answer is still on the way when the process dies
        emulator.inject_fault("sendMessage", "delay_after", delay=60)
        process = _start_process(emulator, url, tmp_path)
        await _kill_when(process, lambda: bool(_to_auditeur(emulator, since, "date butoir")))
        assert _rows(url, REMINDER)[0] == ("sending", 1)  # the outcome was never stored

        await _second_instance(emulator, url)
        reminders = _to_auditeur(emulator, since, "date butoir")
        assert len(reminders) == 1 and "dans 10 jours" in reminders[0], reminders
        assert _rows(url, REMINDER)[0] == ("unknown", 1)  # released by the rule for reminders: not resent
        assert emulator.faults_left() == 0
