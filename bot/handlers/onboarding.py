"""/start with an invitation code, the data-protection notice, and binding the account."""

from __future__ import annotations

import logging

from telegram import Update

from bot.domain.invitations import RedeemError, RedeemProblem
from bot.domain.people import PersonView, Role
from bot.handlers.common import menu, reply
from bot.telegram.commands import publish_commands_for
from bot.telegram.context import BotContext
from bot.telegram.keyboards import Button, CallbackData, callback, keyboard

log = logging.getLogger(__name__)

FLOW = "onboarding"
NOTICE_VERSION = "2026-12-2"  # bump when templates/onboarding/notice.html changes what it promises


async def start(update: Update, context: BotContext, person: PersonView | None) -> None:
    code = context.args[0] if context.args else None
    if person is not None:
        if code:
            await reply(update, context, "onboarding/code_problem.html", problem=RedeemProblem.ALREADY_BOUND.value)
        await menu(update, context, person)
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
    await reply(
        update, context, "onboarding/notice.html", person=pending.person, keyboard=buttons,
        retention_months=context.services.settings.retention_months,
    )


async def _code_problem(update: Update, context: BotContext, error: RedeemError) -> None:
    minutes = int(error.retry_after.total_seconds() // 60) + 1 if error.retry_after else 0
    log.info("invitation code refused for user %s: %s", update.effective_user.id, error.problem)
    await reply(update, context, "onboarding/code_problem.html", problem=error.problem.value, minutes=minutes)


async def _pending_invitation(update: Update, context: BotContext, data: CallbackData | None) -> int | None:
    """The invitation the consent buttons were made for, if the notice is still awaiting an answer."""
    invitation_id = data.int_arg(0) if data else None
    conversation = await context.conversation(update)
    if conversation is None or conversation.flow != FLOW or conversation.data.get("invitation_id") != invitation_id:
        await reply(update, context, "common/stale_button.html")
        return None
    await update.callback_query.edit_message_reply_markup(None)
    return invitation_id


async def consent_refused(update: Update, context: BotContext, person: PersonView | None, data: CallbackData | None) -> None:
    invitation_id = await _pending_invitation(update, context, data)
    if invitation_id is None:
        return
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=FLOW)
    expires_at = await context.call(context.services.onboarding.invitation_expiry, invitation_id)
    await reply(update, context, "onboarding/refused.html", expires_at=expires_at)


async def consent_accepted(update: Update, context: BotContext, person: PersonView | None, data: CallbackData | None) -> None:
    invitation_id = await _pending_invitation(update, context, data)
    if invitation_id is None:
        return
    user = update.effective_user
    try:
        bound = await context.call(
            context.services.onboarding.redeem,
            user.id,
            invitation_id,
            notice_version=NOTICE_VERSION,
            telegram_username=user.username,
            telegram_name=user.full_name,
        )
    except RedeemError as error:
        await context.call(context.services.conversations.clear, user.id, flow=FLOW)
        await _code_problem(update, context, error)
        return
    await context.call(context.services.conversations.clear, user.id, flow=FLOW)
    context.forget_person()
    log.info("user %s bound to person %s (%s)", user.id, bound.person.id, bound.person.role)
    if await publish_commands_for(context.bot, context.renderer, user.id, bound.person.role):
        context.application.bot_data["command_lists"].bound(user.id, bound.person.role)
    await reply(update, context, "onboarding/welcome.html", person=bound.person)
    if bound.person.role is Role.AUDITEUR and bound.enrolment is not None:
        can_book = context.routes.command("rdv") is not None
        await reply(update, context, "onboarding/step1.html", enrolment=bound.enrolment, can_book=can_book)
