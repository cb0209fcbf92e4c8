"""Smoke test: `coachbot demo --script tests/e2e/demo_booking.txt` replays the booking demo."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.demo_transcript import demo_transcript

SCRIPT = Path(__file__).with_name("demo_booking.txt")


def test_booking_demo_script_runs(tmp_path):
    transcript = demo_transcript(SCRIPT, tmp_path)
    assert "Vos disponibilités" in transcript and "lundi 9h–12h" in transcript
    assert "Réserver votre premier rendez-vous" in transcript
    assert "Confirmez votre rendez-vous" in transcript
    assert "Rendez-vous confirmé" in transcript and "Nouveau rendez-vous" in transcript
    assert "Ce que Léa Bernard veut aborder : Faire le point sur mon plan" in transcript
    assert "Rendez-vous annulé" in transcript
    # a newcomer joins with his code: the data notice, his consent, his tutor told
    assert "Tom Petit ouvre le lien d'invitation https://t.me/" in transcript and "Protection de vos données" in transcript
    assert "Bienvenue, Tom Petit !" in transcript and "Marc Dubois : Tom Petit a rejoint l'accompagnement" in transcript
    # the clock moved: reminders to both sides; the tutor marks held and missed, the auditeur is told
    assert "Rappel : demain, rendez-vous de tutorat avec Marc Dubois" in transcript
    assert "Rappel : dans 55 minutes, rendez-vous de tutorat avec Léa Bernard" in transcript
    assert "noté comme tenu" in transcript and "noté comme manqué" in transcript
    assert "Léa Bernard : ⚠️ Rendez-vous noté « absent »" in transcript
    assert "problème technique" not in transcript and "Commande de démo inconnue" not in transcript
    saved = sorted(p.name for p in (tmp_path / "files").glob("rdv-*.ics"))
    assert saved, transcript
    assert "METHOD:CANCEL" in (tmp_path / "files" / "rdv-2026-10-21-1600.ics").read_text()  # the cancelled one


async def test_demo_doc_sends_its_caption_and_lien_opens_the_newcomers_invitation(bot, tmp_path):
    """`:doc FILE caption` sends the rest of the line as the caption (an annex title in /depot);
    `:lien` opens the newcomer's invitation: the data notice."""
    import asyncio
    import io

    from bot.demo import NEWCOMER_ID, DemoSession, add_newcomer, seed
    from bot.telegram.rendering import Renderer

    cast = await asyncio.to_thread(seed, bot.services, bot.emulator)
    cast = await asyncio.to_thread(add_newcomer, bot.services, bot.emulator, cast)
    out = io.StringIO()
    session = DemoSession(bot, cast, Renderer(), tmp_path / "files", out)
    (tmp_path / "annexe.pdf").write_bytes(b"%PDF-1.4 not really")
    sent, send_document = [], bot.send_document

    async def recording(user_id, content, file_name, mime_type="application/pdf", **options):
        sent.append((file_name, options.get("caption")))
        return await send_document(user_id, content, file_name, mime_type, **options)

    bot.send_document = recording
    await session.handle(f':doc "{tmp_path / "annexe.pdf"}" Programme de la formation')
    await session.handle(f':doc "{tmp_path / "annexe.pdf"}"')
    assert sent == [("annexe.pdf", "Programme de la formation"), ("annexe.pdf", None)]
    await session.handle(":nouveau")
    await session.handle(":lien")
    text = out.getvalue()
    assert "Tom Petit ouvre le lien d'invitation" in text and "Protection de vos données" in text
    assert f"start={cast.newcomer_code}" in text and cast.newcomer.telegram_id == NEWCOMER_ID
