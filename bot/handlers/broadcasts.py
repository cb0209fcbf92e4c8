"""/diffuser (staff): write a message (formatting kept, an optional document), choose the audience,
see it exactly as recipients will, then send now or schedule; follow, pause, resume or cancel it;
the scheduled ones; the enrolment announcements from the academic calendar.

The steps live in the stored conversation (flow ``broadcast``); the broadcast itself is stored as a
draft from the preview on, so confirming names it by id and a second press is refused by the service.
"""

from __future__ import annotations

import functools
import logging

from telegram import InputFile, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.domain import broadcasts as rules
from bot.domain.broadcasts import Audience, AudienceKind, BroadcastError, State
from bot.domain.calendar import paris_date
from bot.domain.people import PersonView
from bot.domain.permissions import PermissionDenied
from bot.domain.semesters import Semester
from bot.handlers.common import chat_id_of, reply
from bot.services.broadcasts import Preview
from bot.services.conversations import Conversation
from bot.telegram.broadcast_progress import progress_message
from bot.telegram.context import BotContext
from bot.telegram.keyboards import Button, CallbackData, callback, column, keyboard

log = logging.getLogger(__name__)

FLOW = "broadcast"
COMMAND = "diffuser"


def _label(context: BotContext, key: str, **params) -> str:
    return context.renderer.label(f"broadcast.{key}", **params)


async def _problem(update: Update, context: BotContext, error: BroadcastError) -> None:
    await reply(update, context, "broadcasts/problem.html", code=error.code, details=error.details)


async def _save(update: Update, context: BotContext, step: str, data: dict) -> None:
    await context.call(context.services.conversations.set, update.effective_user.id, FLOW, step, data)


async def _clear(update: Update, context: BotContext) -> None:
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=FLOW)


# -- how the routes call in (bot/routes.py): a BroadcastError is bad input, explained in French ------


def explained(handler):
    """Wrap a route: bad input (BroadcastError) gets its French explanation and nothing is sent."""

    @functools.wraps(handler)
    async def run(update: Update, context: BotContext, staff: PersonView, *args) -> None:
        try:
            await handler(update, context, staff, *args)
        except BroadcastError as error:
            await _problem(update, context, error)
        except PermissionDenied:
            await reply(update, context, "common/not_allowed.html")

    return run


# -- composing ----------------------------------------------------------------------------------------


@explained
async def start(update: Update, context: BotContext, staff: PersonView) -> None:
    await _save(update, context, "message", {})
    scheduled = await context.call(context.services.broadcasts.scheduled, staff)
    buttons = column([
        Button(_label(context, "scheduled", count=len(scheduled)), callback("bcast", "list")),
        Button(_label(context, "announcements"), callback("bcast", "ann")),
    ])
    await reply(update, context, "broadcasts/ask_message.html", keyboard=buttons)


@explained
async def on_text(update: Update, context: BotContext, staff: PersonView, conversation: Conversation) -> None:
    message = update.effective_message
    step, data = conversation.step, dict(conversation.data)
    if step in ("message", "audience"):
        html = rules.validate_message(message.text_html or "", has_document="doc_file_id" in data)
        data["html"] = html
        await _save(update, context, "audience", data)
        await _ask_audience(update, context, staff, data)
    elif step == "when":
        when = rules.parse_when(message.text or "", now=context.services.clock(), timezone=context.services.settings.timezone)
        view = await context.call(context.services.broadcasts.schedule, staff, int(data["id"]), when)
        await _clear(update, context)
        count = await context.call(context.services.broadcasts.count, staff, view.audience)
        await reply(update, context, "broadcasts/scheduled.html", broadcast=view, count=count,
                    keyboard=column([Button(_label(context, "cancel_scheduled"), callback("bcast", "drop", view.id))]))
    elif step == "edit":
        preview = await context.call(context.services.broadcasts.edit_message, staff, int(data["id"]), message.text_html or "")
        await _clear(update, context)
        await _show_preview(update, context, preview)
    elif step in ("period1", "period2"):
        await _period_text(update, context, staff, data, int(step[-1]), message.text or "")
    else:
        await reply(update, context, "common/not_understood.html")


@explained
async def on_document(update: Update, context: BotContext, staff: PersonView, conversation: Conversation) -> None:
    message = update.effective_message
    if conversation.step not in ("message", "audience"):
        await reply(update, context, "common/not_understood.html")
        return
    data = dict(conversation.data)
    caption = message.caption_html if message.caption else data.get("html", "")
    data["html"] = rules.validate_message(caption, has_document=True)
    data["doc_file_id"] = message.document.file_id
    data["doc_name"] = (message.document.file_name or "document")[:255]
    await _save(update, context, "audience", data)
    await _ask_audience(update, context, staff, data)


async def _ask_audience(update: Update, context: BotContext, staff: PersonView, data: dict) -> None:
    kinds = [AudienceKind.AUDITEURS, AudienceKind.SEMESTER, AudienceKind.CERTIFICATION, AudienceKind.STAGE,
             AudienceKind.TUTORS, AudienceKind.EVERYONE]
    if context.services.broadcasts.stage_filter is None:  # the accompaniment steps are not stored yet
        kinds.remove(AudienceKind.STAGE)
    buttons = column(Button(_label(context, f"audience_{k.name.lower()}"), callback("bcast", "aud", k.value)) for k in kinds)
    await reply(update, context, "broadcasts/ask_audience.html", has_document="doc_file_id" in data,
                document_name=data.get("doc_name"), keyboard=buttons)


@explained
async def audience_chosen(update: Update, context: BotContext, staff: PersonView, data: CallbackData) -> None:
    conversation = await _draft(update, context)
    if conversation is None:
        return
    try:
        kind = AudienceKind(data.arg(0) or "")
    except ValueError:
        await reply(update, context, "common/stale_button.html")
        return
    choices = await context.call(context.services.broadcasts.audience_choices, staff)
    if kind is AudienceKind.SEMESTER:
        buttons = column(Button(Semester.parse(s).code, callback("bcast", "sem", s)) for s in choices.semesters)
        await reply(update, context, "broadcasts/ask_value.html", kind=kind.value, empty=not choices.semesters, keyboard=buttons)
    elif kind is AudienceKind.CERTIFICATION:
        buttons = column(Button(c[:60], callback("bcast", "cert", i)) for i, c in enumerate(choices.certifications[:50]))
        await reply(update, context, "broadcasts/ask_value.html", kind=kind.value, empty=not choices.certifications,
                    keyboard=buttons)
    elif kind is AudienceKind.STAGE:
        if choices.stages is None:
            raise BroadcastError("audience_unavailable", kind=kind.value)
        buttons = column(Button(_label(context, "stage_choice", stage=_label(context, f"stage.{code}"), count=count),
                                callback("bcast", "stage", code)) for code, count in choices.stages)
        await reply(update, context, "broadcasts/ask_value.html", kind=kind.value, empty=not choices.stages, keyboard=buttons)
    else:
        await _compose(update, context, staff, conversation, Audience(kind))


@explained
async def value_chosen(update: Update, context: BotContext, staff: PersonView, data: CallbackData) -> None:
    conversation = await _draft(update, context)
    if conversation is None:
        return
    if data.action == "sem":
        audience = Audience.parse(f"semestre:{data.arg(0)}")
    elif data.action == "stage":
        audience = Audience.parse(f"etape:{data.arg(0)}")
    else:
        choices = await context.call(context.services.broadcasts.audience_choices, staff)
        index = data.int_arg(0)
        if index is None or index >= len(choices.certifications):
            await reply(update, context, "common/stale_button.html")
            return
        audience = Audience(AudienceKind.CERTIFICATION, choices.certifications[index])
    await _compose(update, context, staff, conversation, audience)


async def _draft(update: Update, context: BotContext) -> Conversation | None:
    conversation = await context.call(context.services.conversations.get, update.effective_user.id)
    if conversation is None or conversation.flow != FLOW or conversation.step != "audience":
        await reply(update, context, "common/stale_button.html")
        return None
    return conversation


async def _compose(update: Update, context: BotContext, staff: PersonView, conversation: Conversation, audience: Audience) -> None:
    data = conversation.data
    preview = await context.call(
        context.services.broadcasts.compose, staff, message_html=data.get("html", ""), audience=audience,
        document_name=data.get("doc_name"), document_file_id=data.get("doc_file_id"),
    )
    await _clear(update, context)
    await _show_preview(update, context, preview)


async def _show_preview(update: Update, context: BotContext, preview: Preview) -> None:
    """The message exactly as recipients will receive it, then the count and the choices."""
    broadcast = preview.broadcast
    chat_id = chat_id_of(update)
    await reply(update, context, "broadcasts/preview_intro.html")
    if broadcast.has_document:
        document = broadcast.document_file_id
        if document is None:  # uploaded from the command line
            content = await context.call(context.services.broadcasts.document_content, broadcast.id)
            document = InputFile(content or b"", filename=broadcast.document_name)
        await context.bot.send_document(chat_id, document, caption=broadcast.message_html or None,
                                        parse_mode=ParseMode.HTML if broadcast.message_html else None)
    else:
        await context.messenger.send_html(chat_id, broadcast.message_html)
    rows = [[Button(_label(context, "send_now"), callback("bcast", "send", broadcast.id))],
            [Button(_label(context, "schedule"), callback("bcast", "when", broadcast.id))],
            [Button(_label(context, "drop"), callback("bcast", "drop", broadcast.id))]]
    if broadcast.state is State.SCHEDULED:
        rows = [[Button(_label(context, "change_date"), callback("bcast", "when", broadcast.id))],
                [Button(_label(context, "cancel_scheduled"), callback("bcast", "drop", broadcast.id))]]
    await reply(update, context, "broadcasts/preview.html", broadcast=broadcast, count=preview.count,
                audience=_audience_label(context, broadcast.audience), keyboard=keyboard(rows))


def _audience_label(context: BotContext, audience: Audience) -> str:
    name = _label(context, f"audience_{AudienceKind(audience.kind).name.lower()}")
    if audience.kind is AudienceKind.STAGE:
        try:
            return f"{name} : {_label(context, f'stage.{audience.value}')}"
        except KeyError:
            pass
    return f"{name} : {audience.value}" if audience.value else name


# -- confirming ---------------------------------------------------------------------------------------


@explained
async def send_pressed(update: Update, context: BotContext, staff: PersonView, data: CallbackData) -> None:
    broadcast_id = data.int_arg(0)
    if broadcast_id is None:
        await reply(update, context, "common/stale_button.html")
        return
    preview = await context.call(context.services.broadcasts.send_now, staff, broadcast_id)
    await _drop_buttons(update)
    progress = await context.call(context.services.broadcasts.progress, staff, preview.broadcast.id)
    text, buttons = progress_message(context.renderer, progress)
    sent = await context.messenger.send_html(chat_id_of(update), text, keyboard=buttons)
    if sent:
        await context.call(context.services.broadcasts.attach_progress_message, preview.broadcast.id,
                           chat_id_of(update), sent[-1].message_id)


@explained
async def when_pressed(update: Update, context: BotContext, staff: PersonView, data: CallbackData) -> None:
    broadcast_id = data.int_arg(0)
    view = await context.call(context.services.broadcasts.get, staff, broadcast_id or 0)
    if view.state not in (State.DRAFT, State.SCHEDULED):
        raise BroadcastError("already_confirmed", state=view.state.value, when=view.scheduled_at)
    await _save(update, context, "when", {"id": view.id})
    await reply(update, context, "broadcasts/ask_when.html", broadcast=view)


@explained
async def drop_pressed(update: Update, context: BotContext, staff: PersonView, data: CallbackData) -> None:
    view = await context.call(context.services.broadcasts.get, staff, data.int_arg(0) or 0)
    if view.state not in (State.DRAFT, State.SCHEDULED):
        raise BroadcastError("already_confirmed", state=view.state.value, when=view.scheduled_at)
    await context.call(context.services.broadcasts.cancel, staff, view.id)
    await _drop_buttons(update)
    await reply(update, context, "broadcasts/dropped.html", broadcast=view)


async def _drop_buttons(update: Update) -> None:
    query = update.callback_query
    if query is not None and query.message is not None:
        try:
            await query.edit_message_reply_markup(None)
        except BadRequest:
            pass


# -- while sending: pause, resume, cancel ---------------------------------------------------------------


@explained
async def sending_pressed(update: Update, context: BotContext, staff: PersonView, data: CallbackData) -> None:
    action = {"pause": context.services.broadcasts.pause, "resume": context.services.broadcasts.resume,
              "cancel": context.services.broadcasts.cancel}[data.action]
    broadcast_id = data.int_arg(0) or 0
    await context.call(action, staff, broadcast_id)
    await context.application.bot_data["broadcast_progress"].refresh(broadcast_id)
    progress = await context.call(context.services.broadcasts.progress, staff, broadcast_id)
    await reply(update, context, "broadcasts/state_changed.html", action=data.action, progress=progress)


# -- scheduled broadcasts -------------------------------------------------------------------------------


@explained
async def list_pressed(update: Update, context: BotContext, staff: PersonView, data: CallbackData) -> None:
    scheduled = await context.call(context.services.broadcasts.scheduled, staff)
    rows = []
    for view in scheduled[:15]:
        rows.append([Button(_label(context, "show", id=view.id), callback("bcast", "show", view.id))])
    await reply(update, context, "broadcasts/scheduled_list.html", scheduled=scheduled,
                audiences={v.id: _audience_label(context, v.audience) for v in scheduled}, keyboard=keyboard(rows))


@explained
async def show_pressed(update: Update, context: BotContext, staff: PersonView, data: CallbackData) -> None:
    preview = await context.call(context.services.broadcasts.preview, staff, data.int_arg(0) or 0)
    if preview.broadcast.state is not State.SCHEDULED:
        raise BroadcastError("not_editable", state=preview.broadcast.state.value)
    await _show_preview(update, context, preview)
    await reply(update, context, "broadcasts/edit_hint.html", broadcast=preview.broadcast,
                keyboard=column([Button(_label(context, "edit_message"), callback("bcast", "edit", preview.broadcast.id))]))


@explained
async def edit_pressed(update: Update, context: BotContext, staff: PersonView, data: CallbackData) -> None:
    view = await context.call(context.services.broadcasts.get, staff, data.int_arg(0) or 0)
    if view.state not in rules.EDITABLE:
        raise BroadcastError("not_editable", state=view.state.value)
    await _save(update, context, "edit", {"id": view.id})
    await reply(update, context, "broadcasts/ask_edit.html", broadcast=view)


# -- the enrolment announcements --------------------------------------------------------------------------


def _announcement_year(context: BotContext) -> int:
    """The academic year whose enrolments come next: from April on, the one starting this autumn."""
    today = context.services.clock().astimezone(context.services.settings.timezone).date()
    return today.year if today.month >= 4 else today.year - 1


@explained
async def announcements_pressed(update: Update, context: BotContext, staff: PersonView, data: CallbackData) -> None:
    year = _announcement_year(context)
    periods = await context.call(context.services.broadcasts.periods, year)
    buttons = column([
        Button(_label(context, "set_calendar"), callback("bcast", "cal", year)),
        Button(_label(context, "schedule_announcements"), callback("bcast", "annok", year)),
    ])
    await reply(update, context, "broadcasts/announcements.html", year=year, periods=periods,
                year_label=f"{year}-{year + 1}", keyboard=buttons)


@explained
async def calendar_pressed(update: Update, context: BotContext, staff: PersonView, data: CallbackData) -> None:
    year = data.int_arg(0) or _announcement_year(context)
    await _save(update, context, "period1", {"year": year})
    await reply(update, context, "broadcasts/ask_period.html", semester=Semester(year, 1), saved=None)


async def _period_text(update: Update, context: BotContext, staff: PersonView, data: dict, number: int, text: str) -> None:
    semester = Semester(int(data["year"]), number)
    period = rules.parse_period(text, semester, today=paris_date(context.services.clock()))
    await context.call(context.services.broadcasts.set_period, staff, semester, period.opens_on, period.closes_on)
    if number == 1:
        await _save(update, context, "period2", data)
        await reply(update, context, "broadcasts/ask_period.html", semester=Semester(semester.academic_year, 2), saved=period)
        return
    await _clear(update, context)
    await announcements_pressed(update, context, staff, CallbackData("bcast", "ann", ()))


@explained
async def schedule_announcements_pressed(update: Update, context: BotContext, staff: PersonView, data: CallbackData) -> None:
    year = data.int_arg(0) or _announcement_year(context)
    plan = await context.call(context.services.broadcasts.schedule_announcements, staff, year)
    await reply(update, context, "broadcasts/announcements_scheduled.html", plan=plan, year_label=f"{year}-{year + 1}")


def document_builder(services, renderer):
    """The outbox builder of a broadcast's uploaded document: read once per broadcast (bot/routes.py)."""
    from bot.services.broadcasts import DocumentCache

    return DocumentCache(services.broadcasts)
