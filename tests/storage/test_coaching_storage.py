"""Storage of the report coach, on SQLite and on PostgreSQL (TEST_DATABASE_URL): progress with its
version, concurrent instances, permissions, the experience self-check and the feedback history."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.orm.exc import StaleDataError

from bot.domain.feedback import review_section
from bot.domain.permissions import COMMAND_LINE, PermissionDenied
from bot.domain.report import default_catalogue
from bot.services.coaching import Coaching, NoEnrolment, StaleAction, UnknownSection
from bot.services.onboarding import Onboarding
from bot.storage.db import Database
from bot.storage.models import Base, CoachingFeedback, CoachingProgress, ExperienceCheck


@pytest.fixture
def cast(db):
    """A tutor with two auditeurs (Léa, UA; Bo, stage), another tutor, all bound."""
    onboarding = Onboarding(db, invitation_ttl=timedelta(days=14))

    def bind(issued, telegram_id):
        return onboarding.redeem(
            telegram_id, onboarding.check_code(telegram_id, issued.code).invitation_id, notice_version="t"
        ).person

    tutor = bind(onboarding.invite_tutor(COMMAND_LINE, "Marc Dubois"), 2001)
    other_tutor = bind(onboarding.invite_tutor(COMMAND_LINE, "Anne Morel"), 2002)
    people = {"tutor": tutor, "other_tutor": other_tutor}
    for key, name, kind, telegram_id in (("lea", "Léa Bernard", "ua", 3001), ("bo", "Bo Chen", "stage", 3002)):
        issued = onboarding.enrol_auditeur(
            COMMAND_LINE, name=name, tutor=tutor.id, report_type=kind, semester="2026-S1", certification="Licence"
        )
        people[key] = bind(issued, telegram_id)
    return people


@pytest.fixture
def coaching(db):
    return Coaching(db, default_catalogue())


def test_migrations_match_the_models(db):
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diff if "coaching" in repr(d) or "experience_checks" in repr(d)] == []


def test_progress_is_one_versioned_row_per_enrolment(db, coaching, cast):
    lea = cast["lea"]
    view = coaching.open_section(lea, "role")
    assert view.question_id == "responsabilites" and view.position == (1, 3) and view.first_visit
    coaching.answer(lea, "role", "responsabilites", "J'ai conçu le module.")
    view = coaching.answer(lea, "role", "responsabilites", "J'ai animé 3 séances.")
    assert view.current_answers == ("J'ai conçu le module.", "J'ai animé 3 séances.")
    view = coaching.next_question(lea, "role", "responsabilites")
    assert view.question_id == "decisions"
    with db.read() as session:
        row = session.scalar(sa.select(CoachingProgress))
        assert row.auditeur_id == lea.id and row.report_type == "ua" and row.version == 4
        assert row.state["active_section"] == "role"
        assert row.state["sections"]["role"]["current"] == 1
        assert row.updated_at.tzinfo is not None
    # a second service on the same database (another instance) sees the same state
    other = Coaching(Database(db.url), default_catalogue())
    assert other.current(lea, "role", "decisions").current_answers == ()
    overview = other.overview(lea)
    assert overview.summary.started == 1 and overview.active_section == "role"


def test_a_stale_save_is_refused_by_the_version_column(db, coaching, cast):
    coaching.open_section(cast["lea"], "role")
    with pytest.raises(StaleDataError), db.transaction() as session:
        row = session.scalar(sa.select(CoachingProgress))
        # what another instance's save looks like from here: the version moved on under our feet
        session.execute(
            sa.update(CoachingProgress).values(version=CoachingProgress.version + 1),
            execution_options={"synchronize_session": False},
        )
        row.state = {**row.state, "active_section": None}
        session.flush()  # UPDATE ... WHERE version = <the version we read>: no row, refused
    with db.read() as session:
        row = session.scalar(sa.select(CoachingProgress))
        assert row.state["active_section"] == "role" and row.version == 1


@pytest.mark.parametrize("writers", [4])
def test_two_instances_answering_concurrently_lose_no_answer(database_url, cast, writers):
    """Several instances (own engine each) record answers to the same question at the same time."""
    instances = [Coaching(Database(database_url), default_catalogue()) for _ in range(2)]
    lea = cast["lea"]
    instances[0].open_section(lea, "contexte")
    per_writer = 8
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(index: int) -> None:
        coaching = instances[index % 2]
        barrier.wait()
        try:
            for n in range(per_writer):
                coaching.answer(lea, "contexte", "structure", f"réponse {index}-{n}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    answers = instances[1].current(lea, "contexte", "structure").current_answers
    assert sorted(answers) == sorted(f"réponse {i}-{n}" for i in range(writers) for n in range(per_writer))
    with Database(database_url).read() as session:
        assert session.scalar(sa.select(CoachingProgress.version)) == 1 + writers * per_writer


def test_stale_and_unknown_actions_change_nothing(db, coaching, cast):
    lea = cast["lea"]
    coaching.open_section(lea, "role")
    with db.read() as session:
        version = session.scalar(sa.select(CoachingProgress.version))
    with pytest.raises(StaleAction):
        coaching.next_question(lea, "choix", "mission")
    with pytest.raises(StaleAction):
        coaching.skip(lea, "role", "partage")
    with pytest.raises(StaleAction):
        coaching.answer(lea, "choix", "mission", "texte")
    with pytest.raises(StaleAction):
        coaching.answer(lea, "role", "inconnue", "texte")
    with pytest.raises(UnknownSection):
        coaching.open_section(lea, "inconnue")
    with pytest.raises(StaleAction):
        coaching.finish_later(lea, "contexte")
    with db.read() as session:
        assert session.scalar(sa.select(CoachingProgress.version)) == version


def test_who_may_read_and_write_the_notes(db, coaching, cast):
    lea, bo, tutor, other_tutor = cast["lea"], cast["bo"], cast["tutor"], cast["other_tutor"]
    coaching.open_section(lea, "role")
    coaching.answer(lea, "role", "responsabilites", "J'ai conçu le module.")
    assert coaching.notes_of(lea, lea.id).notes == {"role": ("J'ai conçu le module.",)}
    assert coaching.notes_of(tutor, lea.id).report_type == "ua"
    assert coaching.notes_of(COMMAND_LINE, lea.id).notes["role"] == ("J'ai conçu le module.",)
    for actor in (bo, other_tutor):
        with pytest.raises(PermissionDenied):
            coaching.notes_of(actor, lea.id)
    for actor in (tutor, COMMAND_LINE):
        with pytest.raises(PermissionDenied):
            coaching.open_section(actor, "role")
        with pytest.raises(PermissionDenied):
            coaching.overview(actor)
    # Bo's progress is his own row, for his stage report
    coaching.open_section(bo, "role")
    with db.read() as session:
        rows = {r.auditeur_id: r.report_type for r in session.scalars(sa.select(CoachingProgress))}
    assert rows == {lea.id: "ua", bo.id: "stage"}


def test_an_auditeur_without_enrolment_has_no_coach(db, coaching, cast):
    lea = cast["lea"]
    with db.transaction() as session:
        session.execute(sa.text("UPDATE enrolments SET status = 'closed'"))
    with pytest.raises(NoEnrolment):
        coaching.overview(lea)
    with pytest.raises(NoEnrolment):
        coaching.open_section(lea, "role")


def test_feedback_history_keeps_engine_remarks_and_time(db, coaching, cast):
    lea, tutor = cast["lea"], cast["tutor"]
    coaching.open_section(lea, "role")
    coaching.answer(lea, "role", "responsabilites", "Nous avons conçu un module.")
    view = coaching.finish_section(lea, "role")
    assert view.at_summary and view.status == "done"
    remarks = review_section("role", ["Nous avons conçu un module."], "ua", default_catalogue())
    coaching.record_feedback(lea, "role", remarks, engine="offline", llm_failure=None)
    coaching.record_feedback(lea, "role", remarks, engine="offline", llm_failure="timeout")
    history = coaching.feedback_history(tutor, lea.id)
    assert [(h["section_id"], h["engine"], h["llm_failure"]) for h in history] == [
        ("role", "offline", None),
        ("role", "offline", "timeout"),
    ]
    assert history[0]["remarks"] == [r.to_dict() for r in remarks]
    assert history[0]["created_at"].tzinfo is not None
    with pytest.raises(PermissionDenied):
        coaching.feedback_history(cast["other_tutor"], lea.id)
    with db.transaction() as session:  # removing the progress removes its feedback
        session.execute(sa.delete(CoachingProgress))
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(CoachingFeedback)) == 0


def test_experience_self_check_is_stored(db, coaching, cast):
    lea = cast["lea"]
    step = coaching.start_experience(lea)
    assert step.first and step.question.id == "functions" and step.position == (1, None)  # the total once the path is known
    with pytest.raises(StaleAction):
        coaching.answer_experience(lea, "years_total", "3")  # not the question asked
    with pytest.raises(StaleAction):
        coaching.answer_experience(lea, "functions", "peut-être")
    coaching.answer_experience(lea, "functions", "no")
    coaching.answer_experience(lea, "activities", "yes")
    step = coaching.answer_experience(lea, "years_total", coaching.parse_typed_experience_answer("years_total", "2"))
    assert step.question.id == "years_specialty" and step.position == (4, 4)
    done = coaching.answer_experience(lea, "years_specialty", "1")
    assert done.outcome.report_type == "ua" and done.outcome.confirm_with_tutor
    with db.read() as session:
        row = session.scalar(sa.select(ExperienceCheck))
        assert row.person_id == lea.id and row.outcome == "ua" and row.completed_at is not None
        assert row.answers == {"functions": "no", "activities": "yes", "years_total": "2", "years_specialty": "1"}
    assert coaching.experience_state(lea) == (row.answers, "ua")
    with pytest.raises(StaleAction):  # complete: further answers are refused
        coaching.answer_experience(lea, "years_specialty", "2")
    restarted = coaching.start_experience(lea)  # starting again clears the previous run
    assert restarted.question.id == "functions"
    assert coaching.experience_state(lea) == ({}, None)
    with pytest.raises(PermissionDenied):
        coaching.start_experience(cast["tutor"])


def test_typed_experience_answers():
    coaching = Coaching.__new__(Coaching)
    from bot.domain.experience import default_experience_content

    coaching._experience = default_experience_content()
    parse = coaching.parse_typed_experience_answer
    assert parse("functions", " OUI ") == "yes" and parse("functions", "non.") == "no"
    assert parse("years_total", "0") == "0" and parse("years_total", "2") == "2" and parse("years_total", "12") == "3"
    assert parse("years_specialty", "5") == "2" and parse("years_total", "3 ans ou plus") == "3"
    assert parse("functions", "peut-être") is None and parse("inconnue", "oui") is None
