"""The accompaniment service on SQLite and PostgreSQL: transitions, history, permissions, outbox rows."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.documents.grid_pdf import build_grid_pdf
from bot.domain.accompaniment import AcademicYear, Opinion, Refusal, RefusalCode, SemesterDates, Stage
from bot.domain.budget import MeetingStatus
from bot.domain.calendar import PARIS, HolidayCalendar, paris_to_utc
from bot.domain.pdf_review import PdfReview
from bot.domain.people import PersonView, Role
from bot.domain.permissions import COMMAND_LINE
from bot.domain.report import default_catalogue
from bot.services.accompaniment import Accompaniments, grid_from_toml
from bot.services.drafts import Drafts
from bot.services.onboarding import Onboarding
from bot.storage.models import AccompanimentEvent, FollowUpCase, OutboxMessage, Person, ReportSubmission
from bot.storage.models import Opinion as OpinionRow
from tests.clock import Clock


def _review(tag: str, pages: int = 7) -> PdfReview:
    data = tag.encode()
    return PdfReview(
        report_type="ua", sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data), page_limit=8,
        pages=pages, body_pages=pages, words=3000 + pages, sections_found=("introduction",), headings_source="outline",
    )


@pytest.fixture
def world(db):
    clock = Clock(datetime(2027, 2, 1, 9, tzinfo=UTC))
    catalogue = default_catalogue()
    acc = Accompaniments(db, HolidayCalendar(school_zone="B"), catalogue.grid, clock=clock, grid_pdf=build_grid_pdf,
                         catalogue=catalogue, email_invitations=True, bot_username="coachbot_test")
    onboarding = Onboarding(db, invitation_ttl=timedelta(days=14), clock=clock, accompaniment=acc)

    with db.transaction() as session:
        staff = Person(role="staff", display_name="Sophie Staff", telegram_user_id=1001)
        session.add(staff)
        session.flush()
        staff_view = PersonView(id=staff.id, role=Role.STAFF, display_name="Sophie Staff", telegram_user_id=1001)

    def bind(code, telegram_id):
        return onboarding.redeem(telegram_id, onboarding.check_code(telegram_id, code).invitation_id, notice_version="t").person

    marc = bind(onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois", email="marc@example.org").code, 2001)
    hugo = bind(onboarding.invite_tutor(COMMAND_LINE, "Hugo Roux").code, 2002)
    issued = onboarding.enrol_auditeur(COMMAND_LINE, name="Léa Bernard", tutor=marc.id, report_type="ua",
                                       semester="2026-S2", certification="Licence pro", email="lea@example.org")
    lea = bind(issued.code, 3001)
    sami_code = onboarding.enrol_auditeur(COMMAND_LINE, name="Sami Nour", tutor=hugo.id, report_type="ua",
                                          semester="2026-S2", certification="Licence pro").code
    sami = bind(sami_code, 3002)
    return {"acc": acc, "clock": clock, "marc": marc, "hugo": hugo, "lea": lea, "sami": sami, "staff": staff_view,
            "drafts": Drafts(db, clock=clock)}


def _kinds(db, kind_prefix: str) -> list[tuple[str, int | None, str]]:
    with db.read() as session:
        rows = session.execute(
            sa.select(OutboxMessage.kind, OutboxMessage.recipient_id, OutboxMessage.state)
            .where(OutboxMessage.kind.like(f"{kind_prefix}%")).order_by(OutboxMessage.id)
        ).all()
    return [tuple(r) for r in rows]


def _first_meeting_held(db, w):
    with db.transaction() as session:
        from bot.storage.models import Enrolment

        enrolment = session.scalar(sa.select(Enrolment).where(Enrolment.auditeur_id == w["lea"].id))
        assert w["acc"].on_first_meeting_held(session, enrolment, w["marc"], w["clock"]())


def test_enrolment_emails_the_invitation_and_starts_at_step_one(db, world):
    (email,) = _kinds(db, "email.invitation")
    assert email[2] == "pending"
    with db.read() as session:
        row = session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "email.invitation"))
        assert row.email_to == "lea@example.org" and row.params["tutor"] == "Marc Dubois"
        assert row.params["link"].startswith("https://t.me/coachbot_test?start=")
    view = world["acc"].status(world["lea"])
    assert view.stage is Stage.ENROLLED and view.limit_date == date(2028, 1, 31)  # end of 2027-S1
    # staff will be told if no first meeting is booked two weeks after binding (only Sophie is staff)
    assert ("accompaniment.first_meeting.staff", world["staff"].id, "pending") in _kinds(db, "accompaniment.first_meeting.staff")


def test_the_whole_journey_with_history_messages_and_reminders(db, world):
    acc, lea, marc, clock = world["acc"], world["lea"], world["marc"], world["clock"]
    _first_meeting_held(db, world)
    with pytest.raises(Refusal) as refused:
        acc.record_planning(marc, lea.id, date(2028, 2, 1))
    assert refused.value.code is RefusalCode.BEYOND_LIMIT and refused.value.details["limit"] == date(2028, 1, 31)
    planned = acc.record_planning(marc, lea.id, date(2027, 2, 26), (date(2027, 2, 10),))
    assert planned.stage is Stage.PLANNED and planned.deadline == date(2027, 2, 26) and planned.next_due == date(2027, 2, 26)
    reminders = _kinds(db, "accompaniment.deadline.auditeur")
    assert [r[2] for r in reminders] == ["pending"] * 3  # 14, 7 and 1 days before
    # the first-meeting alert no longer applies: cancelled in the same transaction as the move
    # (Sami's, still at step 1, stays)
    assert sorted(r[2] for r in _kinds(db, "accompaniment.first_meeting.staff")) == ["cancelled", "pending"]

    drafts = world["drafts"]
    v1 = drafts.record(lea, review=_review("v1"), file_name="v1.pdf", telegram_file_id="F1").version
    assert not _kinds(db, "draft.to_tutor")  # drafts stay the auditeur's
    assert drafts.send_to_tutor(lea, v1.id) and not drafts.send_to_tutor(lea, v1.id)
    assert len(_kinds(db, "draft.to_tutor")) == 2  # summary + file, once

    clock.now = datetime(2027, 2, 15, 10, tzinfo=UTC)
    submitted = acc.submit(lea)
    assert submitted.stage is Stage.SUBMITTED
    assert (submitted.current.weeks, submitted.current.due_on) == (6, date(2027, 3, 30))
    assert submitted.current.holidays[0]["name"] == "Vacances d'hiver"
    assert [r[2] for r in _kinds(db, "accompaniment.deadline.auditeur")] == ["cancelled"] * 3
    assert ("accompaniment.submitted", marc.id, "pending") in _kinds(db, "accompaniment.submitted")
    tutor_reminders = _kinds(db, "accompaniment.correction")
    assert {k for k, _, _ in tutor_reminders} == {
        "accompaniment.correction.tutor", "accompaniment.correction.tutor.overdue", "accompaniment.correction.staff.overdue"
    }

    rows = acc.follow_rows(marc)
    assert [(r.auditeur_name, r.stage, r.next_due) for r in rows] == [("Léa Bernard", Stage.SUBMITTED, date(2027, 3, 30))]
    clock.now = datetime(2027, 4, 1, 10, tzinfo=UTC)
    assert acc.follow_rows(marc)[0].overdue
    assert [r.auditeur_name for r in acc.staff_follow_up(world["staff"]).overdue_corrections] == ["Léa Bernard"]

    grid = acc.grid_for(None, "Licence pro")
    first = grid.criteria[0]
    corrected = acc.return_correction(marc, lea.id, file_id="ANNOTATED", file_name="annote.pdf",
                                      comments={first.id: "Argumentez davantage le choix."}, summary="Bon début.")
    assert corrected.stage is Stage.CORRECTED and corrected.current.has_correction_file
    assert [k for k, who, _ in _kinds(db, "accompaniment.corrected")] == ["accompaniment.corrected", "accompaniment.corrected.file"]
    assert all(state == "cancelled" for _, _, state in _kinds(db, "accompaniment.correction"))

    v2 = drafts.record(lea, review=_review("v2", pages=8), file_name="v2.pdf", telegram_file_id="F2").version
    revised = acc.submit(lea, v2.id)
    assert revised.stage is Stage.REVISED and revised.current.kind == "revision" and revised.current.version == 2
    with db.read() as session:
        note = session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "accompaniment.revised"))
        assert note.params["comparison"]["previous_version"] == 1

    assessments = {c.id: "acquis" for c in grid.criteria}
    with pytest.raises(Refusal) as refused:
        acc.give_opinion(marc, lea.id, verdict=Opinion.VALIDATED, assessments={first.id: "acquis"}, reasons="Très bon rapport.")
    assert refused.value.code is RefusalCode.GRID_INCOMPLETE
    given = acc.give_opinion(marc, lea.id, verdict=Opinion.VALIDATED, assessments=assessments, reasons="Très bon rapport, bien argumenté.")
    assert given.view.stage is Stage.VALIDATED and given.pdf.startswith(b"%PDF")
    from bot.domain.accompaniment import REMINDER_KINDS

    opinion_rows = _kinds(db, "accompaniment.opinion")
    assert [k for k, _, _ in opinion_rows if k not in REMINDER_KINDS] == ["accompaniment.opinion", "accompaniment.opinion.file"]
    assert {state for k, _, state in opinion_rows if k in REMINDER_KINDS} == {"cancelled"}  # the opinion is given
    assert acc.opinion_pdf(lea)[1] == given.pdf
    assert not _kinds(db, "accompaniment.not_validated")

    history = acc.status(lea, history=True).history
    assert [(h.action.value, h.from_stage.value, h.to_stage.value, h.party.value) for h in history] == [
        ("first_meeting_held", "enrolled", "first_meeting_held", "tutor"),
        ("record_planning", "first_meeting_held", "planned", "tutor"),
        ("submit", "planned", "submitted", "auditeur"),
        ("return_correction", "submitted", "corrected", "tutor"),
        ("submit_revision", "corrected", "revised", "auditeur"),
        ("give_opinion", "revised", "validated", "tutor"),
    ]
    assert all(h.actor_id in (lea.id, marc.id) for h in history)
    with db.read() as session:
        pending = session.scalars(sa.select(OutboxMessage.kind).where(
            OutboxMessage.kind.like("accompaniment.%"), OutboxMessage.state == "pending", OutboxMessage.priority == 2, OutboxMessage.subject_id == given.view.id
        )).all()
    assert pending == []  # a finished accompaniment has no reminder left


def test_wrong_people_are_refused_and_nothing_changes(db, world):
    acc, lea, sami, marc, hugo, staff = (world[k] for k in ("acc", "lea", "sami", "marc", "hugo", "staff"))
    _first_meeting_held(db, world)
    attempts = [
        (lambda: acc.record_planning(lea, lea.id, date(2027, 5, 1)), RefusalCode.WRONG_PERSON),
        (lambda: acc.record_planning(hugo, lea.id, date(2027, 5, 1)), RefusalCode.NOT_YOURS),
        (lambda: acc.record_planning(staff, lea.id, date(2027, 5, 1)), RefusalCode.WRONG_PERSON),
        (lambda: acc.submit(lea), RefusalCode.WRONG_STAGE),
    ]
    for attempt, code in attempts:
        with pytest.raises(Refusal) as refused:
            attempt()
        assert refused.value.code is code
    acc.record_planning(marc, lea.id, date(2027, 5, 1))
    world["drafts"].record(lea, review=_review("x"), file_name="x.pdf", telegram_file_id="FX")
    for attempt, code in [
        (lambda: acc.submit(sami), RefusalCode.WRONG_STAGE),  # Sami's own accompaniment is at step 1
        (lambda: acc.return_correction(marc, lea.id, summary="trop tôt"), RefusalCode.WRONG_STAGE),
    ]:
        with pytest.raises(Refusal) as refused:
            attempt()
        assert refused.value.code is code
    acc.submit(lea)
    for attempt, code in [
        (lambda: acc.return_correction(lea, lea.id, summary="moi-même"), RefusalCode.WRONG_PERSON),
        (lambda: acc.return_correction(hugo, lea.id, summary="pas le mien"), RefusalCode.NOT_YOURS),
        (lambda: acc.return_correction(staff, lea.id, summary="staff"), RefusalCode.WRONG_PERSON),
        (lambda: acc.return_correction(marc, lea.id), RefusalCode.NOTHING_TO_SEND),
        (lambda: acc.give_opinion(marc, lea.id, verdict=Opinion.VALIDATED, assessments={}, reasons="x" * 20), RefusalCode.WRONG_STAGE),
        (lambda: acc.staff_follow_up(marc), RefusalCode.WRONG_PERSON),
        (lambda: acc.status(sami, lea.id), RefusalCode.NOT_YOURS),
    ]:
        with pytest.raises(Refusal) as refused:
            attempt()
        assert refused.value.code is code
    assert acc.status(lea).stage is Stage.SUBMITTED
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(AccompanimentEvent)) == 3


def test_non_validated_stays_on_the_staff_list_until_the_contact_is_recorded(db, world):
    acc, lea, marc, staff = world["acc"], world["lea"], world["marc"], world["staff"]
    _first_meeting_held(db, world)
    acc.record_planning(marc, lea.id, date(2027, 5, 1))
    world["drafts"].record(lea, review=_review("x"), file_name="x.pdf", telegram_file_id="FX")
    acc.submit(lea)
    acc.return_correction(marc, lea.id, summary="À reprendre en profondeur.")
    acc.submit(lea)
    grid = acc.grid_for(None, "Licence pro")
    given = acc.give_opinion(marc, lea.id, verdict=Opinion.NOT_VALIDATED,
                             assessments={c.id: "non acquis" for c in grid.criteria}, reasons="Le rôle propre n'apparaît pas.")
    assert given.view.stage is Stage.NOT_VALIDATED and given.view.open_case is not None
    assert ("accompaniment.not_validated.staff", staff.id, "pending") in _kinds(db, "accompaniment.not_validated")
    (case,) = acc.staff_follow_up(staff).open_cases
    with pytest.raises(Refusal):
        acc.record_contact(marc, case.id, contact_note="appel", agreed="rien")
    with pytest.raises(Refusal):
        acc.record_contact(staff, case.id, contact_note="", agreed="")
    closed = acc.record_contact(staff, case.id, contact_note="Appel le 20/02", agreed="Nouvelle version en juin", resume=True)
    assert closed.closed_at is not None
    assert acc.staff_follow_up(staff).open_cases == ()
    assert acc.status(lea).stage is Stage.PLANNED  # resumed: a new planning with the tutor
    with pytest.raises(Refusal) as refused:
        acc.record_contact(staff, case.id, contact_note="encore", agreed="encore")
    assert refused.value.code is RefusalCode.CASE_CLOSED


def test_staff_set_the_academic_year_and_load_a_certifier_grid(db, world):
    acc, staff, marc, lea = world["acc"], world["staff"], world["marc"], world["lea"]
    custom = AcademicYear(
        2027,
        SemesterDates(date(2027, 9, 15), date(2028, 1, 15), date(2027, 10, 1), date(2027, 10, 31)),
        SemesterDates(date(2028, 1, 16), date(2028, 7, 15), date(2028, 2, 1), date(2028, 3, 31)),
    )
    with pytest.raises(Refusal):
        acc.set_academic_year(marc, custom)
    acc.set_academic_year(staff, custom)
    _first_meeting_held(db, world)
    with pytest.raises(Refusal) as refused:
        acc.record_planning(marc, lea.id, date(2028, 1, 20))
    assert refused.value.details["limit"] == date(2028, 1, 15)  # end of 2027-S1 as staff set it

    grid = grid_from_toml('title = "Fiche navette"\n[[criteria]]\nid = "a"\nlabel = "Analyse"\n[[criteria]]\nid = "b"\nlabel = "Forme"\n')
    acc.load_grid(staff, "Licence pro", grid)
    assert [c.id for c in acc.grid_for(None, "Licence pro").criteria] == ["a", "b"]
    with pytest.raises(Refusal):
        grid_from_toml("pas du toml [")
    with pytest.raises(Refusal) as untitled:  # the title heads the completed grid: never made up
        grid_from_toml('[[criteria]]\nid = "a"\nlabel = "Analyse"\n')
    assert untitled.value.details == {"reason": "title_missing"}


def test_cohort_csv(db, world):
    text = world["acc"].cohort_csv(world["staff"])
    lines = text.strip().splitlines()
    assert lines[0].startswith("auditeur,tuteur,certification,semestre,etape")
    assert any(line.startswith("Léa Bernard,Marc Dubois,Licence pro,2026-S2,1,enrolled") for line in lines)


def test_two_instances_send_a_due_deadline_reminder_once(db, database_url, world):
    import threading

    from bot.services.outbox import OutboxStore, RateSettings
    from bot.storage.db import Database

    acc, lea, marc, clock = world["acc"], world["lea"], world["marc"], world["clock"]
    _first_meeting_held(db, world)
    acc.record_planning(marc, lea.id, date(2027, 2, 26))
    clock.now = datetime(2027, 2, 19, 9, tzinfo=UTC)  # the 7-day reminder (Friday 19th, 9h Paris) is due
    other = Database(database_url)
    rate = RateSettings(per_second=1000.0, burst=1000.0, per_chat_interval=timedelta(0))
    stores = [OutboxStore(db, clock=clock, timer=clock, instance="a", rate=rate),
              OutboxStore(other, clock=clock, timer=clock, instance="b", rate=rate)]
    claimed: list[list[str]] = [[], []]

    def drain(index: int) -> None:
        while True:
            batch, _ = stores[index].claim(limit=5)
            if not batch:
                return
            for row in batch:
                claimed[index].append((row.id, row.kind))
                assert stores[index].finish(row.id, "sent")

    try:
        threads = [threading.Thread(target=drain, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        other.dispose()
    reminders = [c for c in claimed[0] + claimed[1] if c[1] == "accompaniment.deadline.auditeur"]
    assert len(reminders) == len(set(reminders)) == 1  # the 7-day one, sent once
    states = [state for kind, _, state in _kinds(db, "accompaniment.deadline.auditeur")]
    # the 14-day one expired when the 7-day one came due; the 1-day one is not due yet
    assert states == ["expired", "sent", "pending"]

def test_moving_the_limit_moves_the_staff_alert_about_it(db, world):
    """The alert "nothing moved, or the limit is near" names the limit: a new calendar plans it again."""
    acc, staff = world["acc"], world["staff"]

    def alerts() -> list[tuple[str, str, date]]:
        with db.read() as session:
            rows = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "accompaniment.stalled.staff")
                                   .order_by(OutboxMessage.id))
            return [(r.state, r.params["about"]["$date"], r.next_attempt_at.astimezone(PARIS).date()) for r in rows]

    def year(s1_end: date) -> AcademicYear:
        return AcademicYear(
            2027,
            SemesterDates(date(2027, 9, 1), s1_end, date(2027, 9, 1), date(2027, 9, 30)),
            SemesterDates(date(2028, 2, 1), date(2028, 8, 31), date(2028, 2, 1), date(2028, 3, 31)),
        )

    world["clock"].now = datetime(2027, 9, 20, 9, tzinfo=UTC)
    _first_meeting_held(db, world)  # a move: nothing more for 60 days, or 45 days before the limit
    pending = [a for a in alerts() if a[0] == "pending"]
    assert pending == [("pending", "2028-01-31", date(2027, 11, 19))]  # 60 days of silence come first

    acc.set_academic_year(staff, year(date(2027, 12, 10)))  # Léa's limit: the end of 2027-S1, sooner
    assert acc.status(world["lea"]).limit_date == date(2027, 12, 10)
    assert [a for a in alerts() if a[0] == "pending"] == [("pending", "2027-12-10", date(2027, 10, 26))]
    assert ("cancelled", "2028-01-31", date(2027, 11, 19)) in alerts()

    count = len(alerts())
    acc.set_academic_year(staff, year(date(2027, 12, 10)))  # the same dates again: nothing planned again
    assert len(alerts()) == count
    acc.set_academic_year(staff, year(date(2028, 1, 31)))  # and back: planned again, not lost to a used key
    assert [a for a in alerts() if a[0] == "pending"] == [("pending", "2028-01-31", date(2027, 11, 19))]
