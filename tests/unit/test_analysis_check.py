"""The analysis-not-narration check on notes as auditeurs write them: a section that only tells what
happened, one after the other, gets the remark; analysis in at least a third of it does not."""

from __future__ import annotations

from bot.domain.feedback import review_section
from bot.domain.report import load_catalogue
from bot.paths import PROMPTS_DIR

CATALOGUE = load_catalogue(PROMPTS_DIR)
NARRATIVE = ["D'abord j'ai réuni l'équipe.", "Ensuite nous avons rédigé le cahier des charges.", "Puis j'ai présenté le projet.",
             "Enfin la formation a démarré."]
ANALYTIC = ["Cela montre que la concertation était nécessaire.", "Je pense que le calendrier était trop serré."]


def narration(notes: list[str]):
    return [r for r in review_section("competences", notes, "ua", CATALOGUE) if r.check_id == "analysis_not_narration"]


def test_a_story_without_analysis_gets_the_remark_quoting_its_first_step():
    (remark,) = narration(NARRATIVE[:2])
    assert remark.quote == "D'abord j'ai réuni l'équipe."


def test_twice_as_much_story_as_analysis_is_fine_more_is_not():
    assert narration([*NARRATIVE[:2], ANALYTIC[0]]) == []
    (remark,) = narration([ANALYTIC[0], *NARRATIVE[:3]])
    assert remark.quote == "D'abord j'ai réuni l'équipe."  # the first step told, not the first sentence
    assert narration([*NARRATIVE[:4], *ANALYTIC]) == []
    assert len(narration([*NARRATIVE, "Le lendemain le bilan a eu lieu.", ANALYTIC[0], ANALYTIC[1]])) == 1


def test_analysis_alone_is_fine():
    assert narration(ANALYTIC) == []
