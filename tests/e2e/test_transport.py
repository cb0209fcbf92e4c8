"""Webhook mode with Telegram's secret-token header, API faults, commands per role, no token in logs."""

from __future__ import annotations

import asyncio
import logging
import socket

import httpx
import sqlalchemy as sa

from bot.config import WebhookSettings
from bot.emulator.driver import BotDriver
from bot.storage.db import Database
from bot.storage.models import Person
from tests.conftest import base_settings
from tests.e2e.conftest import AUDITEUR_ID, STAFF_ID, TUTOR_ID


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_webhook_mode_checks_the_secret_token_and_refuses_garbage_with_400(emulator, sqlite_url, caplog):
    port = _free_port()
    hook = WebhookSettings(
        url=f"http://127.0.0.1:{port}/telegram", listen="127.0.0.1", port=port, secret_token="s3cr3t-hook", path="telegram"
    )
    settings = BotDriver.settings_for(emulator, base_settings(), webhook=hook).with_overrides(database_url=sqlite_url)
    driver = BotDriver(emulator, settings, Database(sqlite_url))
    await driver.start()
    try:
        assert emulator.bot.webhook_url == hook.url and emulator.bot.webhook_secret == "s3cr3t-hook"
        emulator.add_user(STAFF_ID, "Claire", "Martin")
        reply = await driver.send(STAFF_ID, "/menu")  # delivered by the emulator as a webhook POST
        assert "Claire Martin" in reply.text and "Inscrire un auditeur" in " ".join(reply.last.button_labels)

        forged = {"update_id": 999, "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"},
                                                 "from": {"id": 5, "is_bot": False, "first_name": "X"}, "text": "/start"}}
        async with httpx.AsyncClient() as client:
            wrong = await client.post(hook.url, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
            missing = await client.post(hook.url, json=forged)
        assert wrong.status_code == 403 and missing.status_code == 403
        await asyncio.sleep(0.1)
        assert emulator.chat(5) == []

        secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cr3t-hook", "Content-Type": "application/json"}
        garbage = [b"not json at all", b"\xff\xfe\x00", b"[1, 2]", b'"text"', b'{"message": {}}', b'{"update_id": "x"}',
                   b'{"update_id": 5, "message": {"text": "no chat"}}']
        with caplog.at_level(logging.DEBUG):
            async with httpx.AsyncClient() as client:
                answers = [await client.post(hook.url, content=body, headers=secret) for body in garbage]
        assert [a.status_code for a in answers] == [400] * len(garbage)
        refusals = [r for r in caplog.records if "not a Telegram update" in r.getMessage()]
        assert len(refusals) == len(garbage)  # once per request
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert "no chat" not in caplog.text
        still = await driver.send(STAFF_ID, "/menu")
        assert "Claire Martin" in still.text
    finally:
        await driver.stop()


async def test_the_bot_rides_out_api_faults(bot, emulator, cast):
    emulator.inject_fault("sendMessage", "429", retry_after=1)
    reply = await bot.send(AUDITEUR_ID, "/aide")
    assert "Aide" in reply.text  # retried after Telegram's retry_after
    emulator.inject_fault("getUpdates", "502", count=2)
    emulator.inject_fault("getUpdates", "drop")
    reply = await bot.send(AUDITEUR_ID, "/menu")
    assert "Que souhaitez-vous faire" in reply.text


async def test_commands_are_published_per_role_when_people_first_write(bot, emulator, cast):
    await bot.restart()  # start-up publishes the public list only: no call for ids that never wrote
    scoped = lambda chat_id: [c["command"] for c in emulator.commands_for({"type": "chat", "chat_id": chat_id})]  # noqa: E731
    assert scoped(AUDITEUR_ID) == [] and scoped(STAFF_ID) == [] and scoped(TUTOR_ID) == []
    public = [c["command"] for c in emulator.commands_for()]
    assert public == ["start", "aide", "accessibilite"]

    await bot.send(AUDITEUR_ID, "/aide")
    await bot.send(STAFF_ID, "bonjour")
    for _ in range(50):  # published in the background, right after the first update
        if scoped(AUDITEUR_ID) and scoped(STAFF_ID):
            break
        await asyncio.sleep(0.05)
    assert {"inscrire", "inviter", "equipe"} <= set(scoped(STAFF_ID))
    assert "inscrire" not in scoped(AUDITEUR_ID) and "menu" in scoped(AUDITEUR_ID)
    assert scoped(TUTOR_ID) == []  # never wrote
    descriptions = {c["command"]: c["description"] for c in emulator.commands_for({"type": "chat", "chat_id": STAFF_ID})}
    assert descriptions["inscrire"].startswith("Inscrire un auditeur")
    calls = sum(1 for _, method in emulator.requests if method.lower() == "setmycommands")
    await bot.send(AUDITEUR_ID, "/menu")
    await asyncio.sleep(0.1)
    assert sum(1 for _, method in emulator.requests if method.lower() == "setmycommands") == calls  # once per person


async def test_errors_are_logged_with_context_without_the_token_and_the_user_gets_a_french_apology(
    bot, emulator, cast, caplog, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError(f"database exploded while calling {emulator.base_url}{emulator.token}/sendMessage")

    monkeypatch.setattr(bot.services.directory, "tutors", broken)
    with caplog.at_level(logging.DEBUG):
        reply = await bot.send(STAFF_ID, "/equipe")
    assert "un problème technique est survenu" in reply.text
    assert "database exploded" not in reply.text
    assert "user_id=1001" in caplog.text and "command=/equipe" in caplog.text
    [line] = [r for r in caplog.records if r.name == "bot.errors"]
    assert "update_id=" in line.getMessage() and "handler=team_command" in line.getMessage()
    assert "person_id=" in line.getMessage() and "error=RuntimeError" in line.getMessage()
    assert "Claire" not in line.getMessage()  # ids, never texts or names
    assert emulator.token not in caplog.text
    with bot.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Person)) == 3
