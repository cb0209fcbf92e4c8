"""A person blocks or unblocks the bot: recorded from Telegram's my_chat_member update."""

from __future__ import annotations

import logging

from telegram import ChatMember, Update

from bot.domain.people import PersonView
from bot.telegram.context import BotContext

log = logging.getLogger(__name__)


async def chat_member_changed(update: Update, context: BotContext, person: PersonView | None) -> None:
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    status = change.new_chat_member.status
    blocked = status in {ChatMember.BANNED, ChatMember.LEFT}
    person = await context.call(context.services.directory.set_blocked, change.chat.id, blocked)
    context.forget_person()
    log.info(
        "chat %s %s the bot (person %s)", change.chat.id, "blocked" if blocked else "unblocked", person.id if person else None
    )
