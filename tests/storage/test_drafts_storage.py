"""Draft versions in the database, on SQLite and on PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot.domain.pdf_review import PdfReview
from bot.domain.people import PersonView, Role
from bot.domain.permissions import COMMAND_LINE, PermissionDenied
from bot.services.drafts import DraftError, Drafts
from bot.services.onboarding import Onboarding
from bot.storage.models import AuditEvent, DraftVersion, Enrolment, Person


def _review(tag: str, *, pages: int = 7, words: int = 3000, found=("introduction", "choix"), problem=None) -> PdfReview:
    data = tag.encode()
    if problem:
        return PdfReview(report_type="ua", sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data),
                         page_limit=8, problem=problem)
    return PdfReview(
        report_type="ua", sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data), page_limit=8,
        pages=pages, body_pages=pages, over_limit=pages > 8, words=words, sections_found=tuple(found),
        sections_missing=("conclusion",), headings_source="outline", next_steps=("proofread",),
    )


@pytest.fixture
def people(db):
    onboarding = Onboarding(db, invitation_ttl=timedelta(days=14))

    def tutor(name, telegram_id):
        issued = onboarding.invite_tutor(COMMAND_LINE, name)
        return onboarding.redeem(telegram_id, onboarding.check_code(telegram_id, issued.code).invitation_id,
                                 notice_version="t").person

    def auditeur(name, tutor_id, telegram_id):
        issued = onboarding.enrol_auditeur(COMMAND_LINE, name=name, tutor=tutor_id, report_type="ua",
                                           semester="2026-S1", certification="Licence pro")
        return onboarding.redeem(telegram_id, onboarding.check_code(telegram_id, issued.code).invitation_id,
                                 notice_version="t").person

    marc, hugo = tutor("Marc Dubois", 2001), tutor("Hugo Roux", 2002)
    return {
        "marc": marc,
        "hugo": hugo,
        "lea": auditeur("Léa Bernard", marc.id, 3001),
        "sami": auditeur("Sami Nour", hugo.id, 3002),
        "staff": PersonView(id=0, role=Role.STAFF, display_name="Staff", telegram_user_id=1001),
    }


def test_versions_are_numbered_compared_and_deduplicated(db, people):
    drafts, lea = Drafts(db), people["lea"]
    first = drafts.record(lea, review=_review("a", pages=10, found=("introduction",)), file_name="v1.pdf",
                          telegram_file_id="F1")
    assert first.version.version == 1 and first.previous is None and first.comparison is None
    broken = drafts.record(lea, review=_review("b", problem="encrypted"), file_name="x.pdf", telegram_file_id="F2")
    assert broken.version.version == 2 and broken.version.problem == "encrypted" and broken.comparison is None
    second = drafts.record(lea, review=_review("c", pages=7), file_name="v3.pdf", telegram_file_id="F3")
    assert second.version.version == 3
    assert second.previous.version == 1  # the readable one, not the encrypted file
    assert second.comparison.sections_gained == ("choix",) and second.comparison.pages_delta == -3
    assert second.comparison.was_over_limit and not second.comparison.is_over_limit

    same = drafts.record(lea, review=_review("c", pages=7), file_name="again.pdf", telegram_file_id="F4")
    assert same.version is None and same.same_as.version == 3
    assert drafts.same_as_latest(lea, _review("c").sha256).version == 3
    assert drafts.same_as_latest(lea, _review("a").sha256) is None  # only the latest counts

    versions = drafts.versions(lea, lea.id)
    assert [(v.version, v.file_name, v.problem) for v in versions] == [
        (1, "v1.pdf", None), (2, "x.pdf", "encrypted"), (3, "v3.pdf", None)
    ]
    assert versions[0].review == _review("a", pages=10, found=("introduction",))  # JSON round trip
    assert versions[0].received_at.tzinfo is not None
    assert drafts.latest_readable(lea, lea.id).version == 3
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "draft.received")) == 3


def test_numbering_is_per_auditeur_and_unique(db, people):
    drafts = Drafts(db)
    drafts.record(people["lea"], review=_review("a"), file_name="a.pdf", telegram_file_id="F1")
    sami = drafts.record(people["sami"], review=_review("a"), file_name="a.pdf", telegram_file_id="F2")
    assert sami.version.version == 1 and sami.comparison is None  # same bytes, other auditeur: no dedup
    with pytest.raises(sa.exc.IntegrityError):
        with db.transaction() as session:
            row = session.scalar(sa.select(DraftVersion).where(DraftVersion.auditeur_id == people["lea"].id))
            session.add(DraftVersion(auditeur_id=row.auditeur_id, enrolment_id=row.enrolment_id, version=1,
                                     sha256="0" * 64, file_name="dup.pdf", size_bytes=1, telegram_file_id="F9",
                                     pages=1, words=1, review={}))


def test_who_may_see_which_drafts(db, people):
    drafts = Drafts(db)
    lea, sami, marc, hugo, staff = (people[k] for k in ("lea", "sami", "marc", "hugo", "staff"))
    mine = drafts.record(lea, review=_review("a"), file_name="a.pdf", telegram_file_id="F1").version
    drafts.record(sami, review=_review("b"), file_name="b.pdf", telegram_file_id="F2")

    assert [v.id for v in drafts.versions(marc, lea.id)] == [mine.id]
    assert drafts.version(marc, mine.id).telegram_file_id == "F1"
    assert len(drafts.versions(staff, sami.id)) == 1
    for actor, auditeur_id in ((hugo, lea.id), (sami, lea.id), (lea, sami.id), (marc, marc.id), (staff, 999999)):
        with pytest.raises(PermissionDenied):
            drafts.versions(actor, auditeur_id)
    with pytest.raises(PermissionDenied):
        drafts.version(hugo, mine.id)
    with pytest.raises(PermissionDenied):
        drafts.version(staff, 999999)
    for actor in (marc, staff):
        with pytest.raises(PermissionDenied):
            drafts.record(actor, review=_review("z"), file_name="z.pdf", telegram_file_id="F")

    assert [(e.auditeur.display_name, n) for e, n in drafts.followed_auditeurs(marc)] == [("Léa Bernard", 1)]
    assert [e.auditeur.display_name for e, _ in drafts.followed_auditeurs(staff)] == ["Léa Bernard", "Sami Nour"]
    with pytest.raises(PermissionDenied):
        drafts.followed_auditeurs(lea)


def test_no_active_enrolment_no_draft_and_history_survives_closing(db, people):
    drafts, lea = Drafts(db), people["lea"]
    drafts.record(lea, review=_review("a"), file_name="a.pdf", telegram_file_id="F1")
    with db.transaction() as session:
        session.execute(sa.update(Enrolment).where(Enrolment.auditeur_id == lea.id).values(status="closed"))
    with pytest.raises(DraftError):
        drafts.record(lea, review=_review("b"), file_name="b.pdf", telegram_file_id="F2")
    assert [v.version for v in drafts.versions(people["staff"], lea.id)] == [1]
    with pytest.raises(PermissionDenied):  # no active enrolment: the former tutor no longer sees them
        drafts.versions(people["marc"], lea.id)
    with db.transaction() as session:
        session.delete(session.get(Person, lea.id))
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(DraftVersion)) == 0


def test_a_deposit_in_progress_is_the_auditeurs_own_and_is_exported_and_erased(db):
    from bot.domain.deposit import Annex
    from bot.domain.permissions import PermissionDenied
    from bot.services.deposits import Deposits
    from bot.services.personal_data import PersonalData
    from bot.storage.models import DepositInProgress

    onboarding = Onboarding(db, invitation_ttl=timedelta(days=14))
    tutor = onboarding.redeem(
        2001, onboarding.check_code(2001, onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois").code).invitation_id,
        notice_version="t",
    ).person
    people = []
    for telegram_id, name in ((3001, "Léa Bernard"), (3002, "Sami Nour")):
        issued = onboarding.enrol_auditeur(COMMAND_LINE, name=name, tutor=tutor.id, report_type="ua",
                                           semester="2026-S1", certification="L")
        people.append(onboarding.redeem(telegram_id, onboarding.check_code(telegram_id, issued.code).invitation_id,
                                        notice_version="t").person)
    lea, sami = people
    drafts, deposits = Drafts(db), Deposits(db)
    version = drafts.record(lea, review=_review("a" * 64), file_name="v1.pdf", telegram_file_id="F1").version
    with pytest.raises(PermissionDenied):
        deposits.choose_report(sami, version.id)  # someone else's version, by a forged button
    with pytest.raises(PermissionDenied):
        deposits.current(tutor)
    assert deposits.current(sami) is None
    deposits.choose_report(lea, version.id)
    view = deposits.add_annex(lea, Annex("A1", "Organigramme", 2))
    assert view.report.id == version.id and view.pages == version.pages + 2

    export = PersonalData(db).export(COMMAND_LINE, lea.id)
    assert export["deposit_in_progress"]["report_version"] == 1
    assert export["deposit_in_progress"]["annexes"] == [{"title": "Organigramme", "pages": 2}]
    PersonalData(db).erase(COMMAND_LINE, lea.id)
    with db.read() as session:
        assert session.get(DepositInProgress, lea.id) is None
