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
        return repr(update)[:200]
    parts = [f"update_id={update.update_id}"]
    if update.effective_user:
        parts.append(f"user_id={update.effective_user.id}")
    if update.effective_chat:
        parts.append(f"chat_id={update.effective_chat.id}")
    if update.callback_query:
        parts.append(f"callback_data={update.callback_query.data!r}")
    message = update.effective_message
    if message is not None:
        if message.text:
            parts.append(f"text={message.text[:80]!r}{'…' if len(message.text) > 80 else ''} ({len(message.text)} chars)")
        if message.document:
            parts.append(f"document={message.document.file_name!r} ({message.document.file_size} bytes)")
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
