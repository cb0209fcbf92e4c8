"""Staff broadcasts end to end: /diffuser composes, previews exactly, counts, confirms once and
delivers to the chosen audience only; scheduling in French at Paris time; pause, resume, cancel;
faults and blocked people; the scheduled announcements of the year."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.domain.calendar import PARIS
from bot.storage.models import Broadcast, Enrolment, OutboxMessage, Person
from tests.e2e.conftest import AUDITEUR_ID, STAFF_ID, TUTOR_ID

NOW = datetime(2026, 9, 28, 10, 0, tzinfo=PARIS).astimezone(UTC)  # Monday 28 September 2026, 10h Paris
NOT_ALLOWED = "n'est pas disponible pour votre profil"


def add_auditeurs(bot, cast, count: int, *, first_id: int, semester: str = "2026-S1",
                  certification: str = "Titre RH", blocked: int = 0) -> list[int]:
    """Auditeurs bound to simulated Telegram users (the last ``blocked`` ones blocked the bot unnoticed)."""
    ids = [first_id + i for i in range(count)]
    with bot.db.transaction() as session:
        for index, telegram_id in enumerate(ids):
            person = Person(role="auditeur", display_name=f"Auditeur {telegram_id}", telegram_user_id=telegram_id)
            session.add(person)
            session.flush()
            session.add(Enrolment(auditeur_id=person.id, tutor_id=cast.tutor.person.id, certification=certification,
                                  report_type="ua", semester=semester))
    for index, telegram_id in enumerate(ids):
        user = bot.emulator.add_user(telegram_id, "Auditeur", str(telegram_id))
        user.blocked_bot = index >= count - blocked
    return ids


def received(bot, chat_id: int, needle: str) -> int:
    return sum(1 for m in bot.emulator.chat(chat_id) if needle in (m.plain_text or m.caption or ""))


def pin(bot, moment: datetime) -> None:
    bot.services.clock = lambda: moment


def broadcast_rows(bot) -> dict[str, int]:
    with bot.db.read() as session:
        return dict(session.execute(
            sa.select(OutboxMessage.state, sa.func.count()).where(OutboxMessage.kind == "broadcast").group_by(OutboxMessage.state)
        ).all())


async def test_compose_preview_confirm_deliver_to_the_audience_only(bot, cast):
    pin(bot, NOW)
    s2 = add_auditeurs(bot, cast, 3, first_id=4000, semester="2026-S2")
    started = await bot.send(STAFF_ID, "/diffuser")
    assert "Écrivez le message à diffuser" in started.text
    text = "Inscriptions ouvertes : venez nombreux !"
    asked = await bot.send(STAFF_ID, text, entities=[{"type": "bold", "offset": 0, "length": 12}])
    assert "À qui l'envoyer" in asked.text
    await bot.press(STAFF_ID, "Une promotion")
    preview = await bot.press(STAFF_ID, "2026-S2")
    shown = [m for m in preview.to_user if m.plain_text == text]
    assert len(shown) == 1 and shown[0].text == "<b>Inscriptions</b> ouvertes : venez nombreux !"  # formatting kept
    assert "Destinataires : 3" in preview.text and "Rien n'est encore envoyé" in preview.text
    assert all(received(bot, chat, "venez nombreux") == 0 for chat in s2)  # a preview sends nothing
    summary = preview.with_buttons()
    send_data = next(b["callback_data"] for b in summary.buttons if "Envoyer" in b["text"])
    sent = await bot.press(STAFF_ID, "Envoyer maintenant", message=summary)
    assert not summary.buttons  # the buttons are gone once pressed
    for chat in s2:
        (message,) = sent.to(chat)
        assert message.text == "<b>Inscriptions</b> ouvertes : venez nombreux !"
    assert received(bot, AUDITEUR_ID, "venez nombreux") == 0  # 2026-S1: not in the audience
    assert received(bot, TUTOR_ID, "venez nombreux") == 0
    await bot.drain()
    staff_chat = bot.emulator.chat(STAFF_ID)
    progress = [m for m in staff_chat if "Diffusion n°" in (m.plain_text or "") and "Envoyés" in m.plain_text]
    assert progress and "terminée" in progress[0].plain_text and "Envoyés : 3 sur 3" in progress[0].plain_text
    assert any("Tous les destinataires l'ont reçue" in (m.plain_text or "") for m in staff_chat)  # the final report
    again = await bot.press_data(STAFF_ID, send_data)  # a second press (a double tap, an old copy)
    assert "n'est pas envoyée une seconde fois" in again.text
    assert all(received(bot, chat, "venez nombreux") == 1 for chat in s2)


async def test_bad_input_is_explained_and_nothing_is_sent(bot, cast):
    pin(bot, NOW)
    await bot.send(STAFF_ID, "/diffuser")
    too_long = await bot.send(STAFF_ID, "x" * 4097)
    assert "4\u202f097 caractères" in too_long.text and "au plus 4\u202f096" in too_long.text
    document = await bot.send_document(STAFF_ID, b"%PDF-1.4 demo", "calendrier.pdf", caption="y" * 1025)
    assert "légende" in document.text and "1\u202f024" in document.text
    await bot.send(STAFF_ID, "Bonjour")
    await bot.press(STAFF_ID, "Une promotion")
    empty = await bot.press(STAFF_ID, "2026-S1")  # only Léa, reachable: fine
    assert "Destinataires : 1" in empty.text
    await bot.press(STAFF_ID, "Programmer", message=empty.with_buttons())
    for typed, expected in [("hier 9h", "Je n'ai pas compris"), ("lundi 28 septembre 8h", "déjà passé"),
                            ("mardi 5 octobre 9h", "Le jour ne correspond pas"), ("lundi 5 octobre", "Indiquez aussi l'heure")]:
        answer = await bot.send(STAFF_ID, typed)
        assert expected in answer.text, (typed, answer.text)
    assert broadcast_rows(bot) == {}
    refused = await bot.send(AUDITEUR_ID, "/diffuser")
    assert NOT_ALLOWED in refused.text
    forged = await bot.press_data(TUTOR_ID, "bcast:send:1")
    assert NOT_ALLOWED in forged.text
    assert broadcast_rows(bot) == {}
    with bot.db.read() as session:
        assert session.scalar(sa.select(Broadcast.state)) == "draft"


async def test_a_scheduled_broadcast_goes_out_at_its_time_with_a_document(bot, cast):
    pin(bot, NOW)
    await bot.send(STAFF_ID, "/diffuser")
    await bot.send_document(STAFF_ID, b"%PDF-1.4 calendrier", "calendrier.pdf", caption="Le calendrier de l'année")
    await bot.press(STAFF_ID, "Les tuteurs")
    preview = bot.emulator.chat(STAFF_ID)
    assert any(m.document is not None and m.caption == "Le calendrier de l'année" for m in preview)  # preview as sent
    await bot.press(STAFF_ID, "Programmer")
    unclear = await bot.send(STAFF_ID, "05/10 à 9h30 UTC")  # never read as Paris time by leaving a word out
    assert "Je n'ai pas compris cette date (le mot « UTC »)." in unclear.text
    scheduled = await bot.send(STAFF_ID, "05/10 à 9h30")
    assert "programmée" in scheduled.text and "lundi 5 octobre 2026 à 9h30" in scheduled.text
    await bot.drain()
    assert not [m for m in bot.emulator.chat(TUTOR_ID) if m.document is not None]
    # a restart before the day: the schedule is in the database
    await bot.restart()
    pin(bot, datetime(2026, 10, 5, 9, 29, tzinfo=PARIS).astimezone(UTC))
    await bot.drain()
    assert not [m for m in bot.emulator.chat(TUTOR_ID) if m.document is not None]
    pin(bot, datetime(2026, 10, 5, 9, 30, tzinfo=PARIS).astimezone(UTC))
    await bot.drain()
    (document,) = [m for m in bot.emulator.chat(TUTOR_ID) if m.document is not None]
    assert document.caption == "Le calendrier de l'année" and document.document.content == b"%PDF-1.4 calendrier"
    assert any("Tous les destinataires l'ont reçue" in (m.plain_text or "") for m in bot.emulator.chat(STAFF_ID))


async def _press_without_waiting(bot, message, label: str) -> None:
    """Press and wait for the bot to handle it, not for the outbox to drain (the broadcast goes on)."""
    update_id = bot.emulator.press(STAFF_ID, message, label)
    await bot.application.bot_data["processor"].wait_for_update(update_id, 10)


async def test_pause_resume_cancel(bot, cast):
    pin(bot, NOW)
    ids = add_auditeurs(bot, cast, 79, first_id=5000)
    sender = bot.application.bot_data["sender"]
    await sender.stop()  # nothing leaves until the test says so
    await bot.send(STAFF_ID, "/diffuser")
    await bot.send(STAFF_ID, "Réunion d'information jeudi")
    await bot.press(STAFF_ID, "Tous les auditeurs")
    preview = bot.emulator.chat(STAFF_ID)[-1]
    await _press_without_waiting(bot, preview, "Envoyer maintenant")
    progress = next(m for m in reversed(bot.emulator.chat(STAFF_ID)) if "Restants" in (m.plain_text or ""))
    assert "Restants : 80" in progress.plain_text and "Pause" in " ".join(progress.button_labels)
    await _press_without_waiting(bot, progress, "Pause")
    assert "en pause" in progress.plain_text and "Reprendre" in " ".join(progress.button_labels)  # edited in place
    assert broadcast_rows(bot) == {"paused": 80}
    sender.start()
    await asyncio.sleep(0.6)
    assert sum(received(bot, chat, "Réunion") for chat in ids) == 0
    await _press_without_waiting(bot, progress, "Reprendre")
    await asyncio.sleep(0.8)
    await _press_without_waiting(bot, progress, "Arrêter")
    assert "arrêtée" in progress.plain_text and not progress.buttons
    await bot.drain()
    rows = broadcast_rows(bot)
    assert rows.get("sent", 0) > 0 and rows.get("cancelled", 0) > 0 and rows["sent"] + rows["cancelled"] == 80
    delivered = sum(received(bot, chat, "Réunion") for chat in ids + [AUDITEUR_ID])
    assert delivered == rows["sent"]
    await asyncio.sleep(0.5)
    assert sum(received(bot, chat, "Réunion") for chat in ids + [AUDITEUR_ID]) == delivered  # nothing after cancel
    assert any("arrêtée" in (m.plain_text or "") and "ne seront pas envoyés" in m.plain_text for m in bot.emulator.chat(STAFF_ID))


async def test_faults_and_blocked_people_everyone_reachable_gets_it_once(bot, cast):
    pin(bot, NOW)
    ids = add_auditeurs(bot, cast, 40, first_id=6000, blocked=3)
    await bot.send(STAFF_ID, "/diffuser")
    await bot.send(STAFF_ID, "Rappel : dates d'inscription")
    await bot.press(STAFF_ID, "Tous les auditeurs")
    sender = bot.application.bot_data["sender"]
    await sender.stop()
    await _press_without_waiting(bot, bot.emulator.chat(STAFF_ID)[-1], "Envoyer maintenant")
    bot.emulator.inject_fault("sendMessage", "429", count=3, retry_after=1)
    bot.emulator.inject_fault("sendMessage", "500", count=4)
    bot.emulator.inject_fault("sendMessage", "403", count=2)  # two more who blocked the bot (a 403 on first send)
    sender.start()
    await bot.drain(timeout=60)
    rows = broadcast_rows(bot)
    assert rows.get("blocked") == 5 and rows.get("sent") == 36 and sum(rows.values()) == 41
    counts = [received(bot, chat, "Rappel : dates") for chat in ids + [AUDITEUR_ID]]
    assert counts.count(1) == 36 and counts.count(0) == 5 and max(counts) == 1
    report = next(m for m in reversed(bot.emulator.chat(STAFF_ID)) if "Non remis" in (m.plain_text or ""))
    with bot.db.read() as session:
        blocked = session.scalars(sa.select(Person.display_name).where(Person.blocked_bot_at.is_not(None))).all()
    assert len(blocked) == 5 and all(name in report.plain_text for name in blocked)


async def test_the_years_enrolment_announcements_in_one_step(bot, cast):
    pin(bot, datetime(2026, 9, 1, 10, 0, tzinfo=PARIS).astimezone(UTC))
    await bot.send(STAFF_ID, "/diffuser")
    menu = await bot.press(STAFF_ID, "Annonces des inscriptions")
    assert "2026-2027" in menu.text and "dates non saisies" in menu.text
    refused = await bot.press(STAFF_ID, "Programmer les deux annonces", message=menu.with_buttons())
    assert "n'est pas complet" in refused.text
    await bot.press(STAFF_ID, "Saisir les dates", message=menu.with_buttons())
    bad = await bot.send(STAFF_ID, "du 31/10 au 1/10")
    assert "avant leur ouverture" in bad.text
    await bot.send(STAFF_ID, "du 1/10 au 31/10")
    shown = await bot.send(STAFF_ID, "du 15/02 au 15/03")
    assert "du jeudi 1er octobre 2026 au samedi 31 octobre 2026" in shown.text
    planned = await bot.press(STAFF_ID, "Programmer les deux annonces")
    assert "jeudi 1er octobre 2026 à 9h" in planned.text and "lundi 15 février 2027 à 9h" in planned.text
    listed = await bot.press_data(STAFF_ID, "bcast:list")
    assert listed.text.count("n° ") == 2
    pin(bot, datetime(2026, 10, 1, 9, 0, tzinfo=PARIS).astimezone(UTC))
    await bot.drain()
    (announcement,) = [m for m in bot.emulator.chat(AUDITEUR_ID) if "Inscriptions au 1er semestre" in (m.plain_text or "")]
    assert "du jeudi 1er octobre 2026 au samedi 31 octobre 2026" in announcement.plain_text


async def test_an_audience_at_one_step_of_the_accompaniment(bot, cast):
    """Auditeurs whose correction is pending (step 3), counted on the button, and only they receive it."""
    from bot.storage.models import Accompaniment

    pin(bot, NOW)
    waiting = add_auditeurs(bot, cast, 3, first_id=4100, blocked=1)  # the last one blocked the bot
    others = add_auditeurs(bot, cast, 2, first_id=4200)
    with bot.db.transaction() as session:
        enrolments = dict(session.execute(
            sa.select(Person.telegram_user_id, Enrolment.id).join(Enrolment, Enrolment.auditeur_id == Person.id)
        ).all())
        for telegram_id in waiting:
            session.add(Accompaniment(enrolment_id=enrolments[telegram_id], stage="submitted", moved_at=NOW, created_at=NOW))
        session.add(Accompaniment(enrolment_id=enrolments[others[0]], stage="corrected", moved_at=NOW, created_at=NOW))
    # Léa and others[1] have no accompaniment row yet: step 1 (enrolled)

    await bot.send(STAFF_ID, "/diffuser")
    await bot.send(STAFF_ID, "Rappel : les tuteurs rendent les corrections sous 4 semaines.")
    choose = await bot.press(STAFF_ID, "Une étape de l'accompagnement")
    labels = [b["text"] for b in choose.with_buttons().buttons]
    assert labels == ["1 · premier rendez-vous à prendre (2)", "3 · correction en attente (3)", "4 · révision à rendre (1)"]
    preview = await bot.press(STAFF_ID, "3 · correction en attente (3)")
    assert "Destinataires : 3" in preview.text  # the blocking is not known yet: the send finds it
    assert "Une étape de l'accompagnement : 3 · correction en attente" in preview.text
    await bot.press(STAFF_ID, "Envoyer maintenant")
    await bot.drain()
    needle = "corrections sous 4 semaines"
    assert [received(bot, chat, needle) for chat in waiting] == [1, 1, 0]
    assert [received(bot, chat, needle) for chat in (*others, AUDITEUR_ID, TUTOR_ID)] == [0, 0, 0, 0]
    assert broadcast_rows(bot) == {"sent": 2, "blocked": 1}

    # the same from the command line's audience code, and an unknown step explained
    from bot.domain.broadcasts import Audience, BroadcastError
    from bot.domain.permissions import COMMAND_LINE

    count = bot.services.broadcasts.count(COMMAND_LINE, Audience.parse("etape:enrolled"))
    assert (count.reachable, count.blocked) == (2, 0)
    try:
        bot.services.broadcasts.count(COMMAND_LINE, Audience.parse("etape:rdv1"))
    except BroadcastError as error:
        assert error.code == "stage_unknown"
    else:
        raise AssertionError("an unknown step must be refused")
