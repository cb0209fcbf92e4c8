"""Personal data end to end: /mesdonnees exports everything (every kind present), /supprimer erases it
after a confirmation; afterwards no personal text of the person is left in the database, the others'
views still work, reminders to them are cancelled and the audit trail records the erasure. The same
for a tutor, once their auditeurs are handed over."""

from __future__ import annotations

import asyncio
import io
import json
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from docx import Document

from bot.domain.calendar import PARIS
from bot.domain.permissions import COMMAND_LINE
from bot.services.booking import REMINDER_KIND
from bot.services.personal_data import HandOverFirst
from bot.storage.models import AuditEvent, Base, Meeting, OutboxMessage, Person
from bot.storage.models.outbox import OPEN_STATES
from tests import pdf_factory as factory
from tests.e2e.conftest import AUDITEUR_ID, STAFF_ID, TUTOR_ID, confirm_booking

NOW = datetime(2026, 10, 19, 11, 0, tzinfo=PARIS).astimezone(UTC)
ANSWER = "J'ai piloté le projet Cormoran avec douze formateurs."
FILE_NAME = "rapport-Cormoran-v1.pdf"
STAFF_NOTE = "Auditrice très impliquée, à relancer en mars (note du Cnam)."


def _dump(bot) -> str:
    """Every value of every row of every table, as one text."""
    lines = []
    with bot.db.read() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(sa.select(table)).all():
                lines.append(f"{table.name}: {json.dumps([str(v) for v in row], ensure_ascii=False)}")
    return "\n".join(lines)


def _telegram_id_in(dump: str, telegram_id: int) -> list[str]:
    """Lines holding the id as a number of its own (not the digits inside a timestamp's microseconds)."""
    pattern = re.compile(rf"(?<!\d){telegram_id}(?!\d)")
    return [line for line in dump.splitlines() if pattern.search(line)][:5]


async def _lea_with_everything(bot, cast):
    bot.services.clock = lambda: NOW
    await bot.send(AUDITEUR_ID, "/rapport")
    await bot.press(AUDITEUR_ID, "Mission et rôle tenu")
    await bot.send(AUDITEUR_ID, ANSWER)
    await bot.press(AUDITEUR_ID, "Terminer la section")
    await bot.send(AUDITEUR_ID, "/experience")
    await bot.press(AUDITEUR_ID, index=0)
    await bot.send_document(AUDITEUR_ID, factory.good_draft("ua"), FILE_NAME)
    page = await bot.send(AUDITEUR_ID, "/rdv")
    await bot.press(AUDITEUR_ID, message=page.last, index=0)
    booked = await confirm_booking(bot, AUDITEUR_ID)
    assert "Rendez-vous confirmé" in booked.text
    with bot.db.transaction() as session:  # what staff wrote about her
        session.add(AuditEvent(actor_id=cast.staff.person.id, subject_id=cast.auditeur.person.id, action="staff.note", note=STAFF_NOTE))


async def test_an_auditeur_exports_then_erases_her_data(bot, emulator, cast):
    await _lea_with_everything(bot, cast)
    lea = cast.auditeur.person

    exported = await bot.send(AUDITEUR_ID, "/mesdonnees")
    assert "Vos données personnelles" in exported.text
    docx_message, json_message = exported.documents
    assert docx_message.document.file_name.endswith(".docx") and json_message.document.file_name.endswith(".json")
    data = json.loads(json_message.document.content)
    for kind in ("consents", "invitations", "enrolments", "coaching", "coaching_feedback", "drafts", "meetings",
                 "messages", "audit_events"):
        assert data[kind], kind
    assert data["experience_check"]["answers"]
    assert data["person"]["display_name"] == "Léa Bernard" and data["person"]["telegram_user_id"] == AUDITEUR_ID
    assert ANSWER in json.dumps(data, ensure_ascii=False)
    assert data["drafts"][0]["file_name"] == FILE_NAME
    assert any(a["note"] == STAFF_NOTE for a in data["audit_events"])  # what others wrote about her
    readable = "\n".join(p.text for p in Document(io.BytesIO(docx_message.document.content)).paragraphs)
    for expected in ("Léa Bernard", ANSWER, FILE_NAME, STAFF_NOTE, "Marc Dubois", "mardi 20 octobre 2026", "/supprimer",
                     "Auto-diagnostic d'expérience", "Messages et rappels"):
        assert expected in readable, expected

    confirm = await bot.send(AUDITEUR_ID, "/supprimer")
    assert "efface définitivement" in confirm.text and "doit garder" in confirm.text
    assert "Rendez-vous à venir annulés : 1" in confirm.text
    kept = await bot.press(AUDITEUR_ID, "Non, garder mes données")
    assert "Rien n'a été effacé" in kept.text
    await bot.send(AUDITEUR_ID, "/supprimer")
    erased = await bot.press(AUDITEUR_ID, "Oui, tout effacer")
    assert "Vos données personnelles sont effacées" in erased.text
    to_tutor = erased.to(TUTOR_ID)
    assert to_tutor and "a demandé l'effacement" in to_tutor[0].plain_text
    assert "Léa" not in to_tutor[0].plain_text and "Licence professionnelle" in to_tutor[0].plain_text

    dump = _dump(bot)
    for secret in ("Léa", "Bernard", "lea_auditrice", "Cormoran", STAFF_NOTE):
        assert secret not in dump, [line for line in dump.splitlines() if secret in line][:5]
    assert not _telegram_id_in(dump, AUDITEUR_ID)
    with bot.db.read() as session:
        record = session.get(Person, lea.id)
        assert record.display_name == f"#{lea.id}" and record.erased_at is not None and record.telegram_user_id is None
        assert session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "person.erased", AuditEvent.subject_id == lea.id))
        meeting = session.scalar(sa.select(Meeting))
        assert meeting.status == "cancelled" and meeting.video_link == ""
        reminders = session.execute(
            sa.select(OutboxMessage.recipient_id, OutboxMessage.state).where(OutboxMessage.kind == REMINDER_KIND)
        ).all()
        assert reminders and {state for _, state in reminders} == {"cancelled"}  # hers and her tutor's
        to_her = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient_id == lea.id)).all()
        assert to_her and all(m.state not in OPEN_STATES and m.params == {} and m.chat_id is None for m in to_her)

    assert not emulator.commands_for({"type": "chat", "chat_id": AUDITEUR_ID})  # back to the public list
    assert "code d'invitation" in (await bot.send(AUDITEUR_ID, "/menu")).text  # no longer known
    assert "Marc Dubois" in (await bot.send(STAFF_ID, "/equipe")).text
    assert "un problème technique" not in (await bot.send(TUTOR_ID, "/mesrdv")).text
    assert "un problème technique" not in (await bot.send(TUTOR_ID, "/brouillons")).text
    assert "un problème technique" not in (await bot.send(STAFF_ID, "/brouillons")).text


NEW_TUTOR = 2801


async def test_a_tutor_hands_over_then_erases_his_data(bot, emulator, cast):
    bot.services.clock = lambda: NOW
    marc, lea = cast.tutor.person, cast.auditeur.person
    page = await bot.send(AUDITEUR_ID, "/rdv")
    await bot.press(AUDITEUR_ID, message=page.last, index=0)
    await confirm_booking(bot, AUDITEUR_ID)
    await bot.send_document(AUDITEUR_ID, factory.good_draft("ua"), "brouillon.pdf")

    blocked = await bot.send(TUTOR_ID, "/supprimer")
    assert "il faut transmettre" in blocked.text
    assert "vous accompagnez encore 1 auditeur" in blocked.text and "1 rendez-vous à venir" in blocked.text

    exported = await bot.send(TUTOR_ID, "/mesdonnees")
    data = json.loads(exported.documents[1].document.content)
    assert data["availability"] and data["tutor_settings"] and data["meetings"][0]["as"] == "tutor"
    assert data["enrolments"][0]["auditeur"] == "Léa Bernard"

    def other_tutor():
        emulator.add_user(NEW_TUTOR, "Nina", "Petit")
        invite = bot.services.onboarding.invite_tutor(COMMAND_LINE, "Nina Petit")
        return bot.services.onboarding.redeem(
            NEW_TUTOR, bot.services.onboarding.check_code(NEW_TUTOR, invite.code).invitation_id, notice_version="t"
        ).person

    nina = await asyncio.to_thread(other_tutor)
    with pytest.raises(HandOverFirst) as refused:  # future meetings are cancelled first
        bot.services.personal_data.hand_over(COMMAND_LINE, marc.id, nina.id)
    assert refused.value.work.future_meetings == 1
    await bot.send(TUTOR_ID, "/mesrdv")
    await bot.press(TUTOR_ID, index=0)
    await bot.press(TUTOR_ID, "Oui, annuler")
    done = bot.services.personal_data.hand_over(COMMAND_LINE, marc.id, nina.id)
    assert done.auditeurs == 1

    confirm = await bot.send(TUTOR_ID, "/supprimer")
    assert "efface définitivement" in confirm.text
    erased = await bot.press(TUTOR_ID, "Oui, tout effacer")
    assert "Vos données personnelles sont effacées" in erased.text

    dump = _dump(bot)
    for secret in ("Marc", "Dubois", "marc_tuteur", "marc.dubois@exemple.fr", "coachbot-demo-marc"):
        assert secret not in dump, [line for line in dump.splitlines() if secret in line][:5]
    with bot.db.read() as session:
        assert session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "person.erased", AuditEvent.subject_id == marc.id))
        assert session.get(Person, marc.id).display_name == f"#{marc.id}"

    # Léa carries on with Nina; her history (the cancelled meeting with #id) still shows
    assert "Nina Petit" in (await bot.send(AUDITEUR_ID, "/aide")).text
    assert "un problème technique" not in (await bot.send(AUDITEUR_ID, "/mesrdv")).text
    assert "un problème technique" not in (await bot.send(AUDITEUR_ID, "/brouillons")).text
    team = await bot.send(STAFF_ID, "/equipe")
    assert "Nina Petit" in team.text and "Léa Bernard" in team.text and "Marc Dubois" not in team.text
    assert "un problème technique" not in (await bot.send(NEW_TUTOR, "/brouillons")).text


async def test_the_notice_says_what_is_kept_how_long_and_how_to_get_or_erase_it(bot, emulator):
    from bot.handlers.personal_data import RETENTION_JOB

    assert bot.application.job_queue.get_jobs_by_name(RETENTION_JOB)  # the daily purge is scheduled
    emulator.add_user(4101, "Ana", "Lopez")

    def enrol():
        tutor = bot.services.onboarding.invite_tutor(COMMAND_LINE, "Paul Durand").person
        return bot.services.onboarding.enrol_auditeur(
            COMMAND_LINE, name="Ana Lopez", tutor=tutor.id, report_type="ua", semester="2026-S1", certification="Licence"
        ).code

    code = await asyncio.to_thread(enrol)
    notice = await bot.send(4101, f"/start {code}")
    text = notice.text
    for promise in ("vos réponses et notes dans le coach", "les brouillons que vous envoyez", "votre tuteur",
                    "le dépôt que vous préparez (la version choisie, vos annexes et leurs titres)",
                    "ce que vous voulez y aborder", "les corrections et l'avis de votre tuteur",
                    "puis 12 mois après sa fin", "effacées automatiquement", "/mesdonnees", "/supprimer",
                    "votre conseiller habituel du Cnam Pays de la Loire"):
        assert promise in text, promise
    await bot.press(4101, "J'accepte")
    with bot.db.read() as session:
        from bot.storage.models import Consent

        assert session.scalar(sa.select(Consent.notice_version)) == "2026-12-2"


CORRECTION = "Le rôle propre manque dans la partie Cormoran."
REASONS = "Les actes professionnels du projet Cormoran ne sont pas décrits."
CONTACT = "Appel du 15/01 au sujet de Cormoran"
AGREED = "Nouvelle version Cormoran pour juin."


async def test_an_auditeur_with_a_correction_an_opinion_and_a_follow_up_exports_then_erases(bot, cast):
    """The accompaniment's records (what the tutor and staff wrote about her) are in the export and
    lose their free text at the erasure; the verdict and the dates stay, the others' views still work."""
    from tests.e2e.test_accompaniment import to_not_validated

    lea = cast.auditeur.person
    given = await to_not_validated(bot, cast, factory.flawed_draft("ua"), file_name=FILE_NAME,
                                   correction=CORRECTION, reasons=REASONS)
    assert "Le Cnam est prévenu" in given.text
    await bot.send(STAFF_ID, "/suivi")
    await bot.press(STAFF_ID, "📝 Léa Bernard : enregistrer le contact")
    await bot.press(STAFF_ID, "Clore et relancer le parcours")
    closed = await bot.send(STAFF_ID, f"{CONTACT}\n{AGREED}")
    assert "le dossier quitte la liste de suivi" in closed.text

    exported = await bot.send(AUDITEUR_ID, "/mesdonnees")
    docx_message, json_message = exported.documents
    data = json.loads(json_message.document.content)
    for kind in ("accompaniments", "accompaniment_events", "planning_dates", "report_submissions", "opinions",
                 "follow_up_cases"):
        assert data[kind], kind
    assert data["opinions"][0]["verdict"] == "non validé" and data["opinions"][0]["reasons"] == REASONS
    assert data["opinions"][0]["tutor"] == "Marc Dubois"
    assert any(s["correction_summary"] == CORRECTION for s in data["report_submissions"])
    assert data["follow_up_cases"][0]["contact_note"] == CONTACT and data["follow_up_cases"][0]["agreed"] == AGREED
    readable = "\n".join(p.text for p in Document(io.BytesIO(docx_message.document.content)).paragraphs)
    for expected in (CORRECTION, REASONS, CONTACT, AGREED):
        assert expected in readable, expected

    await bot.send(AUDITEUR_ID, "/supprimer")
    erased = await bot.press(AUDITEUR_ID, "Oui, tout effacer")
    assert "Vos données personnelles sont effacées" in erased.text

    dump = _dump(bot)
    for secret in ("Léa", "Bernard", "Cormoran"):
        assert secret not in dump, [line for line in dump.splitlines() if secret in line][:5]
    assert not _telegram_id_in(dump, AUDITEUR_ID)
    with bot.db.read() as session:
        opinion = session.execute(sa.text("SELECT verdict, reasons, pdf, given_at FROM opinions")).one()
        assert opinion.verdict == "non validé" and opinion.given_at is not None  # that an opinion was given stays
        assert opinion.reasons == "" and not opinion.pdf  # the reasons and the grid PDF (it names her) go
        case = session.execute(sa.text("SELECT reason, closed_at, contact_note, agreed FROM follow_up_cases")).one()
        assert case.closed_at is not None and case.contact_note is None and case.agreed is None
        open_to_her = session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.recipient_id == lea.id, OutboxMessage.state.in_(OPEN_STATES)))
        assert open_to_her == 0
        assert session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "person.erased", AuditEvent.subject_id == lea.id))
    for chat, command in ((TUTOR_ID, "/suivi"), (STAFF_ID, "/suivi"), (TUTOR_ID, "/mesrdv")):
        view = await bot.send(chat, command)
        assert "un problème technique" not in view.text and "Léa" not in view.text, command
