"""/start with an invitation code, the data-protection notice, and binding the account."""

from __future__ import annotations

import logging

from telegram import Update

from bot.domain.invitations import RedeemError, RedeemProblem
from bot.domain.people import Role
from bot.handlers.common import contacts, reply
from bot.telegram.commands import publish_commands_for
from bot.telegram.context import BotContext
from bot.telegram.keyboards import Button, callback, keyboard, parse_callback

log = logging.getLogger(__name__)

FLOW = "onboarding"
NOTICE_VERSION = "2026-11"


async def start(update: Update, context: BotContext) -> None:
    code = context.args[0] if context.args else None
    person = await context.identify(update)
    if person is not None:
        if code:
            await reply(update, context, "onboarding/code_problem.html", problem=RedeemProblem.ALREADY_BOUND.value)
        from bot.handlers.common import menu

        await menu(update, context)
        return
    if not code:
        await reply(update, context, "common/unknown_user.html")
        return
    await try_code(update, context, code)


async def try_code(update: Update, context: BotContext, raw_code: str) -> None:
    """Check a code (deep link or typed); a valid one gets the notice and the consent buttons."""
    user = update.effective_user
    try:
        pending = await context.call(context.services.onboarding.check_code, user.id, raw_code)
    except RedeemError as error:
        await _code_problem(update, context, error)
        return
    await context.call(
        context.services.conversations.set, user.id, FLOW, "consent", {"invitation_id": pending.invitation_id}
    )
    buttons = keyboard(
        [
            [
                Button(context.renderer.label("buttons.consent_accept"), callback("consent", "yes", pending.invitation_id)),
                Button(context.renderer.label("buttons.consent_refuse"), callback("consent", "no", pending.invitation_id)),
            ]
        ]
    )
    await reply(update, context, "onboarding/notice.html", person=pending.person, keyboard=buttons)


async def _code_problem(update: Update, context: BotContext, error: RedeemError) -> None:
    minutes = int(error.retry_after.total_seconds() // 60) + 1 if error.retry_after else 0
    log.info("invitation code refused for user %s: %s", update.effective_user.id, error.problem)
    await reply(update, context, "onboarding/code_problem.html", problem=error.problem.value, minutes=minutes)


async def consent_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    await query.answer()
    user = update.effective_user
    data = parse_callback(query.data)
    invitation_id = data.int_arg(0) if data else None
    conversation = await context.call(context.services.conversations.get, user.id)
    if (
        data is None
        or data.action not in {"yes", "no"}
        or conversation is None
        or conversation.flow != FLOW
        or conversation.data.get("invitation_id") != invitation_id
    ):
        await reply(update, context, "common/stale_button.html")
        return
    await query.edit_message_reply_markup(None)
    if data.action == "no":
        await context.call(context.services.conversations.clear, user.id, flow=FLOW)
        expires_at = await context.call(context.services.onboarding.invitation_expiry, invitation_id)
        await reply(update, context, "onboarding/refused.html", expires_at=expires_at)
        return
    try:
        bound = await context.call(
            context.services.onboarding.redeem,
            user.id,
            invitation_id,
            notice_version=NOTICE_VERSION,
            telegram_username=user.username,
        )
    except RedeemError as error:
        await context.call(context.services.conversations.clear, user.id, flow=FLOW)
        await _code_problem(update, context, error)
        return
    await context.call(context.services.conversations.clear, user.id, flow=FLOW)
    log.info("user %s bound to person %s (%s)", user.id, bound.person.id, bound.person.role)
    await publish_commands_for(context.bot, context.renderer, user.id, bound.person.role)
    await reply(update, context, "onboarding/welcome.html", person=bound.person)
    if bound.person.role is Role.AUDITEUR and bound.enrolment is not None:
        from bot.handlers.common import COMMAND_CALLBACKS

        await reply(update, context, "onboarding/step1.html", enrolment=bound.enrolment, can_book="rdv" in COMMAND_CALLBACKS)
