"""`coachbot broadcast`: dry run, bad input explained, a broadcast with a document queued from the
command line and delivered by the running bot; a scheduled one at its time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot import cli
from bot.domain.calendar import PARIS
from bot.telegram.rendering import Renderer
from tests.e2e.conftest import AUDITEUR_ID, STAFF_ID, TUTOR_ID


def run_cli(monkeypatch, capsys, database_url: str, *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TIMEZONE", "Europe/Paris")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    code = cli.main(["broadcast", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


async def test_broadcast_from_the_command_line(bot, cast, tmp_path, monkeypatch, capsys, e2e_database_url):
    message = tmp_path / "annonce.html"
    message.write_text("<b>Inscriptions</b> au 2e semestre : du 1er février au 31 mars.\n", encoding="utf-8")
    document = tmp_path / "calendrier.pdf"
    document.write_bytes(b"%PDF-1.4 calendrier 2026-2027")

    code, out, _ = await asyncio.to_thread(run_cli, monkeypatch, capsys, e2e_database_url,
                                           "--audience", "auditeurs", "--message-file", str(message), "--dry-run")
    assert code == 0
    assert "Destinataires : 1" in out and "Inscriptions au 2e semestre : du 1er février au 31 mars." in out
    assert "<b>" not in out

    broken = tmp_path / "casse.html"
    broken.write_text("<b>Inscriptions", encoding="utf-8")
    for args, expected in [
        (("--audience", "auditeurs", "--message-file", str(broken)), "mise en forme"),
        (("--audience", "semestre:2031-S1", "--message-file", str(message)), "Personne ne recevrait"),
        (("--audience", "les copains", "--message-file", str(message)), "Public inconnu"),
        (("--audience", "tous", "--message-file", str(message), "--at", "1/1/2020 9h"), "déjà passé"),
    ]:
        code, _, err = await asyncio.to_thread(run_cli, monkeypatch, capsys, e2e_database_url, *args)
        assert code == 1 and expected in err and "Rien n'a été envoyé" in err, err
    assert bot.services.outbox.rows(kind="broadcast") == []

    code, out, _ = await asyncio.to_thread(run_cli, monkeypatch, capsys, e2e_database_url, "--audience", "tous",
                                           "--message-file", str(message), "--document", str(document))
    assert code == 0 and "enregistrée : 3 destinataires" in out
    await bot.drain()
    for chat in (AUDITEUR_ID, TUTOR_ID, STAFF_ID):
        (received,) = [m for m in bot.emulator.chat(chat) if m.document is not None and m.document.file_name == "calendrier.pdf"]
        assert received.document.content == b"%PDF-1.4 calendrier 2026-2027"
        assert received.caption == "Inscriptions au 2e semestre : du 1er février au 31 mars."

    at = (datetime.now(PARIS) + timedelta(days=30)).replace(hour=9, minute=0, second=0, microsecond=0)
    code, out, _ = await asyncio.to_thread(run_cli, monkeypatch, capsys, e2e_database_url, "--audience", "tuteurs",
                                           "--message-file", str(message), "--at", at.strftime("%Y-%m-%dT%H:%M"))
    assert code == 0 and f"programmée pour le {Renderer().fr_datetime(at)}" in out
    bot.services.clock = lambda: at.astimezone(UTC)
    await bot.drain()
    assert sum(1 for m in bot.emulator.chat(TUTOR_ID) if (m.plain_text or "").startswith("Inscriptions au 2e")) == 1


async def test_status_and_report_of_a_broadcast_from_the_command_line(bot, cast, monkeypatch, capsys, e2e_database_url):
    from bot.domain.permissions import COMMAND_LINE

    await bot.block(TUTOR_ID)
    service = bot.services.broadcasts
    preview = await asyncio.to_thread(service.compose, COMMAND_LINE, message_html="<b>Réunion</b> jeudi.", audience="tous")
    broadcast_id = preview.broadcast.id

    code, out, _ = await asyncio.to_thread(run_cli, monkeypatch, capsys, e2e_database_url, "status", str(broadcast_id))
    assert code == 0 and f"Diffusion n° {broadcast_id} — brouillon" in out and "Public : tous" in out

    await asyncio.to_thread(service.send_now, COMMAND_LINE, broadcast_id)
    code, out, _ = await asyncio.to_thread(run_cli, monkeypatch, capsys, e2e_database_url, "status", str(broadcast_id))
    assert code == 0 and "sur 3" in out and "Bloqués : 1" in out, out  # the running bot may have sent some already

    await bot.drain()
    code, out, _ = await asyncio.to_thread(run_cli, monkeypatch, capsys, e2e_database_url, "report", str(broadcast_id))
    assert code == 0, out
    assert f"Diffusion n° {broadcast_id} — terminée" in out and "Envoyés : 2 sur 3" in out and "Restants : 0" in out
    assert "Non remis (1) :" in out and "- Marc Dubois : a bloqué le bot" in out, out
    assert "Léa Bernard" not in out

    code, _, err = await asyncio.to_thread(run_cli, monkeypatch, capsys, e2e_database_url, "report", "999")
    assert code == 1 and "Diffusion introuvable (n° 999)" in err
    code, _, err = await asyncio.to_thread(run_cli, monkeypatch, capsys, e2e_database_url, "status")
    assert code == 1 and "Indiquez le numéro de la diffusion" in err
    code, _, err = await asyncio.to_thread(run_cli, monkeypatch, capsys, e2e_database_url, "--audience", "tous")
    assert code == 1 and "--message-file" in err
