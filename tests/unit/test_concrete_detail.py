"""The concrete-detail check of the coach's feedback on notes as auditeurs write them: which kinds of
detail are missing (dates, figures, actors, tools), from two missing kinds on, and which sentence is quoted."""

from __future__ import annotations

from bot.domain.feedback import review_section
from bot.domain.report import load_catalogue
from bot.paths import PROMPTS_DIR

CATALOGUE = load_catalogue(PROMPTS_DIR)


def concrete(notes: list[str]):
    return [r for r in review_section("contexte", notes, "ua", CATALOGUE) if r.check_id == "concrete_detail"]


def test_every_kind_missing_is_named_in_order():
    (remark,) = concrete(["C'était un projet intéressant et très enrichissant pour moi."])
    assert remark.params["missing_kinds"] == ["date", "figure", "actor", "tool"]
    assert remark.quote == "C'était un projet intéressant et très enrichissant pour moi."


def test_one_kind_missing_is_not_worth_a_remark_two_are():
    # a date, a figure and a tool (Moodle): only the actors are missing
    assert concrete(["En septembre 2023, 25 personnes ont suivi le parcours sur Moodle."]) == []
    (remark,) = concrete(["En septembre 2023, 25 personnes ont suivi le parcours."])  # no actor, no tool
    assert remark.params["missing_kinds"] == ["actor", "tool"]


def test_without_a_vague_sentence_nothing_is_quoted():
    (remark,) = concrete(["En septembre 2023, 25 personnes ont suivi le parcours."])
    assert remark.quote is None
