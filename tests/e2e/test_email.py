"""Step 1's invitation e-mail: staff enrol on Telegram with an address, a local SMTP server (aiosmtpd,
started here) receives the e-mail with the tutor's name and the link; a refused address is given up
on and shown to staff."""

from __future__ import annotations

import asyncio
import email
import time

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from bot.config import SmtpSettings
from bot.emulator.driver import BotDriver
from bot.services.email import SmtpTransport
from bot.storage.db import Database
from bot.storage.models import OutboxMessage
from tests.conftest import base_settings
from tests.e2e.conftest import STAFF_ID
from tests.e2e.test_cli_and_demo import coachbot
from tests.unit.test_smtp_transport import _free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.Message]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "refuse" in address:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 Message accepted"


_BUSY = {"refusals": 0}  # AUTH attempts still answered 454 for the password "busy"


def _authenticator(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword) and auth_data.password == b"busy":  # the server's own trouble
        if _BUSY["refusals"] > 0:
            _BUSY["refusals"] -= 1
            return AuthResult(success=False, handled=False, message="454 4.7.0 Temporary authentication failure")
        return AuthResult(success=True, auth_data=auth_data)
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"bot" and auth_data.password == b"secret"
    # handled=False: aiosmtpd answers the refusal itself (535); the default (handled=True) means "already
    # answered" and the client waits for a reply that never comes (a read timeout, not a 535)
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), authenticator=_authenticator,
                            auth_require_tls=False)
    controller.start()
    yield inbox, controller.port
    controller.stop()


@pytest.fixture
def smtp_password() -> str:
    return "secret"


@pytest.fixture
async def mail_bot(emulator, e2e_database_url, smtp_server, smtp_password):
    _, port = smtp_server
    settings = BotDriver.settings_for(emulator, base_settings(
        TELEGRAM_BOT_USERNAME=emulator.bot.username, SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_SECURITY="none",
        SMTP_USERNAME="bot", SMTP_PASSWORD=smtp_password, SMTP_FROM="accompagnement@cnam-paysdelaloire.fr",
    ))
    driver = BotDriver(emulator, settings.with_overrides(database_url=e2e_database_url), Database(e2e_database_url))
    await driver.start()
    yield driver
    await driver.stop()


async def _enrol(bot, name_line: str) -> None:
    await bot.send(STAFF_ID, "/inscrire")
    await bot.send(STAFF_ID, name_line)
    await bot.send(STAFF_ID, "Licence pro Formation de formateurs")
    await bot.send(STAFF_ID, "2")
    await bot.press(STAFF_ID, "Oui, justifiée")
    await bot.press(STAFF_ID, "Marc Dubois")
    await bot.press(STAFF_ID, index=0)
    await bot.press(STAFF_ID, index=0)
    return await bot.press(STAFF_ID, "Confirmer l’inscription")


async def test_staff_enrol_with_an_email_and_the_auditeur_receives_the_invitation(mail_bot, smtp_server):
    from bot.demo import seed

    inbox, _ = smtp_server
    bot = mail_bot
    await asyncio.to_thread(seed, bot.services, bot.emulator)
    await bot.drain()
    bad = await bot.send(STAFF_ID, "/inscrire")
    refused = await bot.send(STAFF_ID, "Nina Petit, pas-un-email")
    assert "pas-un-email" in refused.text
    await bot.send(STAFF_ID, "/annuler")
    issued = await _enrol(bot, "Nina Petit, nina.petit@exemple.fr")
    assert "Nina Petit" in issued.text
    await bot.drain()
    for _ in range(50):
        if inbox.messages:
            break
        await asyncio.sleep(0.1)
    [(sender, to, message)] = inbox.messages
    assert sender == "accompagnement@cnam-paysdelaloire.fr" and to == ["nina.petit@exemple.fr"]
    assert "votre tuteur Marc Dubois" in " ".join(str(message["Subject"]).split())
    body = message.get_payload(decode=True).decode()
    assert "Votre tuteur : Marc Dubois - marc.dubois@exemple.fr" in body
    assert f"https://t.me/{bot.emulator.bot.username}?start=" in body and "premier rendez-vous" in body
    assert bot.services.outbox.rows(kind="email.invitation")[0][2] == "sent"
    del bad


async def test_a_refused_address_is_given_up_on_and_shown_to_staff(mail_bot, smtp_server):
    from bot.demo import seed

    inbox, _ = smtp_server
    bot = mail_bot
    await asyncio.to_thread(seed, bot.services, bot.emulator)
    await _enrol(bot, "Paul Roc, refuse@exemple.fr")
    await bot.drain()
    for _ in range(50):
        if bot.services.outbox.rows(kind="email.invitation")[0][2] == "dead":
            break
        await asyncio.sleep(0.1)
    assert not inbox.messages
    listed = await bot.send(STAFF_ID, "/suivi")
    assert "Messages non délivrés (1)" in listed.text and "e-mail d'invitation" in listed.text


async def test_the_transport_speaks_starttls_settings_and_builds_a_proper_message():
    transport = SmtpTransport(SmtpSettings("smtp.example.org", 587, "starttls", "u", "p", "a@b.fr"))
    message = transport.message(to="x@y.fr", subject="Sujet é", body="Corps é")
    assert message["From"] == "a@b.fr" and message["To"] == "x@y.fr" and message["Message-ID"].endswith("@b.fr>")
    assert "secret-pass" not in repr(SmtpSettings("h", 1, "ssl", "u", "secret-pass", "a@b.fr"))


def _invitation(bot) -> tuple[str, int, str | None]:
    with bot.db.read() as session:
        return tuple(session.execute(
            sa.select(OutboxMessage.state, OutboxMessage.attempts, OutboxMessage.last_error)
            .where(OutboxMessage.kind == "email.invitation")
        ).one())


async def _settled_invitation(bot) -> tuple[str, int, str | None]:
    await bot.drain()
    for _ in range(50):
        found = _invitation(bot)
        if found[0] not in ("pending", "sending"):
            return found
        await asyncio.sleep(0.1)
    return _invitation(bot)


@pytest.mark.parametrize("smtp_password", ["wrong-pass"])
async def test_a_wrong_smtp_password_is_given_up_on_at_once_and_shown_to_staff(mail_bot, smtp_server, e2e_database_url, tmp_path):
    """An authentication refusal (535) is permanent: one attempt, a dead letter in /envois, /suivi and
    `coachbot outbox`, the password nowhere."""
    from bot.demo import seed

    inbox, _ = smtp_server
    bot = mail_bot
    await asyncio.to_thread(seed, bot.services, bot.emulator)
    started = time.monotonic()
    await _enrol(bot, "Nina Petit, nina.petit@exemple.fr")
    state, attempts, error = await _settled_invitation(bot)
    assert (state, attempts) == ("dead", 1) and "535" in error, (state, attempts, error)
    assert time.monotonic() - started < 8  # the server's 535, not a read timeout
    assert not inbox.messages and "wrong-pass" not in error and "nina.petit" not in error
    shown = await bot.send(STAFF_ID, "/envois")
    assert "Abandonnés : 1" in shown.text and "email.invitation" in shown.text and "535" in shown.text
    assert "wrong-pass" not in shown.text
    listed = await bot.send(STAFF_ID, "/suivi")
    assert "Messages non délivrés (1)" in listed.text and "e-mail d'invitation" in listed.text
    result = coachbot("outbox", env={"DATABASE_URL": e2e_database_url}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "dead\temail.invitation" in result.stdout and "535" in result.stdout, result.stdout
    assert "wrong-pass" not in result.stdout


@pytest.mark.parametrize("smtp_password", ["busy"])
async def test_a_temporary_authentication_failure_is_retried(mail_bot, smtp_server):
    """A 454 (the server's temporary trouble) is not a dead letter: the invitation is sent on a retry."""
    from bot.demo import seed

    inbox, _ = smtp_server
    bot = mail_bot
    await asyncio.to_thread(seed, bot.services, bot.emulator)
    _BUSY["refusals"] = 2  # the first attempt: PLAIN, then LOGIN, both answered 454
    try:
        await _enrol(bot, "Nina Petit, nina.petit@exemple.fr")
        state, attempts, error = await _settled_invitation(bot)
    finally:
        _BUSY["refusals"] = 0
    assert (state, attempts) == ("sent", 2), (state, attempts, error)
    [(_, to, _)] = inbox.messages
    assert to == ["nina.petit@exemple.fr"]
