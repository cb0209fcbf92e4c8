"""The callback context handlers receive: services, renderer and messenger at hand."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot.domain.people import PersonView
from bot.services.directory import TelegramIdentity

if TYPE_CHECKING:
    from bot.services.container import Services
    from bot.telegram.messenger import Messenger
    from bot.telegram.rendering import Renderer

T = TypeVar("T")


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    def __init__(self, application: Application, chat_id: int | None = None, user_id: int | None = None) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)

    @property
    def services(self) -> Services:
        return self.application.bot_data["services"]

    @property
    def renderer(self) -> Renderer:
        return self.application.bot_data["renderer"]

    @property
    def messenger(self) -> Messenger:
        return self.application.bot_data["messenger"]

    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a (blocking, database-bound) service call off the event loop."""
        return await asyncio.to_thread(function, *args, **kwargs)

    async def identify(self, update: Update) -> PersonView | None:
        user = update.effective_user
        if user is None or user.is_bot:
            return None
        identity = TelegramIdentity(user.id, user.first_name, user.last_name, user.username)
        return await self.call(self.services.directory.identify, identity)
