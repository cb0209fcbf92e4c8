"""Enrolment and onboarding, end to end: staff on Telegram, invitation codes, consent, step 1."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.domain.permissions import COMMAND_LINE
from bot.storage.models import Consent, Enrolment, Invitation, Person, utcnow
from tests.e2e.conftest import AUDITEUR_ID, STAFF_ID, TUTOR_ID

NEW_TUTOR, NEW_AUDITEUR, STRANGER, OTHER = 2101, 3101, 9001, 9002
CODE_RE = re.compile(r"start=([A-Z0-9]{12})")


def _code(text: str) -> str:
    match = CODE_RE.search(text)
    assert match, text
    return match.group(1)


async def _bind(bot, user_id: int, code: str):
    notice = await bot.send(user_id, f"/start {code}")
    assert "Protection de vos données" in notice.text
    return await bot.press(user_id, "J'accepte")


async def test_staff_invites_a_tutor_and_enrols_an_auditeur_who_both_bind(bot, emulator):
    emulator.add_user(STAFF_ID, "Claire", "Martin")
    emulator.add_user(NEW_TUTOR, "Paul", "Durand")
    emulator.add_user(NEW_AUDITEUR, "Nina", "Petit")
    bot.services.clock = lambda: datetime(2026, 10, 19, 9, 0, tzinfo=UTC)  # the semesters offered depend on it

    await bot.send(STAFF_ID, "/inviter")
    issued = await bot.send(STAFF_ID, "Paul Durand, paul.durand@exemple.fr")
    assert "Invitation créée pour <b>Paul Durand</b>, tuteur" in issued.last.text
    tutor_code = _code(issued.text)

    await bot.send(STAFF_ID, "/inscrire")
    await bot.send(STAFF_ID, "Nina Petit")
    await bot.send(STAFF_ID, "Titre professionnel Formateur d'adultes")
    await bot.send(STAFF_ID, "3")
    tutors = await bot.press(STAFF_ID, "Oui, justifiée")
    assert tutors.last.button_labels == ["Paul Durand"]
    await bot.press(STAFF_ID, "Paul Durand")
    semesters = await bot.press(STAFF_ID, "Rapport d'activité UA")
    assert semesters.last.button_labels == ["1er semestre 2026-2027", "2e semestre 2026-2027", "1er semestre 2027-2028"]
    await bot.press(STAFF_ID, index=0)
    done = await bot.press(STAFF_ID, "Confirmer l’inscription")
    assert "Inscription enregistrée pour <b>Nina Petit</b>" in done.last.text
    auditeur_code = _code(done.text)

    welcome = await _bind(bot, NEW_TUTOR, tutor_code)
    assert "Bienvenue, Paul Durand" in welcome.text

    joined = await _bind(bot, NEW_AUDITEUR, auditeur_code)
    assert "Étape 1 de votre accompagnement" in joined.text
    assert "Votre tuteur est Paul Durand (paul.durand@exemple.fr)" in joined.text
    assert "premier rendez-vous de 30 minutes" in joined.text
    tutor_note = joined.to(NEW_TUTOR)
    assert tutor_note and "Nina Petit a rejoint l'accompagnement" in tutor_note[0].plain_text

    with bot.db.read() as session:
        nina = session.scalar(sa.select(Person).where(Person.telegram_user_id == NEW_AUDITEUR))
        assert nina.display_name == "Nina Petit" and nina.role == "auditeur"
        enrolment = session.scalar(sa.select(Enrolment).where(Enrolment.auditeur_id == nina.id))
        assert enrolment.report_type == "ua" and enrolment.tutor.display_name == "Paul Durand"
        assert enrolment.certification == "Titre professionnel Formateur d'adultes"
        assert session.scalar(sa.select(sa.func.count()).select_from(Consent).where(Consent.person_id == nina.id)) == 1
        invitations = session.scalars(sa.select(Invitation)).all()
        assert all(i.used_at is not None for i in invitations)
        assert all(len(i.code_hash) == 64 and i.code_hash != auditeur_code for i in invitations)

    scoped = emulator.commands_for({"type": "chat", "chat_id": NEW_AUDITEUR})
    assert [c["command"] for c in scoped][:1] == ["menu"] and "inscrire" not in [c["command"] for c in scoped]


async def test_unknown_user_gets_an_explanation_and_nothing_is_stored(bot, emulator):
    emulator.add_user(STRANGER, "Inconnu")
    for text in ("/start", "/menu", "bonjour", "/inscrire"):
        reply = await bot.send(STRANGER, text)
        assert "code d'invitation" in reply.text and "Cnam Pays de la Loire" in reply.text, text
        assert "handi@cnam-paysdelaloire.fr" in reply.text
    with bot.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0


async def test_reused_and_expired_codes_are_refused_clearly(bot, emulator, cast):
    emulator.add_user(STRANGER, "Inconnu")
    emulator.add_user(OTHER, "Autre")
    onboarding = bot.services.onboarding
    tutor_id = cast.tutor.person.id
    first = await asyncio.to_thread(
        onboarding.enrol_auditeur, COMMAND_LINE, name="Ana Lopez", tutor=tutor_id, report_type="stage",
        semester="2026-S2", certification="Certificat de compétence",
    )
    await _bind(bot, STRANGER, first.code)
    reused = await bot.send(OTHER, f"/start {first.code}")
    assert "déjà été utilisé" in reused.text

    second = await asyncio.to_thread(
        onboarding.enrol_auditeur, COMMAND_LINE, name="Bo Chen", tutor=tutor_id, report_type="ua",
        semester="2026-S2", certification="Certificat de compétence",
    )
    with bot.db.transaction() as session:
        session.execute(sa.update(Invitation).where(Invitation.person_id == second.person.id).values(expires_at=utcnow() - timedelta(minutes=1)))
    expired = await bot.send(OTHER, f"/start {second.code}")
    assert "a expiré" in expired.text
    with bot.db.read() as session:
        assert session.get(Person, second.person.id).telegram_user_id is None


async def test_wrong_codes_are_slowed_down(bot, emulator):
    emulator.add_user(STRANGER, "Inconnu")
    for attempt in range(4):
        reply = await bot.send(STRANGER, f"/start ABCDEFGHJK{attempt}2")
        assert "n'est pas reconnu" in reply.text
    locked = await bot.send(STRANGER, "/start ABCDEFGHJKMN")
    assert "Trop de codes incorrects" in locked.text
    still = await bot.send(STRANGER, "/start ABCDEFGHJKMP")
    assert "Trop de codes incorrects" in still.text and "15 minutes" in still.text


async def test_tutor_cannot_use_staff_commands_even_with_forged_buttons(bot, cast):
    refused = await bot.send(TUTOR_ID, "/inscrire")
    assert "n'est pas disponible pour votre profil" in refused.text
    forged = await bot.press_data(TUTOR_ID, "enrol:semester:2026-S1")
    assert "n'est pas disponible pour votre profil" in forged.text
    auditeur = await bot.send(AUDITEUR_ID, "/equipe")
    assert "n'est pas disponible" in auditeur.text
    with bot.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 1


async def test_html_in_a_name_is_escaped_everywhere(bot, emulator, cast):
    await bot.send(STAFF_ID, "/inscrire")
    evil = "<script>alert('x')</script> & <b>Léa</b>"
    step = await bot.send(STAFF_ID, evil)
    # The emulator rejects invalid HTML like Telegram: the name shows literally, so it was escaped.
    assert f"Inscrire {evil}" in step.text
    await bot.send(STAFF_ID, "Licence <i>pro</i>")
    await bot.send(STAFF_ID, "2")
    await bot.press(STAFF_ID, "En cours d’acquisition")
    await bot.press(STAFF_ID, "Marc Dubois")
    await bot.press(STAFF_ID, "Rapport de stage")
    summary = await bot.press(STAFF_ID, index=0)
    assert f"Auditeur : {evil}" in summary.text and "Certification : « Licence <i>pro</i> »" in summary.text
    done = await bot.press(STAFF_ID, "Confirmer l’inscription")
    assert f"Inscription enregistrée pour {evil}" in done.text
    team = await bot.send(STAFF_ID, "/equipe")
    assert evil in team.text


async def test_a_message_over_4096_characters_is_handled(bot, emulator, cast):
    long_text = ("Je coordonne des formations pour adultes. " * 120)[:4200]
    assert len(long_text) > 4096
    reply = await bot.send(AUDITEUR_ID, long_text)
    assert "Je n'ai pas compris" in reply.text
    await bot.send(STAFF_ID, "/inscrire")
    too_long = await bot.send(STAFF_ID, long_text)
    assert "trop long" in too_long.text
    assert all("problème technique" not in m.plain_text for m in emulator.chat(STAFF_ID) + emulator.chat(AUDITEUR_ID))


async def test_consent_survives_a_restart_and_refusal_stores_nothing(bot, emulator, cast):
    emulator.add_user(STRANGER, "Inconnu")
    emulator.add_user(OTHER, "Autre")
    issued = await asyncio.to_thread(
        bot.services.onboarding.enrol_auditeur, COMMAND_LINE, name="Eva Roux", tutor=cast.tutor.person.id,
        report_type="ua", semester="2026-S1", certification="Licence",
    )
    notice = await bot.send(STRANGER, f"/start {issued.code}")
    await bot.restart()
    bound = await bot.press(STRANGER, "J'accepte", message=notice.last)
    assert "Bienvenue, Eva Roux" in bound.text

    other = await asyncio.to_thread(
        bot.services.onboarding.invite_tutor, COMMAND_LINE, "Tom Blanc"
    )
    await bot.send(OTHER, f"/start {other.code}")
    refused = await bot.press(OTHER, "Je refuse")
    assert "rien n'a été enregistré" in refused.text
    with bot.db.read() as session:
        assert session.get(Person, other.person.id).telegram_user_id is None


async def test_a_person_who_blocks_the_bot_gets_nothing_until_they_return(bot, emulator, cast):
    await bot.block(TUTOR_ID)
    with bot.db.read() as session:
        assert session.get(Person, cast.tutor.person.id).blocked_bot_at is not None
    emulator.add_user(STRANGER, "Inconnu")
    issued = await asyncio.to_thread(
        bot.services.onboarding.enrol_auditeur, COMMAND_LINE, name="Zoé Marin", tutor=cast.tutor.person.id,
        report_type="ua", semester="2026-S1", certification="Licence",
    )
    joined = await _bind(bot, STRANGER, issued.code)
    assert "Étape 1" in joined.text
    assert joined.to(TUTOR_ID) == []
    await bot.block(TUTOR_ID, blocked=False)
    with bot.db.read() as session:
        assert session.get(Person, cast.tutor.person.id).blocked_bot_at is None


async def test_forged_consent_button_is_refused(bot, emulator, cast):
    emulator.add_user(STRANGER, "Inconnu")
    reply = await bot.press_data(STRANGER, "consent:yes:1")
    assert "n'est plus valable" in reply.text
    reply = await bot.press_data(STRANGER, "x" * 10)
    assert "n'est plus valable" in reply.text
    with bot.db.read() as session:
        assert session.scalar(sa.select(Person).where(Person.telegram_user_id == STRANGER)) is None
