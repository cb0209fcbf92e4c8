"""Telegram's command list, per role (setMyCommands scopes), with French descriptions."""

from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.domain import capabilities
from bot.domain.people import Role
from bot.telegram.rendering import Renderer

log = logging.getLogger(__name__)


def _commands(renderer: Renderer, names) -> list[BotCommand]:
    return [BotCommand(name, renderer.label(f"commands.{name}")) for name in names]


async def publish_default_commands(bot: ExtBot, renderer: Renderer) -> None:
    await bot.set_my_commands(_commands(renderer, capabilities.PUBLIC_COMMANDS), scope=BotCommandScopeDefault())


async def publish_commands_for(bot: ExtBot, renderer: Renderer, chat_id: int, role: Role) -> None:
    try:
        await bot.set_my_commands(_commands(renderer, capabilities.commands_for(role)), scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:  # the person may have blocked the bot meanwhile
        log.warning("could not set the commands of chat %s: %s", chat_id, exc)


async def forget_commands_for(bot: ExtBot, chat_id: int) -> None:
    """Back to the public list (after an erasure: the person is no longer known)."""
    try:
        await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:
        log.warning("could not reset the commands of chat %s: %s", chat_id, exc)
