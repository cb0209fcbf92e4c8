"""The real python-telegram-bot application, over HTTP, against the loopback Bot API emulator."""

from __future__ import annotations

import pytest

from bot.demo import AUDITEUR_ID, STAFF_ID, TUTOR_ID, DemoCast, seed
from bot.emulator.driver import BotDriver
from bot.emulator.server import BotApiEmulator, FloodLimits
from bot.storage.db import Database
from tests.conftest import base_settings
from tests.french import forbidden_french

__all__ = ["AUDITEUR_ID", "STAFF_ID", "TUTOR_ID"]


# Tests space one person's messages by 100 ms (tests/conftest.py): the emulator allows as much per
# chat, so a tutor told of many steps in a row is not made to wait out 429s meant for 1/s pacing.
# Tests marked ``telegram_limits`` get Telegram's own limits (about 30/s overall, 1/s per chat).
TEST_PER_CHAT = FloodLimits(per_chat_per_second=10, per_chat_burst=10)


@pytest.fixture
def emulator(request):
    limits = FloodLimits() if request.node.get_closest_marker("telegram_limits") else TEST_PER_CHAT
    with BotApiEmulator(flood_limits=limits) as server:
        yield server
        _check_french(server)


def _check_french(server: BotApiEmulator) -> None:
    """Every text the bot sent in the test reads as French: the rules `tests/french.py` applies to
    every template (there with made-up values, here with the real ones). A text split in parts may
    start a part in lower case (`fragment`); documents are not texts."""
    problems = []
    for chat_id in list(server.messages):
        for message in server.chat(chat_id):
            if message.plain_text and message.document is None:
                problems += [f"chat {chat_id}: {p}" for p in forbidden_french(message.plain_text, fragment=True)]
    assert not problems, "\n".join(problems)


@pytest.fixture
def e2e_database_url(sqlite_url) -> str:
    """End-to-end tests run on SQLite; tests that must also run on PostgreSQL use `database_url`."""
    return sqlite_url


@pytest.fixture
async def bot(emulator, e2e_database_url):
    settings = BotDriver.settings_for(emulator, base_settings(TELEGRAM_BOT_USERNAME=emulator.bot.username))
    settings = settings.with_overrides(database_url=e2e_database_url)
    driver = BotDriver(emulator, settings, Database(e2e_database_url))
    await driver.start()
    yield driver
    await driver.stop()


@pytest.fixture
async def cast(bot) -> DemoCast:
    """Staff, a tutor and an auditeur, bound to simulated Telegram users (the demo's cast)."""
    import asyncio

    cast = await asyncio.to_thread(seed, bot.services, bot.emulator)
    await bot.drain()  # what seeding told people (the tutor learns the auditeur joined) is delivered first
    return cast


async def confirm_booking(bot, user_id: int, topic: str | None = None):
    """After a slot was tapped: confirm it, with a typed topic or with « Réserver sans sujet »."""
    if topic is not None:
        return await bot.send(user_id, topic)
    return await bot.press(user_id, "sans sujet")
