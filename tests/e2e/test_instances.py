"""Two `coachbot run` processes in webhook mode behind a round-robin proxy, on one PostgreSQL database.

The emulator sends a person's next update once the previous one was acknowledged (as Telegram
does); the proxy alternates between the instances, so consecutive updates of one person land on
different processes. Per-person order and exactly-once handling must still hold.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from tornado.httpserver import HTTPServer
from tornado.web import Application, RequestHandler

from bot.config import WebhookSettings
from bot.demo import AUDITEUR_ID, STAFF_ID, TUTOR_ID, seed
from bot.domain.permissions import COMMAND_LINE
from bot.emulator.driver import BotDriver
from bot.services.container import Services
from bot.services.directory import TelegramIdentity
from bot.storage.db import Database
from bot.storage.models import OutboxMessage, Person
from tests.conftest import TEST_DATABASE_URL, _truncate_postgresql, base_settings

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set: PostgreSQL run skipped"),
]

ROOT = Path(__file__).resolve().parents[2]
SECRET = "two-instances-secret"
NEWCOMERS = [4000 + n for n in range(20)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _RoundRobin(RequestHandler):
    """A minimal reverse proxy: each POST goes to the next instance; status and body come back."""

    def initialize(self, backends, client: httpx.AsyncClient) -> None:
        self.backends, self.client = backends, client

    def check_xsrf_cookie(self) -> None:
        pass

    async def post(self) -> None:
        backend = next(self.backends)
        headers = {k: v for k, v in self.request.headers.items() if k.lower() in {"content-type", "x-telegram-bot-api-secret-token"}}
        try:
            response = await self.client.post(f"{backend}{self.request.path}", content=self.request.body, headers=headers)
        except httpx.HTTPError:
            self.set_status(502)
            return
        self.set_status(response.status_code)
        self.write(response.content)


async def _wait_for(predicate, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
def pg_url(request) -> str:
    url = request.getfixturevalue("postgresql_url")
    _truncate_postgresql(url)
    return url


@pytest.fixture
async def instances(emulator, pg_url, tmp_path):
    """Two bot processes behind the proxy; yields the test's own services on the same database."""
    ports = [_free_port(), _free_port()]
    proxy_port = _free_port()
    client = httpx.AsyncClient(timeout=30)
    backends = itertools.cycle([f"http://127.0.0.1:{port}" for port in ports])
    proxy = HTTPServer(Application([(r"/telegram", _RoundRobin, {"backends": backends, "client": client})]))
    proxy.listen(proxy_port, "127.0.0.1")

    db = Database(pg_url)
    hook = WebhookSettings(url=f"http://127.0.0.1:{proxy_port}/telegram", listen="127.0.0.1", port=0,
                           secret_token=SECRET, path="telegram")
    settings = BotDriver.settings_for(emulator, base_settings(), webhook=hook).with_overrides(database_url=pg_url)
    services = Services.build(settings, db)
    await asyncio.to_thread(seed, services, emulator)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_", "DATABASE_URL"))}
    env.update(
        TELEGRAM_BOT_TOKEN=emulator.token, TELEGRAM_API_BASE_URL=emulator.base_url,
        TELEGRAM_API_FILE_URL=emulator.base_file_url, DATABASE_URL=pg_url, STAFF_TELEGRAM_IDS=str(STAFF_ID),
        WEBHOOK_URL=hook.url, WEBHOOK_SECRET=SECRET, WEBHOOK_LISTEN="127.0.0.1", LOG_LEVEL="INFO",
    )
    processes = []
    for index, port in enumerate(ports):
        log = (tmp_path / f"instance{index}.log").open("w")
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env={**env, "WEBHOOK_PORT": str(port)},
            stdout=log, stderr=subprocess.STDOUT, text=True,
        ))

    def listening(port: int) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    try:
        await _wait_for(lambda: all(listening(p) for p in ports) or any(p.poll() is not None for p in processes),
                        what="both instances")
        assert all(p.poll() is None for p in processes), [(tmp_path / f"instance{i}.log").read_text() for i in range(2)]
        await _wait_for(lambda: emulator.bot.webhook_url == hook.url, what="the webhook")
        yield services
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        outputs = []
        for index, process in enumerate(processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            outputs.append((tmp_path / f"instance{index}.log").read_text())
        proxy.stop()
        await client.aclose()
        db.dispose()
    for output in outputs:
        assert "Traceback" not in output and emulator.token not in output, output
    assert [p.returncode for p in processes] == [0, 0], outputs


def _texts(emulator, chat_id: int) -> list[str]:
    return [m.plain_text or m.caption or "" for m in emulator.chat(chat_id)]


async def test_ten_quick_answers_from_one_person_are_stored_in_order(emulator, instances):
    services = instances
    emulator.send_text(AUDITEUR_ID, "/rapport")
    await _wait_for(lambda: any(m.buttons for m in emulator.chat(AUDITEUR_ID)), what="the overview")
    overview = next(m for m in reversed(emulator.chat(AUDITEUR_ID)) if m.buttons)
    emulator.press(AUDITEUR_ID, overview, index=0)
    await _wait_for(lambda: len(emulator.chat(AUDITEUR_ID)) >= 2, what="the first question")
    question = emulator.chat(AUDITEUR_ID)[-1]
    section_id, question_id = question.buttons[0]["callback_data"].split(":")[2:4]

    for n in range(10):  # as fast as a person can type: nobody waits for the answers
        emulator.send_text(AUDITEUR_ID, f"réponse {n}")
    await _wait_for(lambda: len(emulator.chat(AUDITEUR_ID)) >= 12, what="ten acknowledgements")
    auditeur = services.directory.identify(TelegramIdentity(AUDITEUR_ID, "Léa"))
    view = await asyncio.to_thread(services.coaching.current, auditeur, section_id, question_id)
    assert list(view.current_answers) == [f"réponse {n}" for n in range(10)]
    assert len(emulator.chat(AUDITEUR_ID)) == 12  # one reply per update: nothing handled twice


async def test_twenty_people_through_onboarding_on_two_instances(emulator, instances):
    """Exactly once, per-person order, on both instances, with Telegram's flood limits on (the
    tutor's 20 notifications go through the outbox, paced on a budget the instances share)."""
    services = instances
    codes = {}
    for n, user_id in enumerate(NEWCOMERS):
        emulator.add_user(user_id, f"Prénom{n}", f"Nom{n}")
        issued = await asyncio.to_thread(
            services.onboarding.enrol_auditeur, COMMAND_LINE, name=f"Auditeur {n}", tutor="Marc Dubois",
            report_type="ua", semester="2026-S1", certification="Licence professionnelle",
        )
        codes[user_id] = issued.code

    async def onboard(user_id: int) -> None:
        emulator.send_text(user_id, f"/start {codes[user_id]}")
        await _wait_for(lambda: any(m.buttons for m in emulator.chat(user_id)), what=f"the notice to {user_id}")
        notice = emulator.chat(user_id)[-1]
        emulator.press(user_id, notice, "J'accepte")
        await _wait_for(lambda: any("Étape 1" in t for t in _texts(emulator, user_id)), what=f"step 1 for {user_id}")

    await asyncio.gather(*(onboard(user_id) for user_id in NEWCOMERS))
    await _wait_for(lambda: sum("a rejoint" in t for t in _texts(emulator, TUTOR_ID)) >= 20, what="the tutor's notices")
    await asyncio.sleep(0.5)  # anything sent twice would show up now
    for user_id in NEWCOMERS:
        texts = _texts(emulator, user_id)
        assert sum("Protection de vos données" in t for t in texts) == 1, texts
        assert sum("Bienvenue" in t for t in texts) == 1 and sum("Étape 1" in t for t in texts) == 1, texts
    assert sum("a rejoint" in t for t in _texts(emulator, TUTOR_ID)) == 20
    with services.db.read() as session:
        bound = session.scalar(sa.select(sa.func.count()).select_from(Person).where(Person.telegram_user_id.in_(NEWCOMERS)))
    assert bound == 20


async def test_due_reminders_are_sent_once_by_the_two_instances(emulator, instances):
    """Both instances' senders race for the same due reminders: each person gets each one once."""
    from bot.services import outbox

    services = instances
    people = []
    for n in range(20):
        user_id = 5000 + n
        emulator.add_user(user_id, f"R{n}", "Test")
        people.append(user_id)
    with services.db.transaction() as session:
        for user_id in people:
            person = Person(role="auditeur", display_name=f"R {user_id}", telegram_user_id=user_id)
            session.add(person)
            session.flush()
            for rule in ("24h", "1h"):
                outbox.enqueue(
                    session, recipient_id=person.id, kind="meeting.reminder.test", text=f"⏰ Rappel {rule}",
                    priority=outbox.Priority.REMINDER, on_uncertain=outbox.DROP,
                    dedupe_key=f"test:{user_id}:{rule}",
                )
    await _wait_for(lambda: all(len(_texts(emulator, u)) >= 2 for u in people), what="the reminders")
    await asyncio.sleep(1.0)  # anything sent twice would show up now
    for user_id in people:
        assert sorted(_texts(emulator, user_id)) == ["⏰ Rappel 1h", "⏰ Rappel 24h"]
    with services.db.read() as session:
        states = set(session.scalars(sa.select(OutboxMessage.state).where(OutboxMessage.kind == "meeting.reminder.test")))
    assert states == {"sent"}


async def test_a_change_made_elsewhere_reaches_both_instances_within_a_second(emulator, instances):
    """Each instance remembers who writes (no database read per update) and forgets them when any
    instance, or the command line, changes them: the tutor renamed here shows on both at once."""
    services = instances

    async def help_twice() -> list[str]:  # round-robin: one /aide per instance
        replies = []
        for _ in range(2):
            before = len(emulator.chat(AUDITEUR_ID))
            emulator.send_text(AUDITEUR_ID, "/aide")
            await _wait_for(lambda: len(emulator.chat(AUDITEUR_ID)) > before, what="the help")
            replies.append(_texts(emulator, AUDITEUR_ID)[-1])
        return replies

    assert all("(Marc Dubois)" in text for text in await help_twice())  # both instances now remember it
    with services.db.transaction() as session:
        tutor = session.scalar(sa.select(Person).where(Person.telegram_user_id == TUTOR_ID))
        tutor.display_name = "Marc Dubois-Martin"
    await asyncio.sleep(1.5)  # each instance reads the change feed every 0.5 s (OUTBOX_POLL_MS)
    assert all("(Marc Dubois-Martin)" in text for text in await help_twice())
