"""PDF drafts end to end: an auditeur sends drafts and gets the review, the tutor receives them,
bad files get their own message, /brouillons respects who may see what, /depot assembles one PDF."""

from __future__ import annotations

import asyncio
import io
import threading

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from bot.domain.permissions import COMMAND_LINE
from bot.handlers import drafts as draft_handlers
from bot.storage.models import DraftVersion
from tests import pdf_factory as factory
from tests.e2e.conftest import AUDITEUR_ID, STAFF_ID, TUTOR_ID

OTHER_AUDITEUR, OTHER_TUTOR = 3201, 2201


@pytest.fixture(scope="module")
def pdfs() -> dict[str, bytes]:
    return {
        "good": factory.good_draft("ua"),
        "flawed": factory.flawed_draft("ua"),
        "annex1": factory.annex_pdf(factory.ANNEX_TITLES[0], pages=2),
        "annex2": factory.annex_pdf(factory.ANNEX_TITLES[1], pages=3, seed=12),
    }


def _versions(bot) -> list[DraftVersion]:
    with bot.db.read() as session:
        return list(session.scalars(sa.select(DraftVersion).order_by(DraftVersion.id)))


async def _other_pair(bot, emulator):
    """A second tutor and auditeur, bound to Telegram, who must not see Léa's drafts."""
    onboarding = bot.services.onboarding

    def make():
        emulator.add_user(OTHER_TUTOR, "Hugo", "Roux")
        emulator.add_user(OTHER_AUDITEUR, "Sami", "Nour")
        invite = onboarding.invite_tutor(COMMAND_LINE, "Hugo Roux")
        tutor = onboarding.redeem(
            OTHER_TUTOR, onboarding.check_code(OTHER_TUTOR, invite.code).invitation_id, notice_version="t"
        ).person
        enrolment = onboarding.enrol_auditeur(
            COMMAND_LINE, name="Sami Nour", tutor=tutor.id, report_type="stage", semester="2026-S1",
            certification="Licence professionnelle",
        )
        auditeur = onboarding.redeem(
            OTHER_AUDITEUR, onboarding.check_code(OTHER_AUDITEUR, enrolment.code).invitation_id, notice_version="t"
        ).person
        return tutor, auditeur

    return await asyncio.to_thread(make)


async def test_good_then_flawed_draft_reviewed_compared_stored_and_sent_to_the_tutor(bot, cast, pdfs):
    good = await bot.send_document(AUDITEUR_ID, pdfs["good"], "rapport-v1.pdf")
    text = good.last.plain_text
    assert "Relecture de votre rapport d'activité UA" in text
    assert "attendu : moins de 8 pages" in text and "au-delà de la limite" not in text
    assert "Toutes les parties attendues sont présentes" in text
    assert "Annexes : présentes (2)" in text
    assert "Prochaines étapes" in text and "1. " in text and "3. " in text
    assert "Version 1 enregistrée : elle reste à vous" in text and "Marc Dubois" in text
    assert "non comptées par le bot.\n✍️ Environ" in text and "Prochaines étapes\n1. " in text  # one finding per line
    assert "version précédente" not in text

    assert not good.to(TUTOR_ID)  # drafts stay the auditeur's until they choose
    sent = await bot.press(AUDITEUR_ID, "📤 Envoyer à mon tuteur")
    assert "Brouillon envoyé à votre tuteur" in sent.text
    to_tutor = sent.to(TUTOR_ID)
    assert "Nouveau brouillon de Léa Bernard (version 1" in to_tutor[0].plain_text
    assert "Toutes les parties attendues sont présentes" in to_tutor[0].plain_text
    assert to_tutor[-1].document is not None and to_tutor[-1].document.content == pdfs["good"]
    assert "Brouillon v1 — Léa Bernard" in to_tutor[-1].caption

    flawed = await bot.send_document(AUDITEUR_ID, pdfs["flawed"], "rapport-v2.pdf")
    text = flawed.last.plain_text
    assert "non comptées par le bot.\n⚠️ C'est au-delà de la limite : le rapport doit faire moins de 8 pages" in text
    missing = next(line for line in text.splitlines() if "Parties manquantes" in line)
    assert "Choix de la pratique" in missing and "Conclusion" in missing and "Introduction" not in missing
    assert "Annexes : aucune trouvée" in text
    assert "Par rapport à la version précédente" in text and "Parties disparues" in text
    assert "Réduisez le rapport" in text  # first next step when over the limit
    assert not flawed.to(TUTOR_ID)
    sent = await bot.press(AUDITEUR_ID, "📤 Envoyer à mon tuteur")
    tutor_note = sent.to(TUTOR_ID)[0].plain_text
    assert "version 2" in tutor_note and "au-delà de la limite" in tutor_note and "Parties manquantes" in tutor_note

    rows = _versions(bot)
    assert [(r.version, r.problem, r.file_name) for r in rows] == [(1, None, "rapport-v1.pdf"), (2, None, "rapport-v2.pdf")]
    assert rows[0].auditeur_id == cast.auditeur.person.id and rows[0].enrolment_id is not None
    assert rows[1].pages > 8 and rows[1].review["over_limit"] is True and len(rows[0].sha256) == 64
    assert rows[1].review["sections_missing"] == ["choix", "questions", "conclusion", "annexes"]
    assert rows[0].telegram_file_id and rows[1].words > rows[0].words

    again = await bot.send_document(AUDITEUR_ID, pdfs["flawed"], "encore.pdf")
    assert "même fichier que votre version 2" in again.text and not again.to(TUTOR_ID)
    twice = await bot.press(AUDITEUR_ID, "📤 Envoyer à mon tuteur")  # the button of version 2 again
    assert "déjà été envoyé" in twice.text and not twice.to(TUTOR_ID)
    assert len(_versions(bot)) == 2


BAD_FILES = [
    ("scan.pdf", lambda: factory.scanned_pdf(), "application/pdf", "ne contient pas de texte lisible", "no_text"),
    ("secret.pdf", lambda: factory.encrypted_pdf(), "application/pdf", "protégé par un mot de passe", "encrypted"),
    ("coupe.pdf", lambda: factory.truncated_pdf(), "application/pdf", "endommagé ou incomplet", "corrupted"),
    ("rapport.pdf", lambda: factory.docx_renamed(), "application/pdf", "C'est un document Word, pas un PDF", "not_pdf"),
    ("notes.txt", lambda: factory.plain_text_file(), "text/plain", "simple fichier texte", "not_pdf"),
    ("photo.pdf", lambda: factory.png_image(), "image/png", "C'est une image", "not_pdf"),
    ("bombe.pdf", lambda: factory.decompression_bomb(), "application/pdf", "trop complexe pour être relu", "too_complex"),
]


async def test_each_bad_file_gets_its_own_message_and_is_kept_only_as_history(bot, cast):
    for name, make, mime, expected, problem in BAD_FILES:
        answer = await bot.send_document(AUDITEUR_ID, make(), name, mime)
        assert expected in answer.last.plain_text, (name, answer.text)
        assert "Relecture" not in answer.text and not answer.to(TUTOR_ID), name
    rows = _versions(bot)
    assert [r.problem for r in rows] == [p for *_, p in BAD_FILES]
    assert all(r.words == 0 for r in rows)

    listing = await bot.send(AUDITEUR_ID, "/brouillons")
    assert "v1" in listing.text and "fichier non relu : sans texte (scan)" in listing.text
    assert "protégé par un mot de passe" in listing.text


async def test_html_in_file_names_and_captions_is_shown_literally(bot, cast, pdfs):
    evil = "<b>rapport & <i>co.pdf"
    answer = await bot.send_document(AUDITEUR_ID, pdfs["good"], evil)
    assert "Version 1 enregistrée" in answer.text
    assert evil in (await bot.send(AUDITEUR_ID, "/brouillons")).text
    offer = await bot.send(AUDITEUR_ID, "/depot")
    assert f"Version 1 (« {evil} »" in offer.text
    await bot.press(AUDITEUR_ID, index=0)
    added = await bot.send_document(AUDITEUR_ID, pdfs["annex1"], "a.pdf", caption="Plan <2025> & suite")
    assert "Annexe 1 — Plan <2025> & suite (2 p.)" in added.text


async def test_a_file_over_20_mb_is_refused_before_downloading(bot, emulator, cast):
    before = len([m for _, m in emulator.requests if m.lower() == "getfile"])
    answer = await bot.send_document(AUDITEUR_ID, factory.oversized_pdf(21), "gros.pdf")
    assert "Ce fichier est trop lourd (21.0 Mo) : la limite est de 20 Mo" in answer.text
    assert len([m for _, m in emulator.requests if m.lower() == "getfile"]) == before
    assert _versions(bot) == []


async def test_a_slow_review_does_not_hold_up_anyone_else(bot, emulator, cast, pdfs, monkeypatch):
    """The review runs off the event loop: while Léa's bomb waits, the tutor's /aide is answered."""
    entered, gate = threading.Event(), threading.Event()
    real_review = draft_handlers.review_pdf

    async def held(data, report_type):
        entered.set()
        await asyncio.to_thread(gate.wait, 20)
        return await real_review(data, report_type)

    monkeypatch.setattr(draft_handlers, "review_pdf", held)
    since = emulator.last_sequence()
    emulator.send_document(AUDITEUR_ID, factory.decompression_bomb(), "bombe.pdf")
    assert await asyncio.to_thread(entered.wait, 10)  # Léa's review has started

    help_reply = await bot.send(TUTOR_ID, "/aide")
    assert "Aide" in help_reply.text
    assert not any("trop complexe" in (m.plain_text or "") for m in emulator.sent_since(since, AUDITEUR_ID))

    gate.set()
    deadline = asyncio.get_running_loop().time() + 20
    while not any("trop complexe" in (m.plain_text or "") for m in emulator.sent_since(since, AUDITEUR_ID)):
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    verdict = next(m for m in emulator.sent_since(since, AUDITEUR_ID) if "trop complexe" in (m.plain_text or ""))
    assert verdict.sequence > help_reply.last.sequence


async def test_a_review_over_its_time_limit_is_stopped(bot, cast, pdfs, monkeypatch):
    monkeypatch.setattr(draft_handlers, "REVIEW_TIMEOUT", 0.001)
    answer = await bot.send_document(AUDITEUR_ID, pdfs["good"], "rapport.pdf")
    assert "trop complexe pour être relu" in answer.text
    assert [r.problem for r in _versions(bot)] == ["too_complex"]


async def test_tutor_staff_and_strangers_sending_a_pdf(bot, emulator, cast, pdfs):
    tutor = await bot.send_document(TUTOR_ID, pdfs["good"], "rapport.pdf")
    assert "Ce sont vos auditeurs qui envoient ici leurs brouillons" in tutor.text
    assert "coachbot review FICHIER --type ua" in tutor.text
    staff = await bot.send_document(STAFF_ID, pdfs["good"], "rapport.pdf")
    assert "Ce sont les auditeurs qui envoient ici leurs brouillons" in staff.text
    emulator.add_user(9001, "Inconnu")
    stranger = await bot.send_document(9001, pdfs["good"], "rapport.pdf")
    assert "code d'invitation" in stranger.text
    assert _versions(bot) == []


async def test_brouillons_permissions(bot, emulator, cast, pdfs):
    other_tutor, other_auditeur = await _other_pair(bot, emulator)
    empty = await bot.send(AUDITEUR_ID, "/brouillons")
    assert "Aucun brouillon pour l'instant" in empty.text
    await bot.send_document(AUDITEUR_ID, pdfs["good"], "v1.pdf")
    await bot.send_document(AUDITEUR_ID, pdfs["flawed"], "v2.pdf")
    await bot.send_document(OTHER_AUDITEUR, factory.good_draft("stage"), "sami.pdf")

    mine = await bot.send(AUDITEUR_ID, "/brouillons")
    assert "Vos brouillons" in mine.text and "v1.pdf" in mine.text and "v2.pdf" in mine.text
    assert "sami.pdf" not in mine.text and "manquent : Choix de la pratique" in mine.text

    picker = await bot.send(TUTOR_ID, "/brouillons")
    assert picker.last.button_labels == ["Léa Bernard (2)"]
    listed = await bot.press(TUTOR_ID, "Léa Bernard")
    assert "Brouillons de Léa Bernard" in listed.text and "v2.pdf" in listed.text
    assert listed.last.button_labels == ["📄 Recevoir la version 2", "📄 Recevoir la version 1"]
    sent = await bot.press(TUTOR_ID, "version 1")
    assert sent.documents and sent.documents[0].document.content == pdfs["good"]

    # forged buttons: another tutor's auditeur, someone else's version, garbage
    forged = await bot.press_data(TUTOR_ID, f"drafts:list:{other_auditeur.id}")
    assert "n'est pas disponible pour votre profil" in forged.text and "sami.pdf" not in forged.text
    sami_version = next(r for r in _versions(bot) if r.auditeur_id == other_auditeur.id)
    forged_file = await bot.press_data(TUTOR_ID, f"drafts:file:{sami_version.id}")
    assert not forged_file.documents and "n'est pas disponible" in forged_file.text
    forged_auditeur = await bot.press_data(AUDITEUR_ID, f"drafts:list:{other_auditeur.id}")
    assert "n'est pas disponible" in forged_auditeur.text
    for data in ("drafts:list:abc", "drafts:file:999999", "drafts:list:999999", "drafts:nope"):
        garbage = await bot.press_data(TUTOR_ID, data)
        assert "sami.pdf" not in garbage.text and not garbage.documents, data

    staff = await bot.send(STAFF_ID, "/brouillons")
    assert sorted(staff.last.button_labels) == ["Léa Bernard (2)", "Sami Nour (1)"]
    seen = await bot.press(STAFF_ID, "Sami Nour")
    assert "sami.pdf" in seen.text

    refused = await bot.send(TUTOR_ID, "/depot")
    assert "n'est pas disponible pour votre profil" in refused.text


async def test_depot_assembles_report_and_annexes_with_bookmarks(bot, cast, pdfs):
    no_report = await bot.send(AUDITEUR_ID, "/depot")
    assert "Envoyez d'abord le PDF final de votre rapport" in no_report.text
    bad_report = await bot.send_document(AUDITEUR_ID, factory.docx_renamed(), "rapport.pdf")
    assert "document Word" in bad_report.text and "ne peut pas servir de rapport" in bad_report.text
    report = await bot.send_document(AUDITEUR_ID, pdfs["good"], "rapport-final.pdf")
    assert "Relecture de votre rapport" in report.text and "Rapport : votre version 2" in report.text
    assert "⚠️" not in report.text
    report_pages = len(PdfReader(io.BytesIO(pdfs["good"])).pages)

    first = await bot.send_document(AUDITEUR_ID, pdfs["annex1"], "programme.pdf", caption="Programme de la formation")
    assert "Annexe 1 — Programme de la formation (2 p.)" in first.text
    assert first.last.button_labels[0] == "📦 Assembler"
    locked = await bot.send_document(AUDITEUR_ID, factory.encrypted_pdf(pdfs["annex1"]), "grille.pdf")
    assert "protégé par un mot de passe" in locked.text and "Cette annexe n'a pas été ajoutée" in locked.text
    second = await bot.send_document(AUDITEUR_ID, pdfs["annex2"], "grille_evaluation.pdf")
    assert "Annexe 2 — grille evaluation (3 p.)" in second.text
    await bot.press(AUDITEUR_ID, "Renommer, déplacer ou retirer des annexes")
    await bot.press(AUDITEUR_ID, "✏️ 2")
    renamed = await bot.send(AUDITEUR_ID, "Grille d'évaluation à chaud")
    assert "Annexe 2 — Grille d'évaluation à chaud" in renamed.text

    done = await bot.press(AUDITEUR_ID, "Assembler")
    assert len(done.documents) == 1
    message = done.documents[0]
    assert message.document.file_name == "rapport-depot-lea-bernard.pdf"
    assert "2 annexes" in message.caption and f"{report_pages + 5} pages" in message.caption
    # the UA report goes to the tutor, not to diplome.cnam.fr (the seeds: step 3 of the accompaniment)
    assert "envoyez-le à votre tuteur, Marc Dubois," in message.caption and "ne se dépose pas" in message.caption
    deposit = PdfReader(io.BytesIO(message.document.content))
    assert len(deposit.pages) == report_pages + 5
    top = [item.title for item in deposit.outline if not isinstance(item, list)]
    assert top == ["Rapport", "Annexe 1 — Programme de la formation", "Annexe 2 — Grille d'évaluation à chaud"]
    starts = [deposit.get_destination_page_number(item) for item in deposit.outline if not isinstance(item, list)]
    assert starts == [0, report_pages, report_pages + 2]
    assert deposit.page_labels[report_pages] == "A1-1" and deposit.page_labels[-1] == "A2-3"
    assert deposit.metadata.author == "Léa Bernard"
    assert await asyncio.to_thread(bot.services.conversations.get, AUDITEUR_ID) is None


async def test_depot_offers_the_readable_drafts_and_can_be_abandoned(bot, cast, pdfs):
    await bot.send_document(AUDITEUR_ID, pdfs["good"], "v1.pdf")
    await bot.send_document(AUDITEUR_ID, factory.scanned_pdf(), "scan.pdf")
    menu = await bot.send(AUDITEUR_ID, "/menu")
    assert "🗂️ Brouillons PDF" in menu.last.button_labels
    start = await bot.press(AUDITEUR_ID, "Dépôt : rapport + annexes")  # from a /menu button
    assert "Version 1 (« v1.pdf »" in start.text and "Version 2" not in start.text  # the scan is not offered
    chosen = await bot.press(AUDITEUR_ID, "Version 1")
    assert "Rapport : votre version 1 (« v1.pdf »" in chosen.text
    early = await bot.press(AUDITEUR_ID, "Abandonner le dépôt")
    assert "Dépôt abandonné" in early.text
    stale = await bot.press_data(AUDITEUR_ID, "depot:assemble")
    assert "n'est plus valable" in stale.text and not stale.documents
    # a draft sent after the cancellation is a draft again, not an annex
    after = await bot.send_document(AUDITEUR_ID, pdfs["flawed"], "v3.pdf")
    assert "Version 3 enregistrée" in after.text
