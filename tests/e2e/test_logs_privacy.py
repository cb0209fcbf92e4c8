"""Logs carry ids, never personal text: a tour of the bot with distinctive names and texts (onboarding,
coach answers, a draft, a booking, an error while handling a text and a button), with every logger at
DEBUG, and none of those words in any log record (python-telegram-bot's and httpx's included)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import pytest

from bot.domain.calendar import PARIS
from tests import pdf_factory as factory
from tests.e2e.conftest import STAFF_ID, confirm_booking

TUTOR, AUDITEUR = 2701, 3701
SECRETS = [
    "Zéphyrine", "Quillebeuf", "zephyrine.q@exemple.fr",  # the tutor (as staff typed her)
    "Zephtg", "Quilltg", "zeph_telegram",  # her Telegram profile
    "Barnabé", "Ostrogradsky", "Xylophagie",  # the auditeur, his certification
    "Barnatg", "Ostrotg", "barna_telegram",
    "Ornithorynque", "Kangourou",  # coaching answers
    "Pangolin",  # a file name
    "salle-Quintessence",  # a video link
    "Zanzibar",  # a text that made the bot fail
    "Tamanoir",  # the text of the message under a pressed button that made the bot fail
]
CODE_RE = re.compile(r"start=([A-Z0-9]{12})")


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(self.format(r) for r in self.records)


@pytest.fixture
def capture():
    handler, root = Capture(), logging.getLogger()
    previous = root.level
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "telegram", "apscheduler", "sqlalchemy")}
    for name in quiet:
        logging.getLogger(name).setLevel(logging.NOTSET)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous)
    for name, level in quiet.items():
        logging.getLogger(name).setLevel(level)


async def test_no_name_text_or_file_name_in_any_log_record_at_debug(bot, emulator, capture, monkeypatch):
    bot.services.clock = lambda: datetime(2026, 10, 19, 11, 0, tzinfo=PARIS).astimezone(UTC)
    emulator.add_user(STAFF_ID, "Claire", "Martin")
    emulator.add_user(TUTOR, "Zephtg", "Quilltg", "zeph_telegram")
    emulator.add_user(AUDITEUR, "Barnatg", "Ostrotg", "barna_telegram")

    await bot.send(STAFF_ID, "/inviter")
    invited = await bot.send(STAFF_ID, "Zéphyrine Quillebeuf, zephyrine.q@exemple.fr")
    await bot.send(TUTOR, f"/start {CODE_RE.search(invited.text).group(1)}")
    await bot.press(TUTOR, "J'accepte")
    await bot.send(TUTOR, "/dispos")
    await bot.press(TUTOR, "Ajouter des créneaux")
    await bot.send(TUTOR, "du lundi au vendredi 9h-12h")
    await bot.press(TUTOR, "Lien de visioconférence")
    await bot.send(TUTOR, "https://meet.jit.si/salle-Quintessence")

    await bot.send(STAFF_ID, "/inscrire")
    await bot.send(STAFF_ID, "Barnabé Ostrogradsky")
    await bot.send(STAFF_ID, "Certificat de Xylophagie appliquée")
    await bot.send(STAFF_ID, "2")
    await bot.press(STAFF_ID, "Oui, justifiée")
    await bot.press(STAFF_ID, "Zéphyrine Quillebeuf")
    await bot.press(STAFF_ID, "Rapport d'activité UA")
    await bot.press(STAFF_ID, index=0)
    enrolled = await bot.press(STAFF_ID, "Confirmer l’inscription")
    await bot.send(AUDITEUR, f"/start {CODE_RE.search(enrolled.text).group(1)}")
    joined = await bot.press(AUDITEUR, "J'accepte")
    assert "Zéphyrine Quillebeuf" in joined.text

    await bot.send(AUDITEUR, "/rapport")
    await bot.press(AUDITEUR, "Mission et rôle tenu")
    await bot.send(AUDITEUR, "J'ai dressé un Ornithorynque pédagogique.")
    await bot.press(AUDITEUR, "Question suivante")
    await bot.send(AUDITEUR, "Puis un Kangourou.")
    await bot.press(AUDITEUR, "Terminer plus tard")

    reviewed = await bot.send_document(AUDITEUR, factory.good_draft("ua"), "Mémoire-Pangolin.pdf")
    assert "Relecture" in reviewed.text
    sent = await bot.press(AUDITEUR, "📤 Envoyer à mon tuteur")  # the file name reaches the tutor's caption
    assert sent.to(TUTOR)

    page = await bot.send(AUDITEUR, "/rdv")
    await bot.press(AUDITEUR, message=page.last, index=0)
    booked = await confirm_booking(bot, AUDITEUR)
    assert "Rendez-vous confirmé" in booked.text and "salle-Quintessence" in booked.text

    # failures: while handling a text, then a button under a message holding personal text
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(bot.services.coaching, "overview", broken)
    await bot.send(AUDITEUR, "/aide Zanzibar")
    failed = await bot.send(AUDITEUR, "/rapport Zanzibar")
    assert "un problème technique est survenu" in failed.text
    monkeypatch.undo()
    await bot.send(AUDITEUR, "/rapport")
    await bot.press(AUDITEUR, "Mission et rôle tenu")
    await bot.send(AUDITEUR, "Le Tamanoir est arrivé.")  # the answer now sits above the buttons
    monkeypatch.setattr(bot.services.coaching, "next_question", broken)
    await bot.press(AUDITEUR, "Question suivante")

    logged = capture.text()
    assert "unhandled error" in logged  # the failures were logged...
    assert "telegram" in {r.name.split(".")[0] for r in capture.records}  # ...and PTB's DEBUG records were captured
    leaks = {secret for secret in SECRETS if secret.lower() in logged.lower()}
    assert not leaks, [line for line in logged.splitlines() if any(s.lower() in line.lower() for s in leaks)][:10]
