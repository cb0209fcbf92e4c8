"""/menu, /aide, /accessibilite, /annuler, and what happens to text outside any conversation."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Update

from bot.domain import capabilities
from bot.domain.invitations import normalise_code
from bot.domain.people import PersonView, Role
from bot.handlers import flows
from bot.telegram.context import BotContext
from bot.telegram.keyboards import Button, callback, column, parse_callback

log = logging.getLogger(__name__)

CommandCallback = Callable[[Update, BotContext], Awaitable[None]]

# command name -> callback, filled by app.py from every feature; /menu buttons reuse them.
COMMAND_CALLBACKS: dict[str, CommandCallback] = {}


def contacts(context: BotContext) -> dict[str, str]:
    settings = context.services.settings
    return {"cnam_contact": settings.cnam_contact, "accessibility_contact": settings.accessibility_contact}


def menu_keyboard(context: BotContext, role: Role):
    labels = context.renderer
    return column(
        Button(labels.label(f"menu.{name}"), callback("menu", name))
        for name in capabilities.menu_for(role)
        if name in COMMAND_CALLBACKS
    )


async def reply(update: Update, context: BotContext, template: str, /, *, keyboard=None, **values) -> None:
    await context.messenger.send(chat_id_of(update), template, keyboard=keyboard, **{**contacts(context), **values})


def chat_id_of(update: Update) -> int:
    """The private chat to answer in (a callback query may come without its message)."""
    return update.effective_chat.id if update.effective_chat else update.effective_user.id


async def require_person(update: Update, context: BotContext, command: str) -> PersonView | None:
    """The person behind the update if their role has `command`; otherwise tell them and return None."""
    person = await context.identify(update)
    if person is None:
        await reply(update, context, "common/unknown_user.html")
        return None
    if not capabilities.allowed(person.role, command):
        log.info("person %s (%s) tried /%s", person.id, person.role, command)
        await reply(update, context, "common/not_allowed.html")
        return None
    return person


async def menu(update: Update, context: BotContext) -> None:
    person = await require_person(update, context, "menu")
    if person is None:
        return
    await reply(update, context, "common/menu.html", person=person, keyboard=menu_keyboard(context, person.role))


async def help_command(update: Update, context: BotContext) -> None:
    person = await context.identify(update)
    if person is None:
        await reply(update, context, "common/unknown_user.html")
        return
    commands = [
        {"name": name, "description": context.renderer.label(f"commands.{name}")}
        for name in capabilities.commands_for(person.role)
    ]
    tutor = None
    if person.role is Role.AUDITEUR:
        enrolment = await context.call(context.services.directory.active_enrolment, person.id)
        tutor = enrolment.tutor if enrolment else None
    await reply(update, context, "common/help.html", person=person, commands=commands, tutor=tutor)


async def accessibility(update: Update, context: BotContext) -> None:
    await reply(update, context, "common/accessibility.html")


async def cancel(update: Update, context: BotContext) -> None:
    user_id = update.effective_user.id
    had_flow = await context.call(context.services.conversations.get, user_id) is not None
    await context.call(context.services.conversations.clear, user_id)
    await reply(update, context, "common/cancelled.html", had_flow=had_flow)


async def menu_button(update: Update, context: BotContext) -> None:
    """A /menu button: run the command it names, with the same permission checks as typing it."""
    query = update.callback_query
    await query.answer()
    data = parse_callback(query.data)
    command = data.action if data else None
    target = COMMAND_CALLBACKS.get(command or "")
    if target is None:
        await reply(update, context, "common/stale_button.html")
        return
    await target(update, context)


async def text_message(update: Update, context: BotContext) -> None:
    """Free text: continue the person's conversation, or redeem a code, or give a hint."""
    user_id = update.effective_user.id
    conversation = await context.call(context.services.conversations.get, user_id)
    if conversation is not None and conversation.flow in flows.TEXT_FLOWS:
        await flows.TEXT_FLOWS[conversation.flow](update, context, conversation)
        return
    person = await context.identify(update)
    if person is None:
        text = update.effective_message.text or ""
        if normalise_code(text) is not None:  # someone typing the code they received
            from bot.handlers.onboarding import try_code

            await try_code(update, context, text)
        else:
            await reply(update, context, "common/unknown_user.html")
        return
    await reply(update, context, "common/not_understood.html")


async def document_message(update: Update, context: BotContext) -> None:
    user_id = update.effective_user.id
    conversation = await context.call(context.services.conversations.get, user_id)
    if conversation is not None and conversation.flow in flows.DOCUMENT_FLOWS:
        await flows.DOCUMENT_FLOWS[conversation.flow](update, context, conversation)
        return
    default = flows.DOCUMENT_FLOWS.get("default")
    if default is not None:
        await default(update, context, conversation)
        return
    person = await context.identify(update)
    await reply(update, context, "common/unknown_user.html" if person is None else "common/not_understood.html")


async def stale_button(update: Update, context: BotContext) -> None:
    """Any callback no handler claimed: old keyboards, forged data."""
    await update.callback_query.answer()
    log.info("unhandled callback data %r from user %s", update.callback_query.data, update.effective_user.id)
    await reply(update, context, "common/stale_button.html")


async def unknown_command(update: Update, context: BotContext) -> None:
    person = await context.identify(update)
    await reply(update, context, "common/unknown_user.html" if person is None else "common/not_understood.html")


async def unsupported_message(update: Update, context: BotContext) -> None:
    """Photos, voice notes, stickers...: say what the bot can read."""
    person = await context.identify(update)
    await reply(update, context, "common/unknown_user.html" if person is None else "common/unsupported_message.html")
