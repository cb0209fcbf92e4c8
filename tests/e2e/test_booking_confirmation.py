"""Booking needs a confirmation, with an optional topic; a tutor's day off or new video link reaches
the meetings already booked. Same pinned clock as test_booking.py (Monday 19 October 2026, 11:00)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.domain.meetings import MAX_TOPIC_CHARS
from bot.domain.permissions import COMMAND_LINE
from bot.storage.models import OutboxMessage
from tests.e2e.conftest import AUDITEUR_ID, TUTOR_ID, confirm_booking
from tests.e2e.test_booking import NOW, ics_of, meetings, paris, pin, slot_data


def ok_data(message) -> str:
    return next(b["callback_data"] for b in message.buttons if b["callback_data"].startswith("rdv:ok:"))


async def test_the_topic_typed_at_confirmation_is_cleaned_stored_and_shown_to_the_tutor(bot, cast):
    pin(bot, NOW)
    await bot.send(AUDITEUR_ID, "/rdv")
    confirm = await bot.press(AUDITEUR_ID, index=0)
    assert "Confirmez votre rendez-vous" in confirm.text and "Rien n'est réservé" in confirm.text
    assert confirm.last.button_labels == ["✅ Réserver sans sujet", "↩️ Choisir un autre créneau"]

    too_long = await bot.send(AUDITEUR_ID, "x" * (MAX_TOPIC_CHARS + 1))
    assert f"Votre message fait {MAX_TOPIC_CHARS + 1} caractères : {MAX_TOPIC_CHARS} au plus" in too_long.text
    assert meetings(bot) == []  # refused, not cut; the slot still waits

    booked = await confirm_booking(bot, AUDITEUR_ID, "  Mon plan\x07 et   la partie 2 <b>\u202e\n\n\n  les annexes  ")
    assert "Rendez-vous confirmé" in booked.text
    assert "Ce que vous voulez aborder (transmis à votre tuteur) : Mon plan et la partie 2 <b>\nles annexes" in booked.text
    [meeting] = meetings(bot)
    assert meeting.topic == "Mon plan et la partie 2 <b>\nles annexes" and meeting.start_at == paris(2026, 10, 20, 11)
    note = booked.to(TUTOR_ID)[0]
    assert "Ce que Léa Bernard veut aborder : Mon plan et la partie 2 <b>" in note.plain_text
    assert "&lt;b&gt;" in note.text  # escaped, not markup
    for copy in (booked.documents[0], next(m for m in booked.to(TUTOR_ID) if m.document is not None)):
        unfolded = ics_of(copy).replace("\r\n ", "")  # both calendar files carry it too
        assert "Ce que Léa Bernard veut aborder : Mon plan et la partie 2 <b>\\nles annexes\\nPour déplacer" in unfolded

    listed = await bot.send(TUTOR_ID, "/mesrdv")
    assert "📝 Mon plan et la partie 2 <b>" in listed.text
    again = await bot.send(AUDITEUR_ID, "ceci n'est plus un sujet")
    assert "Confirmez" not in again.text and len(meetings(bot)) == 1  # the confirmation is over
    await bot.send(AUDITEUR_ID, "/rdv")
    await bot.press(AUDITEUR_ID, "30 minutes")
    await bot.press(AUDITEUR_ID, index=0)
    back = await bot.press(AUDITEUR_ID, "Choisir un autre créneau")
    assert slot_data(back.last)
    after = await bot.send(AUDITEUR_ID, "une phrase après avoir changé d'avis")
    assert "Rendez-vous confirmé" not in after.text and len(meetings(bot)) == 1  # nothing waits any more

    # the topic is personal data: in her copy, and gone with an erasure (the meeting row stays)
    auditeur = cast.auditeur.person
    copy = await asyncio.to_thread(bot.services.personal_data.export, COMMAND_LINE, auditeur.id)
    assert [m["topic"] for m in copy["meetings"]] == ["Mon plan et la partie 2 <b>\nles annexes"]
    await asyncio.to_thread(bot.services.personal_data.erase, COMMAND_LINE, auditeur.id)
    [meeting] = meetings(bot)
    assert meeting.topic is None and meeting.video_link == ""


async def test_old_forged_repeated_expired_and_taken_confirmations_book_nothing_more(bot, cast):
    pin(bot, NOW)
    page = await bot.send(AUDITEUR_ID, "/rdv")
    slots = slot_data(page.last)
    first = await bot.press_data(AUDITEUR_ID, slots[0])
    second = await bot.press_data(AUDITEUR_ID, slots[1])  # she changes her mind: the second slot waits

    old = await bot.press(AUDITEUR_ID, "sans sujet", message=first.last)
    assert "concerne un créneau choisi avant : rien n'a été réservé" in old.text and meetings(bot) == []
    second_ok = ok_data(second.last)
    booked = await bot.press(AUDITEUR_ID, "sans sujet", message=second.last)
    assert "Rendez-vous confirmé" in booked.text and "Pas de sujet indiqué" in booked.to(TUTOR_ID)[0].plain_text
    twice = await bot.press_data(AUDITEUR_ID, second_ok)
    assert "Ce rendez-vous est déjà réservé" in twice.text and "Rien de plus n'a été enregistré" in twice.text
    assert twice.to(TUTOR_ID) == []
    forged = await bot.press_data(AUDITEUR_ID, "rdv:ok:30:" + slots[2].rsplit(":", 1)[1])
    assert "Cette confirmation n'est plus valable : rien n'a été réservé" in forged.text and slot_data(forged.last)
    [meeting] = meetings(bot)
    assert meeting.topic is None and int(meeting.start_at.timestamp()) == int(slots[1].rsplit(":", 1)[1])

    # chosen, then left for more than half an hour: shown again, nothing booked
    await bot.send(AUDITEUR_ID, "/rdv")
    await bot.press(AUDITEUR_ID, "60 minutes")
    waiting = await bot.press(AUDITEUR_ID, index=0)
    pin(bot, NOW + timedelta(minutes=31))
    late = await bot.press_data(AUDITEUR_ID, ok_data(waiting.last))
    fresh = late.with_buttons()  # the 24-hour reminder of her meeting may come due meanwhile
    assert "choisi il y a trop longtemps" in late.text and slot_data(fresh) and len(meetings(bot)) == 1

    # chosen, then taken by another auditeur of the tutor before she confirms
    chosen = await bot.press_data(AUDITEUR_ID, slot_data(fresh)[-1])
    other = await asyncio.to_thread(
        bot.services.onboarding.enrol_auditeur, COMMAND_LINE, name="Bo Chen", tutor=cast.tutor.person.id,
        report_type="ua", semester="2026-S1", certification="Certificat",
    )
    before = meetings(bot)
    start = datetime.fromtimestamp(int(ok_data(chosen.with_buttons()).rsplit(":", 1)[1]), UTC)
    await asyncio.to_thread(bot.services.booking.book, other.person, start, 30)
    taken = await bot.send(AUDITEUR_ID, "la partie 3")
    assert "n'est plus libre. Rien n'a été enregistré" in taken.text and slot_data(taken.with_buttons())
    assert [m.auditeur_id for m in meetings(bot)] == [m.auditeur_id for m in before] + [other.person.id]


async def test_a_day_off_offers_to_cancel_the_meetings_booked_that_day(bot, cast):
    pin(bot, NOW)
    for index in (0, 1):  # 30-minute first meeting, then a 60-minute follow-up, both on 20 October
        await bot.send(AUDITEUR_ID, "/rdv")
        if index:
            await bot.press(AUDITEUR_ID, "60 minutes")
        await bot.press_data(AUDITEUR_ID, f"rdv:book:{30 if not index else 60}:{int(paris(2026, 10, 20, 14 + index).timestamp())}")
        await confirm_booking(bot, AUDITEUR_ID)
    first, follow_up = meetings(bot)
    assert first.status == follow_up.status == "booked"

    await bot.send(TUTOR_ID, "/dispos")
    await bot.press(TUTOR_ID, "Ajouter une absence")
    asked = await bot.send(TUTOR_ID, "mardi 20 octobre")
    assert "Absence enregistrée : le mardi 20 octobre 2026" in asked.text
    assert "Pendant cette absence, 2 rendez-vous sont déjà réservés" in asked.text
    assert "mardi 20 octobre 2026 de 14h à 14h30 (heure de Paris) : Léa Bernard" in asked.text
    assert asked.last.button_labels == ["❌ Annuler et prévenir", "✅ Les garder"]
    question = asked.last
    cancel_data = next(b["callback_data"] for b in question.buttons if b["callback_data"].startswith("dispo:offx"))

    kept = await bot.press(TUTOR_ID, "Les garder", message=question)
    assert "les rendez-vous restent réservés" in kept.text and {m.status for m in meetings(bot)} == {"booked"}
    assert kept.to(AUDITEUR_ID) == []

    # the tutor changes their mind (the question's buttons are gone: an old keyboard, pressed by its data)
    done = await bot.press_data(TUTOR_ID, cancel_data)
    assert "Rendez-vous annulés" in done.text and "Chaque auditeur est prévenu" in done.text
    told = done.to(AUDITEUR_ID)
    assert "Votre tuteur est absent ce jour-là et a annulé ce rendez-vous" in told[0].plain_text
    assert "METHOD:CANCEL" in ics_of(told[1])
    assert all(m.status == "cancelled" for m in meetings(bot))
    assert any("METHOD:CANCEL" in ics_of(m) for m in done.to(TUTOR_ID) if m.document)
    budget = await bot.send(AUDITEUR_ID, "/rdv")
    assert "Réserver votre premier rendez-vous" in budget.text  # the time is back

    again = await bot.press_data(TUTOR_ID, cancel_data)
    assert "Aucun rendez-vous à annuler" in again.text and again.to(AUDITEUR_ID) == []
    assert NOT_FOR_AUDITEUR in (await bot.press_data(AUDITEUR_ID, cancel_data)).text


NOT_FOR_AUDITEUR = "n'est pas disponible pour votre profil"


async def test_a_new_video_link_reaches_the_meetings_already_booked(bot, cast):
    pin(bot, NOW)
    await bot.send(AUDITEUR_ID, "/rdv")
    await bot.press(AUDITEUR_ID, index=0)
    await confirm_booking(bot, AUDITEUR_ID)
    [meeting] = meetings(bot)
    assert meeting.video_link == "https://meet.jit.si/coachbot-demo-marc-dubois" and meeting.sequence == 0

    await bot.send(TUTOR_ID, "/dispos")
    await bot.press(TUTOR_ID, "Lien de visioconférence")
    saved = await bot.send(TUTOR_ID, "https://visio.exemple.fr/marc")
    assert "Il s'applique aussi à votre rendez-vous à venir" in saved.text and "Léa Bernard" in saved.text
    told = saved.to(AUDITEUR_ID)
    assert "Nouveau lien de visioconférence" in told[0].plain_text and "https://visio.exemple.fr/marc" in told[0].plain_text
    update = ics_of(told[1])
    assert "SEQUENCE:1" in update and "METHOD:REQUEST" in update and "https://visio.exemple.fr/marc" in update.replace("\r\n ", "")
    assert "SEQUENCE:1" in ics_of(next(m for m in saved.to(TUTOR_ID) if m.document))
    [meeting] = meetings(bot)
    assert meeting.video_link == "https://visio.exemple.fr/marc" and meeting.sequence == 1

    await bot.press(TUTOR_ID, "Lien de visioconférence")
    generated = await bot.send(TUTOR_ID, "générer")
    [meeting] = meetings(bot)
    assert meeting.video_link.startswith("https://meet.jit.si/coachbot-") and meeting.sequence == 2
    assert meeting.video_link in generated.to(AUDITEUR_ID)[0].plain_text

    await bot.press(TUTOR_ID, "Lien de visioconférence")
    same = await bot.send(TUTOR_ID, "générer")  # nothing changes: nobody told
    assert same.to(AUDITEUR_ID) == [] and "Il s'applique aussi" not in same.text
    assert meetings(bot)[0].sequence == 2
    with bot.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "meeting.link_changed")) == 2
