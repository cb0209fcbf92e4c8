"""Reminders of the accompaniment through the emulator, with the clock moved: the intermediate
dates of the planning, the overdue correction alert repeated every week until the correction is
returned, the tutor's opinion reminder after the revision and its overdue alert; each sent once,
and cancelled when the work is done."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from bot.domain.accompaniment import Opinion
from bot.storage.models import OutboxMessage, ReportSubmission
from tests.e2e.conftest import AUDITEUR_ID, STAFF_ID, TUTOR_ID
from tests.e2e.test_accompaniment import _to_planned, paris, pdfs, pin  # noqa: F401 - pdfs is a fixture


async def _at(bot, moment) -> list:
    """Move the clock, let the bot deliver what is due, and return what it sent."""
    pin(bot, moment)
    since = bot.emulator.last_sequence()
    await bot.drain()
    return bot.emulator.sent_since(since)


def _texts(sent, chat_id: int) -> list[str]:
    return [m.plain_text for m in sent if m.chat_id == chat_id]


def _states(bot, kind: str) -> list[str]:
    with bot.services.db.read() as session:
        return sorted(session.scalars(sa.select(OutboxMessage.state).where(OutboxMessage.kind == kind)))


async def test_intermediate_dates_overdue_repeats_and_the_opinion_reminder(bot, cast, pdfs):
    await _to_planned(bot, cast)  # deadline Monday 30 November 2026, intermediate date Tuesday 10 November

    # 3 days before the intermediate date is a Saturday: Friday 6 November, 9h
    assert not _texts(await _at(bot, paris(2026, 11, 5, 12)), AUDITEUR_ID)
    sent = await _at(bot, paris(2026, 11, 6, 9, 1))
    [note] = _texts(sent, AUDITEUR_ID)
    assert "étape intermédiaire de votre planning est dans 4 jours, le mardi 10 novembre 2026" in note
    assert not _texts(await _at(bot, paris(2026, 11, 6, 9, 30)), AUDITEUR_ID)  # once

    pin(bot, paris(2026, 11, 20, 10))
    await bot.send_document(AUDITEUR_ID, pdfs["flawed"], "rapport.pdf")
    await bot.press(AUDITEUR_ID, "📥 Déposer pour correction")
    with bot.services.db.read() as session:
        due = session.scalar(sa.select(ReportSubmission.due_on))
    assert due.isoformat() == "2026-12-18"  # four weeks, no school holidays in them (a Friday)

    # overdue: the next working day (Monday 21 December), then every week while nothing comes
    sent = await _at(bot, paris(2026, 12, 21, 9, 1))
    assert [t for t in _texts(sent, TUTOR_ID) if "Correction en retard" in t] == [
        "⚠️ Correction en retard : celle du rapport de Léa Bernard était attendue le vendredi 18 décembre 2026 "
        "(3 jours de retard). /suivi"]
    assert any("la correction du rapport de Léa Bernard était attendue" in t for t in _texts(sent, STAFF_ID))
    assert not _texts(await _at(bot, paris(2026, 12, 24, 9, 1)), TUTOR_ID)
    sent = await _at(bot, paris(2026, 12, 28, 9, 1))  # 26 December is a Saturday: Monday 28th
    assert [t for t in _texts(sent, TUTOR_ID) if "retard" in t] == [
        "⚠️ Correction en retard : celle du rapport de Léa Bernard était attendue le vendredi 18 décembre 2026 "
        "(10 jours de retard). /suivi"]
    assert any("(10 jours de retard) et n'a pas été rendue" in t for t in _texts(sent, STAFF_ID))

    # the correction comes back: the weeks still to come are cancelled in the same transaction
    acc, lea, marc = bot.services.accompaniment, cast.auditeur.person, cast.tutor.person
    pin(bot, paris(2026, 12, 28, 10))
    await asyncio.to_thread(acc.return_correction, marc, lea.id, summary="Le rôle propre manque.")
    assert _states(bot, "accompaniment.correction.tutor.overdue") == ["cancelled", "cancelled", "sent", "sent"]
    sent = await _at(bot, paris(2027, 1, 4, 9, 30))
    assert not [t for t in _texts(sent, TUTOR_ID) + _texts(sent, STAFF_ID) if "retard" in t]

    # the revision: the tutor's opinion is expected 14 days later (Monday 11 January 2027)
    pin(bot, paris(2027, 1, 4, 10))
    await bot.send(AUDITEUR_ID, "/echeances")
    await bot.press(AUDITEUR_ID, "📥 Déposer pour correction")
    assert not _texts(await _at(bot, paris(2027, 1, 14, 9, 1)), TUTOR_ID)
    sent = await _at(bot, paris(2027, 1, 15, 9, 1))
    assert _texts(sent, TUTOR_ID) == [
        "⏰ Rappel : l'avis motivé sur la version révisée du rapport de Léa Bernard est attendu dans 3 jours, "
        "le lundi 18 janvier 2027. /suivi"]
    sent = await _at(bot, paris(2027, 1, 19, 9, 1))
    assert [t for t in _texts(sent, TUTOR_ID) if "Avis en retard" in t]
    assert any("l'avis du tuteur sur la version révisée du rapport de Léa Bernard était attendu" in t for t in _texts(sent, STAFF_ID))

    pin(bot, paris(2027, 1, 19, 10))
    staff_view = await bot.send(STAFF_ID, "/suivi")
    assert "Avis en retard (1)\n• Léa Bernard — tuteur Marc Dubois, attendu le lundi 18 janvier 2027" in staff_view.text
    tutor_view = await bot.send(TUTOR_ID, "/suivi")
    assert "⚠️ Léa Bernard · 5 · avis à rendre · échéance dépassée : lundi 18 janvier 2027" in tutor_view.text
    detail = await bot.press(TUTOR_ID, "Léa Bernard")
    assert "avis motivé attendu le lundi 18 janvier 2027 ⚠️ en retard" in detail.text
    grid = acc.grid_of(marc, lea.id)
    await asyncio.to_thread(acc.give_opinion, marc, lea.id, verdict=Opinion.VALIDATED,
                            assessments={c.id: "acquis" for c in grid.criteria}, reasons="Rapport clair et bien argumenté.")
    assert set(_states(bot, "accompaniment.opinion.tutor.overdue")) == {"cancelled", "sent"}
    sent = await _at(bot, paris(2027, 1, 26, 9, 30))
    assert not [t for t in _texts(sent, TUTOR_ID) + _texts(sent, STAFF_ID) if "retard" in t]
    assert "Avis en retard (0)" in (await bot.send(STAFF_ID, "/suivi")).text
