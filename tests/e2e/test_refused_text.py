"""Text the database refuses (U+0000, lone surrogates) is cleaned on its way in, the same on SQLite
and PostgreSQL: a NUL in a video link, a name or a file name, surrogates in a coaching answer."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.storage.models import CoachingProgress, DraftVersion, Person, TutorBookingSettings
from bot.storage.text_cleaning import clean_text, clean_value
from tests import pdf_factory as factory
from tests.e2e.conftest import AUDITEUR_ID, STAFF_ID, TUTOR_ID

APOLOGY = "un problème technique est survenu"


@pytest.fixture
def e2e_database_url(database_url) -> str:  # these run on both backends
    return database_url


def test_clean_text_rules():
    assert clean_text("a\x00b") == "ab"
    assert clean_text("x\ud800y\udfffz") == "x\ufffdy\ufffdz"
    assert clean_text("déjà 😀") == "déjà 😀"
    assert clean_value({"k\x00": ["a\x00", ("b\ud83d",), 3, None]}) == {"k": ["a", ("b\ufffd",), 3, None]}


async def test_nul_in_a_video_link_a_name_and_a_file_name(bot, cast):
    await bot.send(TUTOR_ID, "/dispos")
    await bot.press(TUTOR_ID, "Lien de visioconférence")
    saved = await bot.send(TUTOR_ID, "https://meet.jit.si/salle\x00-tina")
    assert APOLOGY not in saved.text
    with bot.db.read() as session:
        link = session.scalar(sa.select(TutorBookingSettings.video_link))
    assert link == "https://meet.jit.si/salle-tina"

    await bot.send(STAFF_ID, "/inscrire")
    step = await bot.send(STAFF_ID, "Jeanne\x00 Nulle")
    assert APOLOGY not in step.text
    await bot.send(STAFF_ID, "Licence professionnelle")
    await bot.send(STAFF_ID, "2")
    await bot.press(STAFF_ID, "Oui, justifiée")
    await bot.press(STAFF_ID, "Marc Dubois")
    await bot.press(STAFF_ID, "Rapport de stage")
    await bot.press(STAFF_ID, index=0)
    done = await bot.press(STAFF_ID, "Confirmer l’inscription")
    assert APOLOGY not in done.text and "Inscription enregistrée pour Jeanne Nulle" in done.text
    with bot.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Person).where(Person.display_name == "Jeanne Nulle")) == 1

    reviewed = await bot.send_document(AUDITEUR_ID, factory.good_draft("ua"), "brouillon\x00v1.pdf")
    assert APOLOGY not in reviewed.text
    with bot.db.read() as session:
        assert session.scalar(sa.select(DraftVersion.file_name)) == "brouillonv1.pdf"


async def test_lone_surrogates_in_a_coaching_answer_and_the_section_reopens(bot, cast):
    await bot.send(AUDITEUR_ID, "/rapport")
    await bot.press(AUDITEUR_ID, "Mission et rôle tenu")
    noted = await bot.send(AUDITEUR_ID, "J'ai animé \ud83d l'atelier \udc00 du jeudi.")
    assert APOLOGY not in noted.text
    await bot.press(AUDITEUR_ID, "Terminer plus tard")
    for _ in range(2):  # every later opening works
        again = await bot.send(AUDITEUR_ID, "/rapport")
        assert APOLOGY not in again.text
        opened = await bot.press(AUDITEUR_ID, "Mission et rôle tenu")
        assert APOLOGY not in opened.text and "question 1/3" in opened.text
        await bot.press(AUDITEUR_ID, "Terminer plus tard")
    with bot.db.read() as session:
        state = session.scalar(sa.select(CoachingProgress.state))
    stored = repr(state)
    assert "J'ai animé \ufffd l'atelier \ufffd du jeudi." in str(state)
    assert "\\ud83d" not in stored and "\\udc00" not in stored
