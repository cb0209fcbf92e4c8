"""Staff tools end to end: the enrolment's prerequisites and summary, likely duplicates, the invitation
as a button, the inviter told who bound, and /equipe (new code, revoke, detach a Telegram account)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import sqlalchemy as sa

from bot.domain.permissions import COMMAND_LINE
from bot.storage.models import AuditEvent, ConversationState, Enrolment, Invitation, Person
from tests.e2e.conftest import AUDITEUR_ID, STAFF_ID, TUTOR_ID

NEW_AUDITEUR, INTRUDER = 3301, 9301
CODE_RE = re.compile(r"start=([A-Z0-9]{12})")


def _count(bot, model, *where) -> int:
    with bot.db.read() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


async def _enrol_until_summary(bot, name_line: str):
    await bot.send(STAFF_ID, "/inscrire")
    await bot.send(STAFF_ID, name_line)
    await bot.send(STAFF_ID, "Titre professionnel Formateur d'adultes")
    await bot.send(STAFF_ID, "3")
    await bot.press(STAFF_ID, "En cours d’acquisition")
    await bot.press(STAFF_ID, "Marc Dubois")
    await bot.press(STAFF_ID, "Rapport d'activité UA")
    return await bot.press(STAFF_ID, index=0)


async def test_enrolment_checks_prerequisites_and_asks_to_confirm_a_summary(bot, cast):
    bot.services.clock = lambda: datetime(2026, 10, 19, 9, 0, tzinfo=UTC)
    await bot.send(STAFF_ID, "/inscrire")
    await bot.send(STAFF_ID, "Nina Petit, nina.petit@exemple.fr")
    asked = await bot.send(STAFF_ID, "Titre professionnel Formateur d'adultes")
    assert "(étape 3 sur 7)" in asked.text and "au moins 2 unités d’enseignement" in asked.text
    not_a_number = await bot.send(STAFF_ID, "deux")
    assert "en chiffres" in not_a_number.text
    too_few = await bot.send(STAFF_ID, "1")
    assert "⛔ L’accompagnement est ouvert aux auditeurs qui ont validé au moins 2 unités" in too_few.text
    assert "1 pour l’instant" in too_few.text and "je ne peux pas inscrire Nina Petit" in too_few.text
    experience = await bot.send(STAFF_ID, "2")  # a mistake corrected: the same step again
    assert experience.last.button_labels == ["Oui, justifiée", "En cours d’acquisition", "Non"]
    refused = await bot.press(STAFF_ID, "Non")
    assert "justifient de l’expérience professionnelle minimum" in refused.text
    await bot.press(STAFF_ID, "En cours d’acquisition")
    await bot.press(STAFF_ID, "Marc Dubois")
    await bot.press(STAFF_ID, "Rapport d'activité UA")
    summary = await bot.press(STAFF_ID, index=0)
    text = summary.text
    assert "Vérifiez l’inscription avant de la créer" in text and "Auditeur : Nina Petit (nina.petit@exemple.fr)" in text
    assert "Prérequis : 2 unités d’enseignement validées ; expérience professionnelle minimum en cours d’acquisition" in text
    assert "Tuteur : Marc Dubois" in text and "Semestre : 1er semestre 2026-2027" in text
    assert "Doublon possible" not in text
    assert summary.last.button_labels == ["✅ Confirmer l’inscription", "Annuler"]
    assert _count(bot, Person, Person.display_name == "Nina Petit") == 0  # nothing before the confirmation

    done = await bot.press(STAFF_ID, "Confirmer l’inscription")
    assert "Inscription enregistrée pour <b>Nina Petit</b>" in done.last.text
    assert "Prérequis : 2 unités d’enseignement validées ; expérience professionnelle minimum en cours d’acquisition" in done.text
    with bot.db.read() as session:
        enrolment = session.scalar(sa.select(Enrolment).join(Enrolment.auditeur).where(Person.display_name == "Nina Petit"))
        assert (enrolment.units_validated, enrolment.experience) == (2, "in_progress")
    # the link also comes as a button: Telegram's share picker with a ready message holding the deep link
    button = done.last.buttons[0]
    assert button["text"] == "📨 Transférer l’invitation"
    shared = urlparse(button["url"])
    assert shared.netloc == "t.me" and shared.path == "/share/url"
    query = parse_qs(shared.query)
    code = CODE_RE.search(done.text).group(1)
    assert query["url"] == [f"https://t.me/{bot.emulator.bot.username}?start={code}"]
    assert "Bonjour Nina Petit" in query["text"][0] and f"start={code}" in query["text"][0]


async def test_a_summary_can_be_abandoned_and_a_stale_confirmation_creates_nothing(bot, cast):
    await _enrol_until_summary(bot, "Zoé Faure")
    abandoned = await bot.press(STAFF_ID, "Annuler")
    assert "Inscription abandonnée : rien n’a été créé" in abandoned.text
    stale = await bot.press_data(STAFF_ID, "enrol:confirm")
    assert "n'est plus valable" in stale.text
    assert _count(bot, Person, Person.display_name == "Zoé Faure") == 0


async def test_likely_duplicates_are_shown_before_inviting_or_enrolling(bot, cast):
    await bot.send(STAFF_ID, "/inviter")
    warned = await bot.send(STAFF_ID, "marc DUBOÍS")  # the same name, accents and case aside
    assert "Doublon possible" in warned.text and "Marc Dubois (marc.dubois@exemple.fr), tuteur — même nom" in warned.text
    assert _count(bot, Person, Person.role == "tutor") == 1
    dropped = await bot.press(STAFF_ID, "Annuler")
    assert "Invitation abandonnée" in dropped.text and _count(bot, Person, Person.role == "tutor") == 1

    await bot.send(STAFF_ID, "/inviter")
    await bot.send(STAFF_ID, "Marc Dubois-Leroy, MARC.DUBOIS@exemple.fr")
    invited = await bot.press(STAFF_ID, "Inviter quand même")
    assert "Invitation créée pour Marc Dubois-Leroy, tuteur" in invited.text
    assert _count(bot, Person, Person.role == "tutor") == 2

    await bot.send(STAFF_ID, "/inviter")
    unique = await bot.send(STAFF_ID, "Hugo Roux")  # no look-alike: no question
    assert "Invitation créée pour Hugo Roux, tuteur" in unique.text

    summary = await _enrol_until_summary(bot, "Lea Bernard")
    assert "Doublon possible" in summary.text and "Léa Bernard, auditeur — même nom" in summary.text


async def test_the_inviter_is_told_who_bound_with_the_link(bot, emulator, cast):
    emulator.add_user(INTRUDER, "Kévin", "Malin", "kevin_m")
    await _enrol_until_summary(bot, "Nina Petit")
    done = await bot.press(STAFF_ID, "Confirmer l’inscription")
    code = CODE_RE.search(done.text).group(1)
    await bot.send(INTRUDER, f"/start {code}")
    await bot.press(INTRUDER, "J'accepte")
    await bot.drain()
    told = [m.plain_text for m in emulator.chat(STAFF_ID) if "a rejoint le bot avec le lien" in m.plain_text]
    assert len(told) == 1
    assert "Nina Petit a rejoint le bot avec le lien d’invitation que vous avez créé" in told[0]
    assert "Compte Telegram : Kévin Malin (@kevin_m)" in told[0] and "/equipe" in told[0]


async def test_the_notice_naming_who_bound_is_emptied_when_that_person_is_erased(bot, emulator, cast):
    """The Telegram name in the inviter's notice is personal data of whoever bound, even when it is
    neither their profile name nor a username: their erasure empties that notice too."""
    from bot.storage.models import OutboxMessage

    emulator.add_user(INTRUDER, "Kévin", "Malinowski")  # no username
    await _enrol_until_summary(bot, "Nina Petit")
    done = await bot.press(STAFF_ID, "Confirmer l’inscription")
    await bot.send(INTRUDER, f"/start {CODE_RE.search(done.text).group(1)}")
    await bot.press(INTRUDER, "J'accepte")
    await bot.drain()
    assert any("Kévin Malinowski" in m.plain_text for m in emulator.chat(STAFF_ID))
    await bot.send(INTRUDER, "/supprimer")
    erased = await bot.press(INTRUDER, "Oui, tout effacer")
    assert "Vos données personnelles sont effacées" in erased.text
    with bot.db.read() as session:
        notice = session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "invitation.bound.inviter"))
        assert notice is not None and notice.params == {} and notice.state == "sent"  # the history stays
        contents = [str(row.params) + str(row.text) for row in session.scalars(sa.select(OutboxMessage))]
    assert not [c for c in contents if "Malinowski" in c]


async def test_equipe_revokes_reissues_and_detaches_a_wrongly_bound_account(bot, emulator, cast):
    emulator.add_user(INTRUDER, "Kévin", "Malin", "kevin_m")
    emulator.add_user(NEW_AUDITEUR, "Nina", "Petit")
    issued = await asyncio.to_thread(  # enrolled elsewhere (the flow is tested above): only /equipe here
        bot.services.onboarding.enrol_auditeur, COMMAND_LINE, name="Nina Petit", tutor=cast.tutor.person.id,
        report_type="ua", semester="2026-S1", certification="Titre professionnel", units_validated=3,
        experience="in_progress",
    )
    first = issued.code
    team = await bot.send(STAFF_ID, "/equipe")
    assert re.search(r"– Nina Petit, UA, 1er semestre 2026-2027 — code envoyé, valable jusqu’au", team.text)
    assert "Léa Bernard, UA, 1er semestre 2026-2027 — a rejoint le bot ; 1 · premier RDV à prendre" in team.text
    assert "Nina Petit" in team.last.button_labels

    card = await bot.press(STAFF_ID, "Nina Petit")
    assert "Prérequis : 3 unités d’enseignement validées" in card.text
    assert card.last.button_labels == ["🔁 Envoyer un nouveau code", "⛔ Révoquer le code", "⬅️ Retour à l’équipe"]
    revoked = await bot.press(STAFF_ID, "Révoquer le code")
    assert "Code révoqué" in revoked.text and "code expiré ou révoqué" in revoked.text
    assert "Révoquer le code" not in revoked.last.button_labels
    dead = await bot.send(INTRUDER, f"/start {first}")
    assert "a expiré" in dead.text

    reissued = await bot.press(STAFF_ID, "Envoyer un nouveau code")
    second = CODE_RE.search(reissued.text).group(1)
    assert second != first and reissued.last.button_labels == ["📨 Transférer l’invitation"]
    assert "Nouveau code d’invitation pour Nina Petit" in reissued.text
    await bot.send(INTRUDER, f"/start {second}")  # the wrong person opens the link first
    await bot.press(INTRUDER, "J'accepte")
    await bot.drain()
    assert "Mes échéances" in str((await bot.send(INTRUDER, "/menu")).last.button_labels)

    await bot.send(STAFF_ID, "/equipe")
    card = await bot.press(STAFF_ID, "Nina Petit")
    assert "a rejoint le bot (@kevin_m)" in card.text
    asked = await bot.press(STAFF_ID, "Détacher le compte Telegram")
    assert "Détacher le compte Telegram @kevin_m du profil de Nina Petit ?" in asked.text
    assert _count(bot, Person, Person.telegram_user_id == INTRUDER) == 1  # nothing before the confirmation
    detached = await bot.press(STAFF_ID, "Oui, détacher ce compte")
    assert "Compte Telegram détaché" in detached.text
    assert _count(bot, Person, Person.telegram_user_id == INTRUDER) == 0
    assert _count(bot, ConversationState, ConversationState.telegram_user_id == INTRUDER) == 0
    assert _count(bot, AuditEvent, AuditEvent.action == "telegram.unbound") == 1
    locked_out = await bot.send(INTRUDER, "/echeances")
    assert "code d'invitation" in locked_out.text  # an unknown account again, at once

    third = CODE_RE.search((await bot.press(STAFF_ID, "Envoyer un nouveau code")).text).group(1)
    await bot.send(NEW_AUDITEUR, f"/start {third}")
    welcome = await bot.press(NEW_AUDITEUR, "J'accepte")
    assert "Étape 1 de votre accompagnement" in welcome.text
    assert _count(bot, Invitation, Invitation.used_at.is_(None), Invitation.expires_at > datetime.now(UTC)) == 0


async def test_team_buttons_are_refused_to_others_and_checked_in_the_service(bot, cast):
    lea = cast.auditeur.person.id
    for user in (TUTOR_ID, AUDITEUR_ID):
        refused = await bot.press_data(user, f"team:unbindok:{lea}")
        assert "n'est pas disponible pour votre profil" in refused.text
    assert _count(bot, Person, Person.telegram_user_id == AUDITEUR_ID) == 1
    staff_id = cast.staff.person.id
    forged = await bot.press_data(STAFF_ID, f"team:unbindok:{staff_id}")  # staff accounts are not detachable
    assert "Personne introuvable" in forged.text
    assert _count(bot, Person, Person.telegram_user_id == STAFF_ID) == 1
