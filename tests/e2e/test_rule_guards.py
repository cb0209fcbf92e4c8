"""Tests that kill the mutants which survived: each rule is checked where it is enforced (the
service, the route), with real ids and a real call log, not only in the domain function."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.domain.calendar import PARIS
from bot.domain.meetings import BookingError, BookingErrorCode
from bot.domain.permissions import COMMAND_LINE
from bot.storage.models import Meeting
from tests.e2e.conftest import AUDITEUR_ID, TUTOR_ID, confirm_booking

NOW = datetime(2026, 10, 19, 11, 0, tzinfo=PARIS).astimezone(UTC)  # Monday; 24 h notice by default
OTHER_AUDITEUR = 3002


def pin(bot, moment: datetime) -> None:
    bot.services.clock = lambda: moment


def meetings(bot) -> list[Meeting]:
    with bot.db.read() as session:
        return list(session.scalars(sa.select(Meeting).order_by(Meeting.id)))


async def _book_first_slot(bot) -> Meeting:
    await bot.send(AUDITEUR_ID, "/rdv")
    await bot.press(AUDITEUR_ID, index=0)
    await confirm_booking(bot, AUDITEUR_ID)
    [meeting] = meetings(bot)
    return meeting


async def _second_auditeur(bot, cast):
    """Another auditeur of the same tutor, bound to Telegram user OTHER_AUDITEUR."""
    bot.emulator.add_user(OTHER_AUDITEUR, "Bruno", "Autre")
    issued = await asyncio.to_thread(
        bot.services.onboarding.enrol_auditeur, COMMAND_LINE, name="Bruno Autre", tutor=cast.tutor.person.id,
        report_type="ua", semester="2026-S1", certification="Licence",
    )
    await bot.send(OTHER_AUDITEUR, f"/start {issued.code}")
    await bot.press(OTHER_AUDITEUR, "J'accepte")
    return issued.person


async def test_cancel_and_move_inside_the_notice_are_refused_by_the_service(bot, cast):
    pin(bot, NOW)
    meeting = await _book_first_slot(bot)
    auditeur = cast.auditeur.person
    inside = meeting.start_at - timedelta(hours=23)  # the notice is 24 hours
    pin(bot, inside)
    for attempt in (
        lambda: bot.services.booking.cancel(auditeur, meeting.id),
        lambda: bot.services.booking.reschedule(auditeur, meeting.id, meeting.start_at + timedelta(days=7)),
        lambda: bot.services.booking.propose_move(auditeur, meeting.id, meeting.start_at + timedelta(days=7)),
    ):
        with pytest.raises(BookingError) as refused:
            await asyncio.to_thread(attempt)
        assert refused.value.code == BookingErrorCode.TOO_LATE_TO_CANCEL
    assert [m.status for m in meetings(bot)] == ["booked"]
    # the tutor may still cancel until it starts
    done = await asyncio.to_thread(bot.services.booking.cancel, cast.tutor.person, meeting.id)
    assert done.status.value == "cancelled"


async def test_another_auditeurs_forged_buttons_with_a_real_meeting_id_are_refused(bot, cast):
    pin(bot, NOW)
    meeting = await _book_first_slot(bot)
    await _second_auditeur(bot, cast)
    since = bot.emulator.last_sequence()
    cancel = await bot.press_data(OTHER_AUDITEUR, f"mrdv:cancelok:{meeting.id}")
    assert "introuvable" in cancel.text
    target = int((meeting.start_at + timedelta(days=1)).timestamp())
    move = await bot.press_data(OTHER_AUDITEUR, f"rdv:move:{meeting.id}:{target}")
    assert "introuvable" in move.text and "Confirmez" not in move.text  # no confirmation offered
    move = await bot.press_data(OTHER_AUDITEUR, f"rdv:moveok:{meeting.id}:{target}")  # the confirmation, forged
    assert "introuvable" in move.text and "Rendez-vous déplacé" not in move.text
    [after] = meetings(bot)
    assert (after.status, after.start_at, after.sequence) == ("booked", meeting.start_at, meeting.sequence)
    # neither the owner nor the tutor heard of anything
    assert bot.emulator.sent_since(since, AUDITEUR_ID) == [] and bot.emulator.sent_since(since, TUTOR_ID) == []


async def test_a_reminder_claimed_after_its_meeting_started_is_expired_not_sent(bot, cast):
    pin(bot, NOW)
    meeting = await _book_first_slot(bot)
    since = bot.emulator.last_sequence()
    pin(bot, meeting.start_at + timedelta(minutes=1))  # the sender never ran before the meeting
    claimed, _ = await asyncio.to_thread(bot.services.outbox.claim, limit=50)  # what the sender does next
    assert [c for c in claimed if c.kind == "meeting.reminder"] == []
    await bot.drain()
    assert [m for m in bot.emulator.sent_since(since) if "Rappel" in m.plain_text] == []
    states = [state for _, _, state in bot.services.outbox.rows(kind="meeting.reminder", subject=("meeting", meeting.id))]
    assert states and set(states) == {"expired"}


async def test_no_api_call_at_all_reaches_a_person_recorded_as_blocked(bot, cast):
    pin(bot, NOW)
    meeting = await _book_first_slot(bot)
    await bot.drain()
    await bot.block(AUDITEUR_ID)
    calls_before = len(bot.emulator.chat_requests)
    await asyncio.to_thread(bot.services.booking.cancel, cast.tutor.person, meeting.id)  # tells the auditeur
    await bot.drain()
    to_auditeur = [m for m, chat in bot.emulator.chat_requests[calls_before:] if str(chat) == str(AUDITEUR_ID)]
    assert to_auditeur == []  # not even an attempt that Telegram would refuse with 403
    with bot.db.read() as session:
        assert session.get(Meeting, meeting.id).status == "cancelled"


async def test_raising_the_notice_never_offers_a_button_that_would_be_refused(bot, cast):
    pin(bot, NOW)
    meeting = await _book_first_slot(bot)
    pin(bot, meeting.start_at - timedelta(hours=30))  # outside 24 h, inside 48 h
    listed = await bot.send(AUDITEUR_ID, "/mesrdv")
    assert any(b["callback_data"].startswith("mrdv:cancel:") for b in listed.last.buttons)
    await bot.send(TUTOR_ID, "/dispos")
    await bot.press(TUTOR_ID, "Prévenance")
    await bot.press(TUTOR_ID, "48 heures")
    listed = await bot.send(AUDITEUR_ID, "/mesrdv")
    buttons = [b["callback_data"] for m in listed.to_user for b in m.buttons]
    assert not any(d.startswith(("mrdv:cancel:", "mrdv:move:")) for d in buttons)
    assert "trop tard pour le déplacer ou l’annuler en ligne" in listed.text


async def test_a_past_meeting_nobody_marked_says_what_the_tutor_does(bot, cast):
    pin(bot, NOW)
    meeting = await _book_first_slot(bot)
    pin(bot, meeting.end_at + timedelta(hours=1))
    mine = await bot.send(AUDITEUR_ID, "/mesrdv")
    assert "passé, pas encore noté par votre tuteur" in mine.text and "en attente de confirmation" not in mine.text
