"""/mesdonnees (a copy of everything stored about the person) and /supprimer (erasure, confirmed first).

Buttons ``erase:yes`` / ``erase:no`` (routes in ``bot/routes.py``, guarded by ``supprimer``). The
button only ever erases the data of the person who presses it (identified by their Telegram
account), and the service re-checks open work.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import time

from telegram import Update
from telegram.ext import Application, ContextTypes

from bot.documents.personal_data import export_docx, export_json, export_text
from bot.domain.people import PersonView
from bot.handlers.common import chat_id_of, contacts, reply
from bot.services.personal_data import AlreadyErased, HandOverFirst
from bot.telegram.context import BotContext
from bot.telegram.keyboards import Button, CallbackData, callback, keyboard

log = logging.getLogger(__name__)


async def mesdonnees_command(update: Update, context: BotContext, person: PersonView) -> None:
    services = context.services
    data = await context.call(services.personal_data.export, person, person.id)
    text = export_text(
        data, context.renderer, services.catalogue, services.coaching.experience_content,
        retention_months=services.settings.retention_months, **contacts(context),
    )
    docx = await context.call(export_docx, text)
    chat_id = chat_id_of(update)
    await reply(update, context, "personal_data/export_intro.html")
    stamp = data["exported_at"][:10]
    exported_at = services.clock()
    await context.messenger.send_document(
        chat_id, docx, f"mes-donnees-{stamp}.docx", caption_template="personal_data/export_caption.html",
        kind="docx", exported_at=exported_at,
    )
    await context.messenger.send_document(
        chat_id, export_json(data), f"mes-donnees-{stamp}.json", caption_template="personal_data/export_caption.html",
        kind="json", exported_at=exported_at,
    )


async def supprimer_command(update: Update, context: BotContext, person: PersonView) -> None:
    preview = await context.call(context.services.personal_data.preview_erasure, person, person.id)
    if preview.work.blocking:
        await reply(update, context, "personal_data/hand_over_first.html", work=preview.work)
        return
    buttons = keyboard(
        [
            [Button(context.renderer.label("buttons.erase_confirm"), callback("erase", "yes"))],
            [Button(context.renderer.label("buttons.erase_keep"), callback("erase", "no"))],
        ]
    )
    await reply(
        update, context, "personal_data/confirm.html", erased=[str(e) for e in preview.erased],
        kept=[str(k) for k in preview.kept], future_meetings=preview.future_meetings, drafts=preview.drafts,
        keyboard=buttons,
    )


async def _remove_buttons(update: Update) -> None:
    query = update.callback_query
    if query is not None and query.message is not None:
        await query.edit_message_reply_markup(None)


async def erase_declined(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    await _remove_buttons(update)
    await reply(update, context, "personal_data/kept.html")


async def erase_confirmed(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """Erases the data of the person who pressed (never anyone named by the button's data)."""
    await _remove_buttons(update)
    try:
        done = await context.call(context.services.personal_data.erase, person, person.id)
    except HandOverFirst as refused:
        await reply(update, context, "personal_data/hand_over_first.html", work=refused.work)
        return
    except AlreadyErased:
        await reply(update, context, "personal_data/already_erased.html")
        return
    context.forget_person()
    await context.application.bot_data["command_lists"].publish(chat_id_of(update), None)  # back to the public list
    await reply(update, context, "personal_data/erased.html", cancelled_meetings=done.cancelled_meetings)


RETENTION_JOB = "personal-data-retention"
RETENTION_TIME = time(3, 30)  # local time (settings.timezone), every day


async def retention_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    services = context.application.bot_data["services"]
    await asyncio.to_thread(services.personal_data.purge_expired)


def start_retention_job(application: Application) -> None:
    """The daily retention purge (see PersonalData.purge_expired), scheduled from post_init."""
    if application.job_queue is None:  # pragma: no cover - the job-queue extra is a dependency
        log.error("no job queue: the retention purge will not run")
        return
    zone = application.bot_data["services"].settings.timezone
    application.job_queue.run_daily(retention_job, time=RETENTION_TIME.replace(tzinfo=zone), name=RETENTION_JOB)
