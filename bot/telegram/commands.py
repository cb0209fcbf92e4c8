"""Telegram's command list, per role (setMyCommands scopes), with French descriptions.

At start-up only the public list is published. A person's own list is published when they are
bound, and otherwise the first time they write to this instance (or write with a new role), never
to ids that have not opened a chat with the bot (Telegram answers `chat not found`).
"""

from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.domain import capabilities
from bot.domain.people import PersonView, Role
from bot.telegram.rendering import Renderer

log = logging.getLogger(__name__)


def _commands(renderer: Renderer, names) -> list[BotCommand]:
    return [BotCommand(name, renderer.label(f"commands.{name}")) for name in names]


async def publish_default_commands(bot: ExtBot, renderer: Renderer) -> None:
    await bot.set_my_commands(_commands(renderer, capabilities.PUBLIC_COMMANDS), scope=BotCommandScopeDefault())


async def publish_commands_for(bot: ExtBot, renderer: Renderer, chat_id: int, role: Role) -> bool:
    try:
        await bot.set_my_commands(_commands(renderer, capabilities.commands_for(role)), scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:  # the person may have blocked the bot meanwhile
        log.warning("could not set the commands of chat %s: %s", chat_id, exc)
        return False
    return True


class CommandLists:
    """Which role's list each chat was given by this process (one entry per person who wrote)."""

    def __init__(self, bot: ExtBot, renderer: Renderer) -> None:
        self._bot = bot
        self._renderer = renderer
        self._published: dict[int, Role | None] = {}

    def needs_update(self, chat_id: int, person: PersonView | None) -> bool:
        role = person.role if person is not None else None
        if chat_id not in self._published:
            return role is not None  # unknown people keep the public list
        return self._published[chat_id] != role

    async def publish(self, chat_id: int, person: PersonView | None) -> None:
        """Give this chat the list of the person's role (the public list when no longer known)."""
        role = person.role if person is not None else None
        self._published[chat_id] = role
        if role is None:
            try:
                await self._bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))
            except TelegramError as exc:
                log.warning("could not reset the commands of chat %s: %s", chat_id, exc)
            return
        if not await publish_commands_for(self._bot, self._renderer, chat_id, role):
            self._published.pop(chat_id, None)  # try again next time they write

    def bound(self, chat_id: int, role: Role) -> None:
        """Onboarding published the list itself."""
        self._published[chat_id] = role

