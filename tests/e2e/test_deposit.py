"""/depot end to end: the auditeur chooses the version (warned when it is over the limit or has parts
missing), the deposit in progress survives other commands, annexes are renamed, moved and removed."""

from __future__ import annotations

import asyncio
import io

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from bot.domain.permissions import COMMAND_LINE
from bot.storage.models import DepositInProgress, DraftVersion
from tests import pdf_factory as factory
from tests.e2e.conftest import AUDITEUR_ID

OTHER_AUDITEUR = 3401


@pytest.fixture(scope="module")
def pdfs() -> dict[str, bytes]:
    return {
        "good": factory.good_draft("ua"),
        "flawed": factory.flawed_draft("ua"),
        "a1": factory.annex_pdf(factory.ANNEX_TITLES[0], pages=1),
        "a2": factory.annex_pdf(factory.ANNEX_TITLES[1], pages=2, seed=12),
        "a3": factory.annex_pdf(factory.ANNEX_TITLES[0], pages=3, seed=13),
    }


def _stored(bot) -> DepositInProgress | None:
    with bot.db.read() as session:
        return session.scalar(sa.select(DepositInProgress))


async def test_the_auditeur_chooses_the_version_and_is_warned_about_limit_and_missing_parts(bot, cast, pdfs):
    await bot.send_document(AUDITEUR_ID, pdfs["good"], "v1.pdf")
    await bot.send_document(AUDITEUR_ID, pdfs["flawed"], "v2-trop-long.pdf")
    offer = await bot.send(AUDITEUR_ID, "/depot")
    text = offer.text
    assert "Quelle version de votre rapport voulez-vous déposer ?" in text
    assert text.index("Version 2 (« v2-trop-long.pdf »") < text.index("Version 1 (« v1.pdf »")  # newest first
    assert "⚠️ au-delà de la limite" in text and "parties manquantes" in text
    assert "Version 1 (« v1.pdf »" in text and "toutes les parties trouvées" in text
    labels = offer.last.button_labels
    assert labels[0].startswith("Version 2 ·") and labels[0].endswith("⚠️") and not labels[1].endswith("⚠️")
    assert _stored(bot) is None  # nothing is taken silently

    warned = await bot.press(AUDITEUR_ID, index=0)
    assert "Rapport : votre version 2 (« v2-trop-long.pdf »" in warned.text
    assert "⚠️ Cette version dépasse la limite" in warned.text and "attendu : moins de 8 pages" in warned.text
    assert "⚠️ D’après la relecture" in warned.text and "Vous pouvez la déposer quand même" in warned.text
    await bot.send_document(AUDITEUR_ID, pdfs["a1"], "a1.pdf", caption="Organigramme")

    changed = await bot.press(AUDITEUR_ID, "Changer de version du rapport")
    assert "Votre rapport est pour l’instant la version 2" in changed.text
    kept = await bot.press(AUDITEUR_ID, index=1)
    assert "Rapport : votre version 1" in kept.text and "⚠️" not in kept.text
    assert "Annexe 1 — Organigramme (1 p.)" in kept.text  # the annexes stay when the version changes
    with bot.db.read() as session:
        v1 = session.scalar(sa.select(DraftVersion).where(DraftVersion.version == 1))
        assert _stored(bot).report_version_id == v1.id


async def test_another_command_keeps_the_deposit_in_progress_and_it_is_resumed(bot, cast, pdfs):
    await bot.send_document(AUDITEUR_ID, pdfs["good"], "v1.pdf")
    await bot.send(AUDITEUR_ID, "/depot")
    await bot.press(AUDITEUR_ID, index=0)
    await bot.send_document(AUDITEUR_ID, pdfs["a1"], "a1.pdf", caption="Organigramme")
    await bot.send_document(AUDITEUR_ID, pdfs["a2"], "a2.pdf", caption="Fiche de poste")

    stopped = await bot.send(AUDITEUR_ID, "/annuler")
    assert "Le dépôt en cours reste enregistré (rapport : version 1, 2 annexes)" in stopped.text
    await bot.send(AUDITEUR_ID, "/depot")
    other = await bot.send(AUDITEUR_ID, "/experience")  # another command, with its own conversation
    assert "Votre expérience professionnelle" in other.text
    conversation = await asyncio.to_thread(bot.services.conversations.get, AUDITEUR_ID)
    assert conversation is not None and conversation.flow != "depot"  # the deposit flow was replaced
    draft = await bot.send_document(AUDITEUR_ID, pdfs["flawed"], "v2.pdf")  # outside /depot: a draft again
    assert "Version 2 enregistrée" in draft.text

    resumed = await bot.send(AUDITEUR_ID, "/depot")
    assert "Dépôt repris là où vous l’aviez laissé" in resumed.text and "rien n’a été perdu" in resumed.text
    assert "Rapport : version 1" in resumed.text
    assert "Annexe 1 — Organigramme (1 p.)" in resumed.text and "Annexe 2 — Fiche de poste (2 p.)" in resumed.text
    third = await bot.send_document(AUDITEUR_ID, pdfs["a3"], "a3.pdf", caption="Planning")
    assert "Annexe 3 — Planning (3 p.)" in third.text

    await bot.restart()  # stored, not in memory
    again = await bot.send(AUDITEUR_ID, "/depot")
    assert "Annexe 3 — Planning" in again.text


async def test_annexes_are_renamed_moved_and_removed_and_assembled_in_that_order(bot, cast, pdfs):
    await bot.send_document(AUDITEUR_ID, pdfs["good"], "v1.pdf")
    await bot.send(AUDITEUR_ID, "/depot")
    await bot.press(AUDITEUR_ID, index=0)
    for name, caption in (("a1", "Organigramme"), ("a2", "Fiche de poste"), ("a3", "Planning")):
        await bot.send_document(AUDITEUR_ID, pdfs[name], f"{name}.pdf", caption=caption)

    manage = await bot.press(AUDITEUR_ID, "Renommer, déplacer ou retirer des annexes")
    assert manage.last.button_labels[:3] == ["✏️ 1", "⬇️ 1", "🗑 1"]
    removed = await bot.press(AUDITEUR_ID, "🗑 1")  # not only the last one
    assert "Annexe 1 retirée" in removed.text
    assert "Annexe 1 — Fiche de poste (2 p.)" in removed.text and "Annexe 2 — Planning (3 p.)" in removed.text
    assert "Organigramme" not in removed.text
    moved = await bot.press(AUDITEUR_ID, "⬆️ 2")
    assert "« Planning » est maintenant l’annexe 1" in moved.text
    assert "Annexe 1 — Planning (3 p.)" in moved.text and "Annexe 2 — Fiche de poste (2 p.)" in moved.text
    await bot.press(AUDITEUR_ID, "✏️ 2")
    empty = await bot.send(AUDITEUR_ID, "   ")
    assert "Le titre est vide" in empty.text
    renamed = await bot.send(AUDITEUR_ID, "Fiche de poste signée")
    assert "Annexe 2 — Fiche de poste signée (2 p.)" in renamed.text
    stale = await bot.press_data(AUDITEUR_ID, "depot:remove:7")
    assert "n'est plus valable" in stale.text

    done = await bot.press(AUDITEUR_ID, "Assembler")
    deposit = PdfReader(io.BytesIO(done.documents[0].document.content))
    top = [item.title for item in deposit.outline if not isinstance(item, list)]
    assert top == ["Rapport", "Annexe 1 — Planning", "Annexe 2 — Fiche de poste signée"]
    assert _stored(bot) is None  # assembled: nothing left in progress
    fresh = await bot.send(AUDITEUR_ID, "/depot")
    assert "Quelle version" in fresh.text


async def test_a_forged_version_of_someone_else_is_refused(bot, emulator, cast, pdfs):
    onboarding = bot.services.onboarding

    def other():
        emulator.add_user(OTHER_AUDITEUR, "Sami", "Nour")
        issued = onboarding.enrol_auditeur(
            COMMAND_LINE, name="Sami Nour", tutor=cast.tutor.person.id, report_type="ua", semester="2026-S1",
            certification="Licence professionnelle",
        )
        onboarding.redeem(OTHER_AUDITEUR, onboarding.check_code(OTHER_AUDITEUR, issued.code).invitation_id,
                          notice_version="t")

    await asyncio.to_thread(other)
    await bot.send_document(AUDITEUR_ID, pdfs["good"], "lea.pdf")
    with bot.db.read() as session:
        lea_version = session.scalar(sa.select(DraftVersion.id))
    await bot.send(OTHER_AUDITEUR, "/depot")
    forged = await bot.press_data(OTHER_AUDITEUR, f"depot:version:{lea_version}")
    assert "n'est pas disponible pour votre profil" in forged.text
    assert _stored(bot) is None
