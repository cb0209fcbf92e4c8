"""Video-call booking: /dispos (tutor availability), /rdv (auditeur books), /mesrdv (both sides).

Callback namespaces: ``dispo`` (tutor settings), ``rdv`` (slot pages, booking and moving),
``mrdv`` (a listed meeting: cancel, move, held, missed). Callback data is untrusted: every action
goes through the booking service, which re-checks the actor, the slot and the budget.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from datetime import UTC, datetime

from telegram import Update
from telegram.error import BadRequest

from bot.domain.availability import AvailabilityError
from bot.domain.budget import MeetingStatus
from bot.domain.ics import Participant, meeting_invitation, meeting_uid
from bot.domain.meetings import (
    MAX_TOPIC_CHARS,
    SETTING_CHOICES,
    BookingError,
    BookingErrorCode,
    ConfirmationProblem,
    PendingBooking,
    VideoLinkError,
)
from bot.domain.people import PersonView, Role
from bot.domain.permissions import PermissionDenied
from bot.handlers.common import chat_id_of, reply
from bot.services.conversations import Conversation
from bot.telegram.context import BotContext
from bot.telegram.rendering import Renderer
from bot.telegram.keyboards import Button, CallbackData, callback, column, keyboard

log = logging.getLogger(__name__)

FLOW = "booking_dispos"
CONFIRM_FLOW = "booking_confirm"  # a tapped slot waits: the next text is the topic
SLOT_BUTTONS_PER_ROW = 3
MAX_SLOT_BUTTONS = 90


def _message_id(update: Update) -> int | None:
    query = update.callback_query
    return query.message.message_id if query is not None and query.message is not None else None


async def _drop_keyboard(update: Update) -> None:
    """The pressed message's buttons removed; an old message (already without them) is left as it is."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise


def _when(context: BotContext, moment: datetime) -> str:
    return context.renderer.render("booking/short_when.html", moment=moment)


def _epoch_arg(data, index: int) -> datetime | None:
    value = data.int_arg(index) if data else None
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


# -- .ics (built by the outbox sender when it delivers the file) -----------------------------------


def _participant(person: dict) -> Participant:
    """An .ics participant: their e-mail where known, else a stable urn:uuid from their id."""
    return Participant(person["display_name"], person["email"], key=f"person-{person['id']}")


def meeting_ics(renderer: Renderer, params: dict, now: datetime) -> bytes:
    """The outbox builder ``meeting_ics``: the invitation (REQUEST) or cancellation (CANCEL)."""
    meeting, method = params["meeting"], params["method"]
    return meeting_invitation(
        uid=meeting_uid(meeting["id"]),
        sequence=meeting["sequence"],
        start_utc=meeting["start_utc"],
        end_utc=meeting["end_utc"],
        summary=renderer.render("booking/ics_summary.txt", meeting=meeting),
        description=renderer.render("booking/ics_description.txt", meeting=meeting),
        url=meeting["video_link"],
        organizer=_participant(meeting["tutor"]),
        attendees=[_participant(meeting["auditeur"])],
        method=method,
        stamp=now,
    )


def ics_builder(services, renderer: Renderer):
    """The outbox builder ``meeting_ics`` bound to this bot's renderer (see bot/routes.py)."""
    return lambda params, now: meeting_ics(renderer, params, now)


async def prepare_meeting_reminder(services, row, now: datetime) -> dict | None:
    """The outbox preparer of ``meeting.reminder``: the meeting as it is now, or None if it is over."""
    return await asyncio.to_thread(
        services.booking.reminder_values, row.params["meeting_id"], row.recipient_id, row.params["rule"], now
    )


# -- /dispos (tutor) -------------------------------------------------------------------------------


def _dispos_keyboard(context: BotContext, view):
    label = context.renderer.label
    rows = [
        [Button(label("buttons.dispo_add_window"), callback("dispo", "win"))],
        [Button(label("buttons.dispo_add_day_off"), callback("dispo", "off"))],
        [Button(label("buttons.dispo_video"), callback("dispo", "video"))],
        [
            Button(label("buttons.dispo_notice"), callback("dispo", "opt", "notice")),
            Button(label("buttons.dispo_horizon"), callback("dispo", "opt", "horizon")),
            Button(label("buttons.dispo_buffer"), callback("dispo", "opt", "buffer")),
        ],
    ]
    if view.windows:
        rows.append([Button(label("buttons.dispo_remove_window"), callback("dispo", "delw"))])
    if view.days_off:
        rows.append([Button(label("buttons.dispo_remove_day_off"), callback("dispo", "deld"))])
    return keyboard(rows)


async def _show_dispos(update: Update, context: BotContext, view, *, note: str | None = None, **values) -> None:
    await reply(update, context, "booking/dispos.html", view=view, note=note, keyboard=_dispos_keyboard(context, view), **values)


async def dispos_command(update: Update, context: BotContext, tutor: PersonView) -> None:
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=FLOW)
    view = await context.call(context.services.booking.availability, tutor)
    await _show_dispos(update, context, view)


_ASK_STEPS = {"win": "windows", "off": "day_off", "video": "video"}


async def dispo_ask(update: Update, context: BotContext, tutor: PersonView, data: CallbackData | None) -> None:
    """dispo:win, dispo:off, dispo:video: the next text is the windows, the day off, the link."""
    step = _ASK_STEPS.get(data.action if data else "")
    if step is None:
        await dispo_stale(update, context, tutor, data)
        return
    await context.call(context.services.conversations.set, update.effective_user.id, FLOW, step, {})
    await reply(update, context, f"booking/dispos_ask_{step}.html")


async def dispo_option(update: Update, context: BotContext, tutor: PersonView, data: CallbackData | None) -> None:
    """dispo:opt:<setting>: the values to choose from."""
    name = data.arg(0) if data else None
    if name not in SETTING_CHOICES:
        await dispo_stale(update, context, tutor, data)
        return
    buttons = column(
        Button(context.renderer.render("booking/setting_value.html", name=name, value=value), callback("dispo", "set", name, value))
        for value in SETTING_CHOICES[name]
    )
    await reply(update, context, "booking/dispos_choose.html", name=name, keyboard=buttons)


async def dispo_set(update: Update, context: BotContext, tutor: PersonView, data: CallbackData | None) -> None:
    """dispo:set:<setting>:<value>."""
    if data is None or data.arg(0) not in SETTING_CHOICES or data.int_arg(1) is None:
        await dispo_stale(update, context, tutor, data)
        return
    try:
        view = await context.call(context.services.booking.set_setting, tutor, data.arg(0), data.int_arg(1))
    except AvailabilityError as error:
        await reply(update, context, "booking/availability_problem.html", code=error.code.value, details=error.details)
        return
    await _show_dispos(update, context, view, note="saved")


async def dispo_remove_window(update: Update, context: BotContext, tutor: PersonView, data: CallbackData | None) -> None:
    """dispo:delw (which one?) and dispo:delw:<id> (remove it)."""
    booking = context.services.booking
    if data is not None and data.int_arg(0) is not None:
        removed, view = await context.call(booking.remove_window, tutor, data.int_arg(0))
        await _show_dispos(update, context, view, note="removed" if removed else "already_removed")
        return
    view = await context.call(booking.availability, tutor)
    if not view.windows:  # an old button: nothing left to remove
        await _show_dispos(update, context, view, note="already_removed")
        return
    label = context.renderer.label
    buttons = column(
        Button(label("buttons.remove_item", item=context.renderer.render("booking/window_label.html", window=w.window)), callback("dispo", "delw", w.id))
        for w in view.windows
    )
    await reply(update, context, "booking/dispos_remove.html", what="window", keyboard=buttons)


async def dispo_remove_day_off(update: Update, context: BotContext, tutor: PersonView, data: CallbackData | None) -> None:
    """dispo:deld (which one?) and dispo:deld:<id> (remove it)."""
    booking = context.services.booking
    if data is not None and data.int_arg(0) is not None:
        removed, view = await context.call(booking.remove_day_off, tutor, data.int_arg(0))
        await _show_dispos(update, context, view, note="removed" if removed else "already_removed")
        return
    view = await context.call(booking.availability, tutor)
    if not view.days_off:  # an old button: nothing left to remove
        await _show_dispos(update, context, view, note="already_removed")
        return
    label = context.renderer.label
    buttons = column(
        Button(label("buttons.remove_item", item=context.renderer.render("booking/day_off_label.html", day_off=d.day_off)), callback("dispo", "deld", d.id))
        for d in view.days_off
    )
    await reply(update, context, "booking/dispos_remove.html", what="day_off", keyboard=buttons)


async def dispo_stale(update: Update, context: BotContext, tutor: PersonView, data: CallbackData | None) -> None:
    await reply(update, context, "common/stale_button.html")


async def dispos_text(update: Update, context: BotContext, tutor: PersonView, conversation: Conversation) -> None:
    text = update.effective_message.text or ""
    booking = context.services.booking
    try:
        if conversation.step == "windows":
            result = await context.call(booking.add_windows, tutor, text)
            view, note, values = result.view, "windows_added", {"added": result.added, "refused": result.refused}
        elif conversation.step == "day_off":
            result = await context.call(booking.add_day_off, tutor, text)
            view, note, values = result.view, "day_off_added", {"added": result.added, "refused": result.refused}
            values["booked"] = result.booked
        elif conversation.step == "video":
            link_set = await context.call(booking.set_video_link, tutor, text)
            view, note, values = link_set.view, "video_saved", {"updated": link_set.updated}
        else:
            await context.call(context.services.conversations.clear, update.effective_user.id, flow=FLOW)
            await reply(update, context, "common/not_understood.html")
            return
    except AvailabilityError as error:
        await reply(update, context, "booking/availability_problem.html", code=error.code.value, details=error.details)
        return
    except VideoLinkError:
        await reply(update, context, "booking/availability_problem.html", code="bad_link", details={})
        return
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=FLOW)
    await _show_dispos(update, context, view, note=note, **values)
    if note == "day_off_added" and result.booked:
        await _ask_day_off_meetings(update, context, result)


def _day_off_ids_fitting(day_off_ids) -> list[int]:
    """As many of the ids as the callback data holds (a tutor adds a few days off at a time)."""
    kept: list[int] = []
    for day_off_id in day_off_ids:
        try:
            callback("dispo", "offx", *kept, day_off_id)
        except ValueError:
            break
        kept.append(day_off_id)
    return kept


async def _ask_day_off_meetings(update: Update, context: BotContext, result) -> None:
    """Meetings booked on the days off just added: cancel them (auditeurs told) or keep them."""
    label = context.renderer.label
    ids = _day_off_ids_fitting(result.day_off_ids)
    buttons = column([
        Button(label("buttons.dispo_day_off_cancel"), callback("dispo", "offx", *ids)),
        Button(label("buttons.dispo_day_off_keep"), callback("dispo", "offkeep")),
    ])
    await reply(update, context, "booking/day_off_meetings.html", meetings=result.booked, keyboard=buttons)


async def dispo_day_off_cancel(update: Update, context: BotContext, tutor: PersonView, data: CallbackData | None) -> None:
    """dispo:offx:<day off id>...: cancel the meetings not started on those days off."""
    ids = [data.int_arg(i) for i in range(len(data.args))] if data else []
    if not ids or None in ids:
        await dispo_stale(update, context, tutor, data)
        return
    done = await context.call(context.services.booking.cancel_on_days_off, tutor, ids)
    await _drop_keyboard(update)
    await reply(update, context, "booking/day_off_cancelled.html", done=done)


async def dispo_day_off_keep(update: Update, context: BotContext, tutor: PersonView, data: CallbackData | None) -> None:
    """dispo:offkeep: the meetings stay booked."""
    await _drop_keyboard(update)
    await reply(update, context, "booking/day_off_kept.html")


# -- /rdv (auditeur) -------------------------------------------------------------------------------


async def rdv_command(update: Update, context: BotContext, auditeur: PersonView) -> None:
    await _offer(update, context, auditeur)


async def _offer(update: Update, context: BotContext, auditeur: PersonView, *, minutes: int | None = None) -> None:
    """Fresh slots: of ``minutes`` if still allowed, else the choice of lengths (or why none)."""
    try:
        budget = await context.call(context.services.booking.budget, auditeur)
    except BookingError as error:
        await reply(update, context, "booking/problem.html", code=error.code, details=error.details)
        return
    if not budget.allowed_minutes:
        await reply(update, context, "booking/budget_used.html", budget=budget)
        return
    if minutes in budget.allowed_minutes or len(budget.allowed_minutes) == 1:
        await _show_slots(update, context, auditeur, minutes if minutes in budget.allowed_minutes else budget.allowed_minutes[0], 0)
        return
    label = context.renderer.label
    buttons = column(Button(label("buttons.rdv_length", minutes=m), callback("rdv", "len", m)) for m in budget.allowed_minutes)
    await reply(update, context, "booking/choose_length.html", budget=budget, keyboard=buttons)


def _slot_keyboard(context: BotContext, page, *, book_action: str, key: int, week_action: str):
    rows: list[list[Button]] = []
    count = 0
    if page.page.week is not None:
        for day in page.page.week.days:
            row: list[Button] = []
            for slot in day.slots:
                if count >= MAX_SLOT_BUTTONS:
                    break
                label = context.renderer.render("booking/slot_button.html", slot=slot)
                row.append(Button(label, callback("rdv", book_action, key, int(slot.start_utc.timestamp()))))
                count += 1
                if len(row) == SLOT_BUTTONS_PER_ROW:
                    rows.append(row)
                    row = []
            if row:
                rows.append(row)
    navigation = []
    label = context.renderer.label
    if page.page.has_previous:
        navigation.append(Button(label("buttons.week_previous"), callback("rdv", week_action, key, page.page.index - 1)))
    if page.page.has_next:
        navigation.append(Button(label("buttons.week_next"), callback("rdv", week_action, key, page.page.index + 1)))
    rows.append(navigation)
    return keyboard(rows)


async def _show_slots(
    update: Update, context: BotContext, auditeur: PersonView, minutes: int | None, index: int,
    *, meeting_id: int | None = None, edit: bool = False,
) -> None:
    # slots shown again: no slot waits for confirmation any more (a later text is not a topic)
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=CONFIRM_FLOW)
    try:
        page = await context.call(context.services.booking.slot_page, auditeur, minutes, index, meeting_id=meeting_id)
    except BookingError as error:
        await reply(update, context, "booking/problem.html", code=error.code, details=error.details)
        return
    if meeting_id is None:
        markup = _slot_keyboard(context, page, book_action="book", key=page.minutes, week_action="week")
    else:
        markup = _slot_keyboard(context, page, book_action="move", key=meeting_id, week_action="mweek")
    values = {"page": page, "keyboard": markup}
    if edit:
        await context.messenger.edit_or_send(chat_id_of(update), _message_id(update), "booking/slots.html", **values)
    else:
        await reply(update, context, "booking/slots.html", **values)


async def rdv_start(update: Update, context: BotContext, auditeur: PersonView, data: CallbackData | None) -> None:
    await _offer(update, context, auditeur)


async def rdv_length(update: Update, context: BotContext, auditeur: PersonView, data: CallbackData | None) -> None:
    """rdv:len:<minutes>."""
    if data is None or data.int_arg(0) is None:
        await rdv_stale(update, context, auditeur, data)
        return
    await _show_slots(update, context, auditeur, data.int_arg(0), 0)


async def rdv_week(update: Update, context: BotContext, auditeur: PersonView, data: CallbackData | None) -> None:
    """rdv:week:<minutes>:<page>: another week of slots, in place."""
    if data is None or data.int_arg(0) is None or data.int_arg(1) is None:
        await rdv_stale(update, context, auditeur, data)
        return
    await _show_slots(update, context, auditeur, data.int_arg(0), data.int_arg(1), edit=True)


async def rdv_move_week(update: Update, context: BotContext, auditeur: PersonView, data: CallbackData | None) -> None:
    """rdv:mweek:<meeting>:<page>: another week of slots to move a meeting to, in place."""
    if data is None or data.int_arg(0) is None or data.int_arg(1) is None:
        await rdv_stale(update, context, auditeur, data)
        return
    await _show_slots(update, context, auditeur, None, data.int_arg(1), meeting_id=data.int_arg(0), edit=True)


async def rdv_book(update: Update, context: BotContext, auditeur: PersonView, data: CallbackData | None) -> None:
    """rdv:book:<minutes>:<start epoch>: the slot checked, then the confirmation (nothing booked yet)."""
    if data is None or data.int_arg(0) is None or _epoch_arg(data, 1) is None:
        await rdv_stale(update, context, auditeur, data)
        return
    minutes, start = data.int_arg(0), _epoch_arg(data, 1)
    try:
        proposal = await context.call(context.services.booking.propose, auditeur, start, minutes)
    except BookingError as error:
        await _refused(update, context, auditeur, error, minutes)
        return
    pending = proposal.pending
    await context.call(context.services.conversations.set, update.effective_user.id, CONFIRM_FLOW, "topic", pending.to_data())
    label = context.renderer.label
    buttons = column([
        Button(label("buttons.rdv_confirm_no_topic"), callback("rdv", "ok", minutes, int(start.timestamp()))),
        Button(label("buttons.rdv_other_slot"), callback("rdv", "len", minutes)),
    ])
    await reply(update, context, "booking/confirm.html", proposal=proposal, limit=MAX_TOPIC_CHARS, keyboard=buttons)


async def _pending(update: Update, context: BotContext) -> PendingBooking | None:
    conversation = await context.conversation(update)
    if conversation is None or conversation.flow != CONFIRM_FLOW:
        return None
    return PendingBooking.from_data(conversation.data)


async def rdv_confirm(update: Update, context: BotContext, auditeur: PersonView, data: CallbackData | None) -> None:
    """rdv:ok:<minutes>:<start epoch>: "Réserver sans sujet" (the service checks it is the slot waiting)."""
    if data is None or data.int_arg(0) is None or _epoch_arg(data, 1) is None:
        await rdv_stale(update, context, auditeur, data)
        return
    await _confirm(update, context, auditeur, await _pending(update, context), data.int_arg(0), _epoch_arg(data, 1), None)


async def confirm_text(update: Update, context: BotContext, auditeur: PersonView, conversation: Conversation) -> None:
    """The topic typed while a slot waits: the booking, with it."""
    pending = PendingBooking.from_data(conversation.data)
    if pending is None:
        await context.call(context.services.conversations.clear, update.effective_user.id, flow=CONFIRM_FLOW)
        await reply(update, context, "common/not_understood.html")
        return
    text = update.effective_message.text or ""
    await _confirm(update, context, auditeur, pending, pending.minutes, pending.start_utc, text)


async def _confirm(
    update: Update, context: BotContext, auditeur: PersonView, pending: PendingBooking | None, minutes: int,
    start: datetime, topic: str | None,
) -> None:
    booking = context.services.booking
    try:
        meeting = await context.call(booking.confirm, auditeur, pending, minutes, start, topic=topic)
    except BookingError as error:
        if error.code == BookingErrorCode.TOPIC_TOO_LONG:  # the slot still waits: a shorter topic, or no topic
            await reply(update, context, "booking/problem.html", code=error.code, details=error.details)
            return
        if pending is not None and (pending.minutes, pending.start_utc) == (minutes, start):
            await context.call(context.services.conversations.clear, update.effective_user.id, flow=CONFIRM_FLOW)
        await _drop_keyboard(update)
        await _refused(update, context, auditeur, error, minutes)
        return
    await context.call(context.services.conversations.clear, update.effective_user.id, flow=CONFIRM_FLOW)
    await _drop_keyboard(update)
    budget = await context.call(booking.budget, auditeur)
    await reply(update, context, "booking/booked.html", meeting=meeting, budget=budget)


async def _refused(update: Update, context: BotContext, auditeur: PersonView, error: BookingError, minutes: int) -> None:
    """A refused booking or confirmation: why, then fresh slots (not after a second press: it is booked)."""
    await reply(update, context, "booking/problem.html", code=error.code, details=error.details)
    if error.code not in (BookingErrorCode.ALREADY_BOOKED, ConfirmationProblem.OTHER_SLOT):
        await _offer(update, context, auditeur, minutes=minutes)


async def rdv_move(update: Update, context: BotContext, auditeur: PersonView, data: CallbackData | None) -> None:
    """rdv:move:<meeting>:<start epoch>: the new slot checked, then the confirmation (nothing moved yet)."""
    if data is None or data.int_arg(0) is None or _epoch_arg(data, 1) is None:
        await rdv_stale(update, context, auditeur, data)
        return
    meeting_id, start = data.int_arg(0), _epoch_arg(data, 1)
    try:
        meeting, end = await context.call(context.services.booking.propose_move, auditeur, meeting_id, start)
    except BookingError as error:
        await _move_refused(update, context, auditeur, error, meeting_id)
        return
    label = context.renderer.label
    buttons = column([
        Button(label("buttons.rdv_move_confirm"), callback("rdv", "moveok", meeting_id, int(start.timestamp()))),
        Button(label("buttons.rdv_other_slot"), callback("mrdv", "move", meeting_id)),
    ])
    await reply(update, context, "booking/move_confirm.html", meeting=meeting, start_utc=start, end_utc=end, keyboard=buttons)


async def rdv_move_confirm(update: Update, context: BotContext, auditeur: PersonView, data: CallbackData | None) -> None:
    """rdv:moveok:<meeting>:<start epoch>: "Déplacer à ce créneau" (the service checks everything again)."""
    if data is None or data.int_arg(0) is None or _epoch_arg(data, 1) is None:
        await rdv_stale(update, context, auditeur, data)
        return
    await _move(update, context, auditeur, data.int_arg(0), _epoch_arg(data, 1))


async def rdv_stale(update: Update, context: BotContext, auditeur: PersonView, data: CallbackData | None) -> None:
    log.info("bad rdv callback %r from user %s", update.callback_query.data, update.effective_user.id)
    await reply(update, context, "booking/problem.html", code="stale", details={})
    await _offer(update, context, auditeur)


async def _move(update: Update, context: BotContext, auditeur: PersonView, meeting_id: int, start: datetime) -> None:
    try:
        meeting, previous = await context.call(context.services.booking.reschedule, auditeur, meeting_id, start)
    except BookingError as error:
        await _drop_keyboard(update)
        await _move_refused(update, context, auditeur, error, meeting_id)
        return
    await _drop_keyboard(update)
    await reply(update, context, "booking/moved.html", meeting=meeting, previous=previous, to_tutor=False)


_MEETING_CANNOT_MOVE = frozenset({
    BookingErrorCode.NOT_FOUND, BookingErrorCode.NOT_BOOKED, BookingErrorCode.TOO_LATE_TO_CANCEL, BookingErrorCode.ALREADY_STARTED,
})  # any other refusal is about the slot chosen: other slots are offered


async def _move_refused(update: Update, context: BotContext, auditeur: PersonView, error: BookingError, meeting_id: int) -> None:
    """Why the move is refused, then the meetings (this one can no longer move) or other slots."""
    await reply(update, context, "booking/problem.html", code=error.code, details=error.details)
    if error.code in _MEETING_CANNOT_MOVE:
        await _my_meetings(update, context, auditeur)
    else:
        await _show_slots(update, context, auditeur, None, 0, meeting_id=meeting_id)


# -- /mesrdv (both) --------------------------------------------------------------------------------


async def mesrdv_command(update: Update, context: BotContext, person: PersonView) -> None:
    await _my_meetings(update, context, person)


async def _my_meetings(update: Update, context: BotContext, person: PersonView) -> None:
    booking = context.services.booking
    try:
        meetings = await context.call(booking.meetings_of, person)
    except BookingError as error:
        await reply(update, context, "booking/problem.html", code=error.code, details=error.details)
        return
    now = context.services.clock()
    label = context.renderer.label
    rows: list[list[Button]] = []
    if person.role is Role.AUDITEUR:
        budget = await context.call(booking.budget, person)
        changeable = await context.call(booking.changeable_ids, person, meetings)
        for meeting in meetings:
            if meeting.id in changeable:
                when = _when(context, meeting.start_utc)
                rows.append(
                    [
                        Button(label("buttons.rdv_move", when=when), callback("mrdv", "move", meeting.id)),
                        Button(label("buttons.rdv_cancel", when=when), callback("mrdv", "cancel", meeting.id)),
                    ]
                )
        if budget.allowed_minutes:
            rows.append([Button(label("buttons.rdv_book"), callback("rdv", "start"))])
        await reply(
            update, context, "booking/my_meetings.html", meetings=meetings, budget=budget, now=now,
            changeable=changeable, keyboard=keyboard(rows),
        )
        return
    for meeting in meetings:
        when = _when(context, meeting.start_utc)
        if meeting.start_utc > now:
            rows.append([Button(label("buttons.rdv_cancel", when=when), callback("mrdv", "cancel", meeting.id))])
        else:
            rows.append(
                [
                    Button(label("buttons.rdv_held", when=when), callback("mrdv", "held", meeting.id)),
                    Button(label("buttons.rdv_missed", when=when), callback("mrdv", "missed", meeting.id)),
                ]
            )
    history = await context.call(booking.history_of, person)
    await reply(
        update, context, "booking/tutor_meetings.html", meetings=meetings, history=history, now=now, keyboard=keyboard(rows)
    )


def _meeting_action(handler):
    """mrdv:<action>:<meeting id>: the id checked, the booking refusals answered the same way."""

    @functools.wraps(handler)
    async def run(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
        meeting_id = data.int_arg(0) if data else None
        if meeting_id is None:
            await mrdv_stale(update, context, person, data)
            return
        try:
            await handler(update, context, person, meeting_id)
        except BookingError as error:
            await reply(update, context, "booking/problem.html", code=error.code, details=error.details)
            await _my_meetings(update, context, person)
        except PermissionDenied:
            await reply(update, context, "common/not_allowed.html")

    return run


@_meeting_action
async def mrdv_cancel(update: Update, context: BotContext, person: PersonView, meeting_id: int) -> None:
    """Ask to confirm the cancellation."""
    meeting = await context.call(context.services.booking.meeting, person, meeting_id)
    buttons = column([Button(context.renderer.label("buttons.rdv_cancel_confirm"), callback("mrdv", "cancelok", meeting.id))])
    await reply(update, context, "booking/cancel_confirm.html", meeting=meeting, keyboard=buttons)


@_meeting_action
async def mrdv_cancel_confirmed(update: Update, context: BotContext, person: PersonView, meeting_id: int) -> None:
    booking = context.services.booking
    query = update.callback_query
    meeting = await context.call(booking.cancel, person, meeting_id)
    if query.message is not None:
        await query.edit_message_reply_markup(None)
    by_tutor = person.role is not Role.AUDITEUR
    budget = await context.call(booking.budget, meeting.auditeur) if person.role is Role.AUDITEUR else None
    await reply(
        update, context, "booking/cancelled.html", meeting=meeting, by_tutor=by_tutor,
        to_tutor=person.role is Role.TUTOR, budget=budget,
    )


@_meeting_action
async def mrdv_move(update: Update, context: BotContext, person: PersonView, meeting_id: int) -> None:
    if person.role is not Role.AUDITEUR:
        raise PermissionDenied("move a meeting", person)
    await _show_slots(update, context, person, None, 0, meeting_id=meeting_id)


async def _mark(update: Update, context: BotContext, person: PersonView, meeting_id: int, status: MeetingStatus) -> None:
    meeting = await context.call(context.services.booking.mark, person, meeting_id, status)
    await reply(update, context, "booking/marked.html", meeting=meeting)
    await _my_meetings(update, context, person)


@_meeting_action
async def mrdv_held(update: Update, context: BotContext, person: PersonView, meeting_id: int) -> None:
    await _mark(update, context, person, meeting_id, MeetingStatus.HELD)


@_meeting_action
async def mrdv_missed(update: Update, context: BotContext, person: PersonView, meeting_id: int) -> None:
    await _mark(update, context, person, meeting_id, MeetingStatus.MISSED)


async def mrdv_stale(update: Update, context: BotContext, person: PersonView, data: CallbackData | None) -> None:
    await reply(update, context, "booking/problem.html", code="stale", details={})
    await _my_meetings(update, context, person)
