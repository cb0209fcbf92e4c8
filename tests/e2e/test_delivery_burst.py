"""A burst: 50 people press a slot button within 100 ms, with Telegram's flood limits on.

Every button is answered, every person gets the answer to what they did, every tutor hears of
every booking, nothing is lost. (How fast the buttons are answered — within a second — is a
figure of ``bench/bench_outbox.py``, not a timing asserted here.)
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bot.domain.calendar import PARIS
from bot.domain.permissions import COMMAND_LINE
from bot.storage.models import Meeting, OutboxMessage

NOW = datetime(2026, 10, 19, 11, 0, tzinfo=PARIS).astimezone(UTC)
TUTORS, PER_TUTOR = 10, 5


def _cast(bot) -> tuple[list[int], list[int]]:
    services, emulator = bot.services, bot.emulator
    onboarding = services.onboarding
    tutors, auditeurs = [], []
    for t in range(TUTORS):
        tutor_tg = 2100 + t
        emulator.add_user(tutor_tg, f"Tut{t}", "Eur")
        invite = onboarding.invite_tutor(COMMAND_LINE, f"Tuteur {t}")
        tutor = onboarding.redeem(tutor_tg, onboarding.check_code(tutor_tg, invite.code).invitation_id, notice_version="t").person
        services.booking.add_windows(tutor, "du lundi au vendredi 9h-12h 14h-17h")
        tutors.append(tutor_tg)
        for a in range(PER_TUTOR):
            auditeur_tg = 3100 + t * PER_TUTOR + a
            emulator.add_user(auditeur_tg, f"Aud{t}{a}", "Test")
            enrolment = onboarding.enrol_auditeur(
                COMMAND_LINE, name=f"Auditeur {t}-{a}", tutor=tutor.id, report_type="ua", semester="2026-S1",
                certification="C",
            )
            onboarding.redeem(auditeur_tg, onboarding.check_code(auditeur_tg, enrolment.code).invitation_id, notice_version="t")
            auditeurs.append(auditeur_tg)
    return tutors, auditeurs


@pytest.mark.telegram_limits
async def test_fifty_people_press_at_once_and_everyone_is_answered(bot):
    bot.services.clock = lambda: NOW
    tutors, auditeurs = await asyncio.to_thread(_cast, bot)
    await bot.drain()
    pages = {}
    for index, auditeur in enumerate(auditeurs):
        page = await bot.send(auditeur, "/rdv")
        pages[auditeur] = page.last
    # within a tutor's five auditeurs, two press the same slot: one gets it, the other is told
    presses = []
    for index, auditeur in enumerate(auditeurs):
        slots = [b for b in pages[auditeur].buttons if b["callback_data"].startswith("rdv:book")]
        position = index % PER_TUTOR
        presses.append((auditeur, slots[min(position, 3)]["callback_data"]))  # the 4th and 5th collide
    confirmations = {}
    for auditeur, data in presses:  # each taps a slot: the confirmation (nothing is booked yet)
        confirmations[auditeur] = (await bot.press_data(auditeur, data)).last
    since = bot.emulator.last_sequence()
    bot.emulator.pressed_at.clear()
    update_ids = [  # then they all press « Réserver sans sujet » at once
        bot.emulator.press_data(auditeur, data.replace("rdv:book:", "rdv:ok:", 1), confirmations[auditeur])
        for auditeur, data in presses
    ]
    processor = bot.application.bot_data["processor"]
    for update_id in update_ids:
        await processor.wait_for_update(update_id, timeout=60)
    await bot.drain(timeout=60)

    latencies = bot.emulator.callback_latencies()
    assert len(latencies) == len(auditeurs) and all(v is not None for v in latencies.values())

    with bot.db.read() as session:
        booked = {m.auditeur.telegram_user_id for m in session.scalars(sa.select(Meeting))}
        undelivered = session.scalar(
            sa.select(sa.func.count()).select_from(OutboxMessage).where(
                OutboxMessage.state != "sent", OutboxMessage.kind != "meeting.reminder"  # reminders: later
            )
        )
    assert len(booked) == TUTORS * (PER_TUTOR - 1)
    assert undelivered == 0  # the outbox delivered everything due, nothing dead, nothing waiting
    for auditeur in auditeurs:
        texts = [m.plain_text or "" for m in bot.emulator.sent_since(since, auditeur) if m.document is None]
        if auditeur in booked:
            assert sum("Rendez-vous confirmé" in t for t in texts) == 1, texts
        else:
            assert any("n'est plus libre" in t for t in texts), texts
    for tutor in tutors:
        sent = bot.emulator.sent_since(since, tutor)
        assert sum(1 for m in sent if m.document is None and "a réservé" in m.plain_text) == PER_TUTOR - 1
        assert sum(1 for m in sent if m.document is not None) == PER_TUTOR - 1
