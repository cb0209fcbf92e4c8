"""The report coach on Telegram: /experience, /ressources, /rapport (the guided coach) and /plan.

The conversation flow "coach" records which section and question the auditeur was shown (step
"answer": free text is one more message for that question; step "edit": the next text replaces the
answer; step "summary": a message typed after a section's summary is kept as part of the answer to
the question it follows, never dropped); the progress itself is kept by the coaching service. Buttons carry the section and
question they were made for, and the service refuses them when the auditeur has moved on.
"""

from __future__ import annotations

import functools
import logging

from telegram import Update

from bot.documents.plan import build_plan_docx, build_plan_markdown, plan_filename
from bot.documents.resources import build_resources_docx, default_resources, grid_criteria
from bot.domain.feedback import render_remark
from bot.domain.people import PersonView
from bot.handlers.common import chat_id_of, reply
from bot.services.coaching import (
    ENGINE_LLM,
    ENGINE_OFFLINE,
    ExperienceStep,
    NoEnrolment,
    SectionView,
    StaleAction,
    UnknownSection,
)
from bot.services.conversations import Conversation
from bot.services.llm_feedback import section_feedback
from bot.telegram.context import BotContext
from bot.telegram.keyboards import Button, CallbackData, callback, column, keyboard

log = logging.getLogger(__name__)

COACH_FLOW = "coach"
EXPERIENCE_FLOW = "experience"
STEP_ANSWER, STEP_EDIT, STEP_SUMMARY = "answer", "edit", "summary"
# coach button action -> number of arguments it carries (section, question)
COACH_ACTIONS = {
    "overview": 0, "open": 1, "later": 1, "finish": 1, "next": 2, "skip": 2, "back": 2, "edit": 2, "keep": 2,
}


# --- /rapport ----------------------------------------------------------------------------------------


async def report_command(update: Update, context: BotContext, person: PersonView) -> None:
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=COACH_FLOW)
    await _show_overview(update, context, person)


async def _show_overview(update: Update, context: BotContext, person: PersonView) -> None:
    try:
        view = await context.call(context.services.coaching.overview, person)
    except NoEnrolment:
        await reply(update, context, "coach/no_enrolment.html")
        return
    labels = context.renderer
    buttons = column(
        Button(labels.label(f"buttons.coach_section_{row.status}", title=row.title), callback("coach", "open", row.section_id))
        for row in view.rows
    )
    await reply(
        update,
        context,
        "coach/overview.html",
        report_type=context.services.catalogue.report_type(view.report_type),
        rows=list(view.rows),
        summary=view.summary,
        keyboard=buttons,
    )


def _nav_keyboard(context: BotContext, view: SectionView):
    label = context.renderer.label
    sid, qid = view.section_id, view.question_id
    second = []
    if view.position[0] > 1:
        second.append(Button(label("buttons.coach_back"), callback("coach", "back", sid, qid)))
    if view.current_answers:
        second.append(Button(label("buttons.coach_edit"), callback("coach", "edit", sid, qid)))
    return keyboard(
        [
            [
                Button(label("buttons.coach_next"), callback("coach", "next", sid, qid)),
                Button(label("buttons.coach_skip"), callback("coach", "skip", sid, qid)),
            ],
            second,
            [
                Button(label("buttons.coach_later"), callback("coach", "later", sid)),
                Button(label("buttons.coach_finish"), callback("coach", "finish", sid)),
            ],
        ]
    )


async def _set_flow(update: Update, context: BotContext, view: SectionView, step: str = STEP_ANSWER) -> None:
    data = {"section": view.section_id, "question": view.question_id}
    await context.call(context.services.conversations.set, update.effective_user.id, COACH_FLOW, step, data)


async def _show_position(update: Update, context: BotContext, person: PersonView, view: SectionView) -> None:
    """The current question of the section, or its summary with the feedback when at the end."""
    if view.at_summary:
        await _show_summary(update, context, person, view)
        return
    await _set_flow(update, context, view)
    section = context.services.catalogue.section(view.section_id)
    await reply(
        update,
        context,
        "coach/question.html",
        section=section,
        question=section.question(view.question_id),
        position=view.position,
        answers=list(view.current_answers),
        show_purpose=view.position[0] == 1,
        keyboard=_nav_keyboard(context, view),
    )


async def _show_summary(update: Update, context: BotContext, person: PersonView, view: SectionView) -> None:
    # The summary ends with questions: a message typed now is kept for the section (coach_text).
    await _set_flow(update, context, view, STEP_SUMMARY)
    catalogue = context.services.catalogue
    feedback = await section_feedback(
        view.section_id, view.notes, view.report_type, catalogue, context.services.settings.llm
    )
    await context.call(
        context.services.coaching.record_feedback,
        person,
        view.section_id,
        feedback.remarks,
        engine=ENGINE_LLM if feedback.llm_used else ENGINE_OFFLINE,
        llm_failure=feedback.failure.value if feedback.failure else None,
    )
    label = context.renderer.label
    buttons = column(
        [
            Button(label("buttons.coach_reopen"), callback("coach", "open", view.section_id)),
            Button(label("buttons.coach_overview"), callback("coach", "overview")),
            Button(label("buttons.coach_plan"), callback("menu", "plan")),
        ]
    )
    await reply(
        update,
        context,
        "coach/section_summary.html",
        section=catalogue.section(view.section_id),
        notes=list(view.notes),
        skipped=[item.question for item in view.notes if not item.answers],
        remarks=[render_remark(remark, catalogue) for remark in feedback.remarks],
        show_fallback_notice=feedback.show_fallback_notice,
        keyboard=buttons,
    )


def _coach_action(handler):
    """coach:<action>[:<section>[:<question>]]. Untrusted: the argument count is checked here, the
    position by the service; a stale or forged button changes nothing and says so."""

    @functools.wraps(handler)
    async def run(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
        try:
            if data is None or COACH_ACTIONS.get(data.action) != len(data.args):
                raise StaleAction(data.action if data else "")
            await handler(update, context, person, data.arg(0) or "", data.arg(1) or None)
        except (StaleAction, UnknownSection) as stale:
            log.info("stale or forged coach button %r from user %s (%r)", update.callback_query.data, update.effective_user.id, stale)
            await reply(update, context, "coach/stale.html")
        except NoEnrolment:
            await reply(update, context, "coach/no_enrolment.html")

    return run


@_coach_action
async def coach_overview(update: Update, context: BotContext, person: PersonView, section_id: str, question_id: str | None) -> None:
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=COACH_FLOW)
    await _show_overview(update, context, person)


@_coach_action
async def coach_open(update: Update, context: BotContext, person: PersonView, section_id: str, question_id: str | None) -> None:
    view = await context.call(context.services.coaching.open_section, person, section_id)
    await _show_position(update, context, person, view)


@_coach_action
async def coach_next(update: Update, context: BotContext, person: PersonView, section_id: str, question_id: str | None) -> None:
    view = await context.call(context.services.coaching.next_question, person, section_id, question_id)
    await _show_position(update, context, person, view)


@_coach_action
async def coach_skip(update: Update, context: BotContext, person: PersonView, section_id: str, question_id: str | None) -> None:
    view = await context.call(context.services.coaching.skip, person, section_id, question_id)
    await _show_position(update, context, person, view)


@_coach_action
async def coach_back(update: Update, context: BotContext, person: PersonView, section_id: str, question_id: str | None) -> None:
    view = await context.call(context.services.coaching.back, person, section_id, question_id)
    await _show_position(update, context, person, view)


@_coach_action
async def coach_keep(update: Update, context: BotContext, person: PersonView, section_id: str, question_id: str | None) -> None:
    view = await context.call(context.services.coaching.current, person, section_id, question_id)
    await _show_position(update, context, person, view)


@_coach_action
async def coach_edit(update: Update, context: BotContext, person: PersonView, section_id: str, question_id: str | None) -> None:
    view = await context.call(context.services.coaching.current, person, section_id, question_id)
    await _set_flow(update, context, view, STEP_EDIT)
    section = context.services.catalogue.section(section_id)
    keep = column([Button(context.renderer.label("buttons.coach_keep"), callback("coach", "keep", section_id, question_id))])
    await reply(
        update,
        context,
        "coach/edit_prompt.html",
        question=section.question(question_id),
        answers=list(view.current_answers),
        keyboard=keep,
    )


@_coach_action
async def coach_later(update: Update, context: BotContext, person: PersonView, section_id: str, question_id: str | None) -> None:
    await context.call(context.services.coaching.finish_later, person, section_id)
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=COACH_FLOW)
    await reply(update, context, "coach/saved.html")
    await _show_overview(update, context, person)


@_coach_action
async def coach_finish(update: Update, context: BotContext, person: PersonView, section_id: str, question_id: str | None) -> None:
    view = await context.call(context.services.coaching.finish_section, person, section_id)
    await _show_summary(update, context, person, view)


async def coach_stale(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    log.info("stale or forged coach button %r from user %s", update.callback_query.data, update.effective_user.id)
    await reply(update, context, "coach/stale.html")


async def coach_text(update: Update, context: BotContext, person: PersonView, conversation: Conversation) -> None:
    """Free text in a section: one more message for the question shown, or the replacement answer."""
    user_id = update.effective_user.id
    section_id = str(conversation.data.get("section") or "")
    question_id = str(conversation.data.get("question") or "")
    text = update.effective_message.text or ""
    coaching = context.services.coaching
    try:
        if conversation.step == STEP_EDIT:
            view = await context.call(coaching.edit_answer, person, section_id, question_id, text)
            await _show_position(update, context, person, view)
            return
        if conversation.step == STEP_SUMMARY:
            view, kept_for = await context.call(coaching.add_after_summary, person, section_id, text)
            section = context.services.catalogue.section(section_id)
            await reply(update, context, "coach/added_after_summary.html", question=section.question(kept_for))
            await _show_summary(update, context, person, view)
            return
        view = await context.call(coaching.answer, person, section_id, question_id, text)
    except (StaleAction, UnknownSection):
        await context.call(context.services.conversations.clear, user_id, flow=COACH_FLOW)
        await reply(update, context, "coach/stale.html")
        return
    except NoEnrolment:
        await context.call(context.services.conversations.clear, user_id, flow=COACH_FLOW)
        await reply(update, context, "coach/no_enrolment.html")
        return
    await _set_flow(update, context, view)
    await reply(
        update,
        context,
        "coach/noted.html",
        position=view.position,
        count=len(view.current_answers),
        keyboard=_nav_keyboard(context, view),
    )


# --- /plan -------------------------------------------------------------------------------------------


async def plan_command(update: Update, context: BotContext, person: PersonView) -> None:
    try:
        notes = await context.call(context.services.coaching.notes_of, person, person.id)
    except NoEnrolment:
        await reply(update, context, "coach/no_enrolment.html")
        return
    catalogue = context.services.catalogue
    docx = await context.call(
        build_plan_docx, catalogue, notes.report_type, notes.notes, created=context.services.clock()
    )
    markdown = await context.call(build_plan_markdown, catalogue, notes.report_type, notes.notes)
    if not any(notes.notes.values()):
        await reply(update, context, "coach/plan_empty.html")
    chat_id = chat_id_of(update)
    report_type = catalogue.report_type(notes.report_type)
    for content, name, is_markdown in (
        (docx, plan_filename(notes.report_type), False),
        (markdown.encode("utf-8"), plan_filename(notes.report_type, markdown=True), True),
    ):
        await context.messenger.send_document(
            chat_id, content, name, caption_template="coach/plan_caption.html",
            markdown=is_markdown, report_type=report_type,
        )


# --- /ressources -------------------------------------------------------------------------------------


def _resources_keyboard(context: BotContext):
    label = context.renderer.label
    buttons = [Button(label("buttons.resources_page", title=p.title), callback("res", "page", p.id)) for p in default_resources().pages]
    buttons.append(Button(label("buttons.resources_document"), callback("res", "doc")))
    return column(buttons)


async def resources_command(update: Update, context: BotContext, person: PersonView) -> None:
    resources = default_resources()
    await reply(
        update,
        context,
        "coach/resources_menu.html",
        title=resources.document_title,
        pages=list(resources.pages),
        keyboard=_resources_keyboard(context),
    )


async def resources_document(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """res:doc: the resources as a .docx."""
    resources = default_resources()
    content = await context.call(
        build_resources_docx, resources, context.services.catalogue, created=context.services.clock()
    )
    await context.messenger.send_document(
        chat_id_of(update), content, resources.document_filename, caption_template="coach/resources_caption.html"
    )


async def resources_page(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """res:page:<id> (and any other res: action: a stale button)."""
    resources = default_resources()
    catalogue = context.services.catalogue
    try:
        page = resources.page(data.arg(0) or "") if data is not None and data.action == "page" else None
    except KeyError:
        page = None
    if page is None:
        await reply(update, context, "common/stale_button.html")
        return
    await reply(
        update,
        context,
        "coach/resources_page.html",
        page=page,
        criteria=grid_criteria(catalogue),
        grid_note=catalogue.grid.source_note if catalogue.grid else "",
        keyboard=_resources_keyboard(context),
    )


# --- /experience -------------------------------------------------------------------------------------


async def experience_command(update: Update, context: BotContext, person: PersonView) -> None:
    step = await context.call(context.services.coaching.start_experience, person)
    await _show_experience_step(update, context, person, step)


async def _show_experience_step(update: Update, context: BotContext, person: PersonView, step: ExperienceStep) -> None:
    coaching = context.services.coaching
    content = coaching.experience_content
    user_id = update.effective_user.id
    label = context.renderer.label
    if step.outcome is None:
        question = step.question
        await context.call(context.services.conversations.set, user_id, EXPERIENCE_FLOW, question.id, {})
        buttons = column(Button(c.label, callback("exp", "a", question.id, c.value)) for c in question.choices)
        await reply(
            update, context, "coach/experience_question.html",
            content=content, question=question, position=step.position, first=step.first, keyboard=buttons,
        )
        return
    await context.call(context.services.conversations.clear, user_id, flow=EXPERIENCE_FLOW)
    buttons = column(
        [
            Button(label("buttons.experience_report"), callback("menu", "rapport")),
            Button(label("buttons.experience_resources"), callback("menu", "ressources")),
            Button(label("buttons.experience_restart"), callback("menu", "experience")),
        ]
    )
    enrolled = await context.call(coaching.enrolled_report_type, person)
    if enrolled is not None and enrolled != step.outcome.report_type:
        await reply(update, context, "coach/experience_outcome.html", content=content, outcome=step.outcome)
        await reply(
            update, context, "coach/experience_mismatch.html",
            enrolled=context.services.catalogue.report_type(enrolled), keyboard=buttons,
        )
        return
    await reply(update, context, "coach/experience_outcome.html", content=content, outcome=step.outcome, keyboard=buttons)


async def _answer_experience(update: Update, context: BotContext, person: PersonView, question_id: str, value: str) -> None:
    try:
        step = await context.call(context.services.coaching.answer_experience, person, question_id, value)
    except StaleAction:
        await reply(update, context, "common/stale_button.html")
        return
    await _show_experience_step(update, context, person, step)


async def experience_button(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """exp:a:<question>:<value>. Only the question currently asked is accepted."""
    if data is None or data.action != "a" or data.arg(0) is None or data.arg(1) is None:
        await reply(update, context, "common/stale_button.html")
        return
    await _answer_experience(update, context, person, data.arg(0), data.arg(1))


async def experience_text(update: Update, context: BotContext, person: PersonView, conversation: Conversation) -> None:
    """A typed answer ("oui", "non", "4"...) to the question being asked."""
    coaching = context.services.coaching
    answers, _ = await context.call(coaching.experience_state, person)
    value = coaching.parse_typed_experience_answer(conversation.step, update.effective_message.text or "", answers)
    if value is None:
        try:
            question = coaching.experience_content.question(conversation.step)
        except KeyError:
            await context.call(context.services.conversations.clear, update.effective_user.id, flow=EXPERIENCE_FLOW)
            await reply(update, context, "common/stale_button.html")
            return
        buttons = column(Button(c.label, callback("exp", "a", question.id, c.value)) for c in question.choices)
        await reply(update, context, "coach/experience_not_understood.html", question=question, keyboard=buttons)
        return
    await _answer_experience(update, context, person, conversation.step, value)
