"""The last resort: log the failure with ids only, tell the person once, in French, without details.

Routes (`bot/telegram/routing.py`) catch every failure of their handler and call `apologise`;
`on_error` is python-telegram-bot's error handler for what happens outside a route (polling, the
webhook server, jobs). The log line carries the update id, the handler, the person id and the
exception: never the person's text, file names or names.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, RetryAfter, TimedOut

from bot.handlers.common import chat_id_of, contacts
from bot.telegram.context import BotContext

log = logging.getLogger("bot.errors")


def describe(update: object, context: BotContext) -> str:
    """Ids and sizes only: update, handler, person (people.id), Telegram ids, the command's name;
    never the person's text, file names or names."""
    handler = getattr(context, "handler_name", None)
    if not isinstance(update, Update):
        return f"update=<{type(update).__name__}> handler={handler}"
    person = getattr(context, "person", None)
    parts = [f"update_id={update.update_id}", f"handler={handler}"]
    parts.append(f"person_id={person.id if person is not None else None}")
    if update.effective_user:
        parts.append(f"user_id={update.effective_user.id}")
    if update.effective_chat:
        parts.append(f"chat_id={update.effective_chat.id}")
    if update.callback_query:
        parts.append(f"callback_data={update.callback_query.data!r}")
    message = update.effective_message
    if message is not None:
        parts.append(f"message_id={message.message_id}")
        if message.text:
            command = message.text.split()[0] if message.text.startswith("/") else None
            if command and command[1:].replace("_", "").isalnum() and len(command) <= 33:
                parts.append(f"command={command}")
            parts.append(f"text_length={len(message.text)}")
        if message.document:
            parts.append(f"document_size={message.document.file_size}")
    return " ".join(parts)


async def apologise(update: object, context: BotContext, error: BaseException) -> None:
    """Log `error` and send the person the apology, answering their button only if not done yet."""
    if isinstance(error, Forbidden) and isinstance(update, Update) and (update.effective_chat or update.effective_user):
        chat_id = chat_id_of(update)
        log.info("chat %s blocked the bot while we answered", chat_id)
        try:
            await context.call(context.services.directory.set_blocked, chat_id, True)
        except Exception:  # noqa: BLE001
            log.exception("could not record that chat %s blocked the bot", chat_id)
        return
    log.error("unhandled error while handling %s error=%s", describe(update, context), type(error).__name__, exc_info=error)
    if not isinstance(update, Update) or (update.effective_chat is None and update.effective_user is None):
        return
    try:
        if update.callback_query is not None:
            await context.answer_query(update)  # no-op when the route already answered it
    except Exception:  # noqa: BLE001 - too old or unreachable: the message below still helps
        log.info("update_id=%s: could not answer the button", update.update_id)
    try:
        await context.messenger.send(chat_id_of(update), "common/error.html", **contacts(context))
    except Exception:  # noqa: BLE001 - the apology itself failed: nothing more to do but log it
        log.exception("update_id=%s: could not send the apology", update.update_id)


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    if isinstance(error, (NetworkError, TimedOut, RetryAfter)) and not isinstance(update, Update):
        log.warning("Telegram API unreachable or busy: %s", error)
        return
    await apologise(update, context, error)
