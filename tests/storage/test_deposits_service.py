"""The deposit in progress as the deposits service stores it, on SQLite and PostgreSQL: the chosen
report and its warnings, the annex list changed one step at a time, the clock of each change, the
actor's own deposit only, and abandoning it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.deposit import Annex, DepositRuleError
from bot.domain.permissions import COMMAND_LINE, PermissionDenied
from bot.services.deposits import Deposits
from bot.services.drafts import Drafts
from bot.services.onboarding import Onboarding
from bot.storage.models import DepositInProgress
from tests.clock import Clock
from tests.storage.test_drafts_storage import _review


@pytest.fixture
def world(db):
    onboarding = Onboarding(db, invitation_ttl=timedelta(days=14))

    def bind(code, telegram_id):
        return onboarding.redeem(telegram_id, onboarding.check_code(telegram_id, code).invitation_id,
                                 notice_version="t").person

    tutor = bind(onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois").code, 2001)
    lea, sami = (
        bind(onboarding.enrol_auditeur(COMMAND_LINE, name=name, tutor=tutor.id, report_type="ua", semester="2026-S1",
                                       certification="L").code, telegram_id)
        for telegram_id, name in ((3001, "Léa Bernard"), (3002, "Sami Nour"))
    )
    clock = Clock(datetime(2027, 3, 1, 9, tzinfo=UTC))
    return {"deposits": Deposits(db, clock=clock), "drafts": Drafts(db), "clock": clock, "tutor": tutor,
            "lea": lea, "sami": sami, "db": db}


def _with_annexes(world, *titles):
    deposits, lea = world["deposits"], world["lea"]
    view = None
    for number, title in enumerate(titles, start=1):
        view = deposits.add_annex(lea, Annex(f"F{number}", title, number))
    return view


def _stored(world, auditeur_id):
    with world["db"].read() as session:
        row = session.get(DepositInProgress, auditeur_id)
        return None if row is None else (row.report_version_id, list(row.annexes), row.created_at, row.updated_at)


def test_annexes_are_renamed_removed_and_moved_and_each_change_is_stored(world):
    deposits, lea = world["deposits"], world["lea"]
    view = _with_annexes(world, "Organigramme", "Planning", "Fiche de poste")
    assert [a.title for a in view.annexes] == ["Organigramme", "Planning", "Fiche de poste"]
    assert view.report is None and view.warnings == () and view.pages == 1 + 2 + 3

    view = deposits.rename_annex(lea, 2, "  Planning du projet  ")
    assert [a.title for a in view.annexes] == ["Organigramme", "Planning du projet", "Fiche de poste"]
    view = deposits.move_annex(lea, 3, -1)
    assert [a.title for a in view.annexes] == ["Organigramme", "Fiche de poste", "Planning du projet"]
    view = deposits.move_annex(lea, 1, +1)
    assert [a.title for a in view.annexes] == ["Fiche de poste", "Organigramme", "Planning du projet"]
    view = deposits.remove_annex(lea, 2)
    assert [(a.file_id, a.title, a.pages) for a in view.annexes] == [("F3", "Fiche de poste", 3),
                                                                    ("F2", "Planning du projet", 2)]
    assert _stored(world, lea.id)[1] == [{"file_id": "F3", "title": "Fiche de poste", "pages": 3},
                                         {"file_id": "F2", "title": "Planning du projet", "pages": 2}]
    assert deposits.current(lea).annexes == view.annexes


@pytest.mark.parametrize(("change", "code"), [
    (lambda d, who: d.rename_annex(who, 3, "Titre"), "annex_unknown"),
    (lambda d, who: d.rename_annex(who, 1, "   "), "title_missing"),
    (lambda d, who: d.remove_annex(who, 0), "annex_unknown"),
    (lambda d, who: d.move_annex(who, 5, -1), "annex_unknown"),
])
def test_a_refused_change_leaves_the_stored_annexes_as_they_were(world, change, code):
    _with_annexes(world, "Organigramme", "Planning")
    before = _stored(world, world["lea"].id)
    with pytest.raises(DepositRuleError) as refused:
        change(world["deposits"], world["lea"])
    assert refused.value.code == code
    assert _stored(world, world["lea"].id) == before


def test_each_change_is_dated_by_the_clock_and_the_creation_date_stays(world):
    deposits, lea, clock = world["deposits"], world["lea"], world["clock"]
    started = clock.now
    deposits.add_annex(lea, Annex("F1", "Organigramme", 1))
    clock.now += timedelta(hours=2)
    view = deposits.rename_annex(lea, 1, "Organigramme 2027")
    _, _, created, updated = _stored(world, lea.id)
    assert created.replace(tzinfo=UTC) == started and view.created_at.replace(tzinfo=UTC) == started
    assert updated.replace(tzinfo=UTC) == started + timedelta(hours=2)
    clock.now += timedelta(hours=1)
    version = world["drafts"].record(lea, review=_review("b" * 64), file_name="v1.pdf", telegram_file_id="D1").version
    deposits.choose_report(lea, version.id)
    assert _stored(world, lea.id)[3].replace(tzinfo=UTC) == started + timedelta(hours=3)


def test_the_chosen_report_carries_its_warnings_and_keeps_the_annexes(world):
    deposits, drafts, lea = world["deposits"], world["drafts"], world["lea"]
    _with_annexes(world, "Organigramme")
    long = drafts.record(lea, review=_review("c" * 64, pages=11), file_name="long.pdf", telegram_file_id="D1").version
    view = deposits.choose_report(world["sami"], drafts.record(
        world["sami"], review=_review("f" * 64), file_name="s.pdf", telegram_file_id="S1").version.id)
    assert view.annexes == () and _stored(world, world["sami"].id)[1] == []  # a new deposit: no annex yet
    view = deposits.choose_report(lea, long.id)
    assert view.report.id == long.id and view.warnings == ("over_limit", "missing_parts")
    assert [a.title for a in view.annexes] == ["Organigramme"] and view.pages == 11 + 1
    short = drafts.record(lea, review=_review("d" * 64, pages=7), file_name="court.pdf", telegram_file_id="D2").version
    view = deposits.choose_report(lea, short.id)
    assert view.report.id == short.id and view.warnings == ("missing_parts",)
    assert _stored(world, lea.id)[0] == short.id
    assert deposits.current(lea).report.id == short.id


def test_an_unreadable_version_cannot_be_the_report(world):
    deposits, lea = world["deposits"], world["lea"]
    broken = world["drafts"].record(lea, review=_review("e" * 64, problem="encrypted"), file_name="x.pdf",
                                    telegram_file_id="D1").version
    with pytest.raises(DepositRuleError) as refused:
        deposits.choose_report(lea, broken.id)
    assert refused.value.code == "report_unreadable"
    assert _stored(world, lea.id) is None  # nothing was started


def test_only_the_auditeur_prepares_their_own_deposit(world):
    deposits, lea, sami, tutor = world["deposits"], world["lea"], world["sami"], world["tutor"]
    _with_annexes(world, "Organigramme")
    for call in (lambda: deposits.add_annex(tutor, Annex("F9", "Intrus", 1)),
                 lambda: deposits.rename_annex(tutor, 1, "Intrus"),
                 lambda: deposits.remove_annex(tutor, 1),
                 lambda: deposits.move_annex(tutor, 1, 1),
                 lambda: deposits.abandon(tutor),
                 lambda: deposits.current(tutor),
                 lambda: deposits.choose_report(tutor, 1)):
        with pytest.raises(PermissionDenied) as refused:
            call()
        assert str(refused.value) == f"person {tutor.id} (tutor) may not prepare a deposit"  # what the log says
    version = world["drafts"].record(lea, review=_review("g" * 64), file_name="v.pdf", telegram_file_id="G1").version
    with pytest.raises(PermissionDenied) as refused:
        deposits.choose_report(sami, version.id)  # a forged button with Léa's version
    assert str(refused.value) == f"person {sami.id} (auditeur) may not deposit a draft that is not theirs"
    with pytest.raises(DepositRuleError):
        deposits.remove_annex(sami, 1)  # Sami has no annex 1: Léa's list is not his
    assert [a["title"] for a in _stored(world, lea.id)[1]] == ["Organigramme"]
    assert _stored(world, sami.id) is None  # the refused change started nothing for him


def test_abandon_forgets_the_deposit_and_says_whether_there_was_one(world):
    deposits, lea, sami = world["deposits"], world["lea"], world["sami"]
    _with_annexes(world, "Organigramme")
    assert deposits.abandon(sami) is False
    assert deposits.abandon(lea) is True
    assert _stored(world, lea.id) is None and deposits.current(lea) is None
    assert deposits.abandon(lea) is False
