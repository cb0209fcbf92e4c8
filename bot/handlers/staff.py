"""Staff on Telegram: enrol an auditeur, invite a tutor, see the team. Guided, one question at a time."""

from __future__ import annotations

import logging
import re

from telegram import Update

from bot.domain.people import PersonView
from bot.domain.permissions import PermissionDenied
from bot.domain.semesters import enrolment_choices
from bot.handlers.common import reply
from bot.services.conversations import Conversation
from bot.services.onboarding import EnrolmentError, clean_name
from bot.telegram.context import BotContext
from bot.telegram.keyboards import Button, CallbackData, callback, column

log = logging.getLogger(__name__)

ENROL_FLOW = "staff_enrol"
INVITE_FLOW = "staff_invite"
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


async def enrol_command(update: Update, context: BotContext, staff: PersonView) -> None:
    await context.call(context.services.conversations.set, update.effective_user.id, ENROL_FLOW, "name", {})
    await reply(update, context, "staff/enrol_ask_name.html")


async def invite_command(update: Update, context: BotContext, staff: PersonView) -> None:
    await context.call(context.services.conversations.set, update.effective_user.id, INVITE_FLOW, "name", {})
    await reply(update, context, "staff/invite_ask_name.html")


async def team_command(update: Update, context: BotContext, staff: PersonView) -> None:
    directory = context.services.directory
    tutors = await context.call(directory.tutors)
    rows = []
    for tutor in tutors:
        rows.append({"person": tutor, "auditeurs": await context.call(directory.auditeurs_of, tutor.id)})
    await reply(update, context, "staff/team.html", tutors=rows)


async def invite_text(update: Update, context: BotContext, staff: PersonView, conversation: Conversation) -> None:
    name, _, email = (update.effective_message.text or "").partition(",")
    email = email.strip() or None
    if email is not None and not _EMAIL_RE.match(email):
        await reply(update, context, "staff/input_problem.html", code="email_invalid", details={"value": email})
        return
    try:
        issued = await context.call(context.services.onboarding.invite_tutor, staff, name, email=email)
    except EnrolmentError as error:
        await reply(update, context, "staff/input_problem.html", code=error.code, details=error.details)
        return
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=INVITE_FLOW)
    await _show_invitation(update, context, issued)


async def enrol_text(update: Update, context: BotContext, staff: PersonView, conversation: Conversation) -> None:
    text = update.effective_message.text or ""
    data = dict(conversation.data)
    try:
        if conversation.step == "name":
            name, _, email = text.partition(",")  # "Léa Bernard, lea@example.org": the e-mail is optional
            email = email.strip() or None
            if email is not None and not _EMAIL_RE.match(email):
                await reply(update, context, "staff/input_problem.html", code="email_invalid", details={"value": email})
                return
            data["name"], data["email"] = clean_name(name), email
            await _save(update, context, "certification", data)
            await reply(update, context, "staff/enrol_ask_certification.html", name=data["name"])
        elif conversation.step == "certification":
            data["certification"] = clean_name(text, max_length=200, code="certification")
            await _save(update, context, "tutor", data)
            await _ask_tutor(update, context, data)
        else:
            await reply(update, context, "common/not_understood.html")
    except EnrolmentError as error:
        await reply(update, context, "staff/input_problem.html", code=error.code, details=error.details)


async def _save(update: Update, context: BotContext, step: str, data: dict) -> None:
    await context.call(context.services.conversations.set, update.effective_user.id, ENROL_FLOW, step, data)


async def _ask_tutor(update: Update, context: BotContext, data: dict) -> None:
    tutors = await context.call(context.services.directory.tutors)
    buttons = column(Button(t.display_name, callback("enrol", "tutor", t.id)) for t in tutors)
    await reply(update, context, "staff/enrol_ask_tutor.html", name=data["name"], tutors=tutors, keyboard=buttons)


async def _form(update: Update, context: BotContext, data: CallbackData | None) -> dict | None:
    """The enrolment form, if it is at the step this button belongs to (else: stale button)."""
    conversation = await context.conversation(update)
    if data is None or conversation is None or conversation.flow != ENROL_FLOW or conversation.step != data.action:
        await reply(update, context, "common/stale_button.html")
        return None
    return dict(conversation.data)


async def enrol_tutor_chosen(update: Update, context: BotContext, staff: PersonView, data: CallbackData | None) -> None:
    form = await _form(update, context, data)
    if form is None:
        return
    labels = context.renderer
    tutor_id = data.int_arg(0)
    tutor = await context.call(context.services.directory.get, tutor_id) if tutor_id is not None else None
    if tutor is None or tutor.role != "tutor":
        await reply(update, context, "staff/input_problem.html", code="tutor_unknown", details={"value": data.arg(0)})
        return
    form["tutor_id"] = tutor.id
    await _save(update, context, "report_type", form)
    buttons = column(
        [
            Button(labels.label("buttons.report_ua"), callback("enrol", "report_type", "ua")),
            Button(labels.label("buttons.report_stage"), callback("enrol", "report_type", "stage")),
        ]
    )
    await reply(update, context, "staff/enrol_ask_report_type.html", name=form["name"], keyboard=buttons)


async def enrol_report_type_chosen(update: Update, context: BotContext, staff: PersonView, data: CallbackData | None) -> None:
    form = await _form(update, context, data)
    if form is None:
        return
    labels = context.renderer
    if data.arg(0) not in {"ua", "stage"}:
        await reply(update, context, "staff/input_problem.html", code="report_type_invalid", details={})
        return
    form["report_type"] = data.arg(0)
    await _save(update, context, "semester", form)
    today = context.renderer.local(context.services.clock()).date()
    buttons = column(
        Button(labels.render("staff/semester_button.html", code=s.code), callback("enrol", "semester", s.code))
        for s in enrolment_choices(today)
    )
    await reply(update, context, "staff/enrol_ask_semester.html", name=form["name"], keyboard=buttons)


async def enrol_semester_chosen(update: Update, context: BotContext, staff: PersonView, data: CallbackData | None) -> None:
    form = await _form(update, context, data)
    if form is None:
        return
    try:
        issued = await context.call(
            context.services.onboarding.enrol_auditeur,
            staff,
            name=form.get("name", ""),
            tutor=int(form.get("tutor_id", 0)),
            report_type=form.get("report_type", ""),
            semester=data.arg(0) or "",
            certification=form.get("certification", ""),
            email=form.get("email"),
        )
    except EnrolmentError as error:
        await reply(update, context, "staff/input_problem.html", code=error.code, details=error.details)
        return
    except PermissionDenied:
        await reply(update, context, "common/not_allowed.html")
        return
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=ENROL_FLOW)
    await update.callback_query.edit_message_reply_markup(None)
    await _show_invitation(update, context, issued)


async def _show_invitation(update: Update, context: BotContext, issued) -> None:
    username = context.bot.username
    await reply(
        update,
        context,
        "staff/invitation_issued.html",
        issued=issued,
        enrolment=issued.enrolment,
        link=issued.deep_link(username),
    )
