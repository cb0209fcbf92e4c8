"""Sending messages: templates rendered, long text split, blocked people skipped and recorded."""

from __future__ import annotations

import asyncio
import logging

from telegram import InlineKeyboardMarkup, InputFile, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import ExtBot

from bot.domain.people import PersonView
from bot.services.directory import Directory
from bot.telegram.rendering import Renderer, split_message

log = logging.getLogger(__name__)


class Messenger:
    def __init__(self, bot: ExtBot, renderer: Renderer, directory: Directory) -> None:
        self._bot = bot
        self._renderer = renderer
        self._directory = directory

    async def send_html(
        self, chat_id: int, text: str, *, keyboard: InlineKeyboardMarkup | None = None
    ) -> list[Message]:
        """Send Telegram HTML, split into several messages if needed; the keyboard goes on the last."""
        chunks = split_message(text)
        sent = []
        try:
            for index, chunk in enumerate(chunks):
                markup = keyboard if index == len(chunks) - 1 else None
                sent.append(
                    await self._bot.send_message(
                        chat_id, chunk, parse_mode=ParseMode.HTML, reply_markup=markup, disable_web_page_preview=True
                    )
                )
        except Forbidden:
            log.info("chat %s has blocked the bot; recording it", chat_id)
            await asyncio.to_thread(self._directory.set_blocked, chat_id, True)
        return sent

    async def send(
        self, chat_id: int, template: str, /, *, keyboard: InlineKeyboardMarkup | None = None, **context
    ) -> list[Message]:
        return await self.send_html(chat_id, self._renderer.render(template, **context), keyboard=keyboard)

    async def notify(
        self, person: PersonView, template: str, /, *, keyboard: InlineKeyboardMarkup | None = None, **context
    ) -> bool:
        """Proactive message to a person; nothing is sent to someone unbound or who blocked the bot."""
        if person.telegram_user_id is None or person.blocked:
            log.info("not notifying person %s (%s)", person.id, "blocked" if person.blocked else "not on Telegram")
            return False
        sent = await self.send(person.telegram_user_id, template, keyboard=keyboard, **context)
        return bool(sent)

    async def send_document(
        self,
        chat_id: int,
        content: bytes | str,
        filename: str,
        *,
        caption_template: str | None = None,
        person: PersonView | None = None,
        **context,
    ) -> Message | None:
        if person is not None and person.blocked:
            return None
        caption = self._renderer.render(caption_template, **context) if caption_template else None
        try:
            return await self._bot.send_document(
                chat_id,
                # bytes are uploaded; a str is the file_id of a file Telegram already has (no re-upload)
                InputFile(content, filename=filename) if isinstance(content, bytes) else content,
                caption=caption,
                parse_mode=ParseMode.HTML if caption else None,
            )
        except Forbidden:
            await asyncio.to_thread(self._directory.set_blocked, chat_id, True)
            return None

    async def edit_or_send(
        self, chat_id: int, message_id: int | None, template: str, /, *, keyboard: InlineKeyboardMarkup | None = None, **context
    ) -> None:
        """Replace a message in place (menus, pickers); fall back to a new message if it cannot be edited."""
        text = self._renderer.render(template, **context)
        if message_id is not None and len(text) <= 4096:
            try:
                await self._bot.edit_message_text(
                    text, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML,
                    reply_markup=keyboard, disable_web_page_preview=True,
                )
                return
            except BadRequest as exc:
                if "not modified" in str(exc).lower():
                    return
                log.info("could not edit message %s in chat %s: %s", message_id, chat_id, exc)
        await self.send_html(chat_id, text, keyboard=keyboard)


