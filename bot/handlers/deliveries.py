"""/envois (staff): what the bot has sent on its own, what waits, and what needs a look."""

from __future__ import annotations

from telegram import Update

from bot.domain.people import PersonView
from bot.handlers.common import reply
from bot.telegram.context import BotContext


async def deliveries_command(update: Update, context: BotContext, staff: PersonView) -> None:
    report = await context.call(context.services.outbox.report, staff)
    await reply(update, context, "deliveries/report.html", counts=report.counts, waiting=report.waiting, dead=report.dead)
