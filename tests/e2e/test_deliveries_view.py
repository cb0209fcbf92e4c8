"""Staff see what the bot sends on its own: counts by state and the messages given up (dead letters),
on Telegram (/envois) and at the terminal (`coachbot outbox`); nobody else does."""

from __future__ import annotations

import asyncio
import re

import sqlalchemy as sa

from bot.services import outbox
from bot.storage.models import OutboxMessage
from tests.e2e.conftest import AUDITEUR_ID, STAFF_ID, TUTOR_ID
from tests.e2e.test_cli_and_demo import coachbot

NOT_ALLOWED = "n'est pas disponible pour votre profil"


def _give_up_one(bot, cast) -> int:
    """A notification to the tutor that failed for good (e.g. Telegram refused it)."""
    with bot.db.transaction() as session:
        row = outbox.enqueue(session, recipient_id=cast.tutor.person.id, kind="meeting.booked", text="x")
        row.state, row.attempts, row.last_error = "dead", 8, "Telegram error: Bad Gateway"
        return row.id


async def test_staff_see_deliveries_and_dead_letters_others_are_refused(bot, cast):
    dead_id = await asyncio.to_thread(_give_up_one, bot, cast)
    shown = await bot.send(STAFF_ID, "/envois")
    assert "Envois du bot" in shown.text and "Abandonnés : 1" in shown.text
    assert re.search(r"programmés ou en attente : \d+\nDestinataires ayant bloqué le bot", shown.text)  # a line each
    assert f"n° {dead_id}, meeting.booked, personne n° {cast.tutor.person.id}" in shown.text
    assert "abandonné après 8 essais — Telegram error: Bad Gateway" in shown.text
    for person in (AUDITEUR_ID, TUTOR_ID):
        assert NOT_ALLOWED in (await bot.send(person, "/envois")).text


def test_coachbot_outbox_lists_dead_letters(tmp_path):
    from bot.storage.db import Database
    from bot.storage.models import Person

    url = f"sqlite:///{tmp_path}/coachbot.db"
    db = Database(url)
    db.upgrade()
    with db.transaction() as session:
        person = Person(role="tutor", display_name="T", telegram_user_id=42)
        session.add(person)
        session.flush()
        row = outbox.enqueue(session, recipient_id=person.id, kind="meeting.reminder", text="x")
        row.state, row.attempts = "unknown", 1
        outbox.enqueue(session, recipient_id=person.id, kind="meeting.booked", text="y")
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 2
    db.dispose()
    result = coachbot("outbox", env={"DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 en attente" in result.stdout and "0 d'arrivée incertaine" not in result.stdout
    assert "unknown\tmeeting.reminder\tpersonne 1\t1 essai" in result.stdout
