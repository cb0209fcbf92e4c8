"""The accompaniment service step by step, on SQLite and PostgreSQL: what each call stores (stage,
history, planning, submissions, opinions, cases), what it owes the other side in the outbox (kind,
recipient, parameters, in the same transaction), which reminders it plans or cancels, and whom it
refuses. The world is built directly in the tables (no onboarding), so each test stays fast."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from bot.domain.accompaniment import (
    AcademicYear,
    Action,
    Opinion,
    Party,
    Refusal,
    RefusalCode,
    ReminderKind,
    SemesterDates,
    Stage,
)
from bot.domain.broadcasts import BroadcastError
from bot.domain.calendar import HolidayCalendar, paris_to_utc
from bot.domain.pdf_review import PdfReview
from bot.domain.people import PersonView, Role
from bot.domain.permissions import COMMAND_LINE
from bot.domain.report import Criterion, Grid, default_catalogue
from bot.services import outbox
from bot.services.accompaniment import Accompaniments
from bot.storage.models import (
    AcademicYearRow,
    Accompaniment,
    AccompanimentEvent,
    AuditEvent,
    CertificationGrid,
    DraftVersion,
    Enrolment,
    FollowUpCase,
    Meeting,
    OutboxMessage,
    Person,
    PlanningDate,
    ReportSubmission,
)
from bot.storage.models import Opinion as OpinionRow
from tests.clock import Clock

SUBJECT = "accompaniment"  # the outbox rows' subject: cancelled together when the stage moves
START = datetime(2027, 2, 1, 9, tzinfo=UTC)  # Monday 1 February 2027, 10:00 in Paris
LIMIT = date(2028, 1, 31)  # enrolled in 2026-S2: the end of 2027-S1 (default calendar)
GRID = Grid(
    title="Fiche de test", intro="", verdicts=("validé", "non validé"),
    criteria=(Criterion("a", "Analyse", "", ()), Criterion("b", "Forme", "", ())),
)
ALL_MET = {"a": "acquis", "b": "acquis"}
REASONS = "Un rapport solide et bien argumenté."


def at_paris(day: date, hour: int = 9) -> datetime:
    return paris_to_utc(day, time(hour))


class PdfSpy:
    """The grid PDF builder: records the document it was given (what the attestation shows)."""

    def __init__(self) -> None:
        self.documents: list[dict] = []

    def __call__(self, document: dict) -> bytes:
        self.documents.append(document)
        return b"%PDF-spy"


def make_service(db, clock, **options) -> Accompaniments:
    values = dict(grid_pdf=PdfSpy(), catalogue=default_catalogue(), email_invitations=True, bot_username="coachbot_test",
                  contact="scolarite@cnam.example")
    values.update(options)
    return Accompaniments(db, HolidayCalendar(school_zone="B"), values.pop("grid", GRID), clock=clock, **values)


def view_of(person: Person) -> PersonView:
    return PersonView(id=person.id, role=Role(person.role), display_name=person.display_name,
                      telegram_user_id=person.telegram_user_id, email=person.email)


def add_enrolment(db, auditeur_id: int, tutor_id: int, *, certification="Licence pro", semester="2026-S2",
                  status="active", enrolled_at=START) -> int:
    with db.transaction() as session:
        enrolment = Enrolment(auditeur_id=auditeur_id, tutor_id=tutor_id, certification=certification, report_type="ua",
                              semester=semester, status=status, enrolled_at=enrolled_at)
        session.add(enrolment)
        session.flush()
        return enrolment.id


@pytest.fixture
def w(db):
    clock = Clock(START)
    with db.transaction() as session:
        rows = {
            "sophie": Person(role="staff", display_name="Sophie Staff", telegram_user_id=1001),
            "zoe": Person(role="staff", display_name="Zoé Partie", telegram_user_id=1002, active=False),
            "yves": Person(role="staff", display_name="Yves Sans-Telegram"),
            "marc": Person(role="tutor", display_name="Marc Dubois", telegram_user_id=2001, email="marc@example.org"),
            "hugo": Person(role="tutor", display_name="Hugo Roux", telegram_user_id=2002),
            "lea": Person(role="auditeur", display_name="Léa Bernard", telegram_user_id=3001, email="lea@example.org"),
            "sami": Person(role="auditeur", display_name="Sami Nour", telegram_user_id=3002),
        }
        session.add_all(rows.values())
        session.flush()
        people = {name: view_of(row) for name, row in rows.items()}
    pdf = PdfSpy()
    acc = make_service(db, clock, grid_pdf=pdf)
    ids = {
        "lea": add_enrolment(db, people["lea"].id, people["marc"].id),
        "sami": add_enrolment(db, people["sami"].id, people["hugo"].id, certification="Master RH"),
    }
    with db.transaction() as session:
        for enrolment_id in ids.values():
            acc.on_enrolled(session, session.get(Enrolment, enrolment_id), START)
    return SimpleNamespace(db=db, acc=acc, clock=clock, pdf=pdf, enrolment=ids, **people)


# -- reading back what was stored -----------------------------------------------------------------


@dataclass
class Row:
    kind: str
    recipient_id: int | None
    state: str
    template: str | None
    params: dict
    keyboard: list | None
    document: dict | None
    content: bytes | None
    priority: int
    next_attempt_at: datetime
    expires_at: datetime | None
    subject: tuple
    dedupe_key: str | None
    on_uncertain: str
    email_to: str | None
    created_at: datetime


def rows(db, kind: str | None = None, *, state: str | None = None, prefix: bool = False) -> list[Row]:
    with db.read() as session:
        query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
        if kind is not None:
            query = query.where(OutboxMessage.kind.like(f"{kind}%") if prefix else OutboxMessage.kind == kind)
        if state is not None:
            query = query.where(OutboxMessage.state == state)
        return [
            Row(r.kind, r.recipient_id, r.state, r.template, outbox.decode(r.params), r.keyboard, r.document, r.document_content,
                r.priority, r.next_attempt_at, r.expires_at, (r.subject_type, r.subject_id), r.dedupe_key, r.on_uncertain, r.email_to,
                r.created_at)
            for r in session.scalars(query)
        ]


def acc_id(w, name="lea") -> int:
    with w.db.read() as session:
        return session.scalar(sa.select(Accompaniment.id).where(Accompaniment.enrolment_id == w.enrolment[name]))


def events(w, name="lea") -> list[tuple]:
    with w.db.read() as session:
        return [
            (e.action, e.from_stage, e.to_stage, e.party, e.actor_id, e.details, e.at)
            for e in session.scalars(sa.select(AccompanimentEvent).where(AccompanimentEvent.accompaniment_id == acc_id(w, name))
                                     .order_by(AccompanimentEvent.id))
        ]


def submissions(w, name="lea") -> list[ReportSubmission]:
    with w.db.read() as session:
        found = list(session.scalars(sa.select(ReportSubmission).where(ReportSubmission.accompaniment_id == acc_id(w, name))
                                     .order_by(ReportSubmission.id)))
        session.expunge_all()
        return found


# -- moving an accompaniment along --------------------------------------------------------------


def meet(w, name="lea", actor="marc"):
    with w.db.transaction() as session:
        enrolment = session.get(Enrolment, w.enrolment[name])
        return w.acc.on_first_meeting_held(session, enrolment, getattr(w, actor) if actor else None, w.clock())


def draft(w, name="lea", *, version: int, sections=("introduction",), problem=None, file_id=None) -> int:
    review = PdfReview(
        report_type="ua", sha256=hashlib.sha256(f"{name}{version}".encode()).hexdigest(), size_bytes=100, page_limit=8,
        pages=7, body_pages=7, words=3000, sections_found=tuple(sections), headings_source="outline", problem=problem,
    )
    with w.db.transaction() as session:
        row = DraftVersion(auditeur_id=getattr(w, name).id, enrolment_id=w.enrolment[name], version=version, sha256=review.sha256,
                           file_name=f"v{version}.pdf", size_bytes=100, telegram_file_id=file_id or f"F{version}", problem=problem,
                           review=review.to_json(), received_at=w.clock())
        session.add(row)
        session.flush()
        return row.id


def planned(w, deadline=date(2027, 5, 3), intermediate=()):
    meet(w)
    return w.acc.record_planning(w.marc, w.lea.id, deadline, intermediate)


def submitted(w, **kw):
    planned(w, **kw)
    draft(w, version=1)
    return w.acc.submit(w.lea)


def corrected(w):
    submitted(w)
    return w.acc.return_correction(w.marc, w.lea.id, summary="À reprendre.")


def revised(w):
    corrected(w)
    return w.acc.submit(w.lea)


def refused(call, code: RefusalCode) -> dict:
    with pytest.raises(Refusal) as caught:
        call()
    assert caught.value.code is code
    return caught.value.details


# -- step 1: enrolment, binding, first meeting ------------------------------------------------------


def test_the_invitation_email_names_the_tutor_the_link_and_the_contact(w):
    expires = START + timedelta(days=14)
    with w.db.transaction() as session:
        w.acc.on_enrolled(session, session.get(Enrolment, w.enrolment["lea"]), START, code="ABC123", expires_at=expires)
    (email,) = rows(w.db, "email.invitation")
    assert (email.email_to, email.recipient_id, email.template, email.state) == (
        "lea@example.org", w.lea.id, "email/invitation.txt", "pending")
    assert (email.subject, email.created_at) == ((SUBJECT, acc_id(w)), START)
    assert email.params == {
        "auditeur": "Léa Bernard", "tutor": "Marc Dubois", "tutor_email": "marc@example.org", "certification": "Licence pro",
        "code": "ABC123", "expires_at": expires, "link": "https://t.me/coachbot_test?start=ABC123",
        "contact": "scolarite@cnam.example",
    }
    assert w.acc.status(w.lea).stage is Stage.ENROLLED  # the same accompaniment, not a second one


def test_no_invitation_email_without_a_code_an_address_or_smtp(w, db):
    with db.transaction() as session:
        w.acc.on_enrolled(session, session.get(Enrolment, w.enrolment["lea"]), START)  # no code
        w.acc.on_enrolled(session, session.get(Enrolment, w.enrolment["sami"]), START, code="NOMAIL")  # no address
        make_service(db, w.clock, email_invitations=False).on_enrolled(
            session, session.get(Enrolment, w.enrolment["lea"]), START, code="NOSMTP")
    assert rows(db, "email.invitation") == []
    with db.transaction() as session:
        make_service(db, w.clock, bot_username=None).on_enrolled(session, session.get(Enrolment, w.enrolment["lea"]), START,
                                                                 code="NOBOT")
    (email,) = rows(db, "email.invitation")
    assert email.params["code"] == "NOBOT" and email.params["link"] is None


def test_by_default_no_invitation_is_e_mailed_and_no_contact_is_given(w, db):
    with db.transaction() as session:
        enrolment = session.get(Enrolment, w.enrolment["lea"])
        Accompaniments(db, HolidayCalendar(school_zone="B"), GRID, clock=w.clock).on_enrolled(session, enrolment, START, code="A")
        Accompaniments(db, HolidayCalendar(school_zone="B"), GRID, clock=w.clock, email_invitations=True).on_enrolled(
            session, enrolment, START, code="B")
    (email,) = rows(db, "email.invitation")
    assert (email.params["code"], email.params["contact"], email.params["link"]) == ("B", "", None)


def test_enrolment_starts_at_step_one_with_the_two_semester_limit(w):
    view = w.acc.status(w.lea)
    assert (view.stage, view.step, view.moved_at, view.limit_date) == (Stage.ENROLLED, 1, START, LIMIT)
    assert (view.deadline, view.intermediate, view.current, view.verdict, view.open_case) == (None, (), None, None, None)
    assert (view.next_due, view.overdue, view.history) == (None, False, ())
    assert view.enrolment.auditeur.display_name == "Léa Bernard" and view.enrolment.tutor.display_name == "Marc Dubois"


def test_binding_plans_one_first_meeting_alert_for_each_active_staff_member_on_telegram(w):
    with w.db.transaction() as session:
        w.acc.on_bound(session, session.get(Enrolment, w.enrolment["lea"]), START)
    with w.db.transaction() as session:  # bound again (a retried update): owed once
        w.acc.on_bound(session, session.get(Enrolment, w.enrolment["lea"]), START)
    (alert,) = rows(w.db, ReminderKind.STAFF_NO_FIRST_MEETING.value)
    ident = acc_id(w)
    assert (alert.recipient_id, alert.state, alert.template) == (w.sophie.id, "pending", "accompaniment/reminder.html")
    assert alert.next_attempt_at == at_paris(date(2027, 2, 15))  # 14 days after binding, 09:00 Paris
    assert (alert.priority, alert.on_uncertain, alert.expires_at, alert.subject, alert.created_at) == (
        outbox.Priority.REMINDER, outbox.DROP, None, (SUBJECT, ident), START)
    assert alert.dedupe_key == f"acc:{ident}:0:accompaniment.first_meeting.staff:0:None:{w.sophie.id}"
    assert alert.params == {"kind": "accompaniment.first_meeting.staff", "days": 0, "about": None, "auditeur": "Léa Bernard",
                            "auditeur_id": w.lea.id, "accompaniment_id": ident, "stage": "enrolled"}


def test_binding_an_older_enrolment_starts_its_accompaniment_then(w):
    with w.db.transaction() as session:
        session.delete(session.get(Accompaniment, acc_id(w)))  # enrolled before the accompaniment existed
    bound_at = START + timedelta(hours=5)
    with w.db.transaction() as session:
        w.acc.on_bound(session, session.get(Enrolment, w.enrolment["lea"]), bound_at)
    with w.db.read() as session:
        row = session.scalar(sa.select(Accompaniment).where(Accompaniment.enrolment_id == w.enrolment["lea"]))
        assert (row.stage, row.moved_at, row.created_at, row.limit_date) == ("enrolled", bound_at, bound_at, LIMIT)
    (alert,) = rows(w.db, ReminderKind.STAFF_NO_FIRST_MEETING.value)
    assert alert.params["accompaniment_id"] == row.id


def test_binding_after_the_first_meeting_plans_no_alert(w):
    meet(w)
    with w.db.transaction() as session:
        w.acc.on_bound(session, session.get(Enrolment, w.enrolment["lea"]), START)
    assert rows(w.db, ReminderKind.STAFF_NO_FIRST_MEETING.value) == []


def test_the_first_meeting_held_moves_to_step_two_once_and_tells_the_auditeur(w):
    w.clock.now = START + timedelta(days=3)
    assert meet(w) is True
    assert meet(w) is False  # already past it: nothing more
    view = w.acc.status(w.lea)
    assert (view.stage, view.step, view.moved_at) == (Stage.FIRST_MEETING_HELD, 2, START + timedelta(days=3))
    assert events(w) == [("first_meeting_held", "enrolled", "first_meeting_held", "tutor", w.marc.id, {}, START + timedelta(days=3))]
    (note,) = rows(w.db, "accompaniment.first_meeting_held")
    assert (note.recipient_id, note.template, note.params, note.subject) == (
        w.lea.id, "accompaniment/first_meeting_held.html", {"limit": LIMIT}, (SUBJECT, acc_id(w)))
    assert (note.priority, note.created_at) == (outbox.Priority.NOTIFICATION, START + timedelta(days=3))


@pytest.mark.parametrize(("actor", "party"), [(None, "system"), ("command_line", "staff")])
def test_a_first_meeting_marked_by_the_bot_or_the_command_line_has_no_person_in_the_history(w, actor, party):
    with w.db.transaction() as session:
        enrolment = session.get(Enrolment, w.enrolment["lea"])
        assert w.acc.on_first_meeting_held(session, enrolment, COMMAND_LINE if actor else None, START)
    ((action, _, to_stage, recorded_party, actor_id, _, _),) = events(w)
    assert (action, to_stage, recorded_party, actor_id) == ("first_meeting_held", "first_meeting_held", party, None)


def test_each_move_is_logged_with_ids_and_stages_only(w, caplog):
    caplog.set_level("INFO", logger="bot.services.accompaniment")
    meet(w)
    with w.db.transaction() as session:
        w.acc.on_first_meeting_held(session, session.get(Enrolment, w.enrolment["sami"]), None, START)
    messages = [r.getMessage() for r in caplog.records if r.name == "bot.services.accompaniment"]
    assert messages == [
        f"accompaniment {acc_id(w)}: enrolled -> first_meeting_held (first_meeting_held, person {w.marc.id})",
        f"accompaniment {acc_id(w, 'sami')}: enrolled -> first_meeting_held (first_meeting_held, person None)",
    ]
    assert all(r.levelname == "INFO" for r in caplog.records if r.name == "bot.services.accompaniment")


# -- step 2: the planning -----------------------------------------------------------------------------


def test_the_planning_is_stored_told_to_the_auditeur_and_its_reminders_planned(w):
    view = planned(w, date(2027, 3, 26), (date(2027, 3, 12), date(2027, 2, 26)))
    assert (view.stage, view.deadline, view.intermediate) == (Stage.PLANNED, date(2027, 3, 26), (date(2027, 2, 26), date(2027, 3, 12)))
    assert (view.next_due, view.overdue, view.limit_date) == (date(2027, 3, 26), False, LIMIT)
    assert events(w)[-1][:6] == ("record_planning", "first_meeting_held", "planned", "tutor", w.marc.id,
                                 {"deadline": "2027-03-26", "intermediate": ["2027-02-26", "2027-03-12"]})
    (note,) = rows(w.db, "accompaniment.planning")
    assert (note.recipient_id, note.template, note.subject, note.created_at) == (
        w.lea.id, "accompaniment/planning_auditeur.html", (SUBJECT, acc_id(w)), START)
    assert note.params == {"deadline": date(2027, 3, 26), "intermediate": [date(2027, 2, 26), date(2027, 3, 12)],
                           "limit": LIMIT, "tutor": "Marc Dubois"}
    deadline = rows(w.db, ReminderKind.AUDITEUR_DEADLINE.value)
    # 14, 7 and 1 days before, each given up once the next one is due; the last at the end of the day
    assert [(r.recipient_id, r.params["days"], r.next_attempt_at, r.expires_at) for r in deadline] == [
        (w.lea.id, 14, at_paris(date(2027, 3, 12)), at_paris(date(2027, 3, 19))),
        (w.lea.id, 7, at_paris(date(2027, 3, 19)), at_paris(date(2027, 3, 25))),
        (w.lea.id, 1, at_paris(date(2027, 3, 25)), paris_to_utc(date(2027, 3, 27), time(0))),
    ]
    steps = rows(w.db, ReminderKind.AUDITEUR_INTERMEDIATE.value)
    assert [(r.recipient_id, r.params["about"], r.next_attempt_at, r.expires_at) for r in steps] == [
        (w.lea.id, date(2027, 2, 26), at_paris(date(2027, 2, 23)), paris_to_utc(date(2027, 2, 27), time(0))),
        (w.lea.id, date(2027, 3, 12), at_paris(date(2027, 3, 9)), paris_to_utc(date(2027, 3, 13), time(0))),
    ]
    # the first meeting is held and the planning recorded: two moves, hence the key's sequence
    assert deadline[0].dedupe_key == f"acc:{acc_id(w)}:2:accompaniment.deadline.auditeur:14:2027-03-26:{w.lea.id}"
    assert {r.params["stage"] for r in deadline + steps} == {"planned"}
    assert {r.created_at for r in deadline + steps} == {START}
    (stall,) = rows(w.db, ReminderKind.STAFF_STALLED.value, state="pending")  # about the limit, but not ahead of it: no end
    assert (stall.recipient_id, stall.params["about"], stall.params["days"], stall.expires_at) == (w.sophie.id, LIMIT, 0, None)
    with w.db.read() as session:
        stored = session.execute(sa.select(PlanningDate.kind, PlanningDate.day, PlanningDate.recorded_at).order_by(PlanningDate.day))
        assert [tuple(r) for r in stored] == [("intermediate", date(2027, 2, 26), START), ("intermediate", date(2027, 3, 12), START),
                                              ("deadline", date(2027, 3, 26), START)]


def test_a_new_planning_replaces_the_dates_and_their_reminders(w):
    planned(w, date(2027, 3, 26), (date(2027, 3, 12),))
    view = w.acc.record_planning(w.marc, w.lea.id, date(2027, 4, 30))
    assert (view.deadline, view.intermediate) == (date(2027, 4, 30), ())
    with w.db.read() as session:
        stored = session.execute(sa.select(PlanningDate.kind, PlanningDate.day, PlanningDate.recorded_at)).all()
    assert [tuple(r) for r in stored] == [("deadline", date(2027, 4, 30), START)]
    pending = rows(w.db, "accompaniment.", state="pending", prefix=True)
    assert sorted((r.kind, r.params["about"]) for r in pending if r.priority == outbox.Priority.REMINDER) == [
        ("accompaniment.deadline.auditeur", date(2027, 4, 30))] * 3 + [("accompaniment.stalled.staff", LIMIT)]
    cancelled = rows(w.db, "accompaniment.", state="cancelled", prefix=True)
    assert {r.params["about"] for r in cancelled} == {date(2027, 3, 26), date(2027, 3, 12), LIMIT}
    assert events(w)[-1][1:3] == ("planned", "planned")


def test_the_planning_is_checked_against_the_paris_date_and_the_calendar_as_it_now_stands(w):
    meet(w)
    w.clock.now = datetime(2027, 3, 1, 23, 30, tzinfo=UTC)  # already 2 March in Paris
    assert refused(lambda: w.acc.record_planning(w.marc, w.lea.id, date(2027, 3, 2)), RefusalCode.DATE_PAST) == {
        "day": date(2027, 3, 2)}
    # the calendar changed by another path (the broadcasts' announcements read the same row)
    w.acc.academic.save(None, AcademicYear(
        2027, SemesterDates(date(2027, 9, 1), date(2027, 12, 20), date(2027, 9, 1), date(2027, 9, 30)),
        SemesterDates(date(2027, 12, 21), date(2028, 8, 31), date(2028, 2, 1), date(2028, 3, 31))))
    details = refused(lambda: w.acc.record_planning(w.marc, w.lea.id, date(2027, 12, 21)), RefusalCode.BEYOND_LIMIT)
    assert details["limit"] == date(2027, 12, 20)
    view = w.acc.record_planning(w.marc, w.lea.id, date(2027, 12, 20))
    assert view.limit_date == date(2027, 12, 20)
    assert w.acc.status(w.lea).limit_date == date(2027, 12, 20)
    (note,) = rows(w.db, "accompaniment.planning")
    assert note.params["limit"] == date(2027, 12, 20)


def test_the_planning_needs_the_auditeur_named_and_refuses_anyone_else(w):
    meet(w)
    refused(lambda: w.acc.record_planning(w.marc, None, date(2027, 5, 3)), RefusalCode.NO_ACCOMPANIMENT)
    refused(lambda: w.acc.record_planning(w.marc, w.sami.id, date(2027, 5, 3)), RefusalCode.NOT_YOURS)
    refused(lambda: w.acc.record_planning(w.marc, 999_999, date(2027, 5, 3)), RefusalCode.NO_ACCOMPANIMENT)
    assert refused(lambda: w.acc.record_planning(w.lea, w.lea.id, date(2027, 5, 3)), RefusalCode.WRONG_PERSON)["allowed"] == ["tutor"]
    refused(lambda: w.acc.record_planning(w.hugo, w.sami.id, date(2027, 5, 3)), RefusalCode.WRONG_STAGE)
    assert rows(w.db, "accompaniment.planning") == []
    with w.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(PlanningDate)) == 0


# -- step 3: the submission -------------------------------------------------------------------------


def test_a_submission_in_the_winter_holidays_gives_six_weeks_and_the_tutor_gets_it_with_the_file(w):
    planned(w)
    draft(w, version=1)
    second = draft(w, version=2, file_id="TG-V2")
    draft(w, version=3, problem="encrypted")  # unreadable: never submitted
    w.clock.now = datetime(2027, 2, 15, 10, tzinfo=UTC)
    view = w.acc.submit(w.lea)
    (row,) = submissions(w)
    assert (row.kind, row.draft_version_id, row.submitted_at, row.received_on) == ("submission", second, w.clock.now, date(2027, 2, 15))
    assert (row.due_on, row.weeks) == (date(2027, 3, 30), 6)
    assert row.holidays == [{"name": "Vacances d'hiver", "first": "2027-02-20", "last": "2027-03-07"}]
    current = view.current
    assert (view.stage, view.step, view.next_due, view.overdue) == (Stage.SUBMITTED, 3, date(2027, 3, 30), False)
    assert (current.id, current.kind, current.version, current.received_on, current.due_on, current.weeks) == (
        row.id, "submission", 2, date(2027, 2, 15), date(2027, 3, 30), 6)
    assert current.holidays == ({"name": "Vacances d'hiver", "first": date(2027, 2, 20), "last": date(2027, 3, 7)},)
    assert (current.corrected_at, current.has_correction_file, current.comments, current.summary) == (None, False, {}, None)
    assert current.submitted_at == w.clock.now
    assert events(w)[-1][:6] == ("submit", "planned", "submitted", "auditeur", w.lea.id, {"version": 2, "submission_id": row.id})
    (note,) = rows(w.db, "accompaniment.submitted")
    assert (note.recipient_id, note.template, note.subject, note.created_at) == (
        w.marc.id, "accompaniment/tutor_submitted.html", (SUBJECT, acc_id(w)), w.clock.now)
    assert note.keyboard == [[{"text": "📋 Suivi", "callback_data": f"acc:show:{w.lea.id}"}]]
    assert note.params["auditeur"] == "Léa Bernard" and note.params["comparison"] is None
    assert (note.params["submission"]["version"], note.params["submission"]["due_on"]) == (2, date(2027, 3, 30))
    (file,) = rows(w.db, "accompaniment.submitted.file")
    assert (file.recipient_id, file.document["filename"], file.document["file_id"], file.subject, file.created_at) == (
        w.marc.id, "v2.pdf", "TG-V2", (SUBJECT, acc_id(w)), w.clock.now)


def test_a_submission_outside_the_holidays_gives_four_weeks_and_the_correction_reminders(w):
    planned(w)
    draft(w, version=1)
    w.clock.now = datetime(2027, 5, 17, 10, tzinfo=UTC)
    view = w.acc.submit(w.lea)
    assert (view.current.weeks, view.current.due_on, view.current.holidays) == (4, date(2027, 6, 14), ())
    assert rows(w.db, ReminderKind.AUDITEUR_DEADLINE.value, state="pending") == []  # the deadline no longer applies
    before = rows(w.db, ReminderKind.TUTOR_CORRECTION.value)
    assert [(r.recipient_id, r.params["days"], r.next_attempt_at) for r in before] == [
        (w.marc.id, 7, at_paris(date(2027, 6, 7))), (w.marc.id, 2, at_paris(date(2027, 6, 11)))]  # 12 June is a Saturday
    assert before[0].expires_at == at_paris(date(2027, 6, 11)) and before[0].created_at == w.clock.now
    assert before[1].expires_at == paris_to_utc(date(2027, 6, 15), time(0))
    late = rows(w.db, ReminderKind.TUTOR_CORRECTION_OVERDUE.value)
    assert [(r.recipient_id, r.params["days"]) for r in late] == [(w.marc.id, -1), (w.marc.id, -8), (w.marc.id, -15), (w.marc.id, -22)]
    # one overdue alert at a time: each gives way to the next; the last one stays
    assert [r.expires_at for r in late] == [r.next_attempt_at for r in late[1:]] + [None]
    staff = rows(w.db, ReminderKind.STAFF_CORRECTION_OVERDUE.value)
    assert {r.recipient_id for r in staff} == {w.sophie.id} and len(staff) == 4
    assert rows(w.db, ReminderKind.STAFF_STALLED.value, state="pending") == []  # the tutor has the report


def test_the_auditeur_may_submit_a_chosen_readable_version(w):
    planned(w)
    first = draft(w, version=1, file_id="TG-V1")
    draft(w, version=2)
    broken = draft(w, version=3, problem="encrypted")
    refused(lambda: w.acc.submit(w.lea, broken), RefusalCode.NOTHING_TO_SEND)
    view = w.acc.submit(w.lea, first)
    assert view.current.version == 1 and submissions(w)[0].draft_version_id == first
    assert rows(w.db, "accompaniment.submitted.file")[0].document["file_id"] == "TG-V1"


def test_nothing_to_submit_without_a_readable_draft_and_nothing_written(w):
    planned(w)
    draft(w, version=1, problem="not_pdf")
    refused(lambda: w.acc.submit(w.lea), RefusalCode.NOTHING_TO_SEND)
    assert w.acc.status(w.lea).stage is Stage.PLANNED
    assert submissions(w) == [] and rows(w.db, "accompaniment.submitted", prefix=True) == []


def test_only_the_auditeur_submits_their_own_report(w):
    planned(w)
    draft(w, version=1)
    refused(lambda: w.acc.submit(w.marc), RefusalCode.NO_ACCOMPANIMENT)  # a tutor has no report of their own
    refused(lambda: w.acc.submit(w.sami), RefusalCode.WRONG_STAGE)
    assert submissions(w) == []


def test_the_report_sent_is_the_auditeurs_own_latest_draft_never_anothers_newer_one(w):
    planned(w)
    own = draft(w, version=1, file_id="TG-LEA-1")
    sami_version = draft(w, "sami", version=5, file_id="TG-SAMI-5")  # another auditeur's later, higher version
    refused(lambda: w.acc.submit(w.lea, sami_version), RefusalCode.NOTHING_TO_SEND)  # a forged button with his id
    view = w.acc.submit(w.lea)
    assert view.current.version == 1 and submissions(w)[0].draft_version_id == own
    assert rows(w.db, "accompaniment.submitted.file")[0].document["file_id"] == "TG-LEA-1"


# -- step 4: the correction and the revision --------------------------------------------------------


def test_the_correction_is_stored_and_sent_with_the_comments_in_grid_order(w):
    submitted(w)
    w.clock.now = datetime(2027, 3, 1, 10, tzinfo=UTC)
    view = w.acc.return_correction(
        w.marc, w.lea.id, file_id="ANNOTATED", file_name="n" * 300,
        comments={"b": "  Soignez la forme.  ", "a": "x" * 2100, "unknown_but_blank": "  "},
        summary="  Bon début.  ",
    )
    (row,) = submissions(w)
    assert (row.corrected_at, row.correction_file_id, row.correction_file_name) == (w.clock.now, "ANNOTATED", "n" * 255)
    assert row.correction_comments == {"b": "Soignez la forme.", "a": "x" * 2000}
    assert row.correction_summary == "Bon début."
    assert (view.stage, view.step, view.next_due, view.current.has_correction_file, view.current.summary) == (
        Stage.CORRECTED, 4, None, True, "Bon début.")
    assert view.current.corrected_at == w.clock.now and view.current.comments == {"b": "Soignez la forme.", "a": "x" * 2000}
    assert events(w)[-1][:6] == ("return_correction", "submitted", "corrected", "tutor", w.marc.id,
                                 {"submission_id": row.id, "file": True, "comments": 2})
    (note,) = rows(w.db, "accompaniment.corrected")
    assert (note.recipient_id, note.template, note.subject, note.created_at) == (
        w.lea.id, "accompaniment/auditeur_corrected.html", (SUBJECT, acc_id(w)), w.clock.now)
    assert note.params == {"tutor": "Marc Dubois", "summary": "Bon début.", "has_file": True, "on_time": True,
                           "comments": [{"label": "Analyse", "comment": "x" * 2000}, {"label": "Forme", "comment": "Soignez la forme."}]}
    (file,) = rows(w.db, "accompaniment.corrected.file")
    assert (file.recipient_id, file.document["filename"], file.document["file_id"], file.subject, file.created_at) == (
        w.lea.id, "n" * 255, "ANNOTATED", (SUBJECT, acc_id(w)), w.clock.now)
    assert rows(w.db, ReminderKind.TUTOR_CORRECTION.value, state="pending") == []
    assert [r.params["about"] for r in rows(w.db, ReminderKind.STAFF_STALLED.value, state="pending")] == [LIMIT]


def test_a_long_summary_is_cut_at_four_thousand_characters(w):
    submitted(w)
    view = w.acc.return_correction(w.marc, w.lea.id, summary=" " + "s" * 4100)
    assert view.current.summary == "s" * 4000 and submissions(w)[0].correction_summary == "s" * 4000


def test_blank_comments_are_dropped_and_a_nameless_file_is_called_correction_pdf(w):
    submitted(w)
    w.acc.return_correction(w.marc, w.lea.id, file_id="ANNOTATED", comments={"a": "   ", "b": ""}, summary="   ")
    (row,) = submissions(w)
    assert (row.correction_comments, row.correction_summary, row.correction_file_name) == ({}, None, None)
    (note,) = rows(w.db, "accompaniment.corrected")
    assert (note.params["comments"], note.params["summary"], note.params["has_file"]) == ([], None, True)
    assert rows(w.db, "accompaniment.corrected.file")[0].document["filename"] == "correction.pdf"
    assert events(w)[-1][5] == {"submission_id": row.id, "file": True, "comments": 0}


def test_a_correction_of_comments_only_has_no_file_and_says_when_it_is_late(w):
    submitted(w)  # on 1 February: the winter holidays make it six weeks, due on 15 March
    (row,) = submissions(w)
    assert row.due_on == date(2027, 3, 15)
    w.clock.now = datetime(2027, 3, 15, 23, 30, tzinfo=UTC)  # 16 March in Paris: one day late
    view = w.acc.return_correction(w.marc, w.lea.id, comments={"a": "Précisez."})
    assert not view.current.has_correction_file
    (note,) = rows(w.db, "accompaniment.corrected")
    assert (note.params["has_file"], note.params["on_time"], note.params["summary"]) == (False, False, None)
    assert rows(w.db, "accompaniment.corrected.file") == []
    assert submissions(w)[0].correction_file_id is None


def test_a_correction_on_its_due_day_is_on_time(w):
    submitted(w)
    w.clock.now = datetime(2027, 3, 15, 22, 0, tzinfo=UTC)  # 23:00 in Paris on the due day
    w.acc.return_correction(w.marc, w.lea.id, summary="Dans les temps.")
    assert rows(w.db, "accompaniment.corrected")[0].params["on_time"] is True


def test_a_correction_needs_a_file_a_comment_or_a_summary_on_known_criteria(w):
    submitted(w)
    refused(lambda: w.acc.return_correction(w.marc, w.lea.id, comments={"a": " "}, summary="  "), RefusalCode.NOTHING_TO_SEND)
    details = refused(lambda: w.acc.return_correction(w.marc, w.lea.id, comments={"z": "?", "a": "ok", "y": "?"}),
                      RefusalCode.BAD_ASSESSMENT)
    assert details == {"criteria": ["y", "z"]}
    refused(lambda: w.acc.return_correction(w.hugo, w.lea.id, summary="pas le mien"), RefusalCode.NOT_YOURS)
    assert w.acc.status(w.lea).stage is Stage.SUBMITTED and submissions(w)[0].corrected_at is None
    assert rows(w.db, "accompaniment.corrected", prefix=True) == []
    view = w.acc.return_correction(w.marc, w.lea.id, summary="Un résumé suffit.")
    assert view.stage is Stage.CORRECTED and view.current.summary == "Un résumé suffit."


def test_a_correction_uses_the_certifiers_grid_when_one_is_loaded(w):
    certifier = Grid(title="Fiche navette", intro="", verdicts=("validé", "non validé"),
                     criteria=(Criterion("x", "Posture", "", ()),))
    w.acc.load_grid(w.sophie, "Licence pro", certifier)
    submitted(w)
    refused(lambda: w.acc.return_correction(w.marc, w.lea.id, comments={"a": "grille par défaut"}), RefusalCode.BAD_ASSESSMENT)
    w.acc.return_correction(w.marc, w.lea.id, comments={"x": "Bonne posture."})
    assert rows(w.db, "accompaniment.corrected")[0].params["comments"] == [{"label": "Posture", "comment": "Bonne posture."}]


def test_the_opinion_is_given_on_the_certifiers_grid_when_one_is_loaded(w):
    certifier = Grid(title="Fiche navette", intro="", verdicts=("validé", "non validé"),
                     criteria=(Criterion("x", "Posture", "", ()),))
    w.acc.load_grid(w.sophie, "Licence pro", certifier)
    revised(w)
    refused(lambda: w.acc.give_opinion(w.marc, w.lea.id, verdict=Opinion.VALIDATED, assessments=ALL_MET, reasons=REASONS),
            RefusalCode.BAD_ASSESSMENT)
    w.acc.give_opinion(w.marc, w.lea.id, verdict=Opinion.VALIDATED, assessments={"x": "acquis"}, reasons=REASONS)
    assert w.pdf.documents[0]["grid"]["title"] == "Fiche navette"


def test_the_revision_goes_to_the_tutor_with_what_changed_and_the_opinion_reminders(w):
    submitted(w)
    w.acc.return_correction(w.marc, w.lea.id, summary="Ajoutez le contexte.")
    draft(w, version=2, sections=("introduction", "role"))  # compared with: the latest readable one before
    draft(w, version=3, problem="encrypted")
    draft(w, "sami", version=3, sections=("conclusion",))  # someone else's: never compared with Léa's
    draft(w, version=4, sections=("introduction", "contexte"), file_id="TG-V4")
    w.clock.now = datetime(2027, 3, 8, 10, tzinfo=UTC)
    view = w.acc.submit(w.lea)
    first, second = submissions(w)
    assert (second.kind, second.received_on, second.due_on, second.weeks, second.holidays) == (
        "revision", date(2027, 3, 8), None, None, [])
    assert (view.stage, view.current.kind, view.current.version) == (Stage.REVISED, "revision", 4)
    assert (view.next_due, view.overdue) == (date(2027, 3, 22), False)  # the opinion: 14 days after the revision
    assert events(w)[-1][:6] == ("submit_revision", "corrected", "revised", "auditeur", w.lea.id, {"version": 4, "submission_id": second.id})
    (note,) = rows(w.db, "accompaniment.revised")
    assert (note.recipient_id, note.template, note.created_at) == (w.marc.id, "accompaniment/tutor_submitted.html", w.clock.now)
    comparison = note.params["comparison"]
    assert (comparison["previous_version"], comparison["version"]) == (2, 4)
    assert (comparison["sections_gained"], comparison["sections_lost"]) == (["Contexte de référence"], ["Mission et rôle tenu"])
    assert comparison["comparison"]["words_after"] == 3000
    files = rows(w.db, "accompaniment.submitted.file")
    assert [f.document["file_id"] for f in files] == ["F1", "TG-V4"]
    opinion = rows(w.db, ReminderKind.TUTOR_OPINION.value)
    assert [(r.recipient_id, r.params["days"], r.params["about"], r.next_attempt_at) for r in opinion] == [
        (w.marc.id, 3, date(2027, 3, 22), at_paris(date(2027, 3, 19)))]
    assert len(rows(w.db, ReminderKind.STAFF_OPINION_OVERDUE.value)) == 4
    assert rows(w.db, ReminderKind.STAFF_STALLED.value, state="pending") == []


def test_a_revision_of_the_same_single_version_has_nothing_to_compare(w):
    corrected(w)
    w.acc.submit(w.lea)
    assert rows(w.db, "accompaniment.revised")[0].params["comparison"] is None


class _Sections:
    """A catalogue that knows one section only."""

    def section(self, section_id):
        if section_id != "contexte":
            raise KeyError(section_id)
        return SimpleNamespace(title="Le contexte")


@pytest.mark.parametrize(("catalogue", "gained", "lost"), [
    (None, ["contexte", "role"], ["introduction"]),
    (_Sections(), ["Le contexte", "role"], ["introduction"]),
])
def test_the_comparison_names_sections_by_title_when_the_catalogue_knows_them(w, db, catalogue, gained, lost):
    w.acc = make_service(db, w.clock, catalogue=catalogue)
    corrected(w)
    draft(w, version=2, sections=("contexte", "role"))
    w.acc.submit(w.lea)
    comparison = rows(db, "accompaniment.revised")[0].params["comparison"]
    assert (comparison["sections_gained"], comparison["sections_lost"]) == (gained, lost)


# -- step 5: the opinion ------------------------------------------------------------------------------


def test_a_favourable_opinion_stores_the_completed_grid_and_sends_it(w):
    revised(w)
    w.clock.now = datetime(2027, 3, 10, 23, 30, tzinfo=UTC)  # 11 March in Paris
    given = w.acc.give_opinion(
        w.marc, w.lea.id, verdict=Opinion.VALIDATED, assessments={"a": "acquis", "b": "partiellement acquis"},
        reasons="  " + REASONS + "  ", comments={"a": "  Très clair.  ", "b": "  ", "zz": "hors grille"},
    )
    document = {
        "grid": {"title": "Fiche de test", "intro": "", "verdicts": ["validé", "non validé"],
                 "criteria": [{"id": "a", "label": "Analyse", "description": ""}, {"id": "b", "label": "Forme", "description": ""}]},
        "auditeur": "Léa Bernard", "tutor": "Marc Dubois", "certification": "Licence pro", "report_type": "ua",
        "semester": "2026-S2", "assessments": {"a": "acquis", "b": "partiellement acquis"}, "comments": {"a": "Très clair."},
        "verdict": "validé", "reasons": REASONS, "given_on": "2027-03-11",
    }
    assert w.pdf.documents == [document]
    assert (given.verdict, given.pdf, given.file_name) == (Opinion.VALIDATED, b"%PDF-spy", "grille-evaluation-2027-03-11.pdf")
    assert (given.view.stage, given.view.verdict, given.view.open_case, given.view.next_due) == (Stage.VALIDATED, "validé", None, None)
    with w.db.read() as session:
        (row,) = session.scalars(sa.select(OpinionRow)).all()
        stored = (row.accompaniment_id, row.submission_id, row.tutor_id, row.verdict, row.grid, row.assessments, row.comments,
                  row.reasons, row.pdf, row.given_at)
    assert stored == (acc_id(w), submissions(w)[-1].id, w.marc.id, "validé", document["grid"], document["assessments"],
                      {"a": "Très clair."}, REASONS, b"%PDF-spy", w.clock.now)
    assert events(w)[-1][:6] == ("give_opinion", "revised", "validated", "tutor", w.marc.id, {"verdict": "validé"})
    (note,) = rows(w.db, "accompaniment.opinion")
    assert (note.recipient_id, note.template, note.subject, note.created_at) == (
        w.lea.id, "accompaniment/auditeur_opinion.html", (SUBJECT, acc_id(w)), w.clock.now)
    assert note.params == {
        "verdict": "validé", "validated": True, "reasons": REASONS, "tutor": "Marc Dubois",
        "criteria": [{"label": "Analyse", "assessment": "acquis", "comment": "Très clair."},
                     {"label": "Forme", "assessment": "partiellement acquis", "comment": None}],
    }
    (file,) = rows(w.db, "accompaniment.opinion.file")
    assert (file.recipient_id, file.content, file.subject, file.created_at) == (w.lea.id, b"%PDF-spy", (SUBJECT, acc_id(w)), w.clock.now)
    assert (file.document["filename"], file.document["caption_template"]) == (
        "grille-evaluation-2027-03-11.pdf", "accompaniment/grid_caption.html")
    assert rows(w.db, "accompaniment.not_validated.staff") == []
    with w.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(FollowUpCase)) == 0
    assert rows(w.db, "accompaniment.", state="pending", prefix=True) and all(
        r.priority != outbox.Priority.REMINDER for r in rows(w.db, "accompaniment.", state="pending", prefix=True))
    assert w.acc.opinion_pdf(w.lea) == ("grille-evaluation-2027-03-11.pdf", b"%PDF-spy")


def test_an_unfavourable_opinion_opens_a_case_and_tells_active_staff(w):
    revised(w)
    given = w.acc.give_opinion(w.marc, w.lea.id, verdict=Opinion.NOT_VALIDATED, assessments={"a": "non acquis", "b": "acquis"},
                               reasons=REASONS)
    assert (given.view.stage, given.view.verdict) == (Stage.NOT_VALIDATED, "non validé")
    with w.db.read() as session:
        (case,) = session.scalars(sa.select(FollowUpCase)).all()
        assert (case.accompaniment_id, case.reason, case.opened_at, case.closed_at) == (acc_id(w), "not_validated", START, None)
    assert (given.view.open_case.id, given.view.open_case.accompaniment_id, given.view.open_case.opened_at) == (case.id, acc_id(w), START)
    (alert,) = rows(w.db, "accompaniment.not_validated.staff")  # Sophie only: Zoé has left, Yves is not on Telegram
    assert (alert.recipient_id, alert.template, alert.subject, alert.created_at) == (
        w.sophie.id, "accompaniment/staff_not_validated.html", (SUBJECT, acc_id(w)), START)
    assert alert.params == {"auditeur": "Léa Bernard", "tutor": "Marc Dubois", "certification": "Licence pro", "reasons": REASONS,
                            "case_id": case.id}
    assert alert.keyboard == [[{"text": "📝 Enregistrer le contact", "callback_data": f"acc:case:{case.id}"}]]
    note = rows(w.db, "accompaniment.opinion")[0]
    assert (note.params["verdict"], note.params["validated"]) == ("non validé", False)
    assert events(w)[-1][2] == "not_validated"


def test_an_opinion_comment_is_cut_at_two_thousand_characters(w):
    revised(w)
    w.acc.give_opinion(w.marc, w.lea.id, verdict=Opinion.VALIDATED, assessments=ALL_MET, reasons=REASONS, comments={"b": "c" * 2100})
    assert w.pdf.documents[0]["comments"] == {"b": "c" * 2000}
    assert rows(w.db, "accompaniment.opinion")[0].params["criteria"][1]["comment"] == "c" * 2000


def test_without_a_pdf_builder_the_opinion_is_stored_without_a_file(w, db):
    w.acc = make_service(db, w.clock, grid_pdf=None)
    revised(w)
    given = w.acc.give_opinion(w.marc, w.lea.id, verdict=Opinion.VALIDATED, assessments=ALL_MET, reasons=REASONS)
    assert given.pdf == b"" and rows(db, "accompaniment.opinion.file") == []
    assert len(rows(db, "accompaniment.opinion")) == 1
    assert w.acc.opinion_pdf(w.lea) == (given.file_name, b"")


def test_an_opinion_needs_the_whole_grid_and_its_reasons(w):
    revised(w)
    assert refused(lambda: w.acc.give_opinion(w.marc, w.lea.id, verdict=Opinion.VALIDATED, assessments={"a": "acquis"}, reasons=REASONS),
                   RefusalCode.GRID_INCOMPLETE) == {"missing": ["Forme"]}
    refused(lambda: w.acc.give_opinion(w.marc, w.lea.id, verdict=Opinion.VALIDATED, assessments=ALL_MET, reasons=" court "),
            RefusalCode.REASONS_MISSING)
    refused(lambda: w.acc.give_opinion(w.hugo, w.lea.id, verdict=Opinion.VALIDATED, assessments=ALL_MET, reasons=REASONS),
            RefusalCode.NOT_YOURS)
    refused(lambda: w.acc.give_opinion(w.lea, w.lea.id, verdict=Opinion.VALIDATED, assessments=ALL_MET, reasons=REASONS),
            RefusalCode.WRONG_PERSON)
    assert w.pdf.documents == [] and w.acc.status(w.lea).stage is Stage.REVISED
    assert rows(w.db, "accompaniment.opinion") == [] and w.acc.opinion_pdf(w.lea) is None


def test_the_kept_grid_goes_to_the_auditeur_their_tutor_and_staff_only(w):
    revised(w)
    w.clock.now = datetime(2027, 3, 12, 23, 30, tzinfo=UTC)
    w.acc.give_opinion(w.marc, w.lea.id, verdict=Opinion.VALIDATED, assessments=ALL_MET, reasons=REASONS)
    w.clock.now = datetime(2027, 4, 1, 9, tzinfo=UTC)  # the file keeps the day it was given (in Paris)
    expected = ("grille-evaluation-2027-03-13.pdf", b"%PDF-spy")
    assert w.acc.opinion_pdf(w.lea) == w.acc.opinion_pdf(w.marc, w.lea.id) == w.acc.opinion_pdf(w.sophie, w.lea.id) == expected
    refused(lambda: w.acc.opinion_pdf(w.hugo, w.lea.id), RefusalCode.NOT_YOURS)
    refused(lambda: w.acc.opinion_pdf(w.sami, w.lea.id), RefusalCode.NOT_YOURS)
    assert w.acc.opinion_pdf(w.sami) is None


def test_the_grid_of_an_auditeur_is_the_certifiers_for_their_certification(w):
    certifier = Grid(title="Fiche RH", intro="", verdicts=("validé", "non validé"), criteria=(Criterion("rh", "Posture RH", "", ()),))
    w.acc.load_grid(w.sophie, "Master RH", certifier)
    assert [c.id for c in w.acc.grid_of(w.hugo, w.sami.id).criteria] == ["rh"]
    assert w.acc.grid_of(w.sophie, w.sami.id).title == "Fiche RH"
    assert w.acc.grid_of(w.marc, w.lea.id) == GRID  # no grid loaded for the Licence pro: the default
    assert w.acc.grid_of(w.lea, None) == GRID
    refused(lambda: w.acc.grid_of(w.marc, w.sami.id), RefusalCode.NOT_YOURS)
    with pytest.raises(RuntimeError, match=r"^no evaluation grid \(prompts/report/grid.toml\)$"):
        make_service(w.db, w.clock, grid=None).grid_for(None, "Licence pro")
    assert make_service(w.db, w.clock, grid=None).grid_for(None, "Master RH").title == "Fiche RH"


# -- staff follow-up: the cases -----------------------------------------------------------------------


def _not_validated(w):
    revised(w)
    w.acc.give_opinion(w.marc, w.lea.id, verdict=Opinion.NOT_VALIDATED, assessments=ALL_MET, reasons=REASONS)
    (case,) = w.acc.open_cases(w.sophie)
    return case


def test_recording_the_contact_closes_the_case_and_the_accompaniment_stays_over(w):
    case = _not_validated(w)
    w.clock.now = START + timedelta(days=2)
    closed = w.acc.record_contact(w.sophie, case.id, contact_note="  Appel le 3/02  ", agreed="  Réorientation  " + "x" * 4100)
    assert (closed.id, closed.closed_at, closed.contact_note, closed.agreed[:13]) == (case.id, w.clock.now, "Appel le 3/02", "Réorientation")
    assert len(closed.agreed) == 4000 and closed.enrolment.auditeur.display_name == "Léa Bernard"
    assert (closed.accompaniment_id, closed.opened_at) == (case.accompaniment_id, START)
    with w.db.read() as session:
        row = session.get(FollowUpCase, case.id)
        assert (row.closed_at, row.closed_by_id, row.contact_note, len(row.agreed)) == (w.clock.now, w.sophie.id, "Appel le 3/02", 4000)
        (audit,) = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "follow_up.closed")).all()
        assert (audit.actor_id, audit.subject_id, audit.details) == (w.sophie.id, w.lea.id, {"case_id": case.id, "resume": False})
    assert w.acc.open_cases(w.sophie) == [] and w.acc.status(w.lea).open_case is None
    assert w.acc.status(w.lea).stage is Stage.NOT_VALIDATED and rows(w.db, "accompaniment.resumed") == []
    assert refused(lambda: w.acc.record_contact(w.sophie, case.id, contact_note="encore", agreed="encore"),
                   RefusalCode.CASE_CLOSED) == {}


@pytest.mark.parametrize("by", ["sophie", "command_line"])
def test_resuming_after_the_contact_goes_back_to_a_planning_and_tells_the_tutor(w, by):
    case = _not_validated(w)
    actor, actor_id = (w.sophie, w.sophie.id) if by == "sophie" else (COMMAND_LINE, None)
    closed = w.acc.record_contact(actor, case.id, contact_note="abc", agreed="xyz", resume=True)  # three letters suffice
    assert (closed.contact_note, closed.agreed) == ("abc", "xyz")
    with w.db.read() as session:
        assert session.get(FollowUpCase, case.id).closed_by_id == actor_id
        audit = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "follow_up.closed"))
        assert (audit.actor_id, audit.details) == (actor_id, {"case_id": case.id, "resume": True})
    assert w.acc.status(w.lea).stage is Stage.PLANNED
    assert events(w)[-1][:6] == ("resume", "not_validated", "planned", "staff", actor_id, {"case_id": case.id})
    (note,) = rows(w.db, "accompaniment.resumed")
    assert (note.recipient_id, note.template, note.params, note.subject, note.created_at) == (
        w.marc.id, "accompaniment/tutor_resumed.html", {"auditeur": "Léa Bernard"}, (SUBJECT, acc_id(w)), START)


def test_a_long_contact_note_is_cut_at_four_thousand_characters(w):
    case = _not_validated(w)
    assert w.acc.record_contact(w.sophie, case.id, contact_note="n" * 4100, agreed="Suite").contact_note == "n" * 4000


def test_only_staff_record_a_contact_with_a_note_and_what_was_agreed(w):
    case = _not_validated(w)
    assert refused(lambda: w.acc.record_contact(w.marc, case.id, contact_note="appel", agreed="suite"), RefusalCode.WRONG_PERSON) == {
        "action": "record_contact", "allowed": ["staff"]}
    assert refused(lambda: w.acc.record_contact(w.sophie, case.id, contact_note=" ab ", agreed="suite"),
                   RefusalCode.REASONS_MISSING) == {"min": 3}
    refused(lambda: w.acc.record_contact(w.sophie, case.id, contact_note="appel", agreed="ok"), RefusalCode.REASONS_MISSING)
    refused(lambda: w.acc.record_contact(w.sophie, case.id, contact_note=None, agreed="suite"), RefusalCode.REASONS_MISSING)
    refused(lambda: w.acc.record_contact(w.sophie, case.id, contact_note="appel", agreed=None), RefusalCode.REASONS_MISSING)
    refused(lambda: w.acc.record_contact(w.sophie, case.id + 1, contact_note="appel", agreed="suite"), RefusalCode.NO_ACCOMPANIMENT)
    assert [c.id for c in w.acc.open_cases(w.sophie)] == [case.id]


def test_open_cases_are_for_staff_oldest_first(w):
    for name in ("sami", "lea"):
        with w.db.transaction() as session:
            session.add(FollowUpCase(accompaniment_id=acc_id(w, name), reason="not_validated",
                                     opened_at=START + timedelta(days=1 if name == "sami" else 0)))
    cases = w.acc.open_cases(w.sophie)
    assert [(c.enrolment.auditeur.display_name, c.enrolment.tutor.display_name, c.closed_at) for c in cases] == [
        ("Léa Bernard", "Marc Dubois", None), ("Sami Nour", "Hugo Roux", None)]
    assert [c.accompaniment_id for c in cases] == [acc_id(w, "lea"), acc_id(w, "sami")]
    assert refused(lambda: w.acc.open_cases(w.marc), RefusalCode.WRONG_PERSON) == {"action": "staff_view", "allowed": ["staff"]}
    assert w.acc.staff_follow_up(w.sophie).open_cases == tuple(cases)


# -- staff settings: the academic calendar and the certifiers' grids -----------------------------------


def _year(s1_end: date) -> AcademicYear:
    return AcademicYear(
        2027, SemesterDates(date(2027, 9, 1), s1_end, date(2027, 9, 1), date(2027, 9, 30)),
        SemesterDates(s1_end + timedelta(days=1), date(2028, 8, 31), date(2028, 2, 1), date(2028, 3, 31)),
    )


def test_a_new_academic_year_moves_the_limit_of_the_accompaniments_under_way_only(w):
    third = add_enrolment(w.db, w.lea.id, w.marc.id, status="closed")  # an older, closed enrolment of Léa's
    with w.db.transaction() as session:
        w.acc.on_enrolled(session, session.get(Enrolment, third), START)
    add_auditeur(w, "Aaron Aubert", w.hugo, telegram_id=3011)
    set_stage(w, "Aaron Aubert", Stage.VALIDATED)  # over
    submitted(w)  # Léa's report is with her tutor
    w.clock.now = START + timedelta(days=3)
    with w.db.transaction() as session:
        w.acc.on_first_meeting_held(session, session.get(Enrolment, w.enrolment["sami"]), w.hugo, w.clock())
    w.acc.record_planning(w.hugo, w.sami.id, date(2027, 5, 3))
    w.clock.now = START + timedelta(days=4)
    assert refused(lambda: w.acc.set_academic_year(w.marc, _year(date(2027, 12, 20))), RefusalCode.WRONG_PERSON) == {
        "action": "set_calendar", "allowed": ["staff"]}
    saved = w.acc.set_academic_year(w.sophie, _year(date(2027, 12, 20)))
    assert saved == _year(date(2027, 12, 20))
    with w.db.read() as session:
        limits = dict(session.execute(sa.select(Accompaniment.enrolment_id, Accompaniment.limit_date)).all())
        assert session.get(AcademicYearRow, 2027).updated_by_id == w.sophie.id
    assert limits == {w.enrolment["lea"]: date(2027, 12, 20), w.enrolment["sami"]: date(2027, 12, 20), third: LIMIT,
                      w.enrolment["Aaron Aubert"]: LIMIT}
    (alert,) = rows(w.db, ReminderKind.STAFF_STALLED.value, state="pending")  # Sami's: planned again for the new limit
    # Sami's planning was recorded on 4 February: 60 days of silence from then come before the limit's 45 days
    assert (alert.recipient_id, alert.params["about"], alert.params["auditeur"]) == (w.sophie.id, date(2027, 12, 20), "Sami Nour")
    assert (alert.next_attempt_at, alert.created_at) == (at_paris(date(2027, 4, 5)), w.clock.now)  # 4 February + 60 days
    assert len([r for r in rows(w.db, ReminderKind.AUDITEUR_DEADLINE.value, state="pending") if r.recipient_id == w.sami.id]) == 3
    assert len(rows(w.db, ReminderKind.TUTOR_CORRECTION.value, state="pending")) == 2  # Léa's tutor is still reminded
    assert alert.dedupe_key.startswith(f"acc:{acc_id(w, 'sami')}:limit@{int(w.clock.now.timestamp())}:")
    w.acc.set_academic_year(COMMAND_LINE, _year(date(2027, 12, 21)))
    with w.db.read() as session:
        assert session.get(AcademicYearRow, 2027).updated_by_id is None


def test_the_calendar_years_offered_are_the_current_and_the_next_from_september_in_paris(w):
    w.clock.now = datetime(2027, 8, 31, 21, 0, tzinfo=UTC)  # still 31 August in Paris
    assert [(y.year, custom) for y, custom in w.acc.calendar_years(w.sophie)] == [(2026, False), (2027, False)]
    w.acc.set_academic_year(w.sophie, _year(date(2027, 12, 20)))
    w.clock.now = datetime(2027, 8, 31, 22, 0, tzinfo=UTC)  # 1 September in Paris
    years = w.acc.calendar_years(w.sophie)
    assert [(y.year, custom) for y, custom in years] == [(2027, True), (2028, False)]
    assert years[0][0].s1.end == date(2027, 12, 20)
    assert refused(lambda: w.acc.calendar_years(w.marc), RefusalCode.WRONG_PERSON) == {"action": "set_calendar", "allowed": ["staff"]}
    assert w.acc.academic_calendar().year(2027).s1.end == date(2027, 12, 20)


def test_certifiers_grids_are_loaded_by_staff_for_a_named_certification(w):
    certifier = Grid(title="Fiche navette", intro="Lire", verdicts=("validé", "non validé"),
                     criteria=(Criterion("x", "Posture", "Décrire", ()),))
    assert w.acc.grid_certifications(w.sophie) == [("Licence pro", False), ("Master RH", False)]
    assert refused(lambda: w.acc.load_grid(w.marc, "Licence pro", certifier), RefusalCode.WRONG_PERSON)["action"] == "load_grid"
    assert refused(lambda: w.acc.grid_certifications(w.marc), RefusalCode.WRONG_PERSON)["action"] == "load_grid"
    assert refused(lambda: w.acc.load_grid(w.sophie, "   ", certifier), RefusalCode.BAD_GRID) == {"reason": "certification"}
    refused(lambda: w.acc.load_grid(w.sophie, None, certifier), RefusalCode.BAD_GRID)
    refused(lambda: w.acc.load_grid(w.sophie, "c" * 201, certifier), RefusalCode.BAD_GRID)
    empty = Grid(title="Vide", intro="", verdicts=(), criteria=())
    assert refused(lambda: w.acc.load_grid(w.sophie, "Licence pro", empty), RefusalCode.GRID_INCOMPLETE) == {"missing": []}
    assert w.acc.load_grid(w.sophie, "  Licence pro  ", certifier) == certifier
    w.clock.now = START + timedelta(hours=1)
    w.acc.load_grid(COMMAND_LINE, "Licence pro", certifier)  # loaded again: the same row
    w.acc.load_grid(w.sophie, "c" * 200, certifier)
    w.acc.load_grid(w.sophie, "arts et métiers", certifier)
    with w.db.read() as session:
        stored = {r.certification: (r.loaded_by_id, r.loaded_at, r.grid) for r in session.scalars(sa.select(CertificationGrid))}
    assert stored["Licence pro"] == (None, START + timedelta(hours=1), {
        "title": "Fiche navette", "intro": "Lire", "verdicts": ["validé", "non validé"],
        "criteria": [{"id": "x", "label": "Posture", "description": "Décrire"}]})
    assert stored["arts et métiers"][0] == w.sophie.id and len(stored) == 3
    assert w.acc.grid_for(None, "Licence pro") == Grid(title="Fiche navette", intro="Lire", verdicts=("validé", "non validé"),
                                                       criteria=(Criterion("x", "Posture", "Décrire", ()),))
    add_enrolment(w.db, w.sophie.id, w.marc.id, certification="Bachelor", status="closed")  # closed: not offered
    assert w.acc.grid_certifications(w.sophie) == [
        ("arts et métiers", True), ("c" * 200, True), ("Licence pro", True), ("Master RH", False)]


# -- views: status, follow-up lists, export ------------------------------------------------------------


def test_the_status_is_for_the_auditeur_their_tutor_and_staff_with_the_history_on_request(w):
    planned(w)
    for actor, target in ((w.lea, None), (w.marc, w.lea.id), (w.sophie, w.lea.id), (w.lea, w.lea.id)):
        view = w.acc.status(actor, target)
        assert (view.id, view.stage, view.history) == (acc_id(w), Stage.PLANNED, ())
    history = w.acc.status(w.sophie, w.lea.id, history=True).history
    assert [(h.action, h.from_stage, h.to_stage, h.party, h.actor_id, h.at) for h in history] == [
        (Action.FIRST_MEETING_HELD, Stage.ENROLLED, Stage.FIRST_MEETING_HELD, Party.TUTOR, w.marc.id, START),
        (Action.RECORD_PLANNING, Stage.FIRST_MEETING_HELD, Stage.PLANNED, Party.TUTOR, w.marc.id, START),
    ]
    assert history[1].details == {"deadline": "2027-05-03", "intermediate": []}
    refused(lambda: w.acc.status(w.hugo, w.lea.id), RefusalCode.NOT_YOURS)
    refused(lambda: w.acc.status(w.sami, w.lea.id), RefusalCode.NOT_YOURS)
    refused(lambda: w.acc.status(w.marc), RefusalCode.NO_ACCOMPANIMENT)
    refused(lambda: w.acc.status(w.sophie), RefusalCode.NO_ACCOMPANIMENT)


def test_an_older_enrolment_gets_its_accompaniment_when_first_looked_at(w):
    with w.db.transaction() as session:
        older = Person(role="auditeur", display_name="Ana Ancienne", telegram_user_id=3003)
        session.add(older)
        session.flush()
        ana = view_of(older)
    enrolled_at = START - timedelta(days=30)
    add_enrolment(w.db, ana.id, w.hugo.id, semester="2027-S1", enrolled_at=enrolled_at)
    row = next(r for r in w.acc.follow_rows(w.hugo) if r.auditeur_id == ana.id)
    assert (row.accompaniment_id, row.stage, row.moved_at, row.limit_date, row.next_due) == (0, Stage.ENROLLED, enrolled_at, None, None)
    w.clock.now = START + timedelta(hours=2)
    view = w.acc.status(ana)
    assert (view.stage, view.moved_at, view.limit_date) == (Stage.ENROLLED, w.clock.now, date(2028, 8, 31))  # the end of 2027-S2
    with w.db.read() as session:
        stored = session.scalar(sa.select(Accompaniment).where(Accompaniment.id == view.id))
        assert (stored.stage, stored.moved_at, stored.created_at, stored.limit_date) == ("enrolled", w.clock.now, w.clock.now, date(2028, 8, 31))
    assert w.acc.status(ana).id == view.id  # once
    # a later change of calendar plans its stall alert from its creation, as it never moved
    w.acc.set_academic_year(w.sophie, AcademicYear(
        2027, SemesterDates(date(2027, 9, 1), date(2028, 1, 31), date(2027, 9, 1), date(2027, 9, 30)),
        SemesterDates(date(2028, 2, 1), date(2028, 7, 31), date(2028, 2, 1), date(2028, 3, 31))))
    alerts = [r for r in rows(w.db, ReminderKind.STAFF_STALLED.value, state="pending") if r.params["auditeur_id"] == ana.id]
    assert [(a.params["about"], a.next_attempt_at) for a in alerts] == [(date(2028, 7, 31), at_paris(date(2027, 4, 2)))]


def test_asking_an_older_enrolment_for_its_grid_starts_its_accompaniment(w):
    with w.db.transaction() as session:
        session.delete(session.get(Accompaniment, acc_id(w)))
    w.clock.now = START + timedelta(hours=3)
    assert w.acc.opinion_pdf(w.lea) is None
    w.clock.now = START + timedelta(days=1)
    assert w.acc.status(w.lea).moved_at == START + timedelta(hours=3)


def test_a_missing_limit_is_worked_out_from_the_calendar(w):
    with w.db.transaction() as session:
        session.get(Accompaniment, acc_id(w)).limit_date = None
    assert w.acc.status(w.lea).limit_date == LIMIT
    meet(w)  # and a move plans no stall alert against an unknown limit
    assert rows(w.db, ReminderKind.STAFF_STALLED.value, state="pending") == [
        r for r in rows(w.db, ReminderKind.STAFF_STALLED.value, state="pending") if r.params["auditeur_id"] == w.sami.id]


def test_the_latest_opinion_recorded_is_the_verdict_shown_and_the_grid_kept(w):
    _not_validated(w)
    with w.db.transaction() as session:  # a second opinion recorded after the first (the first stays in the history)
        session.add(OpinionRow(accompaniment_id=acc_id(w), verdict="validé", grid={}, assessments={}, reasons="x", pdf=b"old",
                               given_at=START + timedelta(days=1)))
    view = w.acc.status(w.lea)
    assert view.verdict == "validé" and view.open_case is not None
    assert w.acc.opinion_pdf(w.lea) == ("grille-evaluation-2027-02-02.pdf", b"old")


def add_auditeur(w, name: str, tutor: PersonView, *, telegram_id: int, certification="Licence pro", semester="2026-S2",
                 active=True) -> PersonView:
    with w.db.transaction() as session:
        person = Person(role="auditeur", display_name=name, telegram_user_id=telegram_id, active=active)
        session.add(person)
        session.flush()
        enrolment = Enrolment(auditeur_id=person.id, tutor_id=tutor.id, certification=certification, report_type="ua",
                              semester=semester, enrolled_at=w.clock())
        session.add(enrolment)
        session.flush()
        w.acc.on_enrolled(session, enrolment, w.clock())
        w.enrolment[name] = enrolment.id
        return view_of(person)


def set_stage(w, name: str, stage: Stage) -> None:
    """A listing test puts an accompaniment at a stage directly (the moves have their own tests)."""
    with w.db.transaction() as session:
        session.get(Accompaniment, acc_id(w, name)).stage = stage.value


def test_a_tutor_follows_their_own_auditeurs_overdue_first_then_by_due_date_then_by_stage(w):
    bob = add_auditeur(w, "Bob Martin", w.marc, telegram_id=3010)
    add_auditeur(w, "Aaron Aubert", w.marc, telegram_id=3011)
    add_auditeur(w, "Chloé Petit", w.marc, telegram_id=3012)
    planned(w, deadline=date(2027, 3, 1))  # Léa's deadline comes first…
    with w.db.transaction() as session:
        w.acc.on_first_meeting_held(session, session.get(Enrolment, w.enrolment["Bob Martin"]), w.marc, START)
    w.acc.record_planning(w.marc, bob.id, date(2027, 4, 1))
    set_stage(w, "Aaron Aubert", Stage.VALIDATED)  # over: after those still under way, whatever the name
    order = [(r.auditeur_name, r.stage, r.next_due, r.overdue) for r in w.acc.follow_rows(w.marc)]
    assert order == [
        ("Léa Bernard", Stage.PLANNED, date(2027, 3, 1), False), ("Bob Martin", Stage.PLANNED, date(2027, 4, 1), False),
        ("Chloé Petit", Stage.ENROLLED, None, False), ("Aaron Aubert", Stage.VALIDATED, None, False),
    ]
    w.acc.record_planning(w.marc, w.lea.id, date(2027, 5, 1))  # …until it moves after Bob's
    w.clock.now = datetime(2027, 4, 1, 22, 30, tzinfo=UTC)  # 2 April in Paris: Bob is late
    order = [(r.auditeur_name, r.next_due, r.overdue) for r in w.acc.follow_rows(w.marc)]
    assert order[:2] == [("Bob Martin", date(2027, 4, 1), True), ("Léa Bernard", date(2027, 5, 1), False)]
    (lea,) = [r for r in w.acc.follow_rows(w.marc) if r.auditeur_id == w.lea.id]
    assert (lea.accompaniment_id, lea.enrolment_id, lea.tutor_name, lea.certification, lea.semester, lea.limit_date, lea.moved_at) == (
        acc_id(w), w.enrolment["lea"], "Marc Dubois", "Licence pro", "2026-S2", LIMIT, START)
    names = {r.auditeur_name for r in w.acc.follow_rows(w.sophie)}
    assert names == {"Léa Bernard", "Bob Martin", "Aaron Aubert", "Chloé Petit", "Sami Nour"}
    assert [r.auditeur_name for r in w.acc.follow_rows(w.hugo)] == ["Sami Nour"]
    assert refused(lambda: w.acc.follow_rows(w.lea), RefusalCode.WRONG_PERSON) == {"action": "follow", "allowed": ["tutor", "staff"]}


def test_closed_enrolments_are_not_followed(w):
    with w.db.transaction() as session:
        session.get(Enrolment, w.enrolment["sami"]).status = "closed"
    assert w.acc.follow_rows(w.hugo) == []
    assert [r.auditeur_name for r in w.acc.follow_rows(w.sophie)] == ["Léa Bernard"]


def _staff_lists(w):
    view = w.acc.staff_follow_up(w.sophie)
    return ([r.auditeur_name for r in view.overdue_corrections], [r.auditeur_name for r in view.overdue_opinions],
            [r.auditeur_name for r in view.stalled])


def test_staff_hear_of_an_auditeur_without_a_first_meeting_after_fourteen_days(w):
    w.clock.now = START + timedelta(days=14, seconds=-1)
    assert _staff_lists(w) == ([], [], [])
    w.clock.now = START + timedelta(days=14)
    corrections, opinions, stalled = _staff_lists(w)
    assert (corrections, opinions, sorted(stalled)) == ([], [], ["Léa Bernard", "Sami Nour"])  # the same silence: either order
    assert refused(lambda: w.acc.staff_follow_up(w.hugo), RefusalCode.WRONG_PERSON) == {"action": "staff_view", "allowed": ["staff"]}


def test_staff_hear_of_an_accompaniment_where_nothing_moved_for_sixty_days_oldest_first(w):
    with w.db.transaction() as session:
        w.acc.on_first_meeting_held(session, session.get(Enrolment, w.enrolment["sami"]), w.hugo, w.clock())
    w.clock.now = START + timedelta(days=1)
    meet(w)
    w.clock.now = START + timedelta(days=60, seconds=-1)
    assert _staff_lists(w) == ([], [], [])
    w.clock.now = START + timedelta(days=60)
    assert _staff_lists(w) == ([], [], ["Sami Nour"])
    w.clock.now = START + timedelta(days=61)
    assert _staff_lists(w) == ([], [], ["Sami Nour", "Léa Bernard"])  # the longest silence first
    set_stage(w, "lea", Stage.VALIDATED)
    set_stage(w, "sami", Stage.NOT_VALIDATED)
    assert _staff_lists(w) == ([], [], [])


def test_staff_hear_of_an_accompaniment_forty_five_days_before_its_limit(w):
    w.clock.now = datetime(2027, 12, 16, 9, tzinfo=UTC)
    meet(w)  # it moved yesterday, but the limit (31 January) is near
    w.clock.now = datetime(2027, 12, 16, 22, 30, tzinfo=UTC)  # 16 December in Paris
    assert "Léa Bernard" not in _staff_lists(w)[2]
    w.clock.now = datetime(2027, 12, 16, 23, 30, tzinfo=UTC)  # 17 December in Paris: 45 days before
    assert "Léa Bernard" in _staff_lists(w)[2]


def test_staff_hear_of_a_planning_whose_deadline_passed(w):
    planned(w, deadline=date(2027, 3, 1))
    with w.db.transaction() as session:  # Sami's moved recently: only the deadline matters
        session.get(Accompaniment, acc_id(w, "sami")).moved_at = datetime(2027, 3, 1, 9, tzinfo=UTC)
    w.clock.now = datetime(2027, 3, 1, 22, 30, tzinfo=UTC)  # still 1 March in Paris
    assert _staff_lists(w) == ([], [], [])
    w.clock.now = datetime(2027, 3, 1, 23, 30, tzinfo=UTC)
    assert _staff_lists(w) == ([], [], ["Léa Bernard"])


def test_overdue_corrections_are_listed_apart_by_due_date(w):
    with w.db.transaction() as session:
        w.acc.on_first_meeting_held(session, session.get(Enrolment, w.enrolment["sami"]), w.hugo, START)
    w.acc.record_planning(w.hugo, w.sami.id, date(2027, 5, 3))
    draft(w, "sami", version=1)
    w.acc.submit(w.sami)  # on 1 February: due on 15 March (six weeks)
    planned(w)
    draft(w, version=1)
    w.clock.now = datetime(2027, 3, 15, 9, tzinfo=UTC)
    w.acc.submit(w.lea)  # due on 12 April (four weeks)
    w.clock.now = datetime(2027, 4, 12, 12, tzinfo=UTC)
    assert _staff_lists(w) == (["Sami Nour"], [], [])
    w.clock.now = datetime(2027, 4, 13, 12, tzinfo=UTC)
    assert _staff_lists(w) == (["Sami Nour", "Léa Bernard"], [], [])
    overdue = w.acc.staff_follow_up(w.sophie).overdue_corrections
    assert [(r.next_due, r.overdue) for r in overdue] == [(date(2027, 3, 15), True), (date(2027, 4, 12), True)]
    w.acc.return_correction(w.hugo, w.sami.id, summary="Enfin.")
    assert _staff_lists(w) == (["Léa Bernard"], [], [])


def test_overdue_opinions_are_listed_apart_fourteen_days_after_the_revision(w):
    revised(w)  # received on 1 February: the opinion is due on 15 February
    w.clock.now = datetime(2027, 2, 15, 12, tzinfo=UTC)
    assert _staff_lists(w)[:2] == ([], [])
    w.clock.now = datetime(2027, 2, 16, 12, tzinfo=UTC)
    assert _staff_lists(w) == ([], ["Léa Bernard"], ["Sami Nour"])
    (row,) = w.acc.staff_follow_up(w.sophie).overdue_opinions
    assert (row.stage, row.next_due, row.overdue) == (Stage.REVISED, date(2027, 2, 15), True)
    assert [r.next_due for r in w.acc.follow_rows(w.marc)] == [date(2027, 2, 15)]


def test_the_cohort_export_has_one_line_per_active_enrolment(w):
    add_auditeur(w, "Alice Zed", w.hugo, telegram_id=3020, semester="2027-S1")
    add_auditeur(w, "Ahmed Bali", w.hugo, telegram_id=3021)
    planned(w, deadline=date(2027, 3, 1))
    w.clock.now = datetime(2027, 3, 2, 12, tzinfo=UTC)
    assert refused(lambda: w.acc.cohort_csv(w.marc), RefusalCode.WRONG_PERSON)["action"] == "staff_view"
    lines = w.acc.cohort_csv(w.sophie).splitlines()
    assert lines == [
        "auditeur,tuteur,certification,semestre,etape,stage,depuis,prochaine_echeance,en_retard,limite",
        "Ahmed Bali,Hugo Roux,Licence pro,2026-S2,1,enrolled,2027-02-01,,non,2028-01-31",
        "Sami Nour,Hugo Roux,Master RH,2026-S2,1,enrolled,2027-02-01,,non,2028-01-31",
        "Léa Bernard,Marc Dubois,Licence pro,2026-S2,2,planned,2027-02-01,2027-03-01,oui,2028-01-31",
        "Alice Zed,Hugo Roux,Licence pro,2027-S1,1,enrolled,2027-02-01,,non,2028-08-31",
    ]


def test_an_older_enrolment_without_an_accompaniment_is_exported_without_a_limit(w):
    with w.db.transaction() as session:
        session.delete(session.get(Accompaniment, acc_id(w, "sami")))
    lines = w.acc.cohort_csv(w.sophie).splitlines()
    assert lines[1] == "Sami Nour,Hugo Roux,Master RH,2026-S2,1,enrolled,2027-02-01,,non,"


# -- broadcast audiences ------------------------------------------------------------------------------


def test_broadcasts_pick_the_active_auditeurs_at_a_stage(w):
    gone = add_auditeur(w, "Paul Parti", w.hugo, telegram_id=3030, active=False)
    add_auditeur(w, "Nina Neuve", w.hugo, telegram_id=3031)
    with w.db.transaction() as session:
        session.delete(session.get(Accompaniment, acc_id(w, "Nina Neuve")))  # older: no accompaniment row yet
    planned(w)
    with w.db.read() as session:
        assert set(session.scalars(w.acc.stage_members(session, "planned"))) == {w.lea.id}
        enrolled = set(session.scalars(w.acc.stage_members(session, "enrolled")))
        assert w.sami.id in enrolled and gone.id in enrolled and w.lea.id not in enrolled and len(enrolled) == 3
        assert w.acc.stage_counts(session) == [("enrolled", 2), ("planned", 1)]  # Paul has left: not counted
        with pytest.raises(BroadcastError) as unknown:
            w.acc.stage_members(session, "nowhere")
    assert unknown.value.code == "stage_unknown"
    assert unknown.value.details == {"value": "nowhere", "known": [s.value for s in Stage]}
    with w.db.transaction() as session:
        session.get(Enrolment, w.enrolment["sami"]).status = "closed"
    with w.db.read() as session:
        assert w.sami.id not in set(session.scalars(w.acc.stage_members(session, "enrolled")))
        assert w.acc.stage_counts(session) == [("enrolled", 1), ("planned", 1)]


# -- reminders at send time ---------------------------------------------------------------------------


def test_a_reminder_applies_while_the_accompaniment_is_at_its_stage(w):
    ident = acc_id(w)
    params = {"accompaniment_id": ident, "stage": "enrolled", "kind": ReminderKind.STAFF_STALLED.value}
    assert w.acc.reminder_still_applies(params, START)
    assert not w.acc.reminder_still_applies({**params, "accompaniment_id": ident + 100}, START)
    meet(w)
    assert not w.acc.reminder_still_applies(params, START)
    assert w.acc.reminder_still_applies({**params, "stage": "first_meeting_held"}, START)


def test_the_first_meeting_alert_applies_while_no_meeting_is_booked_or_held(w):
    params = {"accompaniment_id": acc_id(w), "stage": "enrolled", "kind": ReminderKind.STAFF_NO_FIRST_MEETING.value}
    assert w.acc.reminder_still_applies(params, START)
    with w.db.transaction() as session:
        meeting = Meeting(tutor_id=w.marc.id, auditeur_id=w.lea.id, enrolment_id=w.enrolment["lea"], start_at=START,
                          end_at=START + timedelta(hours=1), blocked_until=START + timedelta(hours=1), duration_minutes=60,
                          status="cancelled", purpose="first", video_link="https://visio.example/1")
        other = Meeting(tutor_id=w.hugo.id, auditeur_id=w.sami.id, enrolment_id=w.enrolment["sami"], start_at=START,
                        end_at=START + timedelta(hours=1), blocked_until=START + timedelta(hours=1), duration_minutes=60,
                        status="booked", purpose="first", video_link="https://visio.example/2")
        session.add_all([meeting, other])
    assert w.acc.reminder_still_applies(params, START)  # cancelled, and Sami's meeting is not Léa's
    for status, applies in (("booked", False), ("held", False), ("missed", True)):
        with w.db.transaction() as session:
            session.get(Meeting, meeting.id).status = status
        assert w.acc.reminder_still_applies(params, START) is applies


# -- the reminder policy ------------------------------------------------------------------------------


def test_the_reminder_policy_given_is_the_one_followed(w, db):
    from bot.domain.accompaniment import ReminderPolicy

    policy = ReminderPolicy(
        auditeur_days_before_deadline=(5,), tutor_days_before_correction=(3,), no_first_meeting_after=timedelta(days=7),
        stalled_after=timedelta(days=20), stalled_before_limit=timedelta(days=10), opinion_days=7, tutor_days_before_opinion=(1,),
        auditeur_days_before_intermediate=(2,), overdue_repeats=0,
    )
    w.acc = make_service(db, w.clock, policy=policy)

    def due(kind: str, person: PersonView | None = None) -> list[tuple[int, datetime]]:
        return [(r.params["days"], r.next_attempt_at) for r in rows(db, kind, state="pending")
                if person is None or r.params["auditeur_id"] == person.id]

    with db.transaction() as session:
        w.acc.on_bound(session, session.get(Enrolment, w.enrolment["lea"]), START)
    assert due(ReminderKind.STAFF_NO_FIRST_MEETING.value) == [(0, at_paris(date(2027, 2, 8)))]  # 7 days
    w.clock.now = START + timedelta(days=7, seconds=-1)
    assert _staff_lists(w) == ([], [], [])
    w.clock.now = START + timedelta(days=7)
    corrections, opinions, stalled = _staff_lists(w)
    assert (corrections, opinions, sorted(stalled)) == ([], [], ["Léa Bernard", "Sami Nour"])  # the same silence: either order

    w.clock.now = START
    planned(w, date(2027, 3, 26), (date(2027, 3, 12),))
    assert due(ReminderKind.AUDITEUR_DEADLINE.value) == [(5, at_paris(date(2027, 3, 19)))]  # 21 March is a Sunday
    assert due(ReminderKind.AUDITEUR_INTERMEDIATE.value) == [(2, at_paris(date(2027, 3, 10)))]
    assert due(ReminderKind.STAFF_STALLED.value) == [(0, at_paris(date(2027, 2, 22)))]  # 20 days: Sunday 21, then Monday
    w.clock.now = START + timedelta(days=20, seconds=-1)
    assert "Léa Bernard" not in _staff_lists(w)[2]
    w.clock.now = START + timedelta(days=20)
    assert "Léa Bernard" in _staff_lists(w)[2]

    w.clock.now = START
    draft(w, version=1)
    w.acc.submit(w.lea)  # due on 15 March
    assert due(ReminderKind.TUTOR_CORRECTION.value) == [(3, at_paris(date(2027, 3, 12)))]
    assert due(ReminderKind.TUTOR_CORRECTION_OVERDUE.value) == [(-1, at_paris(date(2027, 3, 16)))]  # no repeat
    w.acc.return_correction(w.marc, w.lea.id, summary="Reprendre.")
    view = w.acc.submit(w.lea)
    assert view.next_due == date(2027, 2, 8)  # 7 days for the opinion
    assert due(ReminderKind.TUTOR_OPINION.value) == [(1, at_paris(date(2027, 2, 5)))]
    assert [r.next_due for r in w.acc.follow_rows(w.marc)] == [date(2027, 2, 8)]
    w.clock.now = datetime(2027, 2, 8, 12, tzinfo=UTC)
    assert _staff_lists(w)[1] == []
    w.clock.now = datetime(2027, 2, 9, 12, tzinfo=UTC)
    assert _staff_lists(w)[1] == ["Léa Bernard"]

    w.clock.now = START
    with db.transaction() as session:
        w.acc.on_first_meeting_held(session, session.get(Enrolment, w.enrolment["sami"]), w.hugo, START)
    w.acc.set_academic_year(w.sophie, _year(date(2027, 12, 20)))
    assert due(ReminderKind.STAFF_STALLED.value, w.sami) == [(0, at_paris(date(2027, 2, 22)))]


def test_a_second_round_after_resuming_is_followed_from_its_latest_submission(w):
    case = _not_validated(w)  # the first round, all on 1 February
    w.acc.record_contact(w.sophie, case.id, contact_note="Appel", agreed="Nouvelle version", resume=True)
    w.clock.now = datetime(2027, 3, 15, 9, tzinfo=UTC)
    w.acc.record_planning(w.marc, w.lea.id, date(2027, 5, 3))
    draft(w, version=2)
    resubmitted = w.acc.submit(w.lea)  # due on 12 April (four weeks)
    assert (resubmitted.current.version, resubmitted.current.due_on, resubmitted.next_due) == (2, date(2027, 4, 12), date(2027, 4, 12))
    assert [r.next_due for r in w.acc.follow_rows(w.marc)] == [date(2027, 4, 12)]
    assert [r.params["about"] for r in rows(w.db, ReminderKind.TUTOR_CORRECTION.value, state="pending")] == [date(2027, 4, 12)] * 2
    w.clock.now = datetime(2027, 4, 1, 9, tzinfo=UTC)
    corrected_again = w.acc.return_correction(w.marc, w.lea.id, summary="Mieux.")
    assert corrected_again.current.summary == "Mieux." and corrected_again.current.version == 2
    assert [s.correction_summary for s in submissions(w)] == ["À reprendre.", None, "Mieux."]
    draft(w, version=3)
    w.clock.now = datetime(2027, 4, 5, 9, tzinfo=UTC)
    revised_again = w.acc.submit(w.lea)
    assert (revised_again.current.version, revised_again.next_due) == (3, date(2027, 4, 19))  # from the latest revision
    assert [r.next_due for r in w.acc.follow_rows(w.marc)] == [date(2027, 4, 19)]
    assert rows(w.db, "accompaniment.revised")[-1].params["comparison"]["previous_version"] == 2
    w.clock.now = datetime(2027, 4, 19, 12, tzinfo=UTC)
    assert _staff_lists(w)[1] == []  # the first revision (1 February) is long past, but it is not the one awaited
    given = w.acc.give_opinion(w.marc, w.lea.id, verdict=Opinion.VALIDATED, assessments=ALL_MET, reasons=REASONS)
    assert given.view.verdict == "validé" and given.view.open_case is None
    with w.db.read() as session:
        opinions = session.execute(sa.select(OpinionRow.verdict, OpinionRow.submission_id).order_by(OpinionRow.id)).all()
    assert [tuple(o) for o in opinions] == [("non validé", submissions(w)[1].id), ("validé", submissions(w)[-1].id)]
    assert w.acc.opinion_pdf(w.lea)[0] == "grille-evaluation-2027-04-19.pdf"


def test_two_revised_reports_each_have_their_own_opinion_date(w):
    with w.db.transaction() as session:
        w.acc.on_first_meeting_held(session, session.get(Enrolment, w.enrolment["sami"]), w.hugo, START)
    w.acc.record_planning(w.hugo, w.sami.id, date(2027, 5, 3))
    draft(w, "sami", version=1)
    w.acc.submit(w.sami)
    w.acc.return_correction(w.hugo, w.sami.id, summary="Reprendre.")
    w.acc.submit(w.sami)  # Sami's revision on 1 February: the opinion is due on 15 February
    w.clock.now = datetime(2027, 2, 10, 9, tzinfo=UTC)
    revised(w)  # Léa's on 10 February: due on 24 February
    assert {r.auditeur_name: r.next_due for r in w.acc.follow_rows(w.sophie)} == {
        "Léa Bernard": date(2027, 2, 24), "Sami Nour": date(2027, 2, 15)}
    w.clock.now = datetime(2027, 2, 16, 12, tzinfo=UTC)
    assert _staff_lists(w)[1] == ["Sami Nour"]
    w.clock.now = datetime(2027, 2, 25, 12, tzinfo=UTC)
    assert _staff_lists(w)[1] == ["Sami Nour", "Léa Bernard"]  # the longest overdue first


def test_a_correction_without_a_submission_on_record_is_refused(w):
    meet(w)
    set_stage(w, "lea", Stage.SUBMITTED)  # a stage that says submitted, and no submission stored
    refused(lambda: w.acc.return_correction(w.marc, w.lea.id, summary="Rien à corriger."), RefusalCode.NOTHING_TO_SEND)
    assert w.acc.status(w.lea).stage is Stage.SUBMITTED and rows(w.db, "accompaniment.corrected") == []
