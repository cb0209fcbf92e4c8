"""The last resort: log the failure with its context, tell the person in French, without details."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, RetryAfter, TimedOut

from bot.handlers.common import contacts
from bot.telegram.context import BotContext

log = logging.getLogger("bot.errors")


def describe(update: object) -> str:
    if not isinstance(update, Update):
        return type(update).__name__
    parts = [f"update_id={update.update_id}"]
    if update.effective_user:
        parts.append(f"user_id={update.effective_user.id}")
    if update.effective_chat:
        parts.append(f"chat_id={update.effective_chat.id}")
    if update.callback_query:
        parts.append(f"callback_data={update.callback_query.data!r}")
    message = update.effective_message
    if message is not None:  # ids and sizes only: never the person's text nor the file name
        parts.append(f"message_id={message.message_id}")
        if message.text:
            command = message.text.split()[0] if message.text.startswith("/") else None
            if command and command[1:].replace("_", "").isalnum() and len(command) <= 33:
                parts.append(f"command={command}")
            parts.append(f"text_length={len(message.text)}")
        if message.document:
            parts.append(f"document_size={message.document.file_size}")
    return " ".join(parts)


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    if isinstance(error, (NetworkError, TimedOut, RetryAfter)) and not isinstance(update, Update):
        log.warning("Telegram API unreachable or busy: %s", error)
        return
    if isinstance(error, Forbidden) and isinstance(update, Update) and update.effective_chat:
        log.info("chat %s blocked the bot while we answered", update.effective_chat.id)
        await context.call(context.services.directory.set_blocked, update.effective_chat.id, True)
        return
    log.error("unhandled error while handling %s", describe(update), exc_info=error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            if update.callback_query:
                await update.callback_query.answer()
            await context.messenger.send(update.effective_chat.id, "common/error.html", **contacts(context))
        except Exception:  # the apology itself failed: nothing more to do but log it
            log.exception("could not tell chat %s about the error", update.effective_chat.id)
