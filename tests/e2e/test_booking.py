"""Video-call booking end to end: /dispos, /rdv, /mesrdv, .ics invitations, reminders.

The clock is pinned (``bot.services.clock``): Monday 19 October 2026, 11:00 in Paris, the week
before the switch to winter time (Sunday 25 October). The demo seeder gives the tutor windows
Monday to Friday 9h-12h and 14h-17h and a personal video room.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.domain.calendar import PARIS
from bot.domain.permissions import COMMAND_LINE
from bot.storage.models import AvailabilityWindow, Meeting, OutboxMessage, TutorDayOff
from tests.e2e.conftest import AUDITEUR_ID, TUTOR_ID, confirm_booking

NOW = datetime(2026, 10, 19, 11, 0, tzinfo=PARIS).astimezone(UTC)
NOT_ALLOWED = "n'est pas disponible pour votre profil"


def paris(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def pin(bot, moment: datetime) -> None:
    bot.services.clock = lambda: moment


def reminder_states(bot, meeting_id: int) -> list[str]:
    return [state for _, _, state in bot.services.outbox.rows(kind="meeting.reminder", subject=("meeting", meeting_id))]


def ics_of(message) -> str:
    assert message.document is not None and message.document.file_name.endswith(".ics")
    return message.document.content.decode()


def meetings(bot) -> list[Meeting]:
    with bot.db.read() as session:
        return list(session.scalars(sa.select(Meeting).order_by(Meeting.id)))


def slot_data(message) -> list[str]:
    return [b["callback_data"] for b in message.buttons if b["callback_data"].startswith("rdv:book")]


async def test_tutor_sets_availability_and_bad_input_is_explained(bot, cast):
    pin(bot, NOW)
    shown = await bot.send(TUTOR_ID, "/dispos")
    assert "lundi 9h–12h" in shown.text and "vendredi 14h–17h" in shown.text
    assert "salle personnelle https://meet.jit.si/coachbot-demo" in shown.text
    assert "Délai de prévenance : 24 heures" in shown.text and "8 semaines" in shown.text

    await bot.press(TUTOR_ID, "Ajouter des créneaux")
    refused = await bot.send(TUTOR_ID, "samedi 10h-12h")
    assert "du lundi au vendredi seulement" in refused.text and "Rien n'a été enregistré" in refused.text
    overlap = await bot.send(TUTOR_ID, "mardi 11h-13h")
    assert "chevauche" in overlap.text
    added = await bot.send(TUTOR_ID, "mardi 17h-18h30")
    assert "Créneaux ajoutés : mardi 17h–18h30" in added.text

    await bot.press(TUTOR_ID, "Ajouter une absence")
    assert "date non reconnue" in (await bot.send(TUTOR_ID, "31/02/2026")).text
    off = await bot.send(TUTOR_ID, "23/10/2026")
    assert "Absence enregistrée : le vendredi 23 octobre 2026" in off.text

    await bot.press(TUTOR_ID, "Lien de visioconférence")
    assert "pas un lien valable" in (await bot.send(TUTOR_ID, "ma salle")).text
    video = await bot.send(TUTOR_ID, "générer")
    assert "un lien unique est généré pour chaque rendez-vous" in video.text

    await bot.press(TUTOR_ID, "Prévenance")
    saved = await bot.press(TUTOR_ID, "48 heures")
    assert "Délai de prévenance : 48 heures" in saved.text
    await bot.press(TUTOR_ID, "Retirer un créneau")
    removed = await bot.press(TUTOR_ID, "mardi 17h–18h30")
    assert "Supprimé" in removed.text and "mardi 17h–18h30" not in removed.text

    auditeur_try = await bot.send(AUDITEUR_ID, "/dispos")
    assert NOT_ALLOWED in auditeur_try.text
    with bot.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(TutorDayOff)) == 1


async def test_one_bad_line_in_dispos_keeps_the_good_ones_and_says_which(bot, cast):
    pin(bot, NOW)
    await bot.send(TUTOR_ID, "/dispos")
    await bot.press(TUTOR_ID, "Ajouter des créneaux")
    added = await bot.send(TUTOR_ID, "vendredi de 17 h à 18 h 30\nsamedi 9h-10h\nmardi 8h–9h")
    assert "Créneaux ajoutés : mardi 8h–9h, vendredi 17h–18h30." in added.text
    assert "• ligne 2, « samedi 9h-10h » : le tutorat a lieu du lundi au vendredi seulement." in added.text
    assert "vendredi 17h–18h30" in added.text.split("Créneaux hebdomadaires")[1]
    with bot.db.read() as session:
        windows = session.scalar(sa.select(sa.func.count()).select_from(AvailabilityWindow))
    await bot.press(TUTOR_ID, "Ajouter des créneaux")
    dated = await bot.send(TUTOR_ID, "jeudi 10/12 de 14h à 16h\nlun-mer-ven 9h-10h")
    assert ("• ligne 1, « jeudi 10/12 de 14h à 16h » : un créneau revient chaque semaine et ne prend pas de date "
            "(« 10/12 »).") in dated.text
    assert "• ligne 2, « lun-mer-ven 9h-10h » : je ne sais pas si c'est une liste de jours ou une période." in dated.text
    with bot.db.read() as session:  # nothing read as 10h-12h on Thursdays, nor as the whole week
        assert session.scalar(sa.select(sa.func.count()).select_from(AvailabilityWindow)) == windows

    await bot.press(TUTOR_ID, "Ajouter une absence")
    none = await bot.send(TUTOR_ID, "bientôt\n31/02")
    assert "Aucune ligne n'a pu être enregistrée" in none.text and "• ligne 1, « bientôt »" in none.text
    off = await bot.send(TUTOR_ID, "du 21 décembre au 3 janvier\nlundi 9 novembre")
    assert "Absences enregistrées : du lundi 21 décembre 2026 au dimanche 3 janvier 2027, le lundi 9 novembre 2026." in off.text
    with bot.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(TutorDayOff)) == 2
    await bot.press(TUTOR_ID, "Ajouter une absence")
    two = await bot.send(TUTOR_ID, "le 28 et le 30 octobre")  # two days, not the three between
    assert "Absences enregistrées : le mercredi 28 octobre 2026, le vendredi 30 octobre 2026." in two.text
    with bot.db.read() as session:
        stored = session.execute(sa.select(TutorDayOff.first_day, TutorDayOff.last_day).order_by(TutorDayOff.first_day)).all()
    assert [(first.isoformat(), last.isoformat()) for first, last in stored] == [
        ("2026-10-28", "2026-10-28"), ("2026-10-30", "2026-10-30"), ("2026-11-09", "2026-11-09"), ("2026-12-21", "2027-01-03"),
    ]


async def test_book_first_meeting_reschedule_cancel_with_ics_and_reminders(bot, cast):
    pin(bot, NOW)
    with bot.db.transaction() as session:
        session.add(TutorDayOff(tutor_id=cast.tutor.person.id, first_day=datetime(2026, 10, 23).date(), last_day=datetime(2026, 10, 23).date()))

    page = await bot.send(AUDITEUR_ID, "/rdv")
    assert "Réserver votre premier rendez-vous" in page.text and "30 minutes" in page.text
    assert "mardi 20 octobre 2026" in page.text and "vendredi 23 octobre" not in page.text
    assert "lundi 19 octobre" not in page.text  # 24 hours' notice
    first = slot_data(page.last)[0]
    assert first == f"rdv:book:30:{int(paris(2026, 10, 20, 11).timestamp())}"

    # next week is after the switch to winter time: 9h in Paris is now 08:00 UTC (07:00 before)
    next_week = await bot.press(AUDITEUR_ID, "Semaine suivante")
    monday_slots = slot_data(next_week.last)
    assert monday_slots[0] == f"rdv:book:30:{int(paris(2026, 10, 26, 9).timestamp())}"
    assert paris(2026, 10, 26, 9) == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
    back = await bot.press(AUDITEUR_ID, "Semaine précédente")

    confirm = await bot.press(AUDITEUR_ID, message=back.last if back.to_user else None, index=0)
    assert "Confirmez votre rendez-vous" in confirm.text and "mardi 20 octobre 2026 de 11h à 11h30" in confirm.text
    assert meetings(bot) == [] and confirm.to(TUTOR_ID) == []  # nothing booked on the first tap
    booked = await confirm_booking(bot, AUDITEUR_ID)
    assert "Rendez-vous confirmé" in booked.text and "mardi 20 octobre 2026 de 11h à 11h30" in booked.text
    assert "https://meet.jit.si/coachbot-demo-marc-dubois" in booked.text
    assert "Tutorat utilisé : 30 minutes sur 2 heures" in booked.text
    invitation = ics_of(booked.documents[0])
    # the answer first, then the calendar file the booking owes (sent by the outbox)
    assert [m.document is not None for m in booked.to_user] == [False, True], booked.text
    assert "METHOD:REQUEST" in invitation and "UID:meeting-1@coachbot" in invitation and "SEQUENCE:0" in invitation
    assert "DTSTART:20261020T090000Z" in invitation
    to_tutor = booked.to(TUTOR_ID)
    assert "Léa Bernard a réservé son premier rendez-vous" in to_tutor[0].plain_text
    assert booked.documents[0].document.file_name == "rdv-2026-10-20-1100.ics"
    unfolded = invitation.replace("\r\n ", "")
    assert 'ATTENDEE;CN="Léa Bernard"' in unfolded and "ROLE=CHAIR:mailto:marc.dubois@exemple.fr" in unfolded
    assert "METHOD:REQUEST" in ics_of(to_tutor[1])

    [meeting] = meetings(bot)
    assert meeting.status == "booked" and meeting.purpose == "first" and meeting.start_at == paris(2026, 10, 20, 11)
    # 1 h before, both sides; the 24-hour reminder would come right after this confirmation: left out
    assert reminder_states(bot, meeting.id) == ["pending"] * 2

    listed = await bot.send(AUDITEUR_ID, "/mesrdv")
    assert "mardi 20 octobre 2026 de 11h à 11h30" in listed.text
    moving = await bot.press(AUDITEUR_ID, "Déplacer")
    assert "Déplacer votre rendez-vous" in moving.text and "reste réservé" in moving.text
    target = next(b for b in moving.last.buttons if b["callback_data"].endswith(str(int(paris(2026, 10, 22, 14).timestamp()))))
    confirm = await bot.press_data(AUDITEUR_ID, target["callback_data"])  # nothing moves on the first tap
    assert "Confirmez le déplacement" in confirm.text and "Actuellement : mardi 20 octobre 2026 de 11h à 11h30" in confirm.text
    assert "Nouveau créneau : 📅 jeudi 22 octobre 2026 de 14h à 14h30" in confirm.text
    assert confirm.last.button_labels == ["✅ Déplacer à ce créneau", "↩️ Choisir un autre créneau"]
    assert meetings(bot)[0].start_at == paris(2026, 10, 20, 11) and confirm.to(TUTOR_ID) == []
    again = await bot.press(AUDITEUR_ID, "Choisir un autre créneau", message=confirm.last)
    assert "Déplacer votre rendez-vous" in again.text and meetings(bot)[0].sequence == 0
    confirm = await bot.press_data(AUDITEUR_ID, target["callback_data"])
    moved = await bot.press(AUDITEUR_ID, "Déplacer à ce créneau", message=confirm.last)
    assert "Rendez-vous déplacé" in moved.text and "jeudi 22 octobre 2026 de 14h à 14h30" in moved.text
    update = ics_of(moved.documents[0])
    assert [m.document is not None for m in moved.to_user] == [False, True], moved.text
    assert "UID:meeting-1@coachbot" in update and "SEQUENCE:1" in update and "METHOD:REQUEST" in update
    assert "Rendez-vous déplacé par Léa Bernard" in moved.to(TUTOR_ID)[0].plain_text
    [meeting] = meetings(bot)
    assert meeting.start_at == paris(2026, 10, 22, 14) and meeting.rescheduled_from == paris(2026, 10, 20, 11)
    assert sorted(reminder_states(bot, meeting.id)) == ["cancelled"] * 2 + ["pending"] * 4  # 24 h and 1 h now

    await bot.send(AUDITEUR_ID, "/mesrdv")
    confirm = await bot.press(AUDITEUR_ID, "Annuler")
    assert "Confirmez" in confirm.text
    cancelled = await bot.press(AUDITEUR_ID, "Oui, annuler")
    assert "Rendez-vous annulé" in cancelled.text and "temps correspondant vous est rendu" in cancelled.text
    cancel_ics = ics_of(cancelled.documents[0])
    assert [m.document is not None for m in cancelled.to_user] == [False, True], cancelled.text
    assert "METHOD:CANCEL" in cancel_ics and "STATUS:CANCELLED" in cancel_ics and "SEQUENCE:2" in cancel_ics
    assert "Léa Bernard a annulé" in cancelled.to(TUTOR_ID)[0].plain_text
    assert "METHOD:CANCEL" in ics_of(cancelled.to(TUTOR_ID)[1])
    [meeting] = meetings(bot)
    assert meeting.status == "cancelled"
    assert set(reminder_states(bot, meeting.id)) == {"cancelled"}
    again = await bot.send(AUDITEUR_ID, "/rdv")
    assert "Réserver votre premier rendez-vous" in again.text  # the budget is back


async def test_budget_is_exhausted_at_two_hours(bot, cast):
    pin(bot, NOW)
    await bot.send(AUDITEUR_ID, "/rdv")
    await bot.press(AUDITEUR_ID, index=0)  # first meeting, 30 min
    await confirm_booking(bot, AUDITEUR_ID)
    lengths = await bot.send(AUDITEUR_ID, "/rdv")
    assert lengths.last.button_labels == ["30 minutes", "60 minutes"]
    await bot.press(AUDITEUR_ID, "60 minutes")
    await bot.press(AUDITEUR_ID, index=0)
    booked = await confirm_booking(bot, AUDITEUR_ID)
    assert "1h30" in booked.text or "1 heure" in booked.text
    last = await bot.send(AUDITEUR_ID, "/rdv")  # 30 minutes left: straight to 30-minute slots
    assert "(30 minutes)" in last.text
    await bot.press(AUDITEUR_ID, index=0)
    done = await confirm_booking(bot, AUDITEUR_ID)
    assert "Tutorat utilisé : 2h sur 2 heures ; il ne reste plus de temps" in done.text
    refused = await bot.send(AUDITEUR_ID, "/rdv")
    assert "entièrement réservées ou utilisées" in refused.text
    forged = await bot.press_data(AUDITEUR_ID, f"rdv:book:30:{int(paris(2026, 10, 29, 9).timestamp())}")
    assert "entièrement réservées" in forged.text
    assert [m.duration_minutes for m in meetings(bot)] == [30, 60, 30]


async def test_bad_slots_get_a_clear_message_a_fresh_list_and_store_nothing(bot, cast):
    pin(bot, datetime(2026, 11, 6, 10, 0, tzinfo=PARIS).astimezone(UTC))
    page = await bot.send(AUDITEUR_ID, "/rdv")
    stale = page.last  # the first week with slots: 9 November (after the weekend's notice)
    assert "Semaine du 9 novembre 2026" in page.text
    assert "mardi 10 novembre" in page.text and "mercredi 11 novembre" not in page.text  # Armistice
    assert "jeudi 12 novembre 2026 : 9h," in page.text

    cases = {
        "rdv:book:30:abc": "n'est plus valable",
        f"rdv:book:30:{int(paris(2026, 11, 11, 10).timestamp())}": "férié",
        f"rdv:book:30:{int(paris(2026, 11, 2, 10).timestamp())}": "déjà passé",
        f"rdv:book:30:{int(paris(2026, 11, 14, 10).timestamp())}": "du lundi au vendredi",
        f"rdv:book:30:{int(paris(2026, 11, 12, 19).timestamp())}": "entre 8h et 19h",
        f"rdv:book:30:{int(paris(2026, 11, 12, 12, 30).timestamp())}": "disponibilités de votre tuteur",
        f"rdv:book:60:{int(paris(2026, 11, 12, 9).timestamp())}": "premier rendez-vous dure 30 minutes",
        f"rdv:book:30:{int(paris(2026, 11, 9, 9, 10).timestamp())}": "disponibilités de votre tuteur",
        "rdv:nope": "n'est plus valable",
    }
    for data, expected in cases.items():
        answer = await bot.press_data(AUDITEUR_ID, data)
        assert expected in answer.text, (data, answer.text)
        assert slot_data(answer.last), data  # a fresh list follows
    assert meetings(bot) == []

    # someone else takes the slot meanwhile: the old button says so, nothing stored for Léa
    other = await asyncio.to_thread(
        bot.services.onboarding.enrol_auditeur, COMMAND_LINE, name="Bo Chen", tutor=cast.tutor.person.id,
        report_type="ua", semester="2026-S1", certification="Certificat",
    )
    taken = slot_data(stale)[0]
    start = datetime.fromtimestamp(int(taken.rsplit(":", 1)[1]), UTC)
    await asyncio.to_thread(bot.services.booking.book, other.person, start, 30)
    late = await bot.press_data(AUDITEUR_ID, taken)
    assert "n'est plus libre" in late.text and slot_data(late.last) and slot_data(late.last)[0] != taken
    assert [m.auditeur_id for m in meetings(bot)] == [other.person.id]

    tutor_try = await bot.press_data(TUTOR_ID, slot_data(late.last)[0])
    assert NOT_ALLOWED in tutor_try.text
    assert len(meetings(bot)) == 1


async def test_tutor_cancels_and_marks_meetings(bot, cast):
    pin(bot, NOW)
    await bot.send(AUDITEUR_ID, "/rdv")
    await bot.press(AUDITEUR_ID, index=0)
    await confirm_booking(bot, AUDITEUR_ID)
    await bot.send(AUDITEUR_ID, "/rdv")
    await bot.press(AUDITEUR_ID, "60 minutes")
    await bot.press(AUDITEUR_ID, index=0)
    await confirm_booking(bot, AUDITEUR_ID)
    first, second = meetings(bot)

    listed = await bot.send(TUTOR_ID, "/mesrdv")
    assert "Léa Bernard, premier rendez-vous" in listed.text and "rendez-vous de suivi" in listed.text
    await bot.press(TUTOR_ID, index=1)  # cancel the second one
    done = await bot.press(TUTOR_ID, "Oui, annuler")
    note = done.to(AUDITEUR_ID)
    assert "Votre tuteur a annulé ce rendez-vous" in note[0].plain_text and "METHOD:CANCEL" in ics_of(note[1])
    assert "reste 1h30" in note[0].plain_text  # the hour is given back

    early = await bot.press_data(TUTOR_ID, f"mrdv:held:{first.id}")
    assert "pas encore eu lieu" in early.text
    pin(bot, first.end_at + timedelta(minutes=5))
    listed = await bot.send(TUTOR_ID, "/mesrdv")
    assert "passé : notez-le avec le bouton « Tenu » ou « Manqué » ci-dessous" in listed.text
    held = await bot.press(TUTOR_ID, "Tenu")
    assert "noté comme tenu" in held.text
    statuses = {m.id: m.status for m in meetings(bot)}
    assert statuses == {first.id: "held", second.id: "cancelled"}
    history = await bot.send(TUTOR_ID, "/mesrdv")
    assert "Historique" in history.text and "Léa Bernard, tenu" in history.text  # kept, not vanished
    assert NOT_ALLOWED in (await bot.press_data(AUDITEUR_ID, f"mrdv:held:{first.id}")).text
    stranger = await bot.press_data(TUTOR_ID, f"mrdv:cancelok:{first.id + 1000}")
    assert "introuvable" in stranger.text
    assert {m.id: m.status for m in meetings(bot)} == statuses


async def test_reminders_go_out_once_and_survive_a_restart(bot, cast):
    pin(bot, NOW)
    await bot.send(AUDITEUR_ID, "/rdv")
    await bot.press(AUDITEUR_ID, message=None, index=3)
    await confirm_booking(bot, AUDITEUR_ID)
    [meeting] = meetings(bot)
    since = bot.emulator.last_sequence()
    await bot.restart()  # nothing in memory survives; the clock moves past the 24-hour reminder
    pin(bot, meeting.start_at - timedelta(hours=23, minutes=59))
    await bot.drain()
    sent = bot.emulator.sent_since(since)
    assert sorted(m.chat_id for m in sent) == sorted([AUDITEUR_ID, TUTOR_ID])
    assert all("Rappel" in m.plain_text and "demain" in m.plain_text for m in sent)
    await bot.drain()
    assert len(bot.emulator.sent_since(since)) == 2  # never twice

    since = bot.emulator.last_sequence()
    pin(bot, meeting.start_at - timedelta(minutes=30))
    await bot.drain()
    late = bot.emulator.sent_since(since)
    assert len(late) == 2 and all("dans 30 minutes" in m.plain_text for m in late)  # not "dans une heure"
    assert reminder_states(bot, meeting.id) == ["sent"] * 4
    with bot.db.read() as session:
        rows = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "meeting.reminder")).all()
        assert all(r.sent_at is not None for r in rows)


async def test_the_calendar_file_follows_the_answer_even_when_the_answer_is_slow(bot, cast):
    """The booking's .ics goes through the outbox while the handler is still answering: a slow
    answer (Telegram took a second over it) still comes first, then the calendar file."""
    pin(bot, NOW)
    page = await bot.send(AUDITEUR_ID, "/rdv")
    await bot.press_data(AUDITEUR_ID, slot_data(page.last)[0])
    bot.emulator.inject_fault("sendMessage", "delay", count=2, delay=1.0)  # the answer and the tutor's notice
    booked = await confirm_booking(bot, AUDITEUR_ID)
    assert [(m.document is not None, m.document is None and "Rendez-vous confirmé" in m.plain_text)
            for m in booked.to_user] == [(False, True), (True, False)], booked.text
    assert bot.emulator.faults_left() == 0
