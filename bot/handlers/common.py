"""/menu, /aide, /accessibilite, /annuler, and what happens to updates no other route claimed."""

from __future__ import annotations

import logging

from telegram import Update

from bot.domain import capabilities
from bot.domain.invitations import normalise_code
from bot.domain.people import PersonView, Role
from bot.telegram.context import BotContext
from bot.telegram.keyboards import Button, CallbackData, callback, column

log = logging.getLogger(__name__)


def contacts(context: BotContext) -> dict[str, str]:
    settings = context.services.settings
    return {"cnam_contact": settings.cnam_contact, "accessibility_contact": settings.accessibility_contact}


def menu_keyboard(context: BotContext, role: Role):
    labels = context.renderer
    return column(
        Button(labels.label(f"menu.{name}"), callback("menu", name))
        for name in capabilities.menu_for(role)
        if context.routes.command(name) is not None
    )


async def reply(update: Update, context: BotContext, template: str, /, *, keyboard=None, **values) -> None:
    await context.messenger.send(chat_id_of(update), template, keyboard=keyboard, **{**contacts(context), **values})


def chat_id_of(update: Update) -> int:
    """The private chat to answer in (a callback query may come without its message)."""
    return update.effective_chat.id if update.effective_chat else update.effective_user.id


async def refuse(update: Update, context: BotContext, person: PersonView | None, command: str) -> None:
    """The role guard said no (see `bot/telegram/routing.py`): say why, in French."""
    if person is None:
        await reply(update, context, "common/unknown_user.html")
        return
    log.info("person %s (%s) tried /%s", person.id, person.role, command)
    await reply(update, context, "common/not_allowed.html")


async def menu(update: Update, context: BotContext, person: PersonView) -> None:
    await reply(update, context, "common/menu.html", person=person, keyboard=menu_keyboard(context, person.role))


async def help_command(update: Update, context: BotContext, person: PersonView | None) -> None:
    if person is None:
        await reply(update, context, "common/unknown_user.html")
        return
    commands = [
        {"name": name, "description": context.renderer.label(f"commands.{name}")}
        for name in capabilities.commands_for(person.role)
    ]
    tutor = None
    if person.role is Role.AUDITEUR:
        enrolment = await context.enrolment(person)
        tutor = enrolment.tutor if enrolment else None
    await reply(update, context, "common/help.html", person=person, commands=commands, tutor=tutor)


async def accessibility(update: Update, context: BotContext, person: PersonView | None) -> None:
    await reply(update, context, "common/accessibility.html")


async def cancel(update: Update, context: BotContext, person: PersonView | None) -> None:
    """Abandon the current action and say exactly what stays saved (coach answers are kept as typed)."""
    user_id = update.effective_user.id
    conversation = await context.conversation(update)
    kept: dict = {}
    if conversation is not None and person is not None:
        kept = await _kept_by(conversation, context, person)
        await context.call(context.services.conversations.clear, user_id)
    elif conversation is not None:
        await context.call(context.services.conversations.clear, user_id)
    await reply(update, context, "common/cancelled.html", had_flow=conversation is not None, **kept)


async def _kept_by(conversation, context: BotContext, person: PersonView) -> dict:
    """What the abandoned flow had already saved, for ``common/cancelled.html``."""
    from bot.handlers.coach import COACH_FLOW, EXPERIENCE_FLOW  # the flows whose steps save as they go
    from bot.services.coaching import NoEnrolment

    if conversation.flow == COACH_FLOW:
        section_id = str(conversation.data.get("section") or "")
        try:
            section = context.services.catalogue.section(section_id)
            answered, messages = await context.call(context.services.coaching.kept_in_section, person, section_id)
        except (KeyError, NoEnrolment):  # an outdated flow: say nothing rather than something wrong
            log.info("could not count the kept answers of person %s", person.id)
            return {}
        return {"kept_flow": "coach", "section": section, "answered": answered, "messages": messages}
    if conversation.flow == EXPERIENCE_FLOW:
        answers, _ = await context.call(context.services.coaching.experience_state, person)
        return {"kept_flow": "experience", "answered": len(answers)}
    from bot.handlers.drafts import DEPOT_FLOW

    if conversation.flow == DEPOT_FLOW and person.role is Role.AUDITEUR:
        deposit = await context.call(context.services.deposits.current, person)
        if deposit is not None:  # /annuler stops taking PDFs; the deposit itself stays until abandoned
            return {"kept_flow": "depot", "report": deposit.report, "annexes": len(deposit.annexes)}
    return {}


async def menu_button(update: Update, context: BotContext, person: PersonView | None, data: CallbackData | None) -> None:
    """A /menu button: run the command it names, with the same role guard as typing it."""
    from bot.telegram.routing import run_command

    command = context.routes.command(data.action) if data is not None else None
    if command is None:
        await reply(update, context, "common/stale_button.html")
        return
    await run_command(command, update, context)


async def text_message(update: Update, context: BotContext, person: PersonView | None) -> None:
    """Free text outside any conversation: redeem a code, or give a hint."""
    if person is None:
        text = update.effective_message.text or ""
        if normalise_code(text) is not None:  # someone typing the code they received
            from bot.handlers.onboarding import try_code

            await try_code(update, context, text)
        else:
            await reply(update, context, "common/unknown_user.html")
        return
    await reply(update, context, "common/not_understood.html")


async def stale_button(update: Update, context: BotContext, person: PersonView | None) -> None:
    """Any callback no route claimed: old keyboards, forged data."""
    log.info("unhandled callback data %r from user %s", update.callback_query.data, update.effective_user.id)
    await reply(update, context, "common/stale_button.html")


async def unknown_command(update: Update, context: BotContext, person: PersonView | None) -> None:
    await reply(update, context, "common/unknown_user.html" if person is None else "common/not_understood.html")


async def unsupported_message(update: Update, context: BotContext, person: PersonView | None) -> None:
    """Photos, voice notes, stickers...: say what the bot can read."""
    await reply(update, context, "common/unknown_user.html" if person is None else "common/unsupported_message.html")
