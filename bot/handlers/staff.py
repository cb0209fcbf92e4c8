"""Staff on Telegram: enrol an auditeur, invite a tutor, see the team. Guided, one question at a time."""

from __future__ import annotations

import logging
import re
from urllib.parse import quote, urlencode

from telegram import Update

from bot.domain.enrolment import MIN_UNITS_VALIDATED, Experience, parse_units, prerequisite_problems
from bot.domain.people import PersonView
from bot.domain.permissions import PermissionDenied
from bot.domain.semesters import enrolment_choices
from bot.handlers.common import reply
from bot.services.conversations import Conversation
from bot.services.onboarding import EnrolmentError, clean_name
from bot.telegram.context import BotContext
from bot.telegram.keyboards import Button, CallbackData, callback, column, keyboard
from bot.telegram.rendering import plain_text

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
    """Tutors and their auditeurs with where each one stands; a button per person opens their card."""
    directory = context.services.directory
    tutors = await context.call(directory.tutors)
    rows = []
    for tutor in tutors:
        rows.append({"person": tutor, "auditeurs": await context.call(directory.auditeurs_of, tutor.id)})
    members = {m.person.id: m for m in await context.call(context.services.onboarding.team, staff)}
    buttons = column(
        Button(context.renderer.label("buttons.team_member", name=m.person.display_name), callback("team", "show", m.person.id))
        for m in members.values()
    )
    await reply(update, context, "staff/team.html", tutors=rows, members=members, keyboard=buttons)


def _member_keyboard(context: BotContext, member):
    labels, person_id = context.renderer, member.person.id
    rows = []
    if member.bound:
        rows.append([Button(labels.label("buttons.team_unbind"), callback("team", "unbind", person_id))])
    else:
        rows.append([Button(labels.label("buttons.team_reissue"), callback("team", "reissue", person_id))])
        if member.code_expires_at is not None:
            rows.append([Button(labels.label("buttons.team_revoke"), callback("team", "revoke", person_id))])
    rows.append([Button(labels.label("buttons.team_back"), callback("team", "list"))])
    return keyboard(rows)


async def _team_action(update: Update, context: BotContext, data: CallbackData | None, use_case, *args):
    """Run a /equipe use case on the person the button names; the service checks staff and the id."""
    person_id = data.int_arg(0) if data else None
    if person_id is None:
        await reply(update, context, "common/stale_button.html")
        return None
    try:
        return await context.call(use_case, *args, person_id)
    except EnrolmentError as error:
        await reply(update, context, "staff/input_problem.html", code=error.code, details=error.details)
    except PermissionDenied:
        await reply(update, context, "common/not_allowed.html")
    return None


async def team_list(update: Update, context: BotContext, staff: PersonView, data: CallbackData | None) -> None:
    await team_command(update, context, staff)


async def team_show(update: Update, context: BotContext, staff: PersonView, data: CallbackData | None) -> None:
    member = await _team_action(update, context, data, context.services.onboarding.member, staff)
    if member is not None:
        await reply(update, context, "staff/team_member.html", member=member, revoked=False, unbound=False,
                    keyboard=_member_keyboard(context, member))


async def team_reissue(update: Update, context: BotContext, staff: PersonView, data: CallbackData | None) -> None:
    """A new code (the older ones stop working), shown like a first invitation."""
    issued = await _team_action(update, context, data, context.services.onboarding.reissue, staff)
    if issued is not None:
        await _show_invitation(update, context, issued, reissued=True)


async def team_revoke(update: Update, context: BotContext, staff: PersonView, data: CallbackData | None) -> None:
    member = await _team_action(update, context, data, context.services.onboarding.revoke, staff)
    if member is not None:
        await reply(update, context, "staff/team_member.html", member=member, revoked=True, unbound=False,
                    keyboard=_member_keyboard(context, member))


async def team_unbind(update: Update, context: BotContext, staff: PersonView, data: CallbackData | None) -> None:
    """Asks first: the account loses access at once."""
    member = await _team_action(update, context, data, context.services.onboarding.member, staff)
    if member is None:
        return
    if not member.bound:
        await reply(update, context, "staff/input_problem.html", code="person_not_bound", details={})
        return
    buttons = column([
        Button(context.renderer.label("buttons.team_unbind_confirm"), callback("team", "unbindok", member.person.id)),
        Button(context.renderer.label("buttons.cancel"), callback("team", "show", member.person.id)),
    ])
    await reply(update, context, "staff/team_unbind_confirm.html", member=member, keyboard=buttons)


async def team_unbind_confirmed(update: Update, context: BotContext, staff: PersonView, data: CallbackData | None) -> None:
    unbound = await _team_action(update, context, data, context.services.onboarding.unbind, staff)
    if unbound is None:
        return
    context.services.directory.forget(unbound.telegram_user_id)
    await update.callback_query.edit_message_reply_markup(None)
    await context.application.bot_data["command_lists"].publish(unbound.telegram_user_id, None)
    await reply(update, context, "staff/team_member.html", member=unbound.member, revoked=False, unbound=True,
                keyboard=_member_keyboard(context, unbound.member))


async def invite_text(update: Update, context: BotContext, staff: PersonView, conversation: Conversation) -> None:
    name, _, email = (update.effective_message.text or "").partition(",")
    email = email.strip() or None
    if email is not None and not _EMAIL_RE.match(email):
        await reply(update, context, "staff/input_problem.html", code="email_invalid", details={"value": email})
        return
    try:
        name = clean_name(name)
    except EnrolmentError as error:
        await reply(update, context, "staff/input_problem.html", code=error.code, details=error.details)
        return
    duplicates = await context.call(context.services.onboarding.likely_duplicates, staff, name, email)
    if duplicates:  # /inviter twice with one name must not create two tutors silently
        await context.call(
            context.services.conversations.set, update.effective_user.id, INVITE_FLOW, "confirm",
            {"name": name, "email": email},
        )
        buttons = column([
            Button(context.renderer.label("buttons.invite_anyway"), callback("invite", "confirm")),
            Button(context.renderer.label("buttons.cancel"), callback("invite", "abort")),
        ])
        await reply(update, context, "staff/invite_duplicates.html", name=name, email=email, duplicates=duplicates,
                    keyboard=buttons)
        return
    await _invite(update, context, staff, name, email)


async def _invite(update: Update, context: BotContext, staff: PersonView, name: str, email: str | None) -> None:
    try:
        issued = await context.call(context.services.onboarding.invite_tutor, staff, name, email=email)
    except EnrolmentError as error:
        await reply(update, context, "staff/input_problem.html", code=error.code, details=error.details)
        return
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=INVITE_FLOW)
    await _show_invitation(update, context, issued)


async def invite_confirmed(update: Update, context: BotContext, staff: PersonView, data: CallbackData | None) -> None:
    conversation = await context.conversation(update)
    if conversation is None or conversation.flow != INVITE_FLOW or conversation.step != "confirm":
        await reply(update, context, "common/stale_button.html")
        return
    await update.callback_query.edit_message_reply_markup(None)
    await _invite(update, context, staff, conversation.data.get("name", ""), conversation.data.get("email"))


async def invite_aborted(update: Update, context: BotContext, staff: PersonView, data: CallbackData | None) -> None:
    conversation = await context.conversation(update)
    if conversation is None or conversation.flow != INVITE_FLOW:
        await reply(update, context, "common/stale_button.html")
        return
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=INVITE_FLOW)
    await update.callback_query.edit_message_reply_markup(None)
    await reply(update, context, "staff/invite_cancelled.html")


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
            await _save(update, context, "units", data)
            await reply(update, context, "staff/enrol_ask_units.html", name=data["name"], minimum=MIN_UNITS_VALIDATED)
        elif conversation.step == "units":
            units = parse_units(text)
            if units is None:
                raise EnrolmentError("units_invalid")
            if problems := prerequisite_problems(units, None):  # said at once; the service checks again
                await reply(update, context, "staff/prerequisites_not_met.html", code=problems[0], name=data["name"],
                            minimum=MIN_UNITS_VALIDATED, value=units)
                return
            data["units_validated"] = units
            await _save(update, context, "experience", data)
            await _ask_experience(update, context, data)
        else:
            await reply(update, context, "common/not_understood.html")
    except EnrolmentError as error:
        await reply(update, context, "staff/input_problem.html", code=error.code, details=error.details)


async def _save(update: Update, context: BotContext, step: str, data: dict) -> None:
    await context.call(context.services.conversations.set, update.effective_user.id, ENROL_FLOW, step, data)


async def _ask_experience(update: Update, context: BotContext, data: dict) -> None:
    labels = context.renderer
    buttons = column(
        Button(labels.label(f"buttons.experience_{e.value}"), callback("enrol", "experience", e.value))
        for e in Experience
    )
    await reply(update, context, "staff/enrol_ask_experience.html", name=data["name"], keyboard=buttons)


async def enrol_experience_chosen(update: Update, context: BotContext, staff: PersonView, data: CallbackData | None) -> None:
    form = await _form(update, context, data)
    if form is None:
        return
    if data.arg(0) not in {e.value for e in Experience}:
        await reply(update, context, "staff/input_problem.html", code="experience_invalid", details={})
        return
    if problems := prerequisite_problems(None, data.arg(0)):
        await reply(update, context, "staff/prerequisites_not_met.html", code=problems[0], name=form["name"],
                    minimum=MIN_UNITS_VALIDATED, value=None)
        return
    form["experience"] = data.arg(0)
    await update.callback_query.edit_message_reply_markup(None)
    await _save(update, context, "tutor", form)
    await _ask_tutor(update, context, form)


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
    """The last answer: a summary to check (with likely duplicates) before anything is created."""
    form = await _form(update, context, data)
    if form is None:
        return
    form["semester"] = data.arg(0) or ""
    tutor = await context.call(context.services.directory.get, int(form.get("tutor_id", 0)))
    if tutor is None:
        await reply(update, context, "staff/input_problem.html", code="tutor_unknown", details={"value": ""})
        return
    duplicates = await context.call(
        context.services.onboarding.likely_duplicates, staff, form.get("name", ""), form.get("email")
    )
    await _save(update, context, "confirm", form)
    await update.callback_query.edit_message_reply_markup(None)
    buttons = column([
        Button(context.renderer.label("buttons.enrol_confirm"), callback("enrol", "confirm")),
        Button(context.renderer.label("buttons.cancel"), callback("enrol", "abort")),
    ])
    await reply(update, context, "staff/enrol_summary.html", form=form, tutor=tutor, duplicates=duplicates,
                keyboard=buttons)


async def enrol_confirmed(update: Update, context: BotContext, staff: PersonView, data: CallbackData | None) -> None:
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
            semester=form.get("semester", ""),
            certification=form.get("certification", ""),
            email=form.get("email"),
            units_validated=form.get("units_validated"),
            experience=form.get("experience"),
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


async def enrol_aborted(update: Update, context: BotContext, staff: PersonView, data: CallbackData | None) -> None:
    conversation = await context.conversation(update)
    if conversation is None or conversation.flow != ENROL_FLOW:
        await reply(update, context, "common/stale_button.html")
        return
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=ENROL_FLOW)
    await update.callback_query.edit_message_reply_markup(None)
    await reply(update, context, "staff/enrol_cancelled.html")


async def _show_invitation(update: Update, context: BotContext, issued, *, reissued: bool = False) -> None:
    """The code and link, with a button that opens Telegram's chat picker with a ready message."""
    link = issued.deep_link(context.bot.username)
    forward = context.renderer.render("staff/invitation_forward.html", issued=issued, enrolment=issued.enrolment,
                                      link=link)
    share = share_url(link, plain_text(forward)) if link else None
    buttons = column([Button(context.renderer.label("buttons.invitation_share"), url=share)]) if share else None
    await reply(update, context, "staff/invitation_issued.html", issued=issued, enrolment=issued.enrolment, link=link,
                reissued=reissued, keyboard=buttons)


def share_url(link: str, text: str) -> str:
    """Telegram's share link: it opens the chat picker with the invitation ready to send."""
    return "https://t.me/share/url?" + urlencode({"url": link, "text": text}, quote_via=quote)
