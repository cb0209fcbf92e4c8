"""The coaching state of a section: answers, skip, back, edit, finish later, status and progress."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.coaching import CoachingError, ReportProgress, SectionSession, SectionStatus
from bot.domain.report import Question, default_catalogue


@pytest.fixture(scope="module")
def catalogue():
    return default_catalogue()


@pytest.fixture
def difficultes(catalogue):
    return catalogue.section("difficultes")


def test_every_section_has_two_to_five_questions_with_text(catalogue):
    for section in catalogue.sections:
        assert 2 <= len(section.questions) <= 5, section.id
        assert all(q.text.strip().endswith("?") for q in section.questions), section.id
        assert section.purpose and section.good_answer and section.checks, section.id


def test_new_session_starts_at_the_first_question(difficultes):
    session = SectionSession.for_section(difficultes)
    assert session.status is SectionStatus.NOT_STARTED
    assert session.position == (1, 4)
    assert session.current_question(difficultes) == difficultes.questions[0]


def test_answers_in_several_messages_stay_on_the_question(difficultes):
    session = SectionSession.for_section(difficultes)
    assert session.record("Les stagiaires décrochaient.")
    assert session.record("  Surtout en ligne.  ")
    assert not session.record("   ")  # blank messages are ignored
    assert session.position == (1, 4)
    assert session.answers_to("difficulte") == ["Les stagiaires décrochaient.", "Surtout en ligne."]
    assert session.status is SectionStatus.STARTED


def test_advance_to_the_end_marks_the_section_done(difficultes):
    session = SectionSession.for_section(difficultes)
    session.record("Retard du planning.")
    assert session.advance() is True
    assert session.position == (2, 4)
    session.record("J'ai réorganisé les séances.")
    assert session.advance() and session.skip()
    assert session.status is SectionStatus.STARTED
    assert session.skip() is False  # past the last question
    assert session.at_end and session.status is SectionStatus.DONE
    assert session.current_question(difficultes) is None
    assert session.notes() == ["Retard du planning.", "J'ai réorganisé les séances."]


def test_skip_marks_only_unanswered_questions(difficultes):
    session = SectionSession.for_section(difficultes)
    session.skip()
    assert session.skipped == {"difficulte"}
    session.record("réponse")
    session.skip()  # answered: moving on without marking it skipped
    assert session.skipped == {"difficulte"}
    session.back()
    session.back()
    session.record("finalement une difficulté")
    assert session.skipped == set()


def test_back_goes_to_previous_question_and_not_before_the_first(difficultes):
    session = SectionSession.for_section(difficultes)
    with pytest.raises(CoachingError):
        session.back()
    session.advance()
    session.back()
    assert session.position == (1, 4)


def test_back_from_the_summary_reaches_the_last_question(difficultes):
    session = SectionSession.for_section(difficultes)
    session.finish()
    assert session.at_end and session.status is SectionStatus.DONE
    session.back()
    assert session.current_question_id == "autrement"
    assert session.status is SectionStatus.DONE  # a done section stays done while it is revised


def test_record_at_the_summary_is_refused(difficultes):
    session = SectionSession.for_section(difficultes)
    session.finish()
    with pytest.raises(CoachingError):
        session.record("texte")


def test_edit_replaces_or_clears_an_answer(difficultes):
    session = SectionSession.for_section(difficultes)
    session.record("premier jet")
    session.record("suite")
    session.edit("difficulte", "version corrigée")
    assert session.answers_to("difficulte") == ["version corrigée"]
    session.edit("difficulte", "  ")
    assert session.answers_to("difficulte") == []
    with pytest.raises(CoachingError):
        session.edit("inconnue", "x")


def test_undo_last_message(difficultes):
    session = SectionSession.for_section(difficultes)
    assert session.undo_last() is None
    session.record("un")
    session.record("deux")
    assert session.undo_last() == "deux"
    assert session.answers_to("difficulte") == ["un"]


def test_goto_a_question(difficultes):
    session = SectionSession.for_section(difficultes)
    session.goto("autrement")
    assert session.position == (4, 4)
    with pytest.raises(CoachingError):
        session.goto("nope")


def test_finish_later_keeps_the_position(catalogue, difficultes):
    progress = ReportProgress("ua")
    session = progress.open(difficultes)
    session.record("Absence de salle.")
    session.advance()
    progress.close()
    assert progress.active_section is None
    assert progress.status_of("difficultes") is SectionStatus.STARTED
    again = progress.open(difficultes)
    assert again is session and again.position == (2, 4)


def test_reopening_a_done_section_resumes_at_the_first_unanswered_question(difficultes):
    progress = ReportProgress("ua")
    session = progress.open(difficultes)
    session.record("a")
    session.advance()
    session.record("b")
    session.finish()
    progress.open(difficultes)
    assert session.current_question_id == "autres"
    assert session.status is SectionStatus.DONE


def test_structured_notes_pair_questions_and_answers(difficultes):
    session = SectionSession.for_section(difficultes)
    session.skip()
    session.record("J'ai réorganisé.")
    notes = session.structured_notes(difficultes)
    assert [n.question.id for n in notes] == ["difficulte", "reponse", "autres", "autrement"]
    assert notes[0].skipped and notes[0].answers == ()
    assert notes[1].answers == ("J'ai réorganisé.",) and not notes[1].skipped


def test_overview_and_summary(catalogue):
    progress = ReportProgress("ua")
    role = progress.open(catalogue.section("role"))
    role.record("J'ai conçu le module de 12 heures.")
    role.finish()
    progress.open(catalogue.section("actes")).record("J'ai animé")
    rows = {row.section_id: row for row in progress.overview(catalogue)}
    assert [r.section_id for r in progress.overview(catalogue)] == [s.id for s in catalogue.sections]
    assert rows["role"].status is SectionStatus.DONE and rows["role"].answered == 1
    assert rows["role"].words == 8 and rows["role"].target_words == 338 and rows["role"].pages == 0.75
    assert rows["actes"].status is SectionStatus.STARTED
    assert rows["contexte"].status is SectionStatus.NOT_STARTED and rows["contexte"].words == 0
    summary = progress.summary(catalogue)
    assert (summary.done, summary.started, summary.not_started, summary.total) == (1, 1, 8, 10)
    assert summary.percent_done == 10


def test_progress_round_trips_through_json(catalogue):
    progress = ReportProgress("stage")
    session = progress.open(catalogue.section("questions"))
    session.record("Comment évaluer ?")
    session.skip()
    session.skip()
    data = json.loads(json.dumps(progress.to_dict()))
    restored = ReportProgress.from_dict(data, catalogue)
    assert restored.to_dict() == progress.to_dict()
    assert restored.sessions["questions"].position == (3, 4)
    assert restored.active_section == "questions"


def test_restoring_follows_questions_edited_by_staff(catalogue):
    section = catalogue.section("conclusion")
    session = SectionSession.for_section(section)
    session.record("bilan")
    session.advance()
    session.record("lien diplôme")
    data = session.to_dict()
    edited = replace(section, questions=(Question("diplome", "?"), Question("nouvelle", "?"), Question("bilan", "?")))
    restored = SectionSession.from_dict(data, edited)
    assert restored.current_question_id == "diplome"  # still on the question being answered
    assert restored.notes() == ["lien diplôme", "bilan"]  # in the new order
    removed = replace(section, questions=(Question("perspectives", "?"), Question("autre", "?")))
    kept = SectionSession.from_dict(data, removed)
    assert kept.notes() == ["bilan", "lien diplôme"]  # answers to removed questions are not lost


actions = st.lists(
    st.sampled_from(["record", "advance", "skip", "back", "undo", "finish", "later", "reopen"]), max_size=30
)


@settings(max_examples=60, deadline=None)
@given(actions)
def test_any_sequence_of_actions_keeps_a_consistent_serialisable_state(sequence):
    catalogue = default_catalogue()
    section = catalogue.section("actes")
    progress = ReportProgress("ua")
    session = progress.open(section)
    recorded = 0
    for action in sequence:
        try:
            if action == "record":
                recorded += session.record(f"note {recorded}")
            elif action == "advance":
                session.advance()
            elif action == "skip":
                session.skip()
            elif action == "back":
                session.back()
            elif action == "undo":
                recorded -= session.undo_last() is not None
            elif action == "finish":
                session.finish()
            elif action == "later":
                progress.close()
                session = progress.open(section)
            else:
                session.reopen()
        except CoachingError:
            pass
        assert 0 <= session.current <= session.total
        assert len(session.notes()) == recorded
        if recorded:
            assert session.status is not SectionStatus.NOT_STARTED
        assert (
            ReportProgress.from_dict(json.loads(json.dumps(progress.to_dict())), catalogue).to_dict()
            == progress.to_dict()
        )
