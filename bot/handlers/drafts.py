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
from bot.domain.deposit import Annex, DepositRuleError, report_warnings
from bot.domain.drafts import MAX_ANNEXES, annex_title, check_annex, deposit_file_name, safe_file_name
from bot.domain.pdf_review import MAX_PDF_BYTES, PdfReview
from bot.domain.people import EnrolmentView, PersonView, Role
from bot.domain.permissions import PermissionDenied
from bot.handlers.common import chat_id_of, reply
from bot.services.conversations import Conversation
from bot.services.deposits import DepositView
from bot.services.drafts import DraftError, DraftVersionView
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
    enrolment = await context.enrolment(person)
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


MAX_OFFERED_VERSIONS = 5


def _depot_keyboard(context: BotContext, deposit: DepositView | None):
    """What can be done with the deposit in progress (its buttons work from any earlier message)."""
    labels = context.renderer
    annexes = deposit.annexes if deposit else ()
    rows = []
    if deposit is not None and deposit.report is not None and annexes:
        rows.append([Button(labels.label("buttons.depot_assemble"), callback("depot", "assemble"))])
    if annexes:
        rows.append([Button(labels.label("buttons.depot_manage"), callback("depot", "manage"))])
    if deposit is not None and deposit.report is not None:
        rows.append([Button(labels.label("buttons.depot_choose"), callback("depot", "choose"))])
    rows.append([Button(labels.label("buttons.depot_abandon"), callback("depot", "cancel"))])
    return keyboard(rows)


def _manage_keyboard(context: BotContext, deposit: DepositView):
    labels = context.renderer
    rows = []
    for number, _ in enumerate(deposit.annexes, start=1):
        row = [Button(labels.label("buttons.depot_rename", number=number), callback("depot", "rename", number))]
        if number > 1:
            row.append(Button(labels.label("buttons.depot_up", number=number), callback("depot", "up", number)))
        if number < len(deposit.annexes):
            row.append(Button(labels.label("buttons.depot_down", number=number), callback("depot", "down", number)))
        row.append(Button(labels.label("buttons.depot_remove", number=number), callback("depot", "remove", number)))
        rows.append(row)
    last = [Button(labels.label("buttons.depot_back"), callback("depot", "show"))]
    if deposit.report is not None and deposit.annexes:
        last.append(Button(labels.label("buttons.depot_assemble"), callback("depot", "assemble")))
    rows.append(last)
    return keyboard(rows)


def _deposit_values(context: BotContext, deposit: DepositView | None) -> dict:
    catalogue = context.services.catalogue
    report = deposit.report if deposit else None
    return {
        "deposit": deposit,
        "report": report,
        "annexes": deposit.annexes if deposit else (),
        "warnings": deposit.warnings if deposit else (),
        "catalogue": catalogue,
        "report_type": catalogue.report_type(report.review.report_type) if report else None,
    }


async def _set_step(update: Update, context: BotContext, step: str, data: dict | None = None) -> None:
    await context.call(context.services.conversations.set, update.effective_user.id, DEPOT_FLOW, step, data or {})


async def depot_command(update: Update, context: BotContext, person: PersonView) -> None:
    """Resume the deposit in progress, or start one by choosing the report version."""
    deposit = await context.call(context.services.deposits.current, person)
    if deposit is not None and (deposit.report is not None or deposit.annexes):
        await _set_step(update, context, "annexes" if deposit.report is not None else "report")
        await reply(update, context, "depot/resumed.html", **_deposit_values(context, deposit),
                    keyboard=_depot_keyboard(context, deposit))
        return
    await _offer_versions(update, context, person, deposit)


async def _offer_versions(update: Update, context: BotContext, person: PersonView, deposit: DepositView | None) -> None:
    """The readable versions, newest first, each with what the review found about its limit and parts."""
    versions = await context.call(context.services.drafts.versions, person, person.id)
    readable = [v for v in reversed(versions) if v.ok][:MAX_OFFERED_VERSIONS]
    await _set_step(update, context, "report")
    if not readable:
        await reply(update, context, "depot/ask_report.html", keyboard=_depot_keyboard(context, deposit))
        return
    labels, catalogue = context.renderer, context.services.catalogue
    offered = [{"version": v, "warnings": report_warnings(v.review)} for v in readable]
    rows = [
        [Button(labels.label("buttons.depot_version_warned" if o["warnings"] else "buttons.depot_version",
                             number=o["version"].version, pages=o["version"].review.body_pages),
                callback("depot", "version", o["version"].id))]
        for o in offered
    ]
    rows.append([Button(labels.label("buttons.depot_abandon"), callback("depot", "cancel"))])
    await reply(update, context, "depot/choose_report.html", offered=offered, catalogue=catalogue,
                current=deposit.report if deposit else None, keyboard=keyboard(rows))


async def _use_report(update: Update, context: BotContext, person: PersonView, version_id: int) -> None:
    try:
        deposit = await context.call(context.services.deposits.choose_report, person, version_id)
    except PermissionDenied as denied:
        log.info("refused: %s", denied)
        await reply(update, context, "common/not_allowed.html")
        return
    except DepositRuleError:
        await reply(update, context, "depot/ask_report_again.html")
        return
    await _set_step(update, context, "annexes")
    await reply(update, context, "depot/report_chosen.html", **_deposit_values(context, deposit),
                keyboard=_depot_keyboard(context, deposit))


async def depot_version(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """depot:version:<version id>: that version is the report (the service checks it is theirs)."""
    version_id = data.int_arg(0) if data else None
    if version_id is None:
        await reply(update, context, "common/stale_button.html")
        return
    await _use_report(update, context, person, version_id)


async def depot_choose(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    deposit = await context.call(context.services.deposits.current, person)
    await _offer_versions(update, context, person, deposit)


async def depot_document(update: Update, context: BotContext, person: PersonView, conversation: Conversation) -> None:
    if conversation.step == "report":
        enrolment = await context.enrolment(person)
        if enrolment is None:
            await reply(update, context, "drafts/no_enrolment.html")
            return
        version = await process_draft(update, context, person, enrolment)
        if version is None:
            await reply(update, context, "depot/ask_report_again.html")
            return
        await _use_report(update, context, person, version.id)
        return
    await _add_annex(update, context, person)


async def _add_annex(update: Update, context: BotContext, person: PersonView) -> None:
    deposits = context.services.deposits
    deposit = await context.call(deposits.current, person)
    count = len(deposit.annexes) if deposit else 0
    if count >= MAX_ANNEXES:
        await reply(update, context, "depot/too_many.html", limit=MAX_ANNEXES, keyboard=_depot_keyboard(context, deposit))
        return
    fetched = await _fetch(update, context)
    if fetched is None:
        return
    document, content = fetched
    problem, detected, pages = await check_annex_isolated(content)
    number = count + 1
    if problem is not None:
        log.info("annex %s refused: %s", number, problem)
        await reply(
            update, context, "depot/annex_refused.html", problem=problem, number=number,
            **{**_too_large_values(len(content)), "detected_format": detected},
            keyboard=_depot_keyboard(context, deposit),
        )
        return
    title = annex_title(update.effective_message.caption, document.file_name)
    try:
        deposit = await context.call(deposits.add_annex, person, Annex(document.file_id, title, pages))
    except DepositRuleError:
        await reply(update, context, "depot/too_many.html", limit=MAX_ANNEXES, keyboard=_depot_keyboard(context, deposit))
        return
    await _set_step(update, context, "annexes")
    await reply(update, context, "depot/annex_added.html", **_deposit_values(context, deposit), number=number,
                keyboard=_depot_keyboard(context, deposit))


async def check_annex_isolated(content: bytes) -> tuple[str | None, str | None, int]:
    """``check_annex`` in the sandbox; a kill (time, memory) is ``too_complex``."""
    outcome = await asyncio.to_thread(pdf_sandbox.run_isolated, check_annex, (content,), timeout=REVIEW_TIMEOUT)
    if outcome.status != "ok":
        return "too_complex", None, 0
    return tuple(outcome.value)


async def depot_text(update: Update, context: BotContext, person: PersonView, conversation: Conversation) -> None:
    renaming = conversation.data.get("renaming")
    if conversation.step == "rename" and isinstance(renaming, int):
        try:
            deposit = await context.call(
                context.services.deposits.rename_annex, person, renaming, update.effective_message.text or ""
            )
        except DepositRuleError as error:
            if error.code == "title_missing":
                await reply(update, context, "depot/ask_title_again.html", number=renaming)
                return
            deposit = await context.call(context.services.deposits.current, person)
        else:
            await _set_step(update, context, "annexes")
            await reply(update, context, "depot/annexes_changed.html", change="renamed", number=renaming, position=None,
                        **_deposit_values(context, deposit), keyboard=_manage_keyboard(context, deposit))
            return
    deposit = await context.call(context.services.deposits.current, person)
    await reply(update, context, "depot/send_pdf.html", step=conversation.step, keyboard=_depot_keyboard(context, deposit))


async def _deposit_or_stale(update: Update, context: BotContext, person: PersonView) -> DepositView | None:
    """The deposit in progress for a button (an earlier message's buttons still work), else stale."""
    deposit = await context.call(context.services.deposits.current, person)
    if deposit is None:
        await reply(update, context, "common/stale_button.html")
    return deposit


async def depot_cancel(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """Abandon the deposit: the stored report choice and annexes are forgotten."""
    abandoned = await context.call(context.services.deposits.abandon, person)
    conversation = await context.conversation(update)
    if not abandoned and (conversation is None or conversation.flow != DEPOT_FLOW):
        await reply(update, context, "common/stale_button.html")
        return
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=DEPOT_FLOW)
    await reply(update, context, "depot/cancelled.html")


async def depot_show(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    deposit = await _deposit_or_stale(update, context, person)
    if deposit is None:
        return
    await _set_step(update, context, "annexes" if deposit.report is not None else "report")
    await reply(update, context, "depot/resumed.html", **_deposit_values(context, deposit),
                keyboard=_depot_keyboard(context, deposit))


async def depot_manage(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """The annexes, each with rename, move up or down, and remove."""
    deposit = await _deposit_or_stale(update, context, person)
    if deposit is None:
        return
    if not deposit.annexes:
        await reply(update, context, "depot/need_annex.html", keyboard=_depot_keyboard(context, deposit))
        return
    await _set_step(update, context, "annexes" if deposit.report is not None else "report")
    await reply(update, context, "depot/manage.html", **_deposit_values(context, deposit),
                keyboard=_manage_keyboard(context, deposit))


async def depot_rename(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    """depot:rename:<n>: the next text is the title of annex n."""
    deposit = await _deposit_or_stale(update, context, person)
    if deposit is None:
        return
    number = data.int_arg(0) if data else None
    if number is None or not 1 <= number <= len(deposit.annexes):
        await reply(update, context, "common/stale_button.html")
        return
    await _set_step(update, context, "rename", {"renaming": number})
    await reply(update, context, "depot/ask_title.html", number=number, annex=deposit.annexes[number - 1])


async def _change_annexes(update: Update, context: BotContext, person: PersonView, data: CallbackData | None,
                          change: str) -> None:
    number = data.int_arg(0) if data else None
    deposits = context.services.deposits
    try:
        if number is None:
            raise DepositRuleError("annex_unknown")
        if change == "removed":
            deposit = await context.call(deposits.remove_annex, person, number)
        else:
            deposit = await context.call(deposits.move_annex, person, number, -1 if change == "up" else 1)
    except DepositRuleError:
        await reply(update, context, "common/stale_button.html")
        return
    await update.callback_query.edit_message_reply_markup(None)  # positions changed: older buttons go
    markup = _manage_keyboard(context, deposit) if deposit.annexes else _depot_keyboard(context, deposit)
    position = None
    if change != "removed":
        position = min(max(number + (-1 if change == "up" else 1), 1), len(deposit.annexes))
    await reply(update, context, "depot/annexes_changed.html", change="removed" if change == "removed" else "moved",
                number=number, position=position, **_deposit_values(context, deposit), keyboard=markup)


async def depot_remove(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    await _change_annexes(update, context, person, data, "removed")


async def depot_up(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    await _change_annexes(update, context, person, data, "up")


async def depot_down(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    await _change_annexes(update, context, person, data, "down")


async def depot_assemble(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    deposit = await _deposit_or_stale(update, context, person)
    if deposit is None:
        return
    if deposit.report is None:
        await _offer_versions(update, context, person, deposit)
    elif not deposit.annexes:
        await reply(update, context, "depot/need_annex.html", keyboard=_depot_keyboard(context, deposit))
    else:
        await _assemble(update, context, person, deposit)


async def _assemble(update: Update, context: BotContext, person: PersonView, deposit: DepositView) -> None:
    report_version, annexes = deposit.report, deposit.annexes
    await reply(update, context, "depot/assembling.html", count=len(annexes))
    enrolment = await context.enrolment(person)
    report_type = context.services.catalogue.report_type(enrolment.report_type.value if enrolment else "ua")
    try:
        report = await _download_id(context, report_version.telegram_file_id)
        parts = [(a.title, await _download_id(context, a.file_id)) for a in annexes]
        result = await pdf_sandbox.assemble_deposit_isolated(
            report, parts, title=f"{report_type.label} — {person.display_name}", author=person.display_name
        )
    except DepositError as error:
        log.info("deposit of person %s failed: %s", person.id, error)
        await reply(
            update, context, "depot/failed.html", code=error.code, annex_number=error.annex_number,
            part=error.part, keyboard=_depot_keyboard(context, deposit),
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
        pages=deposit.pages,
    )
    await context.call(context.services.deposits.abandon, person)  # done: nothing left in progress
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=DEPOT_FLOW)


async def _download_id(context: BotContext, file_id: str) -> bytes:
    try:
        telegram_file = await context.bot.get_file(file_id)
        return bytes(await telegram_file.download_as_bytearray())
    except BadRequest as exc:
        raise DepositError("too_large" if "too big" in str(exc).lower() else "corrupted", "deposit", str(exc)) from exc
