"""The coach's section session between messages: finishing later, coming back, going back, closing."""

from __future__ import annotations

import pytest

from bot.domain.coaching import CoachingError, ReportProgress, SectionSession, SectionStatus
from bot.domain.report import load_catalogue
from bot.paths import PROMPTS_DIR

CATALOGUE = load_catalogue(PROMPTS_DIR)


def session(**changes) -> SectionSession:
    values = dict(section_id="contexte", question_ids=("structure", "public", "acteurs"))
    values.update(changes)
    return SectionSession(**values)


def test_a_session_for_a_section_has_its_questions():
    choix = SectionSession.for_section(CATALOGUE.section("choix"))
    assert (choix.section_id, choix.question_ids) == ("choix", ("mission", "pourquoi", "interet", "investissement"))


def test_finishing_later_marks_a_section_started_only_when_something_was_written():
    written = session(answers={"structure": ["Une association"]})
    written.finish_later()
    assert written.status is SectionStatus.STARTED
    empty = session()
    empty.finish_later()
    assert empty.status is SectionStatus.NOT_STARTED
    done = session(answers={"structure": ["Une association"]}, status=SectionStatus.DONE)
    done.finish_later()
    assert done.status is SectionStatus.DONE


def test_coming_back_to_a_finished_section_resumes_at_the_first_unanswered_question_else_the_first():
    gap = session(answers={"structure": ["a"], "acteurs": ["c"]}, current=3)
    gap.reopen()
    assert gap.current == 1
    full = session(answers={"structure": ["a"], "public": ["b"], "acteurs": ["c"]}, current=3)
    full.reopen()
    assert full.current == 0
    midway = session(current=2)
    midway.reopen()  # not at the summary: stays where it is
    assert midway.current == 2


def test_going_back_and_the_summary_refusals_say_why():
    first = session()
    with pytest.raises(CoachingError) as caught:
        first.back()
    assert str(caught.value) == "already at the first question"
    at_summary = session(current=3)
    at_summary.back()
    assert at_summary.current == 2
    with pytest.raises(CoachingError) as caught:
        session(current=3).skip()
    assert str(caught.value) == "the section is at its summary; reopen it or pick a question"
    with pytest.raises(CoachingError) as caught:
        session().goto("budget")
    assert str(caught.value) == "unknown question 'budget' in section contexte"


def test_closing_leaves_the_active_section_started_and_survives_a_section_gone():
    progress = ReportProgress(report_type="ua", sessions={"contexte": session(answers={"structure": ["a"]})}, active_section="contexte")
    progress.close()
    assert progress.active_section is None and progress.sessions["contexte"].status is SectionStatus.STARTED
    ghost = ReportProgress(report_type="ua", active_section="ancienne")
    ghost.close()
    assert ghost.active_section is None


def test_a_stored_progress_follows_the_catalogue_after_a_removed_section():
    stored = {"report_type": "ua", "sections": {"ancienne": {"section_id": "ancienne"},
                                                  "choix": {"section_id": "choix", "question_ids": ["mission"]}}}
    back = ReportProgress.from_dict(stored, CATALOGUE)
    assert list(back.sessions) == ["choix"]
    assert back.sessions["choix"].question_ids == ("mission", "pourquoi", "interet", "investissement")
