"""The report coach's service action by action, on SQLite and on PostgreSQL (TEST_DATABASE_URL): what
each answer, skip, back, edit, finish stores and shows, the refusals of stale and unknown actions,
who may read what, the feedback history and the experience self-check."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.orm.exc import StaleDataError

from bot.domain.coaching import AnsweredQuestion, SectionStatus
from bot.domain.feedback import Remark
from bot.domain.people import PersonView, Role
from bot.domain.permissions import COMMAND_LINE, PermissionDenied
from bot.domain.report import default_catalogue
from bot.services.coaching import Coaching, NoEnrolment, SectionView, StaleAction, UnknownSection
from bot.storage.models import CoachingFeedback, CoachingProgress, Enrolment, ExperienceCheck, Person
from tests.clock import Clock

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
CATALOGUE = default_catalogue()


def _person(session, role: str, name: str, telegram_id: int | None) -> PersonView:
    row = Person(role=role, display_name=name, telegram_user_id=telegram_id)
    session.add(row)
    session.flush()
    return PersonView(id=row.id, role=Role(role), display_name=name, telegram_user_id=telegram_id)


@pytest.fixture
def cast(db):
    """Marc tutors Léa (UA) and Bo (stage); Anne tutors nobody; Zoé is an auditeur not enrolled."""
    with db.transaction() as session:
        people = {
            "tutor": _person(session, "tutor", "Marc Dubois", 2001),
            "other_tutor": _person(session, "tutor", "Anne Morel", 2002),
            "lea": _person(session, "auditeur", "Léa Bernard", 3001),
            "bo": _person(session, "auditeur", "Bo Chen", 3002),
            "zoe": _person(session, "auditeur", "Zoé Petit", 3003),
        }
        for key, kind in (("lea", "ua"), ("bo", "stage")):
            session.add(Enrolment(auditeur_id=people[key].id, tutor_id=people["tutor"].id, report_type=kind,
                                  semester="2026-S1", certification="Licence", status="active"))
    return people


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def coaching(db, clock):
    return Coaching(db, CATALOGUE, clock=clock)


@contextmanager
def stale(named: str | None):
    """A stale action, refused naming the section or question it was about (the log shows it)."""
    with pytest.raises(StaleAction) as error:
        yield
    assert error.value.args == (named,)


def stored(db, auditeur: PersonView) -> dict:
    with db.read() as session:
        row = session.scalar(sa.select(CoachingProgress).where(CoachingProgress.auditeur_id == auditeur.id))
        return {"state": row.state, "version": row.version, "report_type": row.report_type} if row else {}


def section_state(db, auditeur: PersonView, section_id: str) -> dict:
    return stored(db, auditeur)["state"]["sections"][section_id]


def notes(section_id: str, answers: dict[str, tuple[str, ...]], skipped: frozenset[str] = frozenset()):
    section = CATALOGUE.section(section_id)
    return tuple(
        AnsweredQuestion(question=q, answers=answers.get(q.id, ()), skipped=q.id in skipped) for q in section.questions
    )


# --- opening and moving through a section ------------------------------------------------------


def test_opening_a_section_shows_its_first_question_and_stores_it_active(db, coaching, cast):
    lea = cast["lea"]
    assert stored(db, lea) == {}  # nothing stored before the first action
    view = coaching.open_section(lea, "contexte")
    assert view == SectionView(
        report_type="ua", section_id="contexte", status=SectionStatus.NOT_STARTED, question_id="structure",
        position=(1, 4), current_answers=(), notes=notes("contexte", {}), first_visit=True,
    )
    row = stored(db, lea)
    assert row["report_type"] == "ua" and row["version"] == 1
    assert row["state"]["active_section"] == "contexte"
    assert row["state"]["sections"]["contexte"]["current"] == 0
    again = coaching.open_section(lea, "contexte")
    assert not again.first_visit and again.question_id == "structure"
    # Bo's coach is his own, for his stage report
    assert coaching.open_section(cast["bo"], "contexte").report_type == "stage"
    assert stored(db, cast["bo"])["report_type"] == "stage"


def test_answers_are_stored_message_by_message_and_shown(db, coaching, cast):
    lea = cast["lea"]
    coaching.open_section(lea, "role")
    view = coaching.answer(lea, "role", "responsabilites", "  J'ai conçu le module.  ")
    assert view.status is SectionStatus.STARTED and view.question_id == "responsabilites"
    assert view.current_answers == ("J'ai conçu le module.",) and view.position == (1, 3)
    assert not view.first_visit and not view.at_summary
    view = coaching.answer(lea, "role", "responsabilites", "J'ai animé 3 séances.")
    assert view.current_answers == ("J'ai conçu le module.", "J'ai animé 3 séances.")
    assert view.notes == notes("role", {"responsabilites": ("J'ai conçu le module.", "J'ai animé 3 séances.")})
    state = section_state(db, lea, "role")
    assert state["answers"] == {"responsabilites": ["J'ai conçu le module.", "J'ai animé 3 séances."]}
    assert state["status"] == "started" and state["current"] == 0
    # an answer for an earlier question of the open section goes there (a late message)
    coaching.next_question(lea, "role", "responsabilites")
    view = coaching.answer(lea, "role", "responsabilites", "Et le suivi.")
    assert view.question_id == "responsabilites" and view.current_answers[-1] == "Et le suivi."


def test_next_skip_back_and_edit_store_where_the_auditeur_is(db, coaching, cast):
    lea = cast["lea"]
    coaching.open_section(lea, "role")
    coaching.answer(lea, "role", "responsabilites", "J'ai conçu le module.")
    view = coaching.next_question(lea, "role", "responsabilites")
    assert (view.question_id, view.position, view.current_answers) == ("decisions", (2, 3), ())
    assert section_state(db, lea, "role")["current"] == 1

    view = coaching.skip(lea, "role", "decisions")
    assert (view.question_id, view.position) == ("partage", (3, 3))
    assert section_state(db, lea, "role")["skipped"] == ["decisions"]
    assert view.notes[1] == AnsweredQuestion(CATALOGUE.section("role").question("decisions"), (), True)

    view = coaching.back(lea, "role", "partage")
    assert (view.question_id, view.position) == ("decisions", (2, 3))
    view = coaching.back(lea, "role", "decisions")
    assert view.question_id == "responsabilites" and view.current_answers == ("J'ai conçu le module.",)
    view = coaching.back(lea, "role", "responsabilites")  # already first: stays there
    assert view.question_id == "responsabilites" and section_state(db, lea, "role")["current"] == 0

    view = coaching.edit_answer(lea, "role", "responsabilites", " J'ai piloté le module. ")
    assert view.current_answers == ("J'ai piloté le module.",) and view.question_id == "responsabilites"
    assert section_state(db, lea, "role")["answers"] == {"responsabilites": ["J'ai piloté le module."]}
    view = coaching.edit_answer(lea, "role", "responsabilites", "   ")  # a blank edit clears the answer
    assert view.current_answers == ()
    assert section_state(db, lea, "role")["answers"] == {}


def test_the_last_question_leads_to_the_summary_and_back_returns_to_it(db, coaching, cast):
    lea = cast["lea"]
    coaching.open_section(lea, "role")
    coaching.skip(lea, "role", "responsabilites")
    coaching.skip(lea, "role", "decisions")
    coaching.answer(lea, "role", "partage", "Avec l'équipe.")
    view = coaching.next_question(lea, "role", "partage")
    assert view.at_summary and view.question_id is None and view.status is SectionStatus.DONE
    assert view.position == (3, 3) and view.current_answers == ()
    assert view.notes == notes("role", {"partage": ("Avec l'équipe.",)}, frozenset({"responsabilites", "decisions"}))
    assert section_state(db, lea, "role")["status"] == "done"
    assert coaching.current(lea, "role", None).at_summary
    with stale(""):  # a forged button naming no question is not the summary
        coaching.current(lea, "role", "")
    with stale(None):  # nothing after the summary
        coaching.next_question(lea, "role", None)
    with stale(None):
        coaching.skip(lea, "role", None)
    with stale("partage"):  # a button of the last question, pressed again at the summary
        coaching.back(lea, "role", "partage")
    view = coaching.back(lea, "role", None)  # from the summary: the last question again
    assert view.question_id == "partage" and view.current_answers == ("Avec l'équipe.",)
    coaching.next_question(lea, "role", "partage")
    assert coaching.back(lea, "role", "").question_id == "partage"  # a summary button names no question


def test_reopening_a_done_section_resumes_at_its_first_unanswered_question(db, coaching, cast):
    lea = cast["lea"]
    coaching.open_section(lea, "role")
    coaching.answer(lea, "role", "responsabilites", "J'ai conçu le module.")
    coaching.finish_section(lea, "role")
    coaching.finish_later(lea, "role")
    view = coaching.open_section(lea, "role")
    assert view.question_id == "decisions" and not view.first_visit and view.status is SectionStatus.DONE


def test_a_message_at_the_summary_goes_to_the_first_question_without_answer(db, coaching, cast):
    lea = cast["lea"]
    coaching.open_section(lea, "role")
    with stale("role"):  # not at the summary yet
        coaching.add_after_summary(lea, "role", "Un ajout.")
    coaching.answer(lea, "role", "responsabilites", "J'ai conçu le module.")
    coaching.finish_section(lea, "role")
    view, question_id = coaching.add_after_summary(lea, "role", "J'ai tranché entre deux outils.")
    assert question_id == "decisions" and view.at_summary
    assert view.notes[1].answers == ("J'ai tranché entre deux outils.",)
    assert section_state(db, lea, "role")["answers"]["decisions"] == ["J'ai tranché entre deux outils."]
    coaching.add_after_summary(lea, "role", "Avec l'équipe.")
    view, question_id = coaching.add_after_summary(lea, "role", "Et la direction.")  # all answered: the last one
    assert question_id == "partage" and view.notes[2].answers == ("Avec l'équipe.", "Et la direction.")
    with stale("choix"):  # another section than the open one
        coaching.add_after_summary(lea, "choix", "texte")
    with pytest.raises(UnknownSection):
        coaching.add_after_summary(lea, "inconnue", "texte")


def test_finish_later_closes_the_section_and_shows_the_overview(db, coaching, cast):
    lea = cast["lea"]
    coaching.open_section(lea, "choix")
    coaching.answer(lea, "choix", "mission", "Former des formateurs.")
    overview = coaching.finish_later(lea, "choix")
    assert overview.active_section is None and overview.report_type == "ua"
    row = next(r for r in overview.rows if r.section_id == "choix")
    assert row.status is SectionStatus.STARTED and row.answered == 1 and row.questions == 4 and row.words == 3
    assert (overview.summary.started, overview.summary.done, overview.summary.total) == (1, 0, len(CATALOGUE.sections))
    assert stored(db, lea)["state"]["active_section"] is None
    with stale("choix"):  # the section is no longer open
        coaching.finish_later(lea, "choix")
    with stale("choix"):
        coaching.answer(lea, "choix", "mission", "Encore.")
    with stale("choix"):
        coaching.current(lea, "choix", "mission")
    with pytest.raises(UnknownSection):
        coaching.finish_later(lea, "inconnue")


def test_finish_section_goes_to_the_summary_with_questions_left(db, coaching, cast):
    lea = cast["lea"]
    coaching.open_section(lea, "choix")
    view = coaching.finish_section(lea, "choix")
    assert view.at_summary and view.status is SectionStatus.DONE and view.position == (4, 4)
    assert section_state(db, lea, "choix") == {
        "section_id": "choix", "question_ids": ["mission", "pourquoi", "interet", "investissement"], "answers": {},
        "skipped": [], "current": 4, "status": "done",
    }
    with stale("role"):
        coaching.finish_section(lea, "role")  # not the open section
    with pytest.raises(UnknownSection):
        coaching.finish_section(lea, "inconnue")


def test_what_is_kept_in_a_section(db, coaching, cast):
    lea = cast["lea"]
    assert coaching.kept_in_section(lea, "role") == (0, 0)  # nothing stored yet
    coaching.open_section(lea, "role")
    assert coaching.kept_in_section(lea, "role") == (0, 0)
    coaching.answer(lea, "role", "responsabilites", "Un.")
    coaching.answer(lea, "role", "responsabilites", "Deux.")
    coaching.skip(lea, "role", "responsabilites")
    coaching.skip(lea, "role", "decisions")
    coaching.answer(lea, "role", "partage", "Trois.")
    assert coaching.kept_in_section(lea, "role") == (2, 3)
    assert coaching.kept_in_section(lea, "choix") == (0, 0)
    with pytest.raises(PermissionDenied):
        coaching.kept_in_section(cast["tutor"], "role")


# --- stale and unknown actions -----------------------------------------------------------------


def test_buttons_of_a_question_already_left_are_stale_and_change_nothing(db, coaching, cast):
    lea = cast["lea"]
    coaching.open_section(lea, "role")
    coaching.next_question(lea, "role", "responsabilites")
    before = stored(db, lea)
    for action in (coaching.next_question, coaching.skip, coaching.back):
        with stale("responsabilites"):
            action(lea, "role", "responsabilites")
    with stale("responsabilites"):
        coaching.edit_answer(lea, "role", "responsabilites", "Autre.")
    with stale(None):
        coaching.back(lea, "role", None)  # not at the summary
    with stale("responsabilites"):
        coaching.current(lea, "role", "responsabilites")
    with stale("choix"):
        coaching.current(lea, "choix", "mission")
    with stale("mission"):
        coaching.answer(lea, "role", "mission", "Une question d'une autre section.")
    assert stored(db, lea) == before
    assert coaching.current(lea, "role", "decisions").question_id == "decisions"


def test_actions_before_any_section_is_open_are_stale(db, coaching, cast):
    lea = cast["lea"]
    for action in (coaching.next_question, coaching.skip, coaching.back):
        with stale("role"):
            action(lea, "role", "responsabilites")
    with stale("role"):
        coaching.answer(lea, "role", "responsabilites", "texte")
    with stale("role"):
        coaching.finish_section(lea, "role")
    with stale("role"):
        coaching.current(lea, "role", "responsabilites")
    assert stored(db, lea) == {}


def test_a_progress_saved_under_an_older_catalogue_follows_the_current_questions(db, coaching, cast):
    lea = cast["lea"]
    coaching.open_section(lea, "role")
    with db.transaction() as session:  # saved when "role" had one more question, and an "ancienne" section
        row = session.scalar(sa.select(CoachingProgress))
        row.state = {
            "report_type": "ua", "active_section": "role",
            "sections": {
                "role": {"section_id": "role", "question_ids": ["responsabilites", "equipe", "decisions", "partage"],
                         "answers": {"equipe": ["Six personnes."]}, "skipped": ["equipe"], "current": 2,
                         "status": "started"},
                "ancienne": {"section_id": "ancienne", "question_ids": ["q"], "answers": {"q": ["x"]}},
            },
        }
    view = coaching.current(lea, "role", "decisions")
    assert view.position == (2, 3) and view.question_id == "decisions"
    assert view.notes == notes("role", {})
    assert coaching.kept_in_section(lea, "role") == (0, 0)  # "equipe" is no longer asked
    assert "ancienne" not in dict(coaching.notes_of(lea, lea.id).notes)
    coaching.skip(lea, "role", "decisions")
    assert section_state(db, lea, "role")["question_ids"] == ["responsabilites", "decisions", "partage"]


def test_unknown_sections_are_refused_before_anything_is_stored(db, coaching, cast):
    lea = cast["lea"]
    with pytest.raises(UnknownSection) as error:
        coaching.open_section(lea, "inconnue")
    assert error.value.args == ("inconnue",)
    for action in (coaching.next_question, coaching.skip, coaching.back):
        with pytest.raises(UnknownSection):
            action(lea, "inconnue", "q")
    with pytest.raises(UnknownSection):
        coaching.edit_answer(lea, "inconnue", "q", "texte")
    with pytest.raises(UnknownSection):
        coaching.open_section(lea, "inconnue")
    with pytest.raises(UnknownSection):
        coaching.record_feedback(lea, "inconnue", [], engine="offline", llm_failure=None)
    assert stored(db, lea) == {}


# --- permissions and enrolment -----------------------------------------------------------------


def test_only_the_auditeur_acts_on_their_coach(db, coaching, cast):
    tutor = cast["tutor"]
    coaching.open_section(cast["lea"], "role")
    for actor in (tutor, COMMAND_LINE):
        for call in (
            lambda: coaching.overview(actor),
            lambda: coaching.open_section(actor, "role"),
            lambda: coaching.current(actor, "role", "responsabilites"),
            lambda: coaching.answer(actor, "role", "responsabilites", "x"),
            lambda: coaching.next_question(actor, "role", "responsabilites"),
            lambda: coaching.finish_later(actor, "role"),
            lambda: coaching.record_feedback(actor, "role", [], engine="offline", llm_failure=None),
            lambda: coaching.start_experience(actor),
            lambda: coaching.answer_experience(actor, "functions", "yes"),
            lambda: coaching.experience_state(actor),
        ):
            with pytest.raises(PermissionDenied):
                call()
    with db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ExperienceCheck)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(CoachingFeedback)) == 0


def test_refusals_name_what_was_refused_in_the_logs(coaching, cast):
    tutor, lea = cast["tutor"], cast["lea"]
    bo, other_tutor = cast["bo"], cast["other_tutor"]
    cases = [
        (tutor, lambda: coaching.overview(tutor), "read own coaching progress"),
        (tutor, lambda: coaching.open_section(tutor, "role"), "coach"),
        (tutor, lambda: coaching.current(tutor, "role", None), "coach"),
        (tutor, lambda: coaching.kept_in_section(tutor, "role"), "coach"),
        (tutor, lambda: coaching.record_feedback(tutor, "role", [], engine="offline", llm_failure=None),
         "record coaching feedback"),
        (tutor, lambda: coaching.start_experience(tutor), "run the experience self-check"),
        (tutor, lambda: coaching.answer_experience(tutor, "functions", "yes"), "run the experience self-check"),
        (tutor, lambda: coaching.experience_state(tutor), "run the experience self-check"),
        (bo, lambda: coaching.notes_of(bo, lea.id), "read coaching notes"),
        (other_tutor, lambda: coaching.feedback_history(other_tutor, lea.id), "read coaching feedback"),
    ]
    for actor, call, action in cases:
        with pytest.raises(PermissionDenied) as denied:
            call()
        assert str(denied.value) == f"person {actor.id} ({actor.role}) may not {action}"


def test_without_an_active_enrolment_there_is_no_coach(db, coaching, cast):
    zoe = cast["zoe"]
    for call in (
        lambda: coaching.overview(zoe),
        lambda: coaching.open_section(zoe, "role"),
        lambda: coaching.current(zoe, "role", None),
        lambda: coaching.kept_in_section(zoe, "role"),
        lambda: coaching.record_feedback(zoe, "role", [], engine="offline", llm_failure=None),
    ):
        with pytest.raises(NoEnrolment):
            call()
    with pytest.raises(NoEnrolment):
        coaching.notes_of(COMMAND_LINE, zoe.id)
    with pytest.raises(NoEnrolment):
        coaching.notes_of(zoe, zoe.id)
    with pytest.raises(PermissionDenied):  # a tutor sees nobody without an enrolment tying them
        coaching.notes_of(cast["tutor"], zoe.id)
    assert coaching.feedback_history(COMMAND_LINE, zoe.id) == []
    with pytest.raises(PermissionDenied):
        coaching.feedback_history(cast["tutor"], zoe.id)
    assert coaching.enrolled_report_type(zoe) is None
    assert coaching.enrolled_report_type(cast["lea"]) == "ua"
    assert coaching.enrolled_report_type(cast["bo"]) == "stage"
    coaching.open_section(cast["lea"], "role")
    coaching.record_feedback(cast["lea"], "role", [], engine="offline", llm_failure=None)
    assert len(coaching.feedback_history(COMMAND_LINE, cast["lea"].id)) == 1
    with db.transaction() as session:  # a closed enrolment counts as none
        session.execute(sa.update(Enrolment).where(Enrolment.auditeur_id == cast["lea"].id).values(status="closed"))
    assert coaching.enrolled_report_type(cast["lea"]) is None
    with pytest.raises(NoEnrolment) as error:
        coaching.open_section(cast["lea"], "role")
    assert error.value.args == (cast["lea"].id,)
    with pytest.raises(NoEnrolment) as error:
        coaching.notes_of(COMMAND_LINE, cast["lea"].id)
    assert error.value.args == (cast["lea"].id,)
    assert coaching.feedback_history(COMMAND_LINE, cast["lea"].id) == []


def test_the_overview_of_a_new_auditeur(coaching, cast):
    overview = coaching.overview(cast["bo"])
    assert overview.report_type == "stage" and overview.active_section is None
    assert [r.section_id for r in overview.rows] == [s.id for s in CATALOGUE.sections]
    assert all(r.status is SectionStatus.NOT_STARTED and r.answered == 0 and r.words == 0 for r in overview.rows)
    assert (overview.summary.done, overview.summary.started, overview.summary.not_started) == (0, 0, 10)
    coaching.open_section(cast["bo"], "role")
    assert coaching.overview(cast["bo"]).active_section == "role"


def test_notes_by_section_for_the_auditeur_their_tutor_and_staff(coaching, cast):
    lea, bo = cast["lea"], cast["bo"]
    coaching.open_section(lea, "role")
    coaching.answer(lea, "role", "responsabilites", "Un.")
    coaching.next_question(lea, "role", "responsabilites")
    coaching.answer(lea, "role", "decisions", "Deux.")
    coaching.open_section(lea, "choix")
    coaching.open_section(bo, "actes")
    coaching.answer(bo, "actes", "etapes", "Les étapes de Bo.")
    for actor in (lea, cast["tutor"], COMMAND_LINE):
        plan = coaching.notes_of(actor, lea.id)
        assert plan.report_type == "ua"
        assert dict(plan.notes) == {"role": ("Un.", "Deux."), "choix": ()}
    assert coaching.notes_of(cast["tutor"], bo.id).notes == {"actes": ("Les étapes de Bo.",)}
    assert coaching.notes_of(cast["tutor"], bo.id).report_type == "stage"
    for actor in (bo, cast["other_tutor"]):
        with pytest.raises(PermissionDenied):
            coaching.notes_of(actor, lea.id)


def test_notes_of_an_auditeur_who_never_opened_the_coach(coaching, cast):
    plan = coaching.notes_of(cast["tutor"], cast["lea"].id)
    assert plan.report_type == "ua" and dict(plan.notes) == {}


# --- feedback ------------------------------------------------------------------------------------


def test_feedback_is_recorded_per_auditeur_with_its_engine(db, coaching, cast):
    lea, bo = cast["lea"], cast["bo"]
    with stale("role"):  # no progress yet: no section whose feedback this could be
        coaching.record_feedback(lea, "role", [], engine="offline", llm_failure=None)
    coaching.open_section(lea, "role")
    coaching.open_section(bo, "role")
    first = [Remark("missing_numbers", "role_specifique", None, {"n": 1})]
    second = [Remark("llm", "role_specifique", "J'ai conçu", {"text": "Et ensuite ?"})]
    coaching.record_feedback(lea, "role", first, engine="offline", llm_failure="timeout")
    coaching.record_feedback(bo, "role", first, engine="offline", llm_failure=None)
    coaching.record_feedback(lea, "choix", second, engine="llm", llm_failure=None)
    history = coaching.feedback_history(lea, lea.id)
    created = [h.pop("created_at") for h in history]
    assert history == [
        {"section_id": "role", "engine": "offline", "llm_failure": "timeout", "remarks": [first[0].to_dict()]},
        {"section_id": "choix", "engine": "llm", "llm_failure": None, "remarks": [second[0].to_dict()]},
    ]
    assert all(c.tzinfo is not None for c in created)
    assert coaching.feedback_history(cast["tutor"], lea.id)[1]["engine"] == "llm"
    assert [h["llm_failure"] for h in coaching.feedback_history(COMMAND_LINE, bo.id)] == [None]
    with pytest.raises(PermissionDenied):
        coaching.feedback_history(bo, lea.id)
    with db.read() as session:
        rows = session.scalars(sa.select(CoachingFeedback).order_by(CoachingFeedback.id)).all()
        progress = {r.auditeur_id: r.id for r in session.scalars(sa.select(CoachingProgress))}
        assert [r.progress_id for r in rows] == [progress[lea.id], progress[bo.id], progress[lea.id]]


# --- the experience self-check -------------------------------------------------------------------


def experience_row(db, person: PersonView) -> dict | None:
    with db.read() as session:
        row = session.scalar(sa.select(ExperienceCheck).where(ExperienceCheck.person_id == person.id))
        if row is None:
            return None
        return {"answers": row.answers, "outcome": row.outcome, "reasons": row.reasons,
                "confirm_with_tutor": row.confirm_with_tutor, "completed_at": row.completed_at}


def test_the_self_check_stores_each_answer_and_the_outcome(db, coaching, cast, clock):
    zoe = cast["zoe"]  # the self-check needs no enrolment
    assert coaching.experience_state(zoe) == ({}, None)
    with stale("functions"):  # not started
        coaching.answer_experience(zoe, "functions", "yes")
    step = coaching.start_experience(zoe)
    assert step.first and step.question.id == "functions" and step.position == (1, None) and step.outcome is None
    assert experience_row(db, zoe) == {"answers": {}, "outcome": None, "reasons": [], "confirm_with_tutor": None,
                                       "completed_at": None}
    step = coaching.answer_experience(zoe, "functions", "yes")
    assert not step.first and step.question.id == "years_total" and step.position == (2, 3) and step.outcome is None
    assert experience_row(db, zoe)["answers"] == {"functions": "yes"} and experience_row(db, zoe)["outcome"] is None
    step = coaching.answer_experience(zoe, "years_total", "3")
    assert step.question.id == "years_specialty" and step.position == (3, 3)
    assert [c.value for c in step.question.choices] == ["0", "1", "2"]
    clock.now = NOW.replace(hour=11)
    done = coaching.answer_experience(zoe, "years_specialty", "2")
    assert done.question is None and done.position == (3, 3) and not done.first
    assert done.outcome.report_type == "ua" and not done.outcome.confirm_with_tutor
    assert experience_row(db, zoe) == {
        "answers": {"functions": "yes", "years_total": "3", "years_specialty": "2"}, "outcome": "ua",
        "reasons": ["in_field", "experience_sufficient"], "confirm_with_tutor": False,
        "completed_at": NOW.replace(hour=11),
    }
    assert coaching.experience_state(zoe) == ({"functions": "yes", "years_total": "3", "years_specialty": "2"}, "ua")
    with stale("years_specialty"):
        coaching.answer_experience(zoe, "years_specialty", "1")
    restarted = coaching.start_experience(zoe)
    assert restarted.first and restarted.question.id == "functions" and restarted.position == (1, None)
    assert experience_row(db, zoe) == {"answers": {}, "outcome": None, "reasons": [], "confirm_with_tutor": None,
                                       "completed_at": None}
    with db.read() as session:  # one row per person, restarted in place
        assert session.scalar(sa.select(sa.func.count()).select_from(ExperienceCheck)) == 1


def test_the_self_check_out_of_the_field_leads_to_an_internship(db, coaching, cast):
    bo = cast["bo"]
    coaching.start_experience(bo)
    coaching.answer_experience(bo, "functions", "no")
    step = coaching.answer_experience(bo, "activities", "no")
    assert step.question.id == "years_total" and step.position == (3, 4)
    coaching.answer_experience(bo, "years_total", "1")
    done = coaching.answer_experience(bo, "entered_during_training", "no")
    assert done.outcome.report_type == "stage" and done.position == (4, 4)
    row = experience_row(db, bo)
    assert row["outcome"] == "stage" and row["reasons"] == ["out_of_field", "no_entry_during_training"]
    assert row["confirm_with_tutor"] is False and row["completed_at"] == NOW


def test_the_self_check_refuses_answers_to_other_questions_and_other_values(db, coaching, cast):
    lea = cast["lea"]
    coaching.start_experience(lea)
    coaching.answer_experience(lea, "functions", "yes")
    before = experience_row(db, lea)
    for question_id, value in (
        ("functions", "no"),  # already answered
        ("years_specialty", "1"),  # not asked yet
        ("years_total", "9"),  # not a choice
        ("inconnue", "yes"),
    ):
        with stale(question_id):
            coaching.answer_experience(lea, question_id, value)
    assert experience_row(db, lea) == before
    coaching.answer_experience(lea, "years_total", "1")
    with stale("years_specialty"):  # more years in the specialty than in all: not offered
        coaching.answer_experience(lea, "years_specialty", "2")
    done = coaching.answer_experience(lea, "years_specialty", "1")
    assert done.outcome.confirm_with_tutor and experience_row(db, lea)["confirm_with_tutor"] is True


def test_typed_answers_to_the_self_check(coaching):
    parse = coaching.parse_typed_experience_answer
    assert parse("functions", "Oui !") == "yes" and parse("functions", "  NON. ") == "no"
    assert parse("functions", "yes") == "yes"
    assert parse("years_total", "moins   d'un AN") == "0" and parse("years_total", "2 à 3 ans") == "2"
    assert parse("years_total", "7") == "3" and parse("years_total", "1") == "1"
    assert parse("years_total", "02") == "2" and parse("years_specialty", "01") == "1"
    assert parse("years_specialty", "2", {"years_total": "1"}) == "1"  # capped by the years in all
    assert parse("years_specialty", "2 ans ou plus", {"years_total": "0"}) is None
    assert parse("years_specialty", "4") == "2"
    assert parse("years_total", "beaucoup") is None and parse("functions", "3") is None
    assert parse("years_total", "²") is None and parse("years_total", "2²") is None  # the key next to 1
    assert parse("years_total", "７") == "3"  # full-width digits are numbers
    assert parse("inconnue", "oui") is None
    assert coaching.experience_content.questions[0].id == "functions"


# --- saves that meet a concurrent change -----------------------------------------------------------


class Conflicts:
    """Makes the next `count` saves of a coaching progress meet a concurrent change: its version
    moved on (another instance saved first), or its row was created meanwhile."""

    def __init__(self, monkeypatch, kind: str, count: int) -> None:
        import bot.services.coaching as module

        self.kind, self.left, self.waits, self.bounds = kind, count, [], []
        monkeypatch.setattr(module, "time", self)
        monkeypatch.setattr(module, "random", self)
        sa.event.listen(sa.orm.Session, "before_flush", self.before_flush)

    def uniform(self, low, high):  # the jitter: the longest wait, to see it
        self.bounds.append((low, high))
        return high

    def sleep(self, seconds):
        self.waits.append(seconds)

    def before_flush(self, session, context, instances):
        if self.left <= 0:
            return
        if self.kind == "version" and any(isinstance(o, CoachingProgress) for o in session.dirty):
            session.connection().execute(sa.text("UPDATE coaching_progress SET version = version + 1"))
        elif self.kind == "created" and any(isinstance(o, CoachingProgress) for o in session.new):
            row = next(o for o in session.new if isinstance(o, CoachingProgress))
            session.connection().execute(
                sa.insert(CoachingProgress.__table__).values(
                    enrolment_id=row.enrolment_id, auditeur_id=row.auditeur_id, report_type="ua", state={},
                    version=1, created_at=NOW, updated_at=NOW,
                )
            )
        else:
            return
        self.left -= 1

    def remove(self):
        sa.event.remove(sa.orm.Session, "before_flush", self.before_flush)


@pytest.fixture
def conflicts(monkeypatch):
    made = []

    def make(kind: str, count: int) -> Conflicts:
        made.append(Conflicts(monkeypatch, kind, count))
        return made[-1]

    yield make
    for conflict in made:
        conflict.remove()


def test_an_answer_saved_over_a_concurrent_change_is_applied_once_on_the_fresh_state(db, coaching, cast,
                                                                                    conflicts, caplog):
    lea = cast["lea"]
    coaching.open_section(lea, "role")
    conflict = conflicts("version", 2)
    caplog.set_level("INFO", logger="bot.services.coaching")
    view = coaching.answer(lea, "role", "responsabilites", "J'ai conçu le module.")
    assert view.current_answers == ("J'ai conçu le module.",)
    assert section_state(db, lea, "role")["answers"] == {"responsabilites": ["J'ai conçu le module."]}
    assert conflict.bounds == [(0, 0.005), (0, 0.01)] and conflict.waits == [0.005, 0.01]  # longer each time
    assert [r.getMessage() for r in caplog.records] == [
        f"coaching progress of person {lea.id} changed concurrently (StaleDataError); retrying"
    ] * 2


def test_a_progress_created_meanwhile_by_another_instance_is_retried(db, coaching, cast, conflicts, caplog):
    lea = cast["lea"]
    conflict = conflicts("created", 1)
    caplog.set_level("INFO", logger="bot.services.coaching")
    view = coaching.open_section(lea, "role")
    assert view.first_visit and view.question_id == "responsabilites"
    assert stored(db, lea)["state"]["active_section"] == "role" and conflict.waits == [0.005]
    assert [r.getMessage() for r in caplog.records] == [
        f"coaching progress of person {lea.id} changed concurrently (IntegrityError); retrying"
    ]


def test_a_save_that_keeps_meeting_changes_is_given_up_after_25_attempts(db, coaching, cast, conflicts):
    lea = cast["lea"]
    coaching.open_section(lea, "role")
    conflict = conflicts("version", 1000)
    with pytest.raises(StaleDataError):
        coaching.answer(lea, "role", "responsabilites", "Perdu.")
    assert conflict.waits == [pytest.approx(0.005 * n) for n in range(1, 25)]  # 25 attempts, 24 waits
    assert conflict.left == 1000 - 25
    assert section_state(db, lea, "role")["answers"] == {}
