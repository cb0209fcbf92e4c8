"""Drive the real bot through the emulator the way a person does: send, press, read the answer.

Used by the end-to-end tests, the demo and the benchmarks. The bot runs as in production (long
polling over HTTP against the emulator's base URL); `send()` returns once the bot has fully handled
the update, with the messages it sent meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from telegram import Update
from telegram.ext import Application

from bot.app import build_application
from bot.config import Settings
from bot.emulator.server import BotApiEmulator, BotMessage
from bot.storage.db import Database


@dataclass
class Reply:
    """What the bot sent while handling one user action, to that user and to others."""

    messages: list[BotMessage]
    chat_id: int

    @property
    def to_user(self) -> list[BotMessage]:
        return [m for m in self.messages if m.chat_id == self.chat_id]

    @property
    def text(self) -> str:
        return "\n\n".join(m.plain_text or m.caption or "" for m in self.to_user)

    @property
    def last(self) -> BotMessage:
        return self.to_user[-1]

    def to(self, chat_id: int) -> list[BotMessage]:
        return [m for m in self.messages if m.chat_id == chat_id]

    @property
    def documents(self) -> list[BotMessage]:
        return [m for m in self.to_user if m.document is not None]

    def with_buttons(self) -> BotMessage:
        for message in reversed(self.to_user):
            if message.buttons:
                return message
        raise LookupError("the bot sent no message with buttons")


class BotDriver:
    def __init__(
        self, emulator: BotApiEmulator, settings: Settings, db: Database, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        """``clock``: the services' time from the start on (the sender's first pass included), for tests
        that pin it; a clock set on ``services`` after ``start`` leaves the passes already begun on the
        real time."""
        self.emulator = emulator
        self.settings = settings
        self.db = db
        self.application: Application | None = None
        self._clock = clock

    @classmethod
    def settings_for(cls, emulator: BotApiEmulator, base: Settings, *, webhook=None) -> Settings:
        return base.with_overrides(
            bot_token=emulator.token,
            api_base_url=emulator.base_url,
            api_file_url=emulator.base_file_url,
            webhook=webhook,
        )

    async def start(self) -> BotDriver:
        self.application = build_application(self.settings, db=self.db)
        if self._clock is not None:  # the test's clock, kept across a restart (the sender starts at once)
            self.application.bot_data["services"].clock = self._clock
        await self.application.initialize()
        if self.application.post_init:  # run_polling/run_webhook do this in production
            await self.application.post_init(self.application)
        await self.application.start()
        hook = self.settings.webhook
        if hook is None:
            await self.application.updater.start_polling(
                poll_interval=0.0, timeout=5, allowed_updates=Update.ALL_TYPES, drop_pending_updates=False
            )
        else:  # the same wiring as `coachbot run` with WEBHOOK_URL set
            await self.application.updater.start_webhook(
                listen=hook.listen, port=hook.port, url_path=hook.path, webhook_url=hook.url,
                secret_token=hook.secret_token, allowed_updates=Update.ALL_TYPES,
            )
        return self

    async def stop(self) -> None:
        if self.application is None:
            return
        app = self.application
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        if app.post_stop:
            await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)
        self.application = None

    async def restart(self) -> None:
        """Stop the bot process and start a fresh one on the same database (nothing in memory survives)."""
        self._clock = self.services.clock
        await self.stop()
        self.db = Database(self.settings.database_url)
        await self.start()

    @property
    def services(self):
        return self.application.bot_data["services"]

    async def _settle(self, update_id: int, chat_id: int, since: int, timeout: float) -> Reply:
        """The update handled, then what it put in the outbox delivered: everything it caused."""
        processor = self.application.bot_data["processor"]
        await processor.wait_for_update(update_id, timeout)
        await self.drain(timeout)
        return Reply(self.emulator.sent_since(since), chat_id)

    async def send(self, user_id: int, text: str, *, timeout: float = 15.0, entities: list[dict] | None = None) -> Reply:
        since = self.emulator.last_sequence()
        update_id = self.emulator.send_text(user_id, text, entities=entities)
        return await self._settle(update_id, user_id, since, timeout)

    async def press(
        self, user_id: int, label: str | None = None, *, message: BotMessage | None = None, index: int | None = None,
        timeout: float = 15.0,
    ) -> Reply:
        """Press a button of `message` (default: the latest message with buttons in the user's chat)."""
        if message is None:
            message = next((m for m in reversed(self.emulator.chat(user_id)) if m.buttons), None)
            if message is None:
                raise LookupError("no message with buttons in this chat")
        since = self.emulator.last_sequence()
        update_id = self.emulator.press(user_id, message, label, index=index)
        return await self._settle(update_id, user_id, since, timeout)

    async def press_data(self, user_id: int, data: str, *, timeout: float = 15.0) -> Reply:
        since = self.emulator.last_sequence()
        message = next((m for m in reversed(self.emulator.chat(user_id)) if m.from_bot), None)
        update_id = self.emulator.press_data(user_id, data, message)
        return await self._settle(update_id, user_id, since, timeout)

    async def send_document(
        self, user_id: int, content: bytes, file_name: str, mime_type: str | None = "application/pdf", *,
        caption: str | None = None, timeout: float = 30.0,
    ) -> Reply:
        since = self.emulator.last_sequence()
        update_id = self.emulator.send_document(user_id, content, file_name, mime_type, caption)
        return await self._settle(update_id, user_id, since, timeout)

    async def block(self, user_id: int, blocked: bool = True, *, timeout: float = 10.0) -> None:
        update_id = self.emulator.set_blocked(user_id, blocked)
        await self.application.bot_data["processor"].wait_for_update(update_id, timeout)

    async def drain(self, timeout: float = 15.0) -> None:
        """Wait until the outbox has delivered (or given up on) everything due now, scheduled broadcasts
        that came due included, with their final reports."""
        jobs = self.application.bot_data.get("due_jobs", [])
        for job in jobs:
            await job()
        await self.application.bot_data["sender"].drain(timeout)
        if jobs:
            for job in jobs:
                await job()
            await self.application.bot_data["sender"].drain(timeout)

    async def wait_for_message(self, chat_id: int, *, since: int = 0, timeout: float = 10.0) -> list[BotMessage]:
        """Wait for messages the bot sends on its own (reminders, notifications from jobs)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = self.emulator.sent_since(since, chat_id)
            if found or asyncio.get_running_loop().time() > deadline:
                return found
            await asyncio.sleep(0.05)
