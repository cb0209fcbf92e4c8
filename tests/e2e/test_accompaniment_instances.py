"""Two bot instances (two BotDrivers: two Applications, two outbox senders) on one database: the
accompaniment's due reminders, written by the real planning use case, reach the auditeur exactly
once while both senders race for them (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import sqlalchemy as sa

from bot.demo import AUDITEUR_ID, seed
from bot.domain.calendar import PARIS
from bot.emulator.driver import BotDriver
from bot.emulator.server import BotApiEmulator
from bot.storage.db import Database
from bot.storage.models import Enrolment, OutboxMessage
from tests.conftest import base_settings


def _moment(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


async def test_two_instances_send_a_due_accompaniment_reminder_once(database_url):
    with BotApiEmulator() as emulator:
        settings = BotDriver.settings_for(emulator, base_settings()).with_overrides(database_url=database_url)
        # pinned from the start: a sender's pass begun on the real time would judge the reminders by it
        drivers = [BotDriver(emulator, settings, Database(database_url), clock=lambda: _moment(2026, 10, 19, 11))
                   for _ in range(2)]
        for driver in drivers:
            await driver.start()
        try:
            first = drivers[0].services
            cast = await asyncio.to_thread(seed, first, emulator)
            acc = first.accompaniment
            with first.db.transaction() as session:
                enrolment = session.scalar(sa.select(Enrolment).where(Enrolment.auditeur_id == cast.auditeur.person.id))
                acc.on_first_meeting_held(session, enrolment, cast.tutor.person, first.clock())
            # the 14-day deadline reminder and the intermediate date's both fall on Monday 16 November, 9h
            await asyncio.to_thread(acc.record_planning, cast.tutor.person, cast.auditeur.person.id,
                                    date(2026, 11, 30), (date(2026, 11, 19),))
            await asyncio.gather(*(d.drain() for d in drivers))
            since = emulator.last_sequence()

            for driver in drivers:  # both instances come to the due moment together
                driver.services.clock = lambda: _moment(2026, 11, 16, 9, 5)
                driver.application.bot_data["sender"].wake()
            await asyncio.gather(*(d.drain() for d in drivers))
            await asyncio.gather(*(d.drain() for d in drivers))  # a second pass finds nothing more to send
            received = [m.plain_text for m in emulator.sent_since(since) if m.chat_id == AUDITEUR_ID]
            with drivers[1].db.read() as session:
                rows = session.execute(
                    sa.select(OutboxMessage.kind, OutboxMessage.state, OutboxMessage.attempts)
                    .where(OutboxMessage.kind.in_(("accompaniment.deadline.auditeur", "accompaniment.intermediate.auditeur")),
                           OutboxMessage.state != "cancelled")
                    .order_by(OutboxMessage.id)
                ).all()
        finally:
            for driver in drivers:
                await driver.stop()
                driver.db.dispose()
    assert sorted(received) == sorted([
        "⏰ Rappel : la date butoir de remise de votre rapport est dans 14 jours, le lundi 30 novembre 2026. "
        "Quand il est prêt : envoyez le PDF, puis « Déposer pour correction ».",
        "⏰ Rappel : une étape intermédiaire de votre planning est dans 3 jours, le jeudi 19 novembre 2026. "
        "Faites le point sur votre rapport ; vous pouvez envoyer un brouillon à votre tuteur. /echeances",
    ]), received
    sent = [(kind, attempts) for kind, state, attempts in rows if state == "sent"]
    assert sorted(sent) == [("accompaniment.deadline.auditeur", 1), ("accompaniment.intermediate.auditeur", 1)], rows
    assert all(state == "pending" for _, state, _ in rows if state != "sent")  # the later ones wait their day
