"""The /experience self-check: which questions apply, which report and why."""

from __future__ import annotations

import pytest

from bot.domain.experience import (
    ExperienceOutcome,
    decide,
    default_experience_content,
    next_question_id,
    relevant_question_ids,
    validate_answer,
)


def test_content_has_a_wording_for_every_reason_and_outcome():
    content = default_experience_content()
    assert set(content.outcomes) == {"ua", "stage"}
    for yes_no in ("functions", "activities", "entered_during_training"):
        assert [c.value for c in content.question(yes_no).choices] == ["yes", "no"]
    every_reason = set()
    for answers in _all_complete_answer_sets():
        every_reason |= set(decide(answers).reasons)
    assert every_reason <= set(content.reasons)
    assert "8 pages" in content.outcomes["ua"]["text"]
    assert "3 mois" in content.outcomes["stage"]["text"] and "quinzaine" in content.outcomes["stage"]["text"]


def _all_complete_answer_sets(answers=None):
    """Every path through the self-check, answering each question asked with each choice offered."""
    answers = answers or {}
    question_id = next_question_id(answers)
    if question_id is None:
        yield answers
        return
    from bot.domain.experience import question_for

    for choice in question_for(default_experience_content().question(question_id), answers).choices:
        yield from _all_complete_answer_sets({**answers, question_id: choice.value})


def test_questions_asked_in_order_and_only_when_relevant():
    answers: dict[str, str] = {}
    assert next_question_id(answers) == "functions"
    answers["functions"] = "no"
    assert next_question_id(answers) == "activities"
    answers["activities"] = "no"
    assert next_question_id(answers) == "years_total"
    answers["years_total"] = "3"
    assert next_question_id(answers) == "entered_during_training"  # years in the specialty not asked
    answers["entered_during_training"] = "no"
    assert next_question_id(answers) is None


def test_in_field_asks_years_in_specialty_not_entry_during_training():
    assert relevant_question_ids({"functions": "yes"}) == ("functions", "years_total", "years_specialty")
    assert relevant_question_ids({"functions": "no", "activities": "yes"}) == (
        "functions",
        "activities",
        "years_total",
        "years_specialty",
    )


def test_three_years_two_in_specialty_write_the_ua_report():
    outcome = decide({"functions": "yes", "years_total": "3", "years_specialty": "2"})
    assert outcome == ExperienceOutcome("ua", ("in_field", "experience_sufficient"), confirm_with_tutor=False)


def test_in_field_but_short_experience_is_in_progress_and_to_confirm():
    outcome = decide({"functions": "no", "activities": "yes", "years_total": "2", "years_specialty": "1"})
    assert outcome.report_type == "ua"
    assert outcome.reasons == ("in_field", "experience_in_progress", "total_short", "specialty_short")
    assert outcome.confirm_with_tutor


def test_enough_years_but_not_enough_in_specialty():
    outcome = decide({"functions": "yes", "activities": "no", "years_total": "3", "years_specialty": "1"})
    assert outcome.reasons == ("in_field", "experience_in_progress", "specialty_short")


def test_out_of_field_without_entry_requires_an_internship_report():
    outcome = decide({"functions": "no", "activities": "no", "years_total": "3", "entered_during_training": "no"})
    assert outcome == ExperienceOutcome("stage", ("out_of_field", "no_entry_during_training"), confirm_with_tutor=False)


def test_out_of_field_but_entered_a_function_during_training_writes_the_ua_report():
    outcome = decide({"functions": "no", "activities": "no", "years_total": "1", "entered_during_training": "yes"})
    assert outcome.report_type == "ua"
    assert outcome.reasons == ("out_of_field", "entered_during_training", "total_short")
    assert outcome.confirm_with_tutor


def test_incomplete_answers_cannot_be_decided():
    with pytest.raises(ValueError):
        decide({"functions": "yes", "years_total": "3"})


def test_answers_are_validated_against_the_choices():
    content = default_experience_content()
    assert validate_answer(content.question("years_total"), "3") == "3"
    with pytest.raises(ValueError):
        validate_answer(content.question("years_total"), "12")
    with pytest.raises(ValueError):
        validate_answer(content.question("functions"), "peut-être")


def test_only_stage_when_out_of_field_and_no_entry():
    # three paths; in the field, the specialty years offered never exceed the years in all (1+2+3+3)
    assert len(list(_all_complete_answer_sets())) == 9 + 9 + 4 * 2
    for answers in _all_complete_answer_sets():
        outcome = decide(answers)
        out_of_field = answers["functions"] == "no" and answers.get("activities") == "no"
        expected_stage = out_of_field and answers.get("entered_during_training") == "no"
        assert (outcome.report_type == "stage") == expected_stage, answers


def test_years_in_the_specialty_cannot_exceed_the_years_in_all():
    from bot.domain.experience import question_for, validate_answer

    content = default_experience_content()
    specialty = content.question("years_specialty")
    answers = {"functions": "yes", "years_total": "0"}
    assert [c.value for c in question_for(specialty, answers).choices] == ["0"]  # no button to refuse
    with pytest.raises(ValueError):
        validate_answer(specialty, "2", answers)
    assert [c.value for c in question_for(specialty, {"functions": "yes", "years_total": "1"}).choices] == ["0", "1"]
    with pytest.raises(ValueError):
        decide({"functions": "yes", "years_total": "0", "years_specialty": "2"})


def test_questions_are_numbered_with_a_total_that_never_changes():
    from bot.domain.experience import question_position

    assert question_position({}) == (1, None)
    assert question_position({"functions": "yes"}) == (2, 3)
    assert question_position({"functions": "yes", "years_total": "3"}) == (3, 3)
    assert question_position({"functions": "no"}) == (2, None)
    assert question_position({"functions": "no", "activities": "no"}) == (3, 4)
