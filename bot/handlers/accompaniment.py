"""The accompaniment on Telegram: /echeances (auditeur), /suivi (tutor, staff), and the buttons and
short conversations that move its stages (planning, correction, opinion, staff contact).

Handlers parse the update, call :class:`bot.services.accompaniment.Accompaniments` (which checks who
may do what) and render the outcome; a :class:`Refusal` becomes ``accompaniment/refused.html``.
Callback data: ``acc:<action>:<args>`` (ids only, re-checked by the service).
"""

from __future__ import annotations

import logging

from telegram import Update

from bot.documents.grid_pdf import build_grid_pdf  # noqa: F401 - imported for the demo and tests
from bot.domain.accompaniment import (
    Assessment,
    Opinion,
    Party,
    Refusal,
    RefusalCode,
    Stage,
    parse_academic_year,
    parse_correction_notes,
    parse_dates,
)
from bot.domain.calendar import paris_date
from bot.domain.drafts import safe_file_name
from bot.domain.people import PersonView, Role
from bot.domain.permissions import PermissionDenied
from bot.handlers.common import chat_id_of, reply
from bot.services.conversations import Conversation
from bot.services.drafts import DraftError
from bot.telegram.context import BotContext
from bot.telegram.keyboards import Button, CallbackData, callback, column, keyboard

log = logging.getLogger(__name__)

PLANNING_FLOW = "acc_planning"
CORRECTION_FLOW = "acc_correction"
OPINION_FLOW = "acc_opinion"
CASE_FLOW = "acc_case"
CALENDAR_FLOW = "acc_calendar"
GRID_FLOW = "acc_grid"
MAX_LISTED = 30
_ASSESS = {"m": Assessment.MET, "p": Assessment.PARTLY, "n": Assessment.NOT_MET}


async def _refused(update: Update, context: BotContext, refusal: Refusal) -> None:
    log.info("accompaniment refused for user %s: %s", update.effective_user.id, refusal.code)
    await reply(update, context, "accompaniment/refused.html", code=refusal.code.value, details=refusal.details)


def _arg(data: CallbackData | None, index: int = 0) -> int | None:
    return data.int_arg(index) if data else None


REFUSED = object()  # what _attempt returns when the service said no (the person was told why)


async def _attempt(update: Update, context: BotContext, function, *args, **kwargs):
    """A service call; a Refusal is explained to the person and gives REFUSED."""
    try:
        return await context.call(function, *args, **kwargs)
    except Refusal as refusal:
        await _refused(update, context, refusal)
        return REFUSED


async def _stale(update: Update, context: BotContext) -> None:
    await reply(update, context, "common/stale_button.html")


# -- /echeances (auditeur) ----------------------------------------------------------------------------


async def echeances_command(update: Update, context: BotContext, person: PersonView) -> None:
    view = await _attempt(update, context, context.services.accompaniment.status, person)
    if view is REFUSED:
        return
    today = paris_date(context.services.clock())
    buttons = []
    if view.stage in (Stage.PLANNED, Stage.CORRECTED):
        buttons.append(Button(context.renderer.label("buttons.acc_submit"), callback("acc", "submit", 0)))
    if view.verdict:
        buttons.append(Button(context.renderer.label("buttons.acc_grid"), callback("acc", "grid", 0)))
    await reply(update, context, "accompaniment/echeances.html", view=view, today=today, keyboard=column(buttons))


async def submit_button(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """acc:submit:<version id, 0 = the latest readable> — "déposer pour correction"."""
    version_id = _arg(data)
    if version_id is None:
        await _stale(update, context)
        return
    view = await _attempt(update, context, context.services.accompaniment.submit, person, version_id or None)
    if view is REFUSED:
        return
    await reply(update, context, "accompaniment/submitted.html", view=view)


async def grid_button(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """acc:grid:<auditeur id, 0 = oneself> — the kept completed grid (PDF)."""
    target = _arg(data)
    if person is None or target is None:
        await reply(update, context, "common/unknown_user.html" if person is None else "common/stale_button.html")
        return
    found = await _attempt(update, context, context.services.accompaniment.opinion_pdf, person, target or None)
    if found is REFUSED:
        return
    if found is None or not found[1]:
        await reply(update, context, "accompaniment/refused.html", code="nothing_to_send", details={})
        return
    name, content = found
    await context.messenger.send_document(chat_id_of(update), content, name, caption_template="accompaniment/grid_caption.html")


async def send_draft_button(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """drafts:send:<version id> — "envoyer à mon tuteur" (an informal look, no deadline)."""
    version_id = _arg(data)
    if version_id is None:
        await _stale(update, context)
        return
    try:
        sent = await context.call(context.services.drafts.send_to_tutor, person, version_id)
    except (PermissionDenied, DraftError):
        await reply(update, context, "common/not_allowed.html")
        return
    await reply(update, context, "accompaniment/draft_sent.html", sent=sent)


# -- /suivi (tutor: their auditeurs; staff: the follow-up view) ---------------------------------------


async def suivi_command(update: Update, context: BotContext, person: PersonView) -> None:
    service = context.services.accompaniment
    try:
        if person.role is Role.STAFF:
            view = await context.call(service.staff_follow_up, person)
            undelivered = await context.call(context.services.outbox.dead_letters, 10)
            buttons = [Button(context.renderer.label("buttons.acc_case", name=c.enrolment.auditeur.display_name), callback("acc", "case", c.id))
                       for c in view.open_cases[:MAX_LISTED]]
            buttons += [Button(context.renderer.label("buttons.acc_calendar"), callback("acc", "cal")),
                        Button(context.renderer.label("buttons.acc_grids"), callback("acc", "grids"))]
            await reply(update, context, "accompaniment/staff_follow_up.html", view=view, limit=MAX_LISTED,
                        undelivered=undelivered,
                        today=paris_date(context.services.clock()), keyboard=column(buttons))
            return
        rows = await context.call(service.follow_rows, person)
    except Refusal as refusal:
        await _refused(update, context, refusal)
        return
    shown = rows[:MAX_LISTED]
    buttons = [Button(context.renderer.label("buttons.acc_show", name=r.auditeur_name), callback("acc", "show", r.auditeur_id)) for r in shown]
    await reply(update, context, "accompaniment/tutor_follow.html", rows=shown, hidden=len(rows) - len(shown),
                today=paris_date(context.services.clock()), keyboard=column(buttons))


def _actions_keyboard(context: BotContext, view, party: Party):
    labels, auditeur_id = context.renderer, view.enrolment.auditeur.id
    buttons = []
    if party is Party.TUTOR:
        if view.stage in (Stage.FIRST_MEETING_HELD, Stage.PLANNED):
            buttons.append(Button(labels.label("buttons.acc_plan"), callback("acc", "plan", auditeur_id)))
        if view.stage is Stage.SUBMITTED:
            buttons.append(Button(labels.label("buttons.acc_correct"), callback("acc", "corr", auditeur_id)))
        if view.stage is Stage.REVISED:
            buttons.append(Button(labels.label("buttons.acc_opinion"), callback("acc", "op", auditeur_id)))
    if view.verdict:
        buttons.append(Button(labels.label("buttons.acc_grid"), callback("acc", "grid", auditeur_id)))
    return column(buttons)


async def show_button(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """acc:show:<auditeur id> — one auditeur's accompaniment with the actions the viewer may take."""
    target = _arg(data)
    if target is None:
        await _stale(update, context)
        return
    view = await _attempt(update, context, context.services.accompaniment.status, person, target, history=True)
    if view is REFUSED:
        return
    party = Party.TUTOR if person.role is Role.TUTOR else Party.STAFF
    await reply(update, context, "accompaniment/detail.html", view=view, today=paris_date(context.services.clock()),
                keyboard=_actions_keyboard(context, view, party))


# -- step 2: the planning (tutor) ----------------------------------------------------------------------


async def plan_button(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    target = _arg(data)
    if target is None:
        await _stale(update, context)
        return
    view = await _attempt(update, context, context.services.accompaniment.status, person, target)
    if view is REFUSED:
        return
    await context.call(context.services.conversations.set, update.effective_user.id, PLANNING_FLOW, "dates", {"auditeur_id": target})
    await reply(update, context, "accompaniment/ask_planning.html", view=view)


async def planning_text(update: Update, context: BotContext, person: PersonView, conversation: Conversation) -> None:
    service = context.services.accompaniment
    auditeur_id = conversation.data.get("auditeur_id")
    try:
        days = parse_dates(update.effective_message.text or "", paris_date(context.services.clock()))
        view = await context.call(service.record_planning, person, auditeur_id, days[0], tuple(days[1:]))
    except Refusal as refusal:
        await _refused(update, context, refusal)  # the conversation stays: the tutor can type again
        return
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=PLANNING_FLOW)
    await reply(update, context, "accompaniment/planning_recorded.html", view=view)


# -- step 3: the annotated correction (tutor) ----------------------------------------------------------


async def _view_and_grid(update: Update, context: BotContext, person: PersonView, data: CallbackData | None):
    """The auditeur named by a button, their accompaniment and their grid, or None once the person
    was told why not (a stale button, a refusal)."""
    target = _arg(data)
    if target is None:
        await _stale(update, context)
        return None
    service = context.services.accompaniment
    try:
        view = await context.call(service.status, person, target)
        grid = await context.call(service.grid_of, person, target)
    except Refusal as refusal:
        await _refused(update, context, refusal)
        return None
    return target, view, grid


async def correction_button(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    found = await _view_and_grid(update, context, person, data)
    if found is None:
        return
    target, view, grid = found
    if view.stage is not Stage.SUBMITTED:
        await reply(update, context, "accompaniment/refused.html", code="wrong_stage",
                    details={"action": "return_correction", "stage": view.stage})
        return
    await context.call(context.services.conversations.set, update.effective_user.id, CORRECTION_FLOW, "collect",
                       {"auditeur_id": target, "comments": {}, "summary": "", "file_id": None, "file_name": None})
    await reply(update, context, "accompaniment/ask_correction.html", view=view, grid=grid,
                keyboard=column([Button(context.renderer.label("buttons.acc_send_correction"), callback("acc", "corrsend", target))]))


async def correction_text(update: Update, context: BotContext, person: PersonView, conversation: Conversation) -> None:
    """Lines "3. comment" go to criterion 3 of the grid; other lines make the summary."""
    data = dict(conversation.data)
    grid = await context.call(context.services.accompaniment.grid_of, person, data["auditeur_id"])
    comments, summary = dict(data.get("comments") or {}), [data.get("summary") or ""]
    noted, lines = parse_correction_notes(update.effective_message.text or "", len(grid.criteria))
    for number, comment in noted.items():
        comments[grid.criteria[number - 1].id] = comment
    data["comments"], data["summary"] = comments, "\n".join(s for s in summary + lines if s)
    await context.call(context.services.conversations.set, update.effective_user.id, CORRECTION_FLOW, "collect", data)
    await reply(update, context, "accompaniment/correction_noted.html", count=len(comments), has_summary=bool(data["summary"]),
                has_file=bool(data.get("file_id")),
                keyboard=column([Button(context.renderer.label("buttons.acc_send_correction"), callback("acc", "corrsend", data["auditeur_id"]))]))


async def correction_document(update: Update, context: BotContext, person: PersonView, conversation: Conversation) -> None:
    """The tutor's annotated PDF (kept by its Telegram file id, forwarded as it is)."""
    document = update.effective_message.document
    if document.mime_type not in (None, "application/pdf") and not (document.file_name or "").lower().endswith(".pdf"):
        await reply(update, context, "accompaniment/correction_not_pdf.html")
        return
    data = dict(conversation.data)
    data["file_id"], data["file_name"] = document.file_id, safe_file_name(document.file_name)
    await context.call(context.services.conversations.set, update.effective_user.id, CORRECTION_FLOW, "collect", data)
    await reply(update, context, "accompaniment/correction_noted.html", count=len(data.get("comments") or {}),
                has_summary=bool(data.get("summary")), has_file=True,
                keyboard=column([Button(context.renderer.label("buttons.acc_send_correction"), callback("acc", "corrsend", data["auditeur_id"]))]))


async def correction_send_button(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    conversation = await context.call(context.services.conversations.get, update.effective_user.id)
    target = _arg(data)
    if conversation is None or conversation.flow != CORRECTION_FLOW or conversation.data.get("auditeur_id") != target:
        await _stale(update, context)
        return
    values = conversation.data
    view = await _attempt(
        update, context, context.services.accompaniment.return_correction, person, target, file_id=values.get("file_id"),
        file_name=values.get("file_name"), comments=values.get("comments") or {}, summary=values.get("summary"),
    )
    if view is REFUSED:
        return
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=CORRECTION_FLOW)
    await reply(update, context, "accompaniment/correction_sent.html", view=view)


# -- step 5: the opinion (tutor), criterion by criterion ----------------------------------------------


async def _ask_criterion(update: Update, context: BotContext, target: int, grid, index: int, assessments: dict) -> None:
    criterion = grid.criteria[index]
    labels = context.renderer
    buttons = keyboard([[Button(labels.label(f"buttons.acc_assess_{k}"), callback("acc", "g", target, index, k)) for k in _ASSESS]])
    await reply(update, context, "accompaniment/ask_criterion.html", criterion=criterion, index=index + 1,
                total=len(grid.criteria), done=len(assessments), keyboard=buttons)


async def opinion_button(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    found = await _view_and_grid(update, context, person, data)
    if found is None:
        return
    target, view, grid = found
    if view.stage is not Stage.REVISED or person.role is not Role.TUTOR:
        await reply(update, context, "accompaniment/refused.html",
                    code="wrong_stage" if person.role is Role.TUTOR else "wrong_person",
                    details={"action": "give_opinion", "stage": view.stage, "allowed": ["tutor"]})
        return
    await context.call(context.services.conversations.set, update.effective_user.id, OPINION_FLOW, "grid",
                       {"auditeur_id": target, "assessments": {}, "verdict": None})
    await _ask_criterion(update, context, target, grid, 0, {})


async def assess_button(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """acc:g:<auditeur>:<criterion index>:<m|p|n>"""
    target, index, value = _arg(data, 0), _arg(data, 1), data.arg(2) if data else None
    conversation = await context.call(context.services.conversations.get, update.effective_user.id)
    if (target is None or index is None or value not in _ASSESS or conversation is None
            or conversation.flow != OPINION_FLOW or conversation.data.get("auditeur_id") != target):
        await _stale(update, context)
        return
    grid = await context.call(context.services.accompaniment.grid_of, person, target)
    if index >= len(grid.criteria):
        await _stale(update, context)
        return
    values = dict(conversation.data)
    assessments = dict(values.get("assessments") or {})
    assessments[grid.criteria[index].id] = _ASSESS[value].value
    values["assessments"] = assessments
    await context.call(context.services.conversations.set, update.effective_user.id, OPINION_FLOW, "grid", values)
    remaining = [i for i, c in enumerate(grid.criteria) if c.id not in assessments]
    if remaining:
        await _ask_criterion(update, context, target, grid, remaining[0], assessments)
        return
    labels = context.renderer
    await reply(update, context, "accompaniment/ask_verdict.html", grid=grid, assessments=assessments,
                keyboard=keyboard([[Button(labels.label("buttons.acc_validated"), callback("acc", "v", target, "ok")),
                                    Button(labels.label("buttons.acc_not_validated"), callback("acc", "v", target, "ko"))]]))


async def verdict_button(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    target, choice = _arg(data, 0), data.arg(1) if data else None
    conversation = await context.call(context.services.conversations.get, update.effective_user.id)
    if (target is None or choice not in ("ok", "ko") or conversation is None or conversation.flow != OPINION_FLOW
            or conversation.data.get("auditeur_id") != target):
        await _stale(update, context)
        return
    values = dict(conversation.data)
    values["verdict"] = Opinion.VALIDATED.value if choice == "ok" else Opinion.NOT_VALIDATED.value
    await context.call(context.services.conversations.set, update.effective_user.id, OPINION_FLOW, "reasons", values)
    await reply(update, context, "accompaniment/ask_reasons.html", verdict=values["verdict"])


async def opinion_text(update: Update, context: BotContext, person: PersonView, conversation: Conversation) -> None:
    values = conversation.data
    if conversation.step != "reasons":
        await reply(update, context, "accompaniment/use_buttons.html")
        return
    given = await _attempt(
        update, context, context.services.accompaniment.give_opinion, person, values["auditeur_id"],
        verdict=Opinion(values["verdict"]), assessments=values.get("assessments") or {},
        reasons=update.effective_message.text or "",
    )
    if given is REFUSED:
        return
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=OPINION_FLOW)
    await reply(update, context, "accompaniment/opinion_recorded.html", view=given.view, verdict=given.verdict.value)


# -- staff: a case of the follow-up list -------------------------------------------------------------


async def case_button(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """acc:case:<case id> — choose how the case ends, then write the contact and what was agreed."""
    case_id = _arg(data)
    if case_id is None:
        await _stale(update, context)
        return
    if person.role is not Role.STAFF:
        await reply(update, context, "accompaniment/refused.html", code="wrong_person",
                    details={"action": "record_contact", "allowed": ["staff"]})
        return
    labels = context.renderer
    await reply(update, context, "accompaniment/case_choose.html",
                keyboard=column([Button(labels.label("buttons.acc_case_close"), callback("acc", "casec", case_id, 0)),
                                 Button(labels.label("buttons.acc_case_resume"), callback("acc", "casec", case_id, 1))]))


async def case_choice_button(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    case_id, resume = _arg(data, 0), _arg(data, 1)
    if case_id is None or resume not in (0, 1):
        await _stale(update, context)
        return
    if person.role is not Role.STAFF:
        await reply(update, context, "accompaniment/refused.html", code="wrong_person",
                    details={"action": "record_contact", "allowed": ["staff"]})
        return
    await context.call(context.services.conversations.set, update.effective_user.id, CASE_FLOW, "note",
                       {"case_id": case_id, "resume": bool(resume)})
    await reply(update, context, "accompaniment/case_ask_note.html")


async def case_text(update: Update, context: BotContext, person: PersonView, conversation: Conversation) -> None:
    """First line: the contact (when, how); the rest: what was agreed."""
    text = (update.effective_message.text or "").strip()
    contact, _, agreed = text.partition("\n")
    try:
        await context.call(
            context.services.accompaniment.record_contact, person, conversation.data["case_id"],
            contact_note=contact, agreed=agreed or contact, resume=bool(conversation.data.get("resume")),
        )
    except Refusal as refusal:
        await _refused(update, context, refusal)
        if refusal.code.value == "case_closed":
            await context.call(context.services.conversations.clear, update.effective_user.id, flow=CASE_FLOW)
        return
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=CASE_FLOW)
    await reply(update, context, "accompaniment/case_closed.html", resume=bool(conversation.data.get("resume")))


# -- staff: the academic calendar and the certifiers' grids -----------------------------------------


async def calendar_button(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """acc:cal — the current and next academic years, each with a button to change it."""
    years = await _attempt(update, context, context.services.accompaniment.calendar_years, person)
    if years is REFUSED:
        return
    labels = context.renderer
    buttons = [Button(labels.label("buttons.acc_calendar_year", label=f"{y.year}-{y.year + 1}"), callback("acc", "caly", y.year))
               for y, _ in years]
    await reply(update, context, "accompaniment/calendar.html", years=years, keyboard=column(buttons))


async def calendar_year_button(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """acc:caly:<year> — ask for the year's eight dates (the current ones shown, to copy and edit)."""
    year = _arg(data)
    if year is None:
        await _stale(update, context)
        return
    found = await _attempt(update, context, context.services.accompaniment.calendar_years, person)
    if found is REFUSED:
        return
    years = {y.year: y for y, _ in found}
    if year not in years:
        await _stale(update, context)
        return
    await context.call(context.services.conversations.set, update.effective_user.id, CALENDAR_FLOW, "dates", {"year": year})
    await reply(update, context, "accompaniment/ask_calendar.html", year=years[year])


async def calendar_text(update: Update, context: BotContext, person: PersonView, conversation: Conversation) -> None:
    try:
        year = parse_academic_year(update.effective_message.text or "", int(conversation.data["year"]))
        saved = await context.call(context.services.accompaniment.set_academic_year, person, year)
    except Refusal as refusal:
        await _refused(update, context, refusal)  # the conversation stays: staff can send the dates again
        return
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=CALENDAR_FLOW)
    await reply(update, context, "accompaniment/calendar_set.html", year=saved)


async def grids_button(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """acc:grids — choose the certification whose grid staff load."""
    certifications = await _attempt(update, context, context.services.accompaniment.grid_certifications, person)
    if certifications is REFUSED:
        return
    labels = context.renderer
    buttons = [Button(labels.label("buttons.acc_grid_choice", name=name[:50], mark=" ✓" if loaded else ""), callback("acc", "gridc", i))
               for i, (name, loaded) in enumerate(certifications[:MAX_LISTED])]
    await reply(update, context, "accompaniment/grid_choose.html", certifications=certifications, keyboard=column(buttons))


async def grid_choice_button(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """acc:gridc:<index in the list> — then the grid file is awaited."""
    index = _arg(data)
    certifications = await _attempt(update, context, context.services.accompaniment.grid_certifications, person)
    if certifications is REFUSED:
        return
    if index is None or index >= len(certifications):
        await _stale(update, context)
        return
    certification = certifications[index][0]
    await context.call(context.services.conversations.set, update.effective_user.id, GRID_FLOW, "file", {"certification": certification})
    await reply(update, context, "accompaniment/ask_grid_file.html", certification=certification)


async def grid_text(update: Update, context: BotContext, person: PersonView, conversation: Conversation) -> None:
    await reply(update, context, "accompaniment/refused.html", code="bad_grid", details={"reason": "file_expected"})


async def grid_document(update: Update, context: BotContext, person: PersonView, conversation: Conversation) -> None:
    """The certifier's grid file (TOML): read, checked, loaded for the certification chosen."""
    from bot.services.accompaniment import MAX_GRID_BYTES, grid_from_file

    document = update.effective_message.document
    certification = conversation.data["certification"]
    try:
        if (document.file_size or 0) > MAX_GRID_BYTES:
            raise Refusal(RefusalCode.BAD_GRID, {"reason": "too_large"})
        telegram_file = await context.bot.get_file(document.file_id)
        grid = grid_from_file(bytes(await telegram_file.download_as_bytearray()))
        await context.call(context.services.accompaniment.load_grid, person, certification, grid)
    except Refusal as refusal:
        await _refused(update, context, refusal)  # the conversation stays: staff can send a corrected file
        return
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=GRID_FLOW)
    await reply(update, context, "accompaniment/grid_loaded.html", grid=grid, certification=certification)


async def acc_stale(update: Update, context: BotContext, person: PersonView | None, data: CallbackData | None) -> None:
    await _stale(update, context)


# -- outbox preparers ---------------------------------------------------------------------------------


async def prepare_reminder(services, row, now) -> dict | None:
    """A deadline reminder is sent only while the accompaniment is still at the stage it was written for."""
    import asyncio

    params = dict(row.params)
    if not await asyncio.to_thread(services.accompaniment.reminder_still_applies, params, now):
        return None
    about, days = params.get("about"), params.get("days") or 0
    if about is not None and days > 0:  # said as it is on the day it goes out
        params["days"] = (about - paris_date(now)).days
        if params["days"] <= 0:
            return None
    elif about is not None and days < 0:  # an overdue alert says how late it is that day
        params["days"] = min(-1, (about - paris_date(now)).days)
    return params
