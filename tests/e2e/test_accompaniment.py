"""The five-step accompaniment through the emulator, with the clock moved: every message each person
receives, the refusals, the reminders, the staff follow-up list."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bot.storage.models import Meeting, OutboxMessage
from tests import pdf_factory as factory
from tests.e2e.conftest import AUDITEUR_ID, STAFF_ID, TUTOR_ID, confirm_booking

PARIS = ZoneInfo("Europe/Paris")
NOT_ALLOWED = "pas disponible pour votre profil"


def paris(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def pin(bot, moment: datetime) -> None:
    bot.services.clock = lambda: moment


@pytest.fixture(scope="module")
def pdfs() -> dict[str, bytes]:
    return {"good": factory.good_draft("ua"), "flawed": factory.flawed_draft("ua"),
            "annotated": factory.annex_pdf(factory.ANNEX_TITLES[0], pages=2)}


def meetings(bot) -> list[Meeting]:
    with bot.services.db.read() as session:
        return list(session.scalars(sa.select(Meeting).order_by(Meeting.start_at)))


async def _to_planned(bot, cast) -> None:
    """Step 1 and 2 through the bot: first meeting booked, held, planning recorded."""
    pin(bot, paris(2026, 10, 19, 11))
    step1 = await bot.send(AUDITEUR_ID, "/echeances")
    assert "étape 1" in step1.text and "/rdv" in step1.text
    await bot.send(AUDITEUR_ID, "/rdv")
    await bot.press(AUDITEUR_ID, index=0)
    await confirm_booking(bot, AUDITEUR_ID)
    [first] = meetings(bot)
    pin(bot, first.end_at + timedelta(minutes=5))
    await bot.send(TUTOR_ID, "/mesrdv")
    held = await bot.press(TUTOR_ID, "Tenu")
    assert "Premier rendez-vous tenu" in held.to(AUDITEUR_ID)[0].plain_text

    follow = await bot.send(TUTOR_ID, "/suivi")
    assert "Léa Bernard" in follow.text and "planning à fixer" in follow.text
    await bot.press(TUTOR_ID, "Léa Bernard")
    ask = await bot.press(TUTOR_ID, "🗓 Enregistrer le planning")
    assert "au plus tard le mardi 31 août 2027" in ask.text
    beyond = await bot.send(TUTOR_ID, "01/09/2027")
    assert "dépasse la limite" in beyond.text and "31 août 2027" in beyond.text and not beyond.to(AUDITEUR_ID)
    bad = await bot.send(TUTOR_ID, "bientôt")
    assert "pas compris cette date" in bad.text
    done = await bot.send(TUTOR_ID, "30/11/2026 10/11/2026")
    assert "Planning enregistré" in done.text and "lundi 30 novembre 2026" in done.text
    note = done.to(AUDITEUR_ID)[0].plain_text
    assert "Votre planning est fixé" in note and "lundi 30 novembre 2026" in note and "mardi 10 novembre 2026" in note


async def test_the_whole_journey_to_validated_with_the_grid_pdf(bot, cast, pdfs):
    await _to_planned(bot, cast)
    # the 14-day deadline reminder (Monday 16 November, 9h) reaches the auditeur once
    pin(bot, paris(2026, 11, 16, 9, 1))
    since = bot.emulator.last_sequence()
    await bot.drain()
    reminders = [m for m in bot.emulator.sent_since(since) if "date butoir" in m.plain_text]
    assert [m.chat_id for m in reminders] == [AUDITEUR_ID] and "dans 14 jours" in reminders[0].plain_text

    # step 3: a draft stays hers; she submits it on 1 December: Christmas holidays -> 6 weeks
    pin(bot, paris(2026, 12, 1, 10))
    draft = await bot.send_document(AUDITEUR_ID, pdfs["flawed"], "rapport.pdf")
    assert not draft.to(TUTOR_ID)
    wrong = await bot.press_data(TUTOR_ID, "acc:submit:0")
    assert NOT_ALLOWED in wrong.text
    submitted = await bot.press(AUDITEUR_ID, "📥 Déposer pour correction")
    assert "déposé pour correction" in submitted.text and "mardi 12 janvier 2027" in submitted.text
    tutor_note = submitted.to(TUTOR_ID)
    assert "a déposé son rapport pour correction" in tutor_note[0].plain_text
    assert "6 semaines : vacances de noël du 19 décembre 2026 au 3 janvier 2027" in tutor_note[0].plain_text
    assert tutor_note[1].document is not None and tutor_note[1].document.content == pdfs["flawed"]
    again = await bot.press(AUDITEUR_ID, "📥 Déposer pour correction")
    assert "Impossible de déposer le rapport pour correction maintenant" in again.text

    # the tutor's 7-day reminder (Tuesday 5 January 2027, 9h)
    pin(bot, paris(2027, 1, 5, 9, 30))
    since = bot.emulator.last_sequence()
    await bot.drain()
    sent = [m for m in bot.emulator.sent_since(since) if "Rappel" in m.plain_text]
    assert [m.chat_id for m in sent] == [TUTOR_ID] and "dans 7 jours" in sent[0].plain_text

    # the annotated correction: a PDF, a comment on criterion 1, a summary
    await bot.send(TUTOR_ID, "/suivi")
    await bot.press(TUTOR_ID, "Léa Bernard")
    ask = await bot.press(TUTOR_ID, "📝 Rendre la correction annotée")
    assert "1. Choix argumenté" in ask.text
    await bot.send_document(TUTOR_ID, pdfs["annotated"], "annote.pdf")
    noted = await bot.send(TUTOR_ID, "1. Argumentez davantage le choix de la pratique.\nBonne base, à resserrer.")
    assert "PDF annoté joint, 1 commentaire" in noted.text
    forged = await bot.press_data(AUDITEUR_ID, f"acc:corrsend:{cast.auditeur.person.id}")
    assert NOT_ALLOWED in forged.text
    sent = await bot.press(TUTOR_ID, "📨 Envoyer la correction")
    assert "Correction transmise" in sent.text
    to_lea = sent.to(AUDITEUR_ID)
    assert "a rendu la correction annotée" in to_lea[0].plain_text
    assert "Choix argumenté : Argumentez davantage" in to_lea[0].plain_text and "Bonne base" in to_lea[0].plain_text
    assert to_lea[1].document.content == pdfs["annotated"]

    # step 4: the revised version, with the comparison for the tutor
    revised = await bot.send_document(AUDITEUR_ID, pdfs["good"], "rapport-v2.pdf")
    assert not revised.to(TUTOR_ID)
    transmitted = await bot.press(AUDITEUR_ID, "📥 Déposer pour correction")
    assert "Version révisée (version 2) transmise" in transmitted.text
    told = transmitted.to(TUTOR_ID)[0].plain_text
    assert "a transmis sa version révisée" in told and "Par rapport à la version 1" in told and "pages" in told

    # step 5: the grid criterion by criterion, then the verdict and its reasons
    await bot.send(TUTOR_ID, "/suivi")
    await bot.press(TUTOR_ID, "Léa Bernard")
    question = await bot.press(TUTOR_ID, "🎓 Rédiger l'avis motivé")
    total = bot.services.catalogue.grid.criteria
    assert f"Critère 1/{len(total)}" in question.text
    for _ in total:
        answer = await bot.press(TUTOR_ID, "Acquis")
    assert "Votre avis selon les critères du certificateur" in answer.text
    await bot.press(TUTOR_ID, "✅ Validé")
    short = await bot.send(TUTOR_ID, "ok")
    assert "au moins 10 caractères" in short.text
    given = await bot.send(TUTOR_ID, "Rapport clair, rôle propre bien établi, annexes pertinentes.")
    assert "Avis « validé » enregistré" in given.text
    lea = given.to(AUDITEUR_ID)
    assert "Avis de votre tuteur Marc Dubois : validé" in lea[0].plain_text and "annexes pertinentes" in lea[0].plain_text
    assert lea[1].document is not None and lea[1].document.content.startswith(b"%PDF")
    assert not given.to(STAFF_ID)

    final = await bot.send(AUDITEUR_ID, "/echeances")
    assert "avis rendu : validé" in final.text
    grid = await bot.press(AUDITEUR_ID, "📄 Grille d'évaluation (PDF)")
    assert grid.documents and grid.documents[0].document.content == lea[1].document.content


async def to_not_validated(bot, cast, draft: bytes, *, file_name: str, correction: str, reasons: str):
    """Planned, a draft submitted, the correction returned, the same version sent back, then the
    tutor's « non validé » with its reasons; returns what the reasons' message caused."""
    await _to_planned(bot, cast)
    pin(bot, paris(2026, 11, 20, 10))
    await bot.send_document(AUDITEUR_ID, draft, file_name)
    await bot.press(AUDITEUR_ID, "📥 Déposer pour correction")
    acc, lea, marc = bot.services.accompaniment, cast.auditeur.person, cast.tutor.person
    await asyncio.to_thread(acc.return_correction, marc, lea.id, summary=correction)
    await bot.drain()
    await bot.send(AUDITEUR_ID, "/echeances")
    await bot.press(AUDITEUR_ID, "📥 Déposer pour correction")  # the same version, unchanged
    staff_before = await bot.send(STAFF_ID, "/suivi")
    assert "Avis défavorables à traiter (0)" in staff_before.text
    await bot.send(TUTOR_ID, "/suivi")
    await bot.press(TUTOR_ID, "Léa Bernard")
    await bot.press(TUTOR_ID, "🎓 Rédiger l'avis motivé")
    for _ in bot.services.catalogue.grid.criteria:
        await bot.press(TUTOR_ID, "Non acquis")
    await bot.press(TUTOR_ID, "❌ Non validé")
    return await bot.send(TUTOR_ID, reasons)


async def test_non_validated_goes_on_and_then_leaves_the_staff_follow_up_list(bot, cast, pdfs):
    given = await to_not_validated(bot, cast, pdfs["flawed"], file_name="rapport.pdf", correction="Le rôle propre manque.",
                                   reasons="Le rôle propre n'apparaît pas ; les actes ne sont pas décrits.")
    assert "Le Cnam est prévenu" in given.text
    assert "va prendre contact avec vous pour co-construire" in given.to(AUDITEUR_ID)[0].plain_text
    staff_note = given.to(STAFF_ID)[0]
    assert "Avis « non validé »" in staff_note.plain_text and "Léa Bernard" in staff_note.plain_text

    listed = await bot.send(STAFF_ID, "/suivi")
    assert "Avis défavorables à traiter (1)" in listed.text and "Léa Bernard (Licence professionnelle" in listed.text
    refused = await bot.press_data(TUTOR_ID, "acc:casec:1:0")
    assert "Seule l'équipe du Cnam peut enregistrer le contact" in refused.text
    await bot.press(STAFF_ID, "📝 Léa Bernard : enregistrer le contact")
    await bot.press(STAFF_ID, "Clore et relancer le parcours")
    closed = await bot.send(STAFF_ID, "Appel le 15/01\nNouvelle version pour juin, avec un rendez-vous de suivi.")
    assert "le dossier quitte la liste de suivi" in closed.text
    assert "reprend après l'échange avec le Cnam" in closed.to(TUTOR_ID)[0].plain_text
    after = await bot.send(STAFF_ID, "/suivi")
    assert "Avis défavorables à traiter (0)" in after.text


async def test_refusals_for_steps_moved_by_the_wrong_person(bot, cast, pdfs):
    pin(bot, paris(2026, 10, 19, 11))
    lea = cast.auditeur.person.id
    # an auditeur may not use the tutor's actions, a tutor not the auditeur's (guards), and the
    # service refuses what the stage does not allow
    for data in (f"acc:plan:{lea}", f"acc:corr:{lea}", f"acc:op:{lea}", f"acc:g:{lea}:0:m", "acc:case:1"):
        assert NOT_ALLOWED in (await bot.press_data(AUDITEUR_ID, data)).text, data
    assert NOT_ALLOWED in (await bot.press_data(TUTOR_ID, "acc:submit:0")).text
    early = await bot.press_data(TUTOR_ID, f"acc:plan:{lea}")
    assert "Planning de Léa Bernard" in early.text
    refused = await bot.send(TUTOR_ID, "30/11/2026")
    assert "Impossible d’enregistrer le planning maintenant" in refused.text and "étape 1" in refused.text
    await bot.send(TUTOR_ID, "/annuler")
    submit = await bot.press_data(AUDITEUR_ID, "acc:submit:0")
    assert "Impossible de déposer le rapport pour correction maintenant" in submit.text
    staff_plan = await bot.press_data(STAFF_ID, f"acc:corr:{lea}")
    assert "Impossible de rendre la correction annotée maintenant" in staff_plan.text
    other = await bot.press_data(TUTOR_ID, f"acc:show:{lea + 100}")
    assert "Aucun accompagnement" in other.text
    with bot.services.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind.like("accompaniment.%"), OutboxMessage.priority == 1)) == 0


async def test_a_deadline_reminder_survives_a_restart_and_is_sent_once(bot, cast):
    await _to_planned(bot, cast)
    since = bot.emulator.last_sequence()
    await bot.restart()  # nothing in memory survives; the 14-day reminder comes due while "down"
    pin(bot, paris(2026, 11, 16, 12))
    await bot.drain()
    pin(bot, paris(2026, 11, 16, 12, 5))
    await bot.drain()
    sent = [m for m in bot.emulator.sent_since(since) if "date butoir" in m.plain_text]
    assert len(sent) == 1 and sent[0].chat_id == AUDITEUR_ID
