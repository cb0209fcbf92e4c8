"""A remark of the offline feedback in French: placeholders filled, its variant, its criterion's label."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.feedback import FeedbackWording, Remark, render_remark
from bot.domain.report import load_catalogue
from bot.paths import PROMPTS_DIR

CATALOGUE = load_catalogue(PROMPTS_DIR)
WORDING = FeedbackWording(
    kinds={"date": "des dates", "figure": "des chiffres"},
    checks={
        "concrete_detail": {"remark": "Il manque {missing} dans « {quote} ».", "hint": "Quand, combien ?"},
        "length": {"remark": {"short": "Court : {words} mots.", "long": "Long : {words} mots."},
                   "hint": {"short": "Que manque-t-il ?", "long": "Que retirer ?"}},
        "no_hint": {"remark": "Sans question."},
    },
)


def test_placeholders_are_filled_with_the_quote_and_the_kinds_missing():
    remark = Remark("concrete_detail", "contexte_situe", "Nous avons formé des gens", {"missing_kinds": ["date", "figure", "tool"]})
    rendered = render_remark(remark, CATALOGUE, WORDING)
    assert rendered.text == "Il manque des dates, des chiffres, tool dans « Nous avons formé des gens »."
    assert rendered.hint == "Quand, combien ?"
    assert (rendered.check_id, rendered.criterion_id, rendered.quote) == ("concrete_detail", "contexte_situe", "Nous avons formé des gens")
    assert rendered.criterion_label == "Contexte situé"


def test_without_a_quote_the_placeholder_is_empty():
    rendered = render_remark(Remark("concrete_detail", "forme", None, {"missing_kinds": []}), CATALOGUE, WORDING)
    assert rendered.text == "Il manque  dans «  »."
    assert rendered.quote is None


def test_the_variant_picks_the_wording_else_the_first_one():
    assert render_remark(Remark("length", "forme", None, {"variant": "long", "words": 900}), CATALOGUE, WORDING).text == "Long : 900 mots."
    short = render_remark(Remark("length", "forme", None, {"words": 12}), CATALOGUE, WORDING)
    assert (short.text, short.hint) == ("Court : 12 mots.", "Que manque-t-il ?")
    other = render_remark(Remark("length", "forme", None, {"variant": "moyen", "words": 5}), CATALOGUE, WORDING)
    assert other.text == "Court : 5 mots."


def test_a_check_without_wording_or_hint_gives_empty_texts():
    assert render_remark(Remark("no_hint", "forme", None), CATALOGUE, WORDING).hint == ""
    unknown = render_remark(Remark("inconnu", "forme", None), CATALOGUE, WORDING)
    assert (unknown.text, unknown.hint) == ("", "")
    empty_variants = FeedbackWording(kinds={}, checks={"length": {"remark": {}}})
    assert render_remark(Remark("length", "forme", None), CATALOGUE, empty_variants).text == ""


def test_an_unknown_criterion_or_no_grid_shows_the_criterion_id():
    assert render_remark(Remark("no_hint", "critere_retire", None), CATALOGUE, WORDING).criterion_label == "critere_retire"
    no_grid = replace(CATALOGUE, grid=None)
    assert render_remark(Remark("no_hint", "contexte_situe", None), no_grid, WORDING).criterion_label == "contexte_situe"
