"""PDF drafts: an auditeur sends a PDF, the bot reviews it (in a sandboxed child process, never on
the event loop), keeps the version, answers with the findings and forwards the draft to the tutor.
/brouillons lists the versions; /depot assembles the report and its annexes into one PDF.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from functools import lru_cache

from telegram import Document, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest

from bot.commands.review import load_step_wording, problem_context
from bot.domain import pdf_sandbox
from bot.domain.annexes import DepositError
from bot.domain.drafts import MAX_ANNEXES, annex_title, check_annex, deposit_file_name, safe_file_name
from bot.domain.pdf_review import MAX_PDF_BYTES, PdfReview
from bot.domain.people import EnrolmentView, PersonView, Role
from bot.domain.permissions import PermissionDenied
from bot.handlers.common import chat_id_of, reply
from bot.services.conversations import Conversation
from bot.services.drafts import DraftError, DraftRecorded, DraftVersionView
from bot.telegram.context import BotContext
from bot.telegram.keyboards import Button, CallbackData, callback, column, keyboard

log = logging.getLogger(__name__)

DEPOT_FLOW = "depot"
MAX_LISTED_VERSIONS = 20
REVIEW_TIMEOUT = pdf_sandbox.DEFAULT_TIMEOUT
"""Seconds a review may take before the file is declared too complex (tests may lower it)."""


@lru_cache(maxsize=1)
def _steps() -> dict[str, str]:
    return load_step_wording()


def _too_large_values(size: int | None) -> dict:
    return {
        "detected_format": None,
        "size_mb": round(size / 1_000_000, 1) if size else None,
        "limit_mb": MAX_PDF_BYTES // (1024 * 1024),
    }


async def _download(context: BotContext, document: Document) -> bytes | None:
    """The file's bytes, or None when Telegram refuses to hand it over (over 20 MB)."""
    try:
        telegram_file = await context.bot.get_file(document.file_id)
        return bytes(await telegram_file.download_as_bytearray())
    except BadRequest as exc:
        if "too big" in str(exc).lower():
            return None
        raise


async def _fetch(update: Update, context: BotContext) -> tuple[Document, bytes] | None:
    """Check the size Telegram announces, then download; a too large file gets its message."""
    document = update.effective_message.document
    if document.file_size and document.file_size > MAX_PDF_BYTES:
        await reply(update, context, "review/problem_too_large.html", **_too_large_values(document.file_size))
        return None
    data = await _download(context, document)
    if data is None or len(data) > MAX_PDF_BYTES:
        await reply(update, context, "review/problem_too_large.html", **_too_large_values(document.file_size))
        return None
    return document, data


# --------------------------------------------------------------------------------------------
# A draft sent outside any conversation


async def draft_document(
    update: Update, context: BotContext, person: PersonView | None, conversation: Conversation | None
) -> None:
    """A document outside any document flow: an auditeur's draft (others are told what to do)."""
    if person is None:
        await reply(update, context, "common/unknown_user.html")
        return
    if person.role is not Role.AUDITEUR:
        await reply(update, context, "drafts/not_for_role.html", person=person)
        return
    enrolment = await context.call(context.services.directory.active_enrolment, person.id)
    if enrolment is None:
        await reply(update, context, "drafts/no_enrolment.html")
        return
    await process_draft(update, context, person, enrolment, choices=True)


def _draft_choices(context: BotContext, version: DraftVersionView):
    """The draft stays the auditeur's: they choose to show it to their tutor or to submit it."""
    labels = context.renderer
    return column([
        Button(labels.label("buttons.draft_send"), callback("drafts", "send", version.id)),
        Button(labels.label("buttons.acc_submit"), callback("acc", "submit", version.id)),
    ])


async def process_draft(
    update: Update, context: BotContext, person: PersonView, enrolment: EnrolmentView, *, choices: bool = False
) -> DraftVersionView | None:
    """Review, record and answer; returns the readable version (new or identical), else None."""
    fetched = await _fetch(update, context)
    if fetched is None:
        return None
    document, data = fetched
    file_name = safe_file_name(document.file_name)
    drafts = context.services.drafts
    same = await context.call(drafts.same_as_latest, person, hashlib.sha256(data).hexdigest())
    if same is not None:
        await reply(update, context, "drafts/same_file.html", version=same)
        return same if same.ok else None
    # "typing…" while the review runs (a chat action, not a message: no flood-limit cost)
    await context.bot.send_chat_action(chat_id_of(update), ChatAction.TYPING)
    review = await review_pdf(data, enrolment.report_type.value)
    try:
        recorded = await context.call(
            drafts.record, person, review=review, file_name=file_name, telegram_file_id=document.file_id
        )
    except DraftError:
        await reply(update, context, "drafts/no_enrolment.html")
        return None
    if recorded.version is None:  # sent twice at once: the other copy was recorded first
        await reply(update, context, "drafts/same_file.html", version=recorded.same_as)
        return recorded.same_as if recorded.same_as.ok else None
    if review.problem:
        log.info("draft v%s of person %s has a problem: %s", recorded.version.version, person.id, review.problem)
        await reply(update, context, f"review/problem_{review.problem}.html", **problem_context(review))
        return None
    await reply(
        update,
        context,
        "drafts/reviewed.html",
        **_report_values(context, review),
        comparison=recorded.comparison,
        version=recorded.version,
        tutor=enrolment.tutor,
        choices=choices,
        keyboard=_draft_choices(context, recorded.version) if choices else None,
    )
    return recorded.version


async def review_pdf(data: bytes, report_type: str) -> PdfReview:
    """The sandboxed review (child process, timeout, memory cap), awaited from a worker thread."""
    return await pdf_sandbox.review_pdf_isolated(data, report_type, timeout=REVIEW_TIMEOUT)


def _report_values(context: BotContext, review: PdfReview) -> dict:
    return _report_values_for(context.services.catalogue, review)


def _report_values_for(catalogue, review: PdfReview) -> dict:
    return {
        "review": review,
        "report_type": catalogue.report_type(review.report_type),
        "catalogue": catalogue,
        "steps": _steps(),
    }


async def prepare_draft_for_tutor(services, row, now) -> dict | None:
    """The outbox preparer of ``draft.to_tutor``: the review as recorded, with the comparison."""
    values = await asyncio.to_thread(services.drafts.forward_values, row.params["version_id"])
    if values is None:
        return None
    return {**values, **_report_values_for(services.catalogue, values["version"].review)}


# --------------------------------------------------------------------------------------------
# /brouillons


async def drafts_command(update: Update, context: BotContext, person: PersonView) -> None:
    drafts = context.services.drafts
    if person.role is Role.AUDITEUR:
        versions = await context.call(drafts.versions, person, person.id)
        await _show_versions(update, context, person, person, versions)
        return
    followed = await context.call(drafts.followed_auditeurs, person)
    if not followed:
        await reply(update, context, "drafts/no_auditeurs.html", person=person)
        return
    buttons = column(
        Button(
            context.renderer.label("buttons.drafts_auditeur", name=enrolment.auditeur.display_name, count=count),
            callback("drafts", "list", enrolment.auditeur.id),
        )
        for enrolment, count in followed
    )
    await reply(update, context, "drafts/pick_auditeur.html", keyboard=buttons)


async def _show_versions(
    update: Update, context: BotContext, viewer: PersonView, auditeur: PersonView, versions: list[DraftVersionView]
) -> None:
    shown = versions[-MAX_LISTED_VERSIONS:]
    markup = None
    if viewer.role is not Role.AUDITEUR:
        readable = [v for v in reversed(shown) if v.ok][:5]
        markup = column(
            Button(context.renderer.label("buttons.draft_file", number=v.version), callback("drafts", "file", v.id))
            for v in readable
        ) if readable else None
    await reply(
        update,
        context,
        "drafts/list.html",
        viewer=viewer,
        auditeur=auditeur,
        versions=shown,
        hidden=len(versions) - len(shown),
        catalogue=context.services.catalogue,
        keyboard=markup,
    )


async def drafts_list(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """drafts:list:<auditeur id>; re-checked by the service."""
    target = data.int_arg(0) if data else None
    if target is None:
        await reply(update, context, "common/stale_button.html")
        return
    try:
        versions = await context.call(context.services.drafts.versions, person, target)
    except PermissionDenied as denied:
        log.info("refused: %s", denied)
        await reply(update, context, "common/not_allowed.html")
        return
    auditeur = await context.call(context.services.directory.get, target)
    await _show_versions(update, context, person, auditeur, versions)


async def drafts_file(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """drafts:file:<version id>; re-checked by the service."""
    target = data.int_arg(0) if data else None
    if target is None:
        await reply(update, context, "common/stale_button.html")
        return
    try:
        version = await context.call(context.services.drafts.version, person, target)
    except PermissionDenied as denied:
        log.info("refused: %s", denied)
        await reply(update, context, "common/not_allowed.html")
        return
    auditeur = await context.call(context.services.directory.get, version.auditeur_id)
    await context.messenger.send_document(
        chat_id_of(update), version.telegram_file_id, version.file_name,
        caption_template="drafts/tutor_caption.html", auditeur=auditeur, version=version,
    )


# --------------------------------------------------------------------------------------------
# /depot: the report, then the annexes one by one, then one PDF


def _depot_keyboard(context: BotContext, annexes: list[dict]):
    labels = context.renderer
    rows = [[Button(labels.label("buttons.depot_assemble"), callback("depot", "assemble"))]] if annexes else []
    if annexes:
        rows.append(
            [Button(labels.label("buttons.depot_rename", number=len(annexes)), callback("depot", "rename", len(annexes)))]
        )
    rows.append([Button(labels.label("buttons.cancel"), callback("depot", "cancel"))])
    return keyboard(rows)


async def depot_command(update: Update, context: BotContext, person: PersonView) -> None:
    latest = await context.call(context.services.drafts.latest_readable, person, person.id)
    user_id = update.effective_user.id
    if latest is None:
        await context.call(context.services.conversations.set, user_id, DEPOT_FLOW, "report", {"annexes": []})
        await reply(update, context, "depot/ask_report.html", keyboard=_depot_keyboard(context, []))
        return
    data = {"report": _report_entry(latest), "annexes": []}
    await context.call(context.services.conversations.set, user_id, DEPOT_FLOW, "annexes", data)
    await reply(update, context, "depot/report_chosen.html", report=data["report"], keyboard=_depot_keyboard(context, []))


def _report_entry(version: DraftVersionView) -> dict:
    return {"file_id": version.telegram_file_id, "file_name": version.file_name, "version": version.version,
            "pages": version.pages}


async def depot_document(update: Update, context: BotContext, person: PersonView, conversation: Conversation) -> None:
    data = dict(conversation.data)
    if conversation.step == "report":
        enrolment = await context.call(context.services.directory.active_enrolment, person.id)
        if enrolment is None:
            await reply(update, context, "drafts/no_enrolment.html")
            return
        version = await process_draft(update, context, person, enrolment)
        if version is None:
            await reply(update, context, "depot/ask_report_again.html")
            return
        data["report"] = _report_entry(version)
        await _save(update, context, "annexes", data)
        await reply(update, context, "depot/report_chosen.html", report=data["report"],
                    keyboard=_depot_keyboard(context, data["annexes"]))
        return
    await _add_annex(update, context, data)


async def _add_annex(update: Update, context: BotContext, data: dict) -> None:
    annexes = list(data.get("annexes", []))
    if len(annexes) >= MAX_ANNEXES:
        await reply(update, context, "depot/too_many.html", limit=MAX_ANNEXES, keyboard=_depot_keyboard(context, annexes))
        return
    fetched = await _fetch(update, context)
    if fetched is None:
        return
    document, content = fetched
    problem, detected, pages = await check_annex_isolated(content)
    number = len(annexes) + 1
    if problem is not None:
        log.info("annex %s refused: %s", number, problem)
        await reply(
            update, context, "depot/annex_refused.html", problem=problem, number=number,
            **{**_too_large_values(len(content)), "detected_format": detected},
            keyboard=_depot_keyboard(context, annexes),
        )
        return
    message = update.effective_message
    title = annex_title(message.caption, document.file_name)
    annexes.append({"file_id": document.file_id, "title": title, "pages": pages})
    data["annexes"] = annexes
    await _save(update, context, "annexes", data)
    await reply(update, context, "depot/annex_added.html", report=data["report"], annexes=annexes,
                number=number, keyboard=_depot_keyboard(context, annexes))


async def check_annex_isolated(content: bytes) -> tuple[str | None, str | None, int]:
    """``check_annex`` in the sandbox; a kill (time, memory) is ``too_complex``."""
    outcome = await asyncio.to_thread(pdf_sandbox.run_isolated, check_annex, (content,), timeout=REVIEW_TIMEOUT)
    if outcome.status != "ok":
        return "too_complex", None, 0
    return tuple(outcome.value)


async def depot_text(update: Update, context: BotContext, person: PersonView, conversation: Conversation) -> None:
    data = dict(conversation.data)
    annexes = list(data.get("annexes", []))
    renaming = data.get("renaming")
    if conversation.step == "rename" and isinstance(renaming, int) and 1 <= renaming <= len(annexes):
        title = annex_title(update.effective_message.text, None)
        if title:
            annexes[renaming - 1] = {**annexes[renaming - 1], "title": title}
            data["annexes"] = annexes
            data.pop("renaming", None)
            await _save(update, context, "annexes", data)
            await reply(update, context, "depot/annex_renamed.html", report=data["report"], annexes=annexes,
                        number=renaming, keyboard=_depot_keyboard(context, annexes))
            return
    await reply(update, context, "depot/send_pdf.html", step=conversation.step, keyboard=_depot_keyboard(context, annexes))


async def _save(update: Update, context: BotContext, step: str, data: dict) -> None:
    await context.call(context.services.conversations.set, update.effective_user.id, DEPOT_FLOW, step, data)


async def _depot_form(update: Update, context: BotContext) -> dict | None:
    """The deposit in progress, if any (else: a stale button)."""
    conversation = await context.conversation(update)
    if conversation is None or conversation.flow != DEPOT_FLOW:
        await reply(update, context, "common/stale_button.html")
        return None
    return dict(conversation.data)


async def depot_cancel(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    if await _depot_form(update, context) is None:
        return
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=DEPOT_FLOW)
    await reply(update, context, "depot/cancelled.html")


async def depot_rename(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """depot:rename:<n>: the next text is the title of annex n."""
    form = await _depot_form(update, context)
    if form is None:
        return
    annexes = list(form.get("annexes", []))
    number = data.int_arg(0) if data else None
    if number is None or not 1 <= number <= len(annexes):
        await reply(update, context, "common/stale_button.html")
        return
    form["renaming"] = number
    await _save(update, context, "rename", form)
    await reply(update, context, "depot/ask_title.html", number=number, annex=annexes[number - 1])


async def depot_assemble(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    form = await _depot_form(update, context)
    if form is None:
        return
    annexes = list(form.get("annexes", []))
    if not form.get("report"):
        await reply(update, context, "depot/ask_report.html", keyboard=_depot_keyboard(context, annexes))
    elif not annexes:
        await reply(update, context, "depot/need_annex.html", keyboard=_depot_keyboard(context, annexes))
    else:
        await _assemble(update, context, person, form)


async def _assemble(update: Update, context: BotContext, person: PersonView, form: dict) -> None:
    report_entry, annexes = form["report"], form["annexes"]
    await reply(update, context, "depot/assembling.html", count=len(annexes))
    enrolment = await context.call(context.services.directory.active_enrolment, person.id)
    report_type = context.services.catalogue.report_type(enrolment.report_type.value if enrolment else "ua")
    try:
        report = await _download_id(context, report_entry["file_id"])
        parts = [(a["title"], await _download_id(context, a["file_id"])) for a in annexes]
        result = await pdf_sandbox.assemble_deposit_isolated(
            report, parts, title=f"{report_type.label} — {person.display_name}", author=person.display_name
        )
    except DepositError as error:
        log.info("deposit of person %s failed: %s", person.id, error)
        await reply(
            update, context, "depot/failed.html", code=error.code, annex_number=error.annex_number,
            part=error.part, keyboard=_depot_keyboard(context, annexes),
        )
        return
    await context.messenger.send_document(
        chat_id_of(update),
        result,
        deposit_file_name(person.display_name),
        caption_template="depot/caption.html",
        annexes=annexes,
        report_type=report_type.id,
        tutor=enrolment.tutor.display_name if enrolment else None,
        pages=report_entry.get("pages", 0) + sum(a.get("pages", 0) for a in annexes),
    )
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=DEPOT_FLOW)


async def _download_id(context: BotContext, file_id: str) -> bytes:
    try:
        telegram_file = await context.bot.get_file(file_id)
        return bytes(await telegram_file.download_as_bytearray())
    except BadRequest as exc:
        raise DepositError("too_large" if "too big" in str(exc).lower() else "corrupted", "deposit", str(exc)) from exc
