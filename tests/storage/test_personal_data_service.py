"""The personal data service on SQLite and PostgreSQL: every kind of data in an export, what an
erasure removes and keeps, who may do what, the hand-over, and the retention purge at its boundaries."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.domain.people import PersonView, Role
from bot.domain.permissions import COMMAND_LINE, PermissionDenied
from bot.domain.personal_data import ERASED, KEPT, OpenWork
from bot.services import outbox
from bot.services.directory import person_view
from bot.services.personal_data import AlreadyErased, HandOverFirst, PersonalData, PurgeReport
from bot.storage.models import (
    AuditEvent,
    AvailabilityWindow,
    Base,
    Broadcast,
    CoachingFeedback,
    CoachingProgress,
    Consent,
    ConversationState,
    DepositInProgress,
    DraftVersion,
    Enrolment,
    ExperienceCheck,
    Invitation,
    Meeting,
    OutboxMessage,
    Person,
    SignInThrottle,
    TutorBookingSettings,
    TutorDayOff,
)
from bot.storage.models.accompaniment import (
    Accompaniment,
    AccompanimentEvent,
    FollowUpCase,
    Opinion,
    PlanningDate,
    ReportSubmission,
)
from tests.clock import Clock

NOW = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
T = lambda *args: datetime(*args, tzinfo=UTC)  # noqa: E731
SECRETS = ("Alice", "Durand", "alice_d", "alice.durand@exemple.fr", "visio.exemple/alice", "reconversion",
           "Plan du rapport", "FILE-ALICE", "FILE-ANNEX", "paie", "Annexe Alice", "alice-brouillon", "alice-final")


def _dump(db) -> str:
    with db.read() as session:
        return "\n".join(
            f"{table.name}: " + json.dumps([str(v) for v in row], ensure_ascii=False)
            for table in Base.metadata.sorted_tables
            for row in session.execute(sa.select(table)).all()
        )


def _meeting(auditeur, tutor, enrolment, start, **values):
    end = start + timedelta(hours=1)
    return Meeting(auditeur_id=auditeur, tutor_id=tutor, enrolment_id=enrolment, start_at=start, end_at=end,
                   blocked_until=end, duration_minutes=60, purpose="follow_up", **values)


@pytest.fixture
def world(db):
    """Alice (auditeur) with every kind of data, her tutor Marc, another tutor Sophie, another auditeur
    Bruno (Marc's too), and Claire (staff)."""
    ids = {}
    with db.transaction() as session:
        claire = Person(role="staff", display_name="Claire Martin", telegram_user_id=1001, created_at=T(2026, 1, 1))
        marc = Person(role="tutor", display_name="Marc Dubois", telegram_user_id=2001, email="marc@exemple.fr",
                      created_at=T(2026, 1, 2), bound_at=T(2026, 1, 3))
        sophie = Person(role="tutor", display_name="Sophie Leroy", telegram_user_id=2002, created_at=T(2026, 1, 2),
                        bound_at=T(2026, 1, 3))
        alice = Person(role="auditeur", display_name="Alice Durand", telegram_user_id=3001, telegram_username="alice_d",
                       email="alice.durand@exemple.fr", created_at=T(2026, 2, 1), bound_at=T(2026, 2, 2, 9))
        bruno = Person(role="auditeur", display_name="Bruno Petit", telegram_user_id=3002, created_at=T(2026, 2, 1),
                       bound_at=T(2026, 2, 2))
        session.add_all([claire, marc, sophie, alice, bruno])
        session.flush()
        old = Enrolment(auditeur_id=alice.id, tutor_id=marc.id, certification="Titre RH", report_type="stage",
                        semester="2025-S2", status="closed", enrolled_at=T(2026, 2, 1), ended_at=T(2026, 8, 31))
        active = Enrolment(auditeur_id=alice.id, tutor_id=marc.id, certification="Licence Gestion", report_type="ua",
                           semester="2026-S1", enrolled_at=T(2026, 9, 10), units_validated=5, experience="justified")
        other = Enrolment(auditeur_id=bruno.id, tutor_id=marc.id, certification="Licence Gestion", report_type="ua",
                          semester="2026-S1", enrolled_at=T(2026, 9, 11))
        session.add_all([old, active, other])
        session.flush()
        past = _meeting(alice.id, marc.id, active.id, T(2027, 2, 1, 9), status="held",
                        video_link="https://visio.exemple/alice-1", topic="Alice parle de sa reconversion")
        future = _meeting(alice.id, marc.id, active.id, T(2027, 3, 10, 9), video_link="https://visio.exemple/alice-2",
                          topic="Plan du rapport", rescheduled_from=T(2027, 3, 9, 9))
        brunos = _meeting(bruno.id, marc.id, other.id, T(2027, 3, 11, 9), video_link="https://visio.exemple/bruno",
                          topic="Bruno et son mémoire")
        session.add_all([future, past, brunos])  # booked before the one held: listed by date all the same
        progress = CoachingProgress(enrolment_id=active.id, auditeur_id=alice.id, report_type="ua",
                                    state={"answers": {"mission": "Alice gère la paie"}},
                                    created_at=T(2026, 9, 12), updated_at=T(2026, 9, 13))
        session.add(progress)
        session.flush()
        session.add(CoachingFeedback(progress_id=progress.id, section_id="mission", engine="offline",
                                     remarks=["Précisez la paie"], created_at=T(2026, 9, 13)))
        session.add(ExperienceCheck(person_id=alice.id, answers={"years": "3"}, outcome="ua", reasons=["trois ans de paie"],
                                    confirm_with_tutor=False, completed_at=T(2026, 9, 14), updated_at=T(2026, 9, 14)))
        v1 = DraftVersion(auditeur_id=alice.id, enrolment_id=active.id, version=1, sha256="1" * 64,
                          file_name="alice-brouillon.pdf", size_bytes=1000, telegram_file_id="FILE-ALICE-1", pages=3,
                          words=900, problem=None, review={"sections": []}, received_at=T(2026, 10, 1))
        v2 = DraftVersion(auditeur_id=alice.id, enrolment_id=active.id, version=2, sha256="2" * 64,
                          file_name="alice-final.pdf", size_bytes=2000, telegram_file_id="FILE-ALICE-2", pages=12,
                          words=4000, problem="encrypted", review={"sections": ["intro"]}, received_at=T(2026, 11, 1))
        session.add_all([v2, v1])
        session.flush()
        session.add(DepositInProgress(auditeur_id=alice.id, report_version_id=v2.id,
                                      annexes=[{"file_id": "FILE-ANNEX-A", "title": "Annexe Alice", "pages": 3}],
                                      created_at=T(2027, 2, 20), updated_at=T(2027, 2, 21)))
        session.add(TutorBookingSettings(tutor_id=marc.id, video_mode="room", video_link="https://visio.exemple/marc",
                                         min_notice_minutes=120, horizon_days=30, buffer_minutes=15))
        session.add(AvailabilityWindow(tutor_id=marc.id, weekday=1, start_minute=540, end_minute=720))
        session.add(TutorDayOff(tutor_id=marc.id, first_day=date(2027, 4, 1), last_day=date(2027, 4, 5)))
        session.add(Consent(person_id=alice.id, notice_version="v2", accepted_at=T(2026, 2, 2, 9), telegram_user_id=3001))
        session.add(Invitation(code_hash="a" * 64, person_id=alice.id, created_at=T(2026, 2, 1), expires_at=T(2026, 2, 15),
                               used_at=T(2026, 2, 2, 9), used_by_telegram_id=3001))
        session.add(ConversationState(telegram_user_id=3001, flow="coach", step="q2", data={"text": "Alice répond"},
                                      updated_at=T(2027, 2, 28)))
        session.add(SignInThrottle(telegram_user_id=3001, failures=2, window_started_at=T(2026, 2, 2, 8)))
        session.add(AuditEvent(occurred_at=T(2026, 10, 2), actor_id=claire.id, subject_id=alice.id, action="staff.note",
                               note="Alice a appelé", details={"who": "Alice Durand"}))
        session.add(AuditEvent(occurred_at=T(2026, 10, 3), actor_id=alice.id, subject_id=None, action="draft.sent",
                               details={"file": "alice-final.pdf"}))
        session.add(AuditEvent(occurred_at=T(2026, 10, 4), actor_id=claire.id, subject_id=bruno.id, action="staff.note",
                               note="Bruno a appelé", details={}))
        acc = Accompaniment(enrolment_id=active.id, stage="submitted", moved_at=T(2027, 1, 5), limit_date=date(2027, 8, 31),
                            created_at=T(2026, 9, 10))
        brunos_acc = Accompaniment(enrolment_id=other.id, stage="enrolled", moved_at=T(2026, 9, 11), created_at=T(2026, 9, 11))
        session.add_all([acc, brunos_acc])
        session.flush()
        session.add(AccompanimentEvent(accompaniment_id=acc.id, at=T(2027, 1, 5), actor_id=marc.id, party="tutor",
                                       action="submit", from_stage="planned", to_stage="submitted",
                                       details={"comment": "Alice en avance"}))
        session.add(AccompanimentEvent(accompaniment_id=brunos_acc.id, at=T(2026, 9, 11), actor_id=claire.id, party="staff",
                                       action="enrol", from_stage="enrolled", to_stage="enrolled",
                                       details={"comment": "Claire inscrit Bruno"}))
        session.add(PlanningDate(accompaniment_id=acc.id, kind="deadline", day=date(2027, 5, 1), recorded_at=T(2026, 11, 2)))
        session.add(PlanningDate(accompaniment_id=acc.id, kind="intermediate", day=date(2027, 3, 15),
                                 recorded_at=T(2026, 11, 2)))
        submission = ReportSubmission(
            accompaniment_id=acc.id, kind="submission", draft_version_id=v2.id, submitted_at=T(2027, 1, 5),
            received_on=date(2027, 1, 5), due_on=date(2027, 2, 2), weeks=4, corrected_at=T(2027, 1, 20),
            correction_file_id="FILE-ALICE-CORR", correction_file_name="alice-corrige.pdf",
            correction_comments={"c1": "Alice doit développer"}, correction_summary="Bon travail, Alice",
        )
        session.add(submission)
        session.flush()
        session.add(Opinion(accompaniment_id=acc.id, submission_id=submission.id, tutor_id=marc.id, verdict="validé", grid={},
                            assessments={"c1": "acquis"}, comments={"c1": "Bien, Alice"}, reasons="Alice maîtrise la paie",
                            pdf=b"%PDF Alice Durand", given_at=T(2027, 2, 10)))
        session.add(FollowUpCase(accompaniment_id=acc.id, reason="not_validated", opened_at=T(2027, 2, 11),
                                 contact_note="Appel à Alice", agreed="Alice reprend"))
        session.add(Broadcast(author_id=claire.id, kind="message", message_html="Bonjour à tous", audience="tous",
                              state="done", created_at=T(2026, 12, 1), progress_chat_id=1001, progress_message_id=5))
        session.flush()
        rows = {
            "to_alice": outbox.enqueue(session, recipient_id=alice.id, kind="meeting.reminder", template="booking/reminder.html",
                                       params={"start": T(2027, 3, 10, 9), "before": timedelta(hours=1)},
                                       subject=("meeting", future.id), now=T(2027, 2, 28)),
            "to_alice_sent": outbox.enqueue(session, recipient_id=alice.id, kind="draft.received", text="Reçu, Alice",
                                            now=T(2026, 11, 1)),
            "meeting_to_marc": outbox.enqueue(session, recipient_id=marc.id, kind="meeting.booked.tutor",
                                              template="booking/booked.html", params={"who": "quelqu'un"},
                                              subject=("meeting", past.id), now=T(2027, 1, 20)),
            "naming_alice": outbox.enqueue(session, recipient_id=marc.id, kind="draft.received.tutor",
                                           text="Alice Durand a déposé un brouillon", now=T(2026, 11, 1)),
            "her_file": outbox.enqueue(session, recipient_id=marc.id, kind="draft.forward",
                                       document=outbox.Document(filename="brouillon.pdf", file_id="FILE-ALICE-1"),
                                       now=T(2026, 10, 1)),
            "accompaniment": outbox.enqueue(session, recipient_id=marc.id, kind="accompaniment.due", text="Correction due",
                                            subject=("accompaniment", acc.id), now=T(2027, 1, 6)),
            "about_her": outbox.enqueue(session, recipient_id=claire.id, kind="staff.alert", text="Relancer",
                                        subject=("person", alice.id), now=T(2027, 1, 6)),
            "email": outbox.enqueue_email(session, to="Alice.Durand@exemple.fr ", kind="email.invitation", text="Code",
                                          recipient_id=alice.id, now=T(2026, 2, 1)),
            "unrelated": outbox.enqueue(session, recipient_id=marc.id, kind="staff.news", text="Réunion des tuteurs lundi",
                                        now=T(2027, 2, 1)),
            "brunos": outbox.enqueue(session, recipient_id=bruno.id, kind="meeting.reminder", text="Rendez-vous, Bruno",
                                     subject=("meeting", brunos.id), now=T(2027, 2, 1)),
            # about other things whose ids happen to be hers, her accompaniment's, her meeting's
            **{f"other_{n}": outbox.enqueue(session, recipient_id=marc.id, kind="deadline.reminder", text=f"Rappel {n}",
                                            subject=("deadline", i), now=T(2027, 2, 1))
               for n, i in (("person", alice.id), ("accompaniment", acc.id), ("meeting", future.id))},
        }
        session.flush()
        for name in ("to_alice_sent", "naming_alice", "her_file"):
            rows[name].state, rows[name].sent_at = "sent", T(2026, 11, 1, 12)
        ids = {name: row.id for name, row in rows.items()} | {
            "claire": claire.id, "marc": marc.id, "sophie": sophie.id, "alice": alice.id, "bruno": bruno.id,
            "old": old.id, "active": active.id, "other": other.id, "past": past.id, "future": future.id,
            "brunos_meeting": brunos.id, "acc": acc.id, "brunos_acc": brunos_acc.id,
        }
        views = {name: person_view(p) for name, p in
                 (("claire", claire), ("marc", marc), ("sophie", sophie), ("alice", alice), ("bruno", bruno))}
    return ids, views


@pytest.fixture
def service(db):
    clock = Clock(NOW)
    service = PersonalData(db, clock=clock, staff_telegram_ids=[1001])
    service.test_clock = clock
    return service


def test_an_auditeurs_export_holds_every_kind_of_her_data(service, world):
    ids, people = world
    data = service.export(people["alice"], ids["alice"])
    assert data.pop("format") == 1 and data.pop("exported_at") == "2027-03-01T10:00:00+00:00"
    assert data.pop("person") == {
        "id": ids["alice"], "role": "auditeur", "display_name": "Alice Durand", "email": "alice.durand@exemple.fr",
        "telegram_user_id": 3001, "telegram_username": "alice_d", "created_at": "2026-02-01T00:00:00+00:00",
        "bound_at": "2026-02-02T09:00:00+00:00", "blocked_bot_at": None, "active": True, "erased_at": None,
    }
    assert data.pop("consents") == [
        {"notice_version": "v2", "accepted_at": "2026-02-02T09:00:00+00:00", "telegram_user_id": 3001}]
    assert data.pop("invitations") == [{"created_at": "2026-02-01T00:00:00+00:00", "expires_at": "2026-02-15T00:00:00+00:00",
                                        "used_at": "2026-02-02T09:00:00+00:00", "used_by_telegram_id": 3001}]
    assert data.pop("enrolments") == [
        {"id": ids["old"], "certification": "Titre RH", "report_type": "stage", "semester": "2025-S2", "status": "closed",
         "enrolled_at": "2026-02-01T00:00:00+00:00", "ended_at": "2026-08-31T00:00:00+00:00", "units_validated": None,
         "experience": None, "as": "auditeur", "auditeur": "Alice Durand", "tutor": "Marc Dubois"},
        {"id": ids["active"], "certification": "Licence Gestion", "report_type": "ua", "semester": "2026-S1",
         "status": "active", "enrolled_at": "2026-09-10T00:00:00+00:00", "ended_at": None, "units_validated": 5,
         "experience": "justified", "as": "auditeur", "auditeur": "Alice Durand", "tutor": "Marc Dubois"},
    ]
    assert data.pop("coaching") == [{"report_type": "ua", "created_at": "2026-09-12T00:00:00+00:00",
                                     "updated_at": "2026-09-13T00:00:00+00:00",
                                     "state": {"answers": {"mission": "Alice gère la paie"}}}]
    assert data.pop("coaching_feedback") == [{"section_id": "mission", "engine": "offline", "remarks": ["Précisez la paie"],
                                              "created_at": "2026-09-13T00:00:00+00:00"}]
    assert data.pop("experience_check") == {
        "answers": {"years": "3"}, "outcome": "ua", "reasons": ["trois ans de paie"], "confirm_with_tutor": False,
        "completed_at": "2026-09-14T00:00:00+00:00", "updated_at": "2026-09-14T00:00:00+00:00"}
    assert data.pop("drafts") == [
        {"version": 1, "file_name": "alice-brouillon.pdf", "size_bytes": 1000, "sha256": "1" * 64, "pages": 3,
         "words": 900, "problem": None, "received_at": "2026-10-01T00:00:00+00:00", "review": {"sections": []}},
        {"version": 2, "file_name": "alice-final.pdf", "size_bytes": 2000, "sha256": "2" * 64, "pages": 12,
         "words": 4000, "problem": "encrypted", "received_at": "2026-11-01T00:00:00+00:00",
         "review": {"sections": ["intro"]}},
    ]
    assert data.pop("deposit_in_progress") == {  # the annex's Telegram file id is not hers to read
        "created_at": "2027-02-20T00:00:00+00:00", "updated_at": "2027-02-21T00:00:00+00:00", "report_version": 2,
        "annexes": [{"title": "Annexe Alice", "pages": 3}]}
    assert data.pop("meetings") == [
        {"id": ids["past"], "start_at": "2027-02-01T09:00:00+00:00", "end_at": "2027-02-01T10:00:00+00:00",
         "duration_minutes": 60, "status": "held", "purpose": "follow_up", "video_link": "https://visio.exemple/alice-1",
         "topic": "Alice parle de sa reconversion", "rescheduled_from": None, "cancelled_at": None, "as": "auditeur",
         "auditeur": "Alice Durand", "tutor": "Marc Dubois"},
        {"id": ids["future"], "start_at": "2027-03-10T09:00:00+00:00", "end_at": "2027-03-10T10:00:00+00:00",
         "duration_minutes": 60, "status": "booked", "purpose": "follow_up", "video_link": "https://visio.exemple/alice-2",
         "topic": "Plan du rapport", "rescheduled_from": "2027-03-09T09:00:00+00:00", "cancelled_at": None,
         "as": "auditeur", "auditeur": "Alice Durand", "tutor": "Marc Dubois"},
    ]
    assert data.pop("tutor_settings") is None and data.pop("availability") == [] and data.pop("days_off") == []
    assert data.pop("messages") == [
        {"kind": "meeting.reminder", "channel": "telegram", "state": "pending", "created_at": "2027-02-28T00:00:00+00:00",
         "sent_at": None, "due_at": "2000-01-01T00:00:00+00:00",
         "params": {"start": "2027-03-10T09:00:00+00:00", "before": 3600.0}},
        {"kind": "draft.received", "channel": "telegram", "state": "sent", "created_at": "2026-11-01T00:00:00+00:00",
         "sent_at": "2026-11-01T12:00:00+00:00", "due_at": "2000-01-01T00:00:00+00:00", "params": {}},
        {"kind": "email.invitation", "channel": "email", "state": "pending", "created_at": "2026-02-01T00:00:00+00:00",
         "sent_at": None, "due_at": "2000-01-01T00:00:00+00:00", "params": {}},
    ]
    assert data.pop("audit_events") == [
        {"occurred_at": "2026-10-02T00:00:00+00:00", "action": "staff.note", "details": {"who": "Alice Durand"},
         "note": "Alice a appelé", "by": "Claire Martin", "about": "Alice Durand"},
        {"occurred_at": "2026-10-03T00:00:00+00:00", "action": "draft.sent", "details": {"file": "alice-final.pdf"},
         "note": None, "by": "Alice Durand", "about": None},
    ]
    assert data.pop("accompaniments") == [{"stage": "submitted", "moved_at": "2027-01-05T00:00:00+00:00",
                                           "limit_date": "2027-08-31", "created_at": "2026-09-10T00:00:00+00:00"}]
    assert data.pop("accompaniment_events") == [  # Bruno's accompaniment is not hers
        {"at": "2027-01-05T00:00:00+00:00", "party": "tutor", "action": "submit", "from_stage": "planned",
         "to_stage": "submitted", "details": {"comment": "Alice en avance"}, "by": "Marc Dubois"}]
    assert data.pop("planning_dates") == [  # in the order they were recorded
        {"kind": "deadline", "day": "2027-05-01", "recorded_at": "2026-11-02T00:00:00+00:00"},
        {"kind": "intermediate", "day": "2027-03-15", "recorded_at": "2026-11-02T00:00:00+00:00"}]
    assert data.pop("report_submissions") == [
        {"kind": "submission", "submitted_at": "2027-01-05T00:00:00+00:00", "received_on": "2027-01-05",
         "due_on": "2027-02-02", "weeks": 4, "corrected_at": "2027-01-20T00:00:00+00:00",
         "correction_file_name": "alice-corrige.pdf", "correction_comments": {"c1": "Alice doit développer"},
         "correction_summary": "Bon travail, Alice"}]
    assert data.pop("opinions") == [
        {"verdict": "validé", "assessments": {"c1": "acquis"}, "comments": {"c1": "Bien, Alice"},
         "reasons": "Alice maîtrise la paie", "given_at": "2027-02-10T00:00:00+00:00", "tutor": "Marc Dubois"}]
    assert data.pop("follow_up_cases") == [{"reason": "not_validated", "opened_at": "2027-02-11T00:00:00+00:00",
                                            "closed_at": None, "contact_note": "Appel à Alice", "agreed": "Alice reprend"}]
    assert data.pop("opinions_given") == [] and data.pop("broadcasts_written") == []
    assert data.pop("conversation") == {"flow": "coach", "step": "q2", "data": {"text": "Alice répond"},
                                        "updated_at": "2027-02-28T00:00:00+00:00"}
    assert data.pop("sign_in_throttle") == {"failures": 2, "window_started_at": "2026-02-02T08:00:00+00:00",
                                            "locked_until": None}
    assert data == {}
    json.dumps(service.export(people["alice"], ids["alice"]))  # plain JSON


def test_a_tutors_export_holds_his_settings_his_auditeurs_and_opinions_given(service, world):
    ids, people = world
    data = service.export(people["marc"], ids["marc"])
    assert [(e["id"], e["as"], e["auditeur"], e["tutor"]) for e in data["enrolments"]] == [
        (ids["old"], "tutor", "Alice Durand", "Marc Dubois"), (ids["active"], "tutor", "Alice Durand", "Marc Dubois"),
        (ids["other"], "tutor", "Bruno Petit", "Marc Dubois")]
    assert [(m["id"], m["as"], m["auditeur"]) for m in data["meetings"]] == [
        (ids["past"], "tutor", "Alice Durand"), (ids["future"], "tutor", "Alice Durand"),
        (ids["brunos_meeting"], "tutor", "Bruno Petit")]
    assert data["tutor_settings"] == {"video_mode": "room", "video_link": "https://visio.exemple/marc",
                                      "min_notice_minutes": 120, "horizon_days": 30, "buffer_minutes": 15}
    assert data["availability"] == [{"weekday": 1, "start_minute": 540, "end_minute": 720}]
    assert data["days_off"] == [{"first_day": "2027-04-01", "last_day": "2027-04-05"}]
    assert data["opinions_given"] == [{"verdict": "validé", "given_at": "2027-02-10T00:00:00+00:00"}]
    assert [m["kind"] for m in data["messages"]] == [
        "meeting.booked.tutor", "draft.received.tutor", "draft.forward", "accompaniment.due", "staff.news"] + [
        "deadline.reminder"] * 3
    assert data["messages"][0]["params"] == {"who": "quelqu'un"}
    # his auditeurs' accompaniments are theirs, not his; nor does a tutor have any of an auditeur's own data
    assert data["accompaniments"] == [] and data["accompaniment_events"] == [] and data["opinions"] == []
    assert data["coaching"] == [] and data["coaching_feedback"] == [] and data["drafts"] == []
    assert data["experience_check"] is None
    assert data["deposit_in_progress"] is None and data["consents"] == [] and data["invitations"] == []
    assert data["conversation"] is None and data["sign_in_throttle"] is None


def test_a_staff_members_export_holds_what_she_wrote(service, world):
    ids, people = world
    data = service.export(people["claire"], ids["claire"])
    assert data["broadcasts_written"] == [{"kind": "message", "audience": "tous", "state": "done",
                                           "created_at": "2026-12-01T00:00:00+00:00", "message_html": "Bonjour à tous"}]
    assert [(a["action"], a["by"], a["about"], a["note"]) for a in data["audit_events"]] == [
        ("staff.note", "Claire Martin", "Alice Durand", "Alice a appelé"),
        ("staff.note", "Claire Martin", "Bruno Petit", "Bruno a appelé")]
    assert [m["kind"] for m in data["messages"]] == ["staff.alert"]


def test_an_export_without_telegram_account_and_an_unknown_person(service, world, db):
    ids, people = world
    with db.transaction() as session:
        session.get(Person, ids["bruno"]).telegram_user_id = None
    data = service.export(COMMAND_LINE, ids["bruno"])  # the command line acts as staff
    assert data["person"]["telegram_user_id"] is None
    assert data["conversation"] is None and data["sign_in_throttle"] is None
    assert [e["id"] for e in data["enrolments"]] == [ids["other"]]
    with pytest.raises(LookupError) as info:
        service.export(COMMAND_LINE, 9999)
    assert info.value.args == (9999,)


def test_only_the_person_or_staff_may_export_erase_or_look_up(service, world, db):
    ids, people = world
    before = _dump(db)
    for actor, target in ((people["bruno"], ids["alice"]), (people["marc"], ids["alice"]), (people["alice"], ids["marc"])):
        for action, call in (("export someone else's data", service.export),
                             ("erase someone else's data", service.preview_erasure),
                             ("erase someone else's data", service.erase)):
            with pytest.raises(PermissionDenied) as info:
                call(actor, target)
            assert (info.value.action, info.value.actor) == (action, actor)  # what the log says was refused
    for actor in (people["alice"], people["marc"]):
        with pytest.raises(PermissionDenied) as info:
            service.find(actor, telegram_id=3001)
        assert (info.value.action, info.value.actor) == ("look people up", actor)
        with pytest.raises(PermissionDenied) as info:
            service.hand_over(actor, ids["marc"], ids["sophie"])
        assert (info.value.action, info.value.actor) == ("hand a tutor's auditeurs over", actor)
    assert _dump(db) == before
    assert service.export(people["claire"], ids["alice"])["person"]["id"] == ids["alice"]
    assert service.preview_erasure(people["claire"], ids["bruno"]).person.id == ids["bruno"]


def test_find_by_telegram_id_or_name(service, world, db):
    ids, people = world
    staff = people["claire"]
    assert [p.id for p in service.find(staff, telegram_id=3001)] == [ids["alice"]]
    assert [p.id for p in service.find(staff, name=" alice  DURAND")] == [ids["alice"]]
    assert service.find(staff, telegram_id=3001, name="Bruno Petit") == []
    assert [p.id for p in service.find(staff)] == sorted(ids[n] for n in ("claire", "marc", "sophie", "alice", "bruno"))
    found = service.find(staff, name="Marc Dubois")[0]
    assert (found.role, found.display_name, found.telegram_user_id, found.email) == (Role.TUTOR, "Marc Dubois", 2001,
                                                                                     "marc@exemple.fr")


def test_the_erasure_preview_counts_what_goes(service, world):
    ids, people = world
    alice = service.preview_erasure(people["alice"], ids["alice"])
    assert alice.person == people["alice"]
    assert (alice.work, alice.future_meetings, alice.drafts) == (OpenWork(), 1, 2)
    assert alice.erased == ERASED and alice.kept == KEPT
    marc = service.preview_erasure(people["marc"], ids["marc"])  # Alice and Bruno active, two meetings ahead
    assert marc.work == OpenWork(active_auditeurs=2, future_meetings=2) and marc.work.blocking
    assert (marc.future_meetings, marc.drafts) == (0, 0)
    assert service.preview_erasure(people["claire"], ids["claire"]).work == OpenWork(configured_staff=True)
    assert not service.preview_erasure(people["sophie"], ids["sophie"]).work.blocking
    service.test_clock.now = T(2027, 3, 11, 10)  # Bruno's meeting ends at 10:00 exactly: no longer ahead
    assert service.preview_erasure(people["marc"], ids["marc"]).work.future_meetings == 0
    assert service.preview_erasure(people["alice"], ids["alice"]).future_meetings == 0


def test_an_auditeurs_erasure_leaves_no_personal_text_and_keeps_the_record(service, world, db):
    ids, people = world
    done = service.erase(people["alice"], ids["alice"])
    assert (done.person_id, done.role, done.telegram_user_id, done.cancelled_meetings, done.notified) == (
        ids["alice"], Role.AUDITEUR, 3001, 1, 1)
    dump = _dump(db)
    alice_lines = "\n".join(line for line in dump.splitlines() if "Bruno" not in line)
    for secret in SECRETS + ("alice-corrige", "Appel à", "reprend", "en avance", "Alice répond", "FILE-ALICE-CORR"):
        assert secret not in alice_lines, secret
    assert "Bruno et son mémoire" in dump and "Réunion des tuteurs lundi" in dump and "Claire inscrit Bruno" in dump
    with db.read() as session:
        alice = session.get(Person, ids["alice"])
        assert (alice.display_name, alice.role, alice.email, alice.telegram_user_id, alice.telegram_username) == (
            f"#{ids['alice']}", "auditeur", None, None, None)
        assert alice.active is False and alice.erased_at == NOW and alice.bound_at == T(2026, 2, 2, 9)
        enrolments = {e.id: (e.status, e.ended_at, e.certification, e.semester)
                      for e in session.scalars(sa.select(Enrolment))}
        assert enrolments == {
            ids["old"]: ("closed", T(2026, 8, 31), "Titre RH", "2025-S2"),
            ids["active"]: ("closed", NOW, "Licence Gestion", "2026-S1"),
            ids["other"]: ("active", None, "Licence Gestion", "2026-S1"),
        }
        meetings = {m.id: (m.status, m.video_link, m.topic, m.cancelled_at, m.cancelled_by_id, m.sequence, m.start_at)
                    for m in session.scalars(sa.select(Meeting))}
        assert meetings == {
            ids["past"]: ("held", "", None, None, None, 0, T(2027, 2, 1, 9)),
            ids["future"]: ("cancelled", "", None, NOW, ids["alice"], 1, T(2027, 3, 10, 9)),
            ids["brunos_meeting"]: ("booked", "https://visio.exemple/bruno", "Bruno et son mémoire", None, None, 0,
                                    T(2027, 3, 11, 9)),
        }
        for model in (CoachingProgress, CoachingFeedback, ExperienceCheck, DraftVersion, DepositInProgress, Invitation,
                      ConversationState, SignInThrottle):
            assert session.scalar(sa.select(sa.func.count()).select_from(model)) == 0, model.__name__
        # a tutor's settings are his: an auditeur's erasure leaves them
        assert session.get(TutorBookingSettings, ids["marc"]).video_link == "https://visio.exemple/marc"
        assert session.scalar(sa.select(sa.func.count()).select_from(AvailabilityWindow)) == 1
        consent = session.scalar(sa.select(Consent))
        assert (consent.person_id, consent.notice_version, consent.accepted_at, consent.telegram_user_id) == (
            ids["alice"], "v2", T(2026, 2, 2, 9), 0)
        assert session.scalar(sa.select(sa.func.count()).select_from(TutorDayOff)) == 1
        assert session.scalar(sa.select(AuditEvent.occurred_at).where(AuditEvent.action == "person.erased")) == NOW
        events = [(e.action, e.actor_id, e.subject_id, e.note, e.details)
                  for e in session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))]
        assert events == [
            ("staff.note", ids["claire"], ids["alice"], None, {}),
            ("draft.sent", ids["alice"], None, None, {}),
            ("staff.note", ids["claire"], ids["bruno"], "Bruno a appelé", {}),
            ("person.erased", ids["alice"], ids["alice"],
             None, {"reason": "request", "role": "auditeur", "drafts": 2, "cancelled_meetings": 1}),
        ]
        acc = session.get(Accompaniment, ids["acc"])
        assert acc.stage == "submitted"  # the tutoring given stays
        assert session.scalar(sa.select(AccompanimentEvent.details).where(AccompanimentEvent.accompaniment_id == acc.id)) == {}
        submission = session.scalar(sa.select(ReportSubmission))
        assert (submission.correction_file_id, submission.correction_file_name, submission.correction_comments,
                submission.correction_summary, submission.weeks) == (None, None, {}, None, 4)
        opinion = session.scalar(sa.select(Opinion))
        assert (opinion.verdict, opinion.comments, opinion.reasons, opinion.pdf, opinion.assessments) == (
            "validé", {}, "", b"", {"c1": "acquis"})
        case = session.scalar(sa.select(FollowUpCase))
        assert (case.contact_note, case.agreed, case.reason) == (None, None, "not_validated")
        assert session.scalar(sa.select(Broadcast.progress_chat_id)) == 1001  # Claire's, not Alice's


def test_an_erasure_empties_and_cancels_the_messages_about_her(service, world, db):
    ids, people = world
    service.erase(COMMAND_LINE, ids["alice"])
    with db.read() as session:
        rows = {r.id: r for r in session.scalars(sa.select(OutboxMessage))}
        state = {name: rows[ids[name]].state for name in (
            "to_alice", "to_alice_sent", "meeting_to_marc", "naming_alice", "her_file", "accompaniment", "about_her",
            "email", "unrelated", "brunos")}
        assert state == {"to_alice": "cancelled", "to_alice_sent": "sent", "meeting_to_marc": "cancelled",
                         "naming_alice": "sent", "her_file": "sent", "accompaniment": "cancelled",
                         "about_her": "cancelled", "email": "cancelled", "unrelated": "pending", "brunos": "pending"}
        for name in ("to_alice", "to_alice_sent", "meeting_to_marc", "naming_alice", "her_file", "accompaniment",
                     "about_her", "email"):
            row = rows[ids[name]]
            assert (row.params, row.text, row.keyboard, row.document, row.document_content, row.subject_line) == (
                {}, None, None, None, None, None), name
        for name in ("to_alice", "to_alice_sent", "email"):  # to her: where it went is gone too
            row = rows[ids[name]]
            assert (row.chat_id, row.email_to, row.recipient_key) == (None, None, f"p{ids['alice']}"), name
        for name in ("meeting_to_marc", "naming_alice", "her_file", "accompaniment"):  # to Marc: still his
            assert (rows[ids[name]].chat_id, rows[ids[name]].recipient_id) == (2001, ids["marc"]), name
        assert rows[ids["to_alice_sent"]].sent_at == T(2026, 11, 1, 12)  # the delivery history stays
        assert rows[ids["unrelated"]].text == "Réunion des tuteurs lundi" and rows[ids["unrelated"]].last_error is None
        for n in ("person", "accompaniment", "meeting"):
            assert (rows[ids[f"other_{n}"]].state, rows[ids[f"other_{n}"]].text) == ("pending", f"Rappel {n}"), n
        assert rows[ids["brunos"]].text == "Rendez-vous, Bruno" and rows[ids["brunos"]].chat_id == 3002
        (notice,) = [r for r in rows.values() if r.kind == "person.erased.tutor"]
        assert (notice.recipient_id, notice.chat_id, notice.state, notice.template, notice.created_at) == (
            ids["marc"], 2001, "pending", "personal_data/tutor_notified.html", NOW)
        assert outbox.decode(notice.params) == {"certification": "Licence Gestion", "semester": "2026-S1",
                                                "enrolled_at": T(2026, 9, 10), "cancelled": [T(2027, 3, 10, 9)]}
        erased = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "person.erased"))
        assert erased.actor_id is None  # the command line is nobody in the database


def test_a_message_naming_her_by_email_or_username_is_emptied(service, world, db):
    ids, people = world
    with db.transaction() as session:
        by_mail = outbox.enqueue(session, recipient_id=ids["claire"], kind="staff.alert",
                                 params={"contact": "alice.durand@exemple.fr"}, template="x.html", now=NOW)
        by_username = outbox.enqueue(session, recipient_id=ids["claire"], kind="staff.alert", text="Voir @alice_d",
                                     now=NOW)
        attached = outbox.enqueue(session, recipient_id=ids["claire"], kind="staff.export",
                                  document=outbox.Document(filename="liste.csv", content="nom\nAlice Durand\n".encode()),
                                  now=NOW)
        short = outbox.enqueue(session, recipient_id=ids["claire"], kind="staff.alert", text="Aucun nom ici", now=NOW)
        keep = (by_mail.id, by_username.id, attached.id, short.id)
    service.erase(people["claire"], ids["alice"])
    with db.read() as session:
        rows = [session.get(OutboxMessage, i) for i in keep]
        assert [(r.state, r.text, r.document_content, r.last_error) for r in rows[:3]] == [
            ("cancelled", None, None, "person erased")] * 3
        assert (rows[3].state, rows[3].text, rows[3].last_error) == ("pending", "Aucun nom ici", None)
        assert all(r.chat_id == 1001 for r in rows)


def test_short_names_are_not_searched_and_an_email_to_her_address_forgets_it(db, world):
    ids, people = world
    with db.transaction() as session:
        zoe = Person(role="auditeur", display_name="Zoé", telegram_user_id=3009, telegram_username="zz",
                     email="zoe@exemple.fr")
        session.add(zoe)
        session.flush()
        zoe_id = zoe.id
        named = outbox.enqueue(session, recipient_id=ids["claire"], kind="staff.alert", text="Bonjour Zoé", now=NOW)
        pizza = outbox.enqueue(session, recipient_id=ids["claire"], kind="staff.alert", text="Soirée pizza", now=NOW)
        mailed = outbox.enqueue_email(session, to=" ZOE@exemple.fr", kind="email.invitation", text="Votre code", now=NOW)
        other = outbox.enqueue_email(session, to="zoe@ailleurs.fr", kind="email.invitation", text="Autre code", now=NOW)
        rows = named.id, pizza.id, mailed.id, other.id
    PersonalData(db, clock=Clock(NOW)).erase(COMMAND_LINE, zoe_id)
    with db.read() as session:
        named, pizza, mailed, other = (session.get(OutboxMessage, i) for i in rows)
        assert (named.state, named.text) == ("cancelled", None)  # three letters: a name all the same
        assert (pizza.state, pizza.text) == ("pending", "Soirée pizza")  # "zz" is too short to mean her
        assert (mailed.state, mailed.text, mailed.email_to, mailed.recipient_key) == ("cancelled", None, None, f"p{zoe_id}")
        assert (other.state, other.text, other.email_to) == ("pending", "Autre code", "zoe@ailleurs.fr")
    assert "zoe@" not in _dump(db).lower().replace("zoe@ailleurs.fr", "")


def test_her_future_meetings_are_cancelled_in_order_and_a_cancelled_one_left_alone(service, world, db):
    ids, people = world
    with db.transaction() as session:
        later = _meeting(ids["alice"], ids["marc"], ids["active"], T(2027, 3, 20, 9), video_link="-", sequence=2)
        sooner = _meeting(ids["alice"], ids["marc"], ids["active"], T(2027, 3, 15, 9), video_link="-")
        gone = _meeting(ids["alice"], ids["marc"], ids["active"], T(2027, 3, 16, 9), video_link="-", status="cancelled")
        session.add_all([later, sooner, gone])
        session.flush()
        later_id, gone_id = later.id, gone.id
    assert service.preview_erasure(people["alice"], ids["alice"]).future_meetings == 3
    assert service.erase(people["alice"], ids["alice"]).cancelled_meetings == 3
    with db.read() as session:
        assert session.get(Meeting, later_id).sequence == 3
        gone = session.get(Meeting, gone_id)
        assert (gone.status, gone.sequence, gone.cancelled_at) == ("cancelled", 0, None)
        notice = session.scalar(sa.select(OutboxMessage.params).where(OutboxMessage.kind == "person.erased.tutor"))
    assert outbox.decode(notice)["cancelled"] == [T(2027, 3, 10, 9), T(2027, 3, 15, 9), T(2027, 3, 20, 9)]


def test_a_meeting_ending_now_is_over_and_not_cancelled(service, world, db):
    ids, people = world
    service.test_clock.now = T(2027, 3, 10, 10)  # the end of Alice's next meeting
    done = service.erase(people["alice"], ids["alice"])
    assert (done.cancelled_meetings, done.notified) == (0, 1)
    with db.read() as session:
        assert session.get(Meeting, ids["future"]).status == "booked"
        notice = session.scalar(sa.select(OutboxMessage.params).where(OutboxMessage.kind == "person.erased.tutor"))
    assert notice["cancelled"] == []


def test_a_tutor_with_open_work_must_hand_over_first(service, world, db):
    ids, people = world
    with pytest.raises(HandOverFirst) as info:
        service.erase(people["marc"], ids["marc"])
    assert info.value.work == OpenWork(active_auditeurs=2, future_meetings=2)
    assert str(info.value) == "open work: OpenWork(active_auditeurs=2, future_meetings=2, configured_staff=False)"
    with pytest.raises(HandOverFirst) as info:  # staff still in STAFF_TELEGRAM_IDS would come back
        service.erase(COMMAND_LINE, ids["claire"])
    assert info.value.work == OpenWork(configured_staff=True)
    with db.read() as session:
        assert session.get(Person, ids["marc"]).display_name == "Marc Dubois"
        assert session.get(Person, ids["claire"]).erased_at is None


def test_the_hand_over_moves_active_auditeurs_and_tells_everyone(service, world, db):
    ids, people = world
    staff = people["claire"]
    with db.transaction() as session:  # neither a cancelled meeting of his nor Sophie's own count
        session.add(_meeting(ids["bruno"], ids["marc"], ids["other"], T(2027, 4, 1, 9), status="cancelled", video_link="-"))
        session.add(_meeting(ids["bruno"], ids["sophie"], ids["other"], T(2027, 4, 2, 9), video_link="-"))
    with pytest.raises(HandOverFirst) as info:  # Marc's two future meetings are his to cancel first
        service.hand_over(staff, ids["marc"], ids["sophie"])
    assert info.value.work == OpenWork(future_meetings=2)
    service.test_clock.now = T(2027, 3, 11, 10) - timedelta(microseconds=1)  # Bruno's meeting is not over yet
    with pytest.raises(HandOverFirst) as info:
        service.hand_over(staff, ids["marc"], ids["sophie"])
    assert info.value.work == OpenWork(future_meetings=1)
    service.test_clock.now = T(2027, 3, 11, 10)  # now it is
    for source, target in ((ids["marc"], ids["marc"]), (ids["marc"], ids["alice"]), (ids["alice"], ids["sophie"])):
        with pytest.raises(ValueError, match="^hand-over needs two different tutors$"):
            service.hand_over(staff, source, target)
    with pytest.raises(LookupError):
        service.hand_over(staff, ids["marc"], 9999)

    assert service.hand_over(staff, ids["marc"], ids["sophie"]).auditeurs == 2
    with db.read() as session:
        tutors = dict(session.execute(sa.select(Enrolment.id, Enrolment.tutor_id)).all())
        assert tutors == {ids["old"]: ids["marc"], ids["active"]: ids["sophie"], ids["other"]: ids["sophie"]}
        events = session.execute(
            sa.select(AuditEvent.actor_id, AuditEvent.subject_id, AuditEvent.details, AuditEvent.occurred_at)
            .where(AuditEvent.action == "enrolment.handed_over").order_by(AuditEvent.id)
        ).all()
        moved = {"from_tutor": ids["marc"], "to_tutor": ids["sophie"]}
        at = T(2027, 3, 11, 10)
        assert [tuple(e) for e in events] == [(ids["claire"], ids["alice"], moved, at), (ids["claire"], ids["bruno"], moved, at)]
        told = session.execute(
            sa.select(OutboxMessage.recipient_id, OutboxMessage.kind, OutboxMessage.template, OutboxMessage.params,
                      OutboxMessage.created_at, OutboxMessage.state)
            .where(OutboxMessage.kind.like("tutor.handed_over.%")).order_by(OutboxMessage.id)
        ).all()
    assert [(r, k, t, c, s) for r, k, t, _, c, s in told] == [
        (ids["alice"], "tutor.handed_over.auditeur", "personal_data/new_tutor.html", at, "pending"),
        (ids["bruno"], "tutor.handed_over.auditeur", "personal_data/new_tutor.html", at, "pending"),
        (ids["sophie"], "tutor.handed_over.tutor", "personal_data/auditeurs_received.html", at, "pending"),
    ]
    assert told[0][3]["tutor"]["display_name"] == "Sophie Leroy" and told[0][3]["tutor"]["id"] == ids["sophie"]
    assert told[2][3] == {"auditeurs": ["Alice Durand", "Bruno Petit"]}
    # now Marc may go; nothing more to hand over from him
    assert service.hand_over(COMMAND_LINE, ids["marc"], ids["sophie"]).auditeurs == 0
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "tutor.handed_over.tutor")) == 1
        actor = session.scalars(sa.select(AuditEvent.actor_id).where(AuditEvent.action == "enrolment.handed_over")).all()
        assert actor == [ids["claire"], ids["claire"]]
    done = service.erase(people["marc"], ids["marc"])
    assert (done.role, done.cancelled_meetings, done.notified, done.telegram_user_id) == (Role.TUTOR, 0, 0, 2001)
    with db.read() as session:
        assert session.get(TutorBookingSettings, ids["marc"]) is None
        assert session.scalar(sa.select(sa.func.count()).select_from(AvailabilityWindow)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(TutorDayOff)) == 0
        assert session.scalar(sa.select(Opinion.tutor_id)) == ids["marc"]  # the opinion he gave stays his
        brunos = session.get(Meeting, ids["brunos_meeting"])  # the meetings he gave: kept, without link or topic
        assert (brunos.status, brunos.video_link, brunos.topic, brunos.duration_minutes) == ("booked", "", None, 60)
    with pytest.raises(AlreadyErased):
        service.hand_over(staff, ids["marc"], ids["sophie"])
    with pytest.raises(AlreadyErased):
        service.preview_erasure(COMMAND_LINE, ids["marc"])
    with pytest.raises(LookupError):
        service.preview_erasure(COMMAND_LINE, 9999)
    with pytest.raises(LookupError):
        service.erase(COMMAND_LINE, 9999)


def test_an_erased_tutor_is_not_told_and_a_staff_members_texts_elsewhere_go(service, world, db):
    ids, people = world
    with db.transaction() as session:
        session.get(Person, ids["marc"]).erased_at = NOW
    done = service.erase(people["alice"], ids["alice"], reason="request")
    assert done.notified == 0
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.kind == "person.erased.tutor")) == 0
    claire = PersonalData(db, clock=Clock(NOW))  # no longer in STAFF_TELEGRAM_IDS
    done = claire.erase(people["claire"], ids["claire"], reason="left")
    assert (done.role, done.notified) == (Role.STAFF, 0)
    with db.read() as session:
        assert session.scalar(sa.select(AccompanimentEvent.details).where(
            AccompanimentEvent.accompaniment_id == ids["brunos_acc"])) == {}
        assert session.scalar(sa.select(Broadcast.progress_chat_id)) is None
        assert session.scalar(sa.select(Broadcast.message_html)) == "Bonjour à tous"
        erased = session.scalar(sa.select(AuditEvent.details).where(AuditEvent.action == "person.erased",
                                                                    AuditEvent.subject_id == ids["claire"]))
        assert erased == {"reason": "left", "role": "staff", "drafts": 0, "cancelled_meetings": 0}


# --- retention --------------------------------------------------------------------------------------


@pytest.fixture
def people(db):
    """Auditeurs of one semester (2026-S1 ends on 1 Feb 2027, midnight UTC), tutors and staff."""
    with db.transaction() as session:
        tutor = Person(role="tutor", display_name="Tuteur", telegram_user_id=2001, bound_at=T(2026, 1, 1))
        staff = Person(role="staff", display_name="Staff jamais venu")  # never bound, invitation long expired
        session.add_all([tutor, staff])
        session.flush()
        made = {"tutor": tutor.id, "staff": staff.id}
        session.add(Invitation(code_hash="s" * 64, person_id=staff.id, expires_at=T(2020, 1, 1)))
        for name in ("active", "closed", "finished", "second"):
            person = Person(role="auditeur", display_name=f"Auditeur {name}", bound_at=T(2026, 9, 1))
            session.add(person)
            session.flush()
            made[name] = person.id
        session.add(Enrolment(auditeur_id=made["active"], tutor_id=tutor.id, certification="L", report_type="ua",
                              semester="2026-S1"))
        session.add(Enrolment(auditeur_id=made["closed"], tutor_id=tutor.id, certification="L", report_type="ua",
                              semester="2026-S1", status="closed", ended_at=T(2026, 11, 15, 12)))
        finished = Enrolment(auditeur_id=made["finished"], tutor_id=tutor.id, certification="L", report_type="ua",
                             semester="2026-S1")
        session.add(finished)
        # two enrolments: the later one counts
        session.add(Enrolment(auditeur_id=made["second"], tutor_id=tutor.id, certification="L", report_type="ua",
                              semester="2025-S2", status="closed", ended_at=T(2026, 1, 1)))
        session.add(Enrolment(auditeur_id=made["second"], tutor_id=tutor.id, certification="L", report_type="ua",
                              semester="2026-S1"))
        session.flush()
        session.add(Accompaniment(enrolment_id=finished.id, stage="validated", moved_at=T(2026, 12, 20, 8)))
        # an auditeur invited who never came (no enrolment row would be odd: she has one, never bound, see below)
        never = Person(role="tutor", display_name="Tuteur jamais venu")
        never_with_auditeurs = Person(role="tutor", display_name="Tuteur jamais venu avec auditeurs")
        bound = Person(role="tutor", display_name="Tuteur venu", bound_at=T(2026, 1, 1))
        session.add_all([never, never_with_auditeurs, bound])
        session.flush()
        made |= {"never": never.id, "never_with_auditeurs": never_with_auditeurs.id, "bound": bound.id}
        for pid in (never.id, never_with_auditeurs.id, bound.id):
            session.add(Invitation(code_hash=f"{pid:064d}", person_id=pid, expires_at=T(2026, 3, 1, 12)))
        session.add(Invitation(code_hash="e" * 64, person_id=never.id, expires_at=T(2026, 2, 1, 12)))  # the latest counts
        later = Person(role="auditeur", display_name="Auditeur jamais inscrit")
        session.add(later)
        session.flush()
        made["later"] = later.id
        session.add(Invitation(code_hash="l" * 64, person_id=later.id, expires_at=T(2026, 3, 1, 12)))
        session.add(Enrolment(auditeur_id=made["closed"], tutor_id=never_with_auditeurs.id, certification="L",
                              report_type="ua", semester="2024-S1", status="closed", ended_at=T(2025, 1, 1)))
    return made


def _purge_at(db, moment, months=12):
    return set(PersonalData(db, clock=Clock(moment), retention_months=months).purge_expired().erased)


def test_retention_runs_from_the_end_of_the_semester_exactly(db, people):
    assert _purge_at(db, T(2028, 2, 1) - timedelta(microseconds=1)) >= {people["closed"], people["finished"]}
    assert people["active"] not in _purge_at(db, T(2028, 2, 1) - timedelta(microseconds=1))
    assert people["active"] in _purge_at(db, T(2028, 2, 1))
    with db.read() as session:
        assert session.get(Person, people["active"]).erased_at == T(2028, 2, 1)


def test_a_closed_enrolment_and_a_given_opinion_count_from_their_date(db, people):
    end = T(2026, 11, 15, 12)
    assert people["closed"] not in _purge_at(db, end + timedelta(days=30) - timedelta(microseconds=1), months=1)
    assert people["closed"] in _purge_at(db, T(2026, 12, 15, 12), months=1)
    assert people["finished"] not in _purge_at(db, T(2027, 1, 20, 8) - timedelta(microseconds=1), months=1)
    at_opinion = _purge_at(db, T(2027, 1, 20, 8), months=1)
    # the other enrolment of 'second' ended long before, but the one of 2026-S1 is still active
    assert people["finished"] in at_opinion and people["second"] not in at_opinion
    assert people["second"] in _purge_at(db, T(2027, 3, 1), months=1)


def test_people_invited_who_never_came_go_when_their_last_invitation_expired_that_long_ago(db, people):
    moment = T(2027, 3, 1, 12)  # twelve months after the last invitations expired, on 1 March 2026 at 12:00
    assert _purge_at(db, moment - timedelta(microseconds=1)) == set()
    assert _purge_at(db, moment) == {people["never"], people["later"]}
    # whatever the date: staff, bound people and a tutor who has auditeurs are never purged
    assert _purge_at(db, T(2040, 1, 1)) == {people["active"], people["closed"], people["finished"], people["second"]}
    with db.read() as session:
        kept = {p.id for p in session.scalars(sa.select(Person).where(Person.erased_at.is_(None)))}
        erased = session.scalars(sa.select(AuditEvent.details).where(AuditEvent.action == "person.erased")).all()
    assert kept == {people["tutor"], people["staff"], people["never_with_auditeurs"], people["bound"]}
    assert {d["reason"] for d in erased} == {"retention"}


def test_the_purge_forgets_old_throttle_rows_and_idle_conversations_at_their_boundary(db):
    window = timedelta(minutes=15)
    idle_since = T(2026, 3, 1, 10)  # twelve months before NOW
    with db.transaction() as session:
        session.add_all([
            SignInThrottle(telegram_user_id=1, failures=5, window_started_at=NOW - window),
            SignInThrottle(telegram_user_id=2, failures=1, window_started_at=NOW - window + timedelta(microseconds=1)),
            SignInThrottle(telegram_user_id=3, failures=5, window_started_at=NOW - window, locked_until=NOW),
            SignInThrottle(telegram_user_id=4, failures=5, window_started_at=NOW - window,
                           locked_until=NOW + timedelta(microseconds=1)),
            ConversationState(telegram_user_id=11, flow="coach", step="q", data={}, updated_at=idle_since),
            ConversationState(telegram_user_id=12, flow="coach", step="q", data={},
                              updated_at=idle_since + timedelta(microseconds=1)),
        ])
    report = PersonalData(db, clock=Clock(NOW)).purge_expired()
    assert (report.erased, report.throttle_rows, report.conversations) == ((), 2, 1)
    with db.read() as session:
        assert session.scalars(sa.select(SignInThrottle.telegram_user_id).order_by(SignInThrottle.telegram_user_id)).all() == [2, 4]
        assert session.scalars(sa.select(ConversationState.telegram_user_id)).all() == [12]
    shorter = PersonalData(db, clock=Clock(NOW + timedelta(days=31)), retention_months=1).purge_expired()
    assert (shorter.throttle_rows, shorter.conversations) == (2, 1)


def test_the_log_gives_ids_and_figures_only(caplog, db, service, world):
    ids, people = world
    caplog.set_level(logging.INFO, logger="bot.services.personal_data")
    purge = PersonalData(db, clock=Clock(NOW))
    assert purge.purge_expired().throttle_rows == 1  # Alice's wrong codes of last year
    assert purge.purge_expired() == PurgeReport((), 0, 0)  # nothing to do: nothing said
    service.erase(people["alice"], ids["alice"])
    service.test_clock.now = T(2027, 3, 11, 10)  # Bruno's meeting is over
    service.hand_over(people["claire"], ids["marc"], ids["sophie"])
    with db.transaction() as session:
        session.add(SignInThrottle(telegram_user_id=9, failures=1, window_started_at=T(2020, 1, 1)))
        session.add(ConversationState(telegram_user_id=9, flow="coach", step="q", data={}, updated_at=T(2020, 1, 1)))
    PersonalData(db, clock=Clock(T(2040, 1, 1))).purge_expired()
    assert [r.getMessage() for r in caplog.records if r.name == "bot.services.personal_data"] == [
        "retention purge: 0 people erased, 1 throttle rows, 0 conversations",
        f"personal data of person {ids['alice']} erased (request)",
        f"tutor {ids['marc']} handed 1 auditeurs over to tutor {ids['sophie']}",
        "retention purge: 1 people erased, 1 throttle rows, 1 conversations",
    ]
