"""The routing table end to end: one apology whatever failed, one answer per button, no empty keyboard.

Telegram (and the emulator) refuse a second answer to a callback query and an empty `reply_markup`;
these tests fail if a handler answers twice or sends `{}`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import sqlalchemy as sa

from bot.app import build_application
from bot.demo import seed
from bot.domain.calendar import PARIS
from bot.domain.permissions import COMMAND_LINE
from bot.routes import build_routes
from bot.storage.models import AvailabilityWindow
from tests.e2e.conftest import AUDITEUR_ID, STAFF_ID, TUTOR_ID, confirm_booking

APOLOGY = "un problème technique est survenu"
NOW = datetime(2026, 10, 19, 11, 0, tzinfo=PARIS).astimezone(UTC)
NEW_TUTOR = 2201


def _answers(emulator) -> int:
    return sum(1 for _, method in emulator.requests if method.lower() == "answercallbackquery")


def _pin(bot) -> None:
    bot.services.clock = lambda: NOW


async def _press_expecting_apology(bot, emulator, user_id: int, data: str) -> None:
    before = _answers(emulator)
    reply = await bot.press_data(user_id, data)
    assert reply.text.count(APOLOGY) == 1, reply.text
    assert _answers(emulator) - before == 1  # answered once, never a second time by the error path


async def test_a_500_on_send_message_inside_button_handlers_gets_one_apology(bot, emulator, cast, caplog):
    _pin(bot)
    for user_id, data in [
        (AUDITEUR_ID, "menu:aide"),  # a /menu button running a command
        (AUDITEUR_ID, "coach:overview"),  # the coach
        (TUTOR_ID, "dispo:opt:notice"),  # /dispos settings
        (AUDITEUR_ID, "rdv:start"),  # booking
        (STAFF_ID, "enrol:tutor:1"),  # a stale staff form button
    ]:
        # replies are retried three times on a 5xx (bot/telegram/rate_limiter.py): a failure that lasts
        emulator.inject_fault("sendMessage", "500", count=4)
        with caplog.at_level(logging.ERROR, logger="bot.errors"):
            await _press_expecting_apology(bot, emulator, user_id, data)
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.errors"]
    assert len(lines) == 5 and all("update_id=" in line and "person_id=" in line for line in lines)
    assert any("handler=coach_overview" in line for line in lines)


async def test_a_raising_service_inside_button_handlers_gets_one_apology(bot, emulator, cast, monkeypatch):
    _pin(bot)

    def broken(*args, **kwargs):
        raise RuntimeError("service failed")

    services = bot.services
    monkeypatch.setattr(services.coaching, "overview", broken)
    monkeypatch.setattr(services.booking, "meetings_of", broken)
    monkeypatch.setattr(services.booking, "availability", broken)
    monkeypatch.setattr(services.drafts, "versions", broken)
    await _press_expecting_apology(bot, emulator, AUDITEUR_ID, "coach:overview")
    await _press_expecting_apology(bot, emulator, AUDITEUR_ID, "mrdv:zzz:1")
    await _press_expecting_apology(bot, emulator, TUTOR_ID, "dispo:delw")
    await _press_expecting_apology(bot, emulator, TUTOR_ID, "drafts:list:3")


async def test_the_database_down_while_identifying_gets_the_apology(bot, emulator, cast, monkeypatch):
    def down(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(bot.services.directory, "identify_with_conversation", down)
    await _press_expecting_apology(bot, emulator, AUDITEUR_ID, "menu:rapport")
    for text in ("/menu", "bonjour"):
        assert APOLOGY in (await bot.send(AUDITEUR_ID, text)).text


async def _new_tutor(bot, emulator):
    """A tutor who just joined: no window, no meeting, no auditeur."""
    emulator.add_user(NEW_TUTOR, "Paul", "Durand")
    onboarding = bot.services.onboarding

    def bind():
        invite = onboarding.invite_tutor(COMMAND_LINE, "Paul Durand")
        return onboarding.redeem(NEW_TUTOR, onboarding.check_code(NEW_TUTOR, invite.code).invitation_id, notice_version="t")

    return (await asyncio.to_thread(bind)).person


async def test_a_new_tutors_empty_lists_have_no_keyboard(bot, emulator, cast):
    _pin(bot)
    await _new_tutor(bot, emulator)
    meetings = await bot.send(NEW_TUTOR, "/mesrdv")
    assert "Aucun rendez-vous réservé" in meetings.text and meetings.last.buttons == []
    drafts = await bot.send(NEW_TUTOR, "/brouillons")
    assert APOLOGY not in drafts.text and drafts.last.buttons == []


async def test_rdv_before_the_tutor_set_any_window(bot, emulator):
    _pin(bot)
    await asyncio.to_thread(seed, bot.services, emulator, ())  # no demo seeder: the tutor has no window
    offer = await bot.send(AUDITEUR_ID, "/rdv")
    assert "Aucun créneau libre pour l'instant" in offer.text and APOLOGY not in offer.text
    assert offer.last.buttons == []


async def test_an_auditeur_whose_two_hours_are_used_has_no_empty_keyboard(bot, emulator, cast):
    _pin(bot)
    for label in (None, "60 minutes", None):
        await bot.send(AUDITEUR_ID, "/rdv")
        if label:
            await bot.press(AUDITEUR_ID, label)
        await bot.press(AUDITEUR_ID, index=0)
        await confirm_booking(bot, AUDITEUR_ID)
    listed = await bot.send(AUDITEUR_ID, "/mesrdv")
    assert APOLOGY not in listed.text and "il ne reste plus de temps" in listed.text
    assert all("Réserver" not in label for label in listed.last.button_labels)
    refused = await bot.send(AUDITEUR_ID, "/rdv")
    assert "entièrement réservées ou utilisées" in refused.text and refused.last.buttons == []


async def test_an_old_remove_a_window_button_when_none_is_left(bot, emulator, cast):
    _pin(bot)
    with bot.db.transaction() as session:
        session.execute(sa.delete(AvailabilityWindow))
    old = await bot.press_data(TUTOR_ID, "dispo:delw")
    assert APOLOGY not in old.text and "avait déjà été supprimé" in old.text
    assert "Aucun pour l'instant" in old.text


async def test_two_applications_in_one_process_share_no_route(emulator, sqlite_url):
    from bot.emulator.driver import BotDriver
    from tests.conftest import base_settings

    settings = BotDriver.settings_for(emulator, base_settings()).with_overrides(database_url=sqlite_url)
    first, second = build_application(settings), build_application(settings)
    try:
        assert first.bot_data["routes"] is not second.bot_data["routes"]
        assert first.bot_data["routes"] == build_routes()  # declared, not accumulated by imports
        assert [c.name for c in first.bot_data["routes"].commands].count("menu") == 1
    finally:
        for application in (first, second):
            application.bot_data["services"].db.dispose()
