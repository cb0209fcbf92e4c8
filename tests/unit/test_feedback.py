"""The offline checks on French notes: each must fire on the weak example and stay silent on the good one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.feedback import (
    CHECKS,
    EMPTY_CHECK_ID,
    LLM_CHECK_ID,
    Remark,
    count_words,
    default_feedback_wording,
    detail_kinds,
    normalise,
    render_remark,
    review_section,
    split_sentences,
)
from bot.domain.report import SECTION_IDS, default_catalogue


@pytest.fixture(scope="module")
def catalogue():
    return default_catalogue()


def remarks_of(catalogue, section_id, notes, check_id, report_type="ua"):
    return [r for r in review_section(section_id, notes, report_type, catalogue) if r.check_id == check_id]


# --- content consistency -----------------------------------------------------------------------


def test_every_check_named_in_sections_is_registered_and_worded(catalogue):
    wording = default_feedback_wording()
    for section in catalogue.sections:
        for check_id in section.checks:
            assert check_id == EMPTY_CHECK_ID or check_id in CHECKS, (section.id, check_id)
            assert check_id in wording.checks, check_id
    assert set(CHECKS) | {EMPTY_CHECK_ID, LLM_CHECK_ID} == set(wording.checks)


def test_every_worded_criterion_exists_in_the_grid(catalogue):
    grid_ids = {c.id for c in catalogue.grid.criteria}
    for check_id, spec in default_feedback_wording().checks.items():
        assert set(spec.get("criterion", [])) <= grid_ids, check_id


def test_hints_are_questions_never_sentences_of_the_report():
    for check_id, spec in default_feedback_wording().checks.items():
        hints = spec["hint"].values() if isinstance(spec["hint"], dict) else [spec["hint"]]
        for hint in hints:
            if check_id == LLM_CHECK_ID:
                continue
            assert hint.strip().endswith("?"), (check_id, hint)
            assert not re.search(r"(?<![\w'])(je|j'|mon|ma|mes)(?![\w])", normalise(hint)), hint


# --- text helpers --------------------------------------------------------------------------------


def test_sentences_split_on_punctuation_and_lines_and_drop_blanks():
    assert split_sentences(["J'ai animé. Puis j'ai évalué !\n- Bilan en juin", "   "]) == [
        "J'ai animé.",
        "Puis j'ai évalué !",
        "Bilan en juin",
    ]


def test_word_count_handles_elisions_and_accents():
    assert count_words(["J’ai conçu un module d’été"]) == 7  # j ai conçu un module d été
    assert count_words([""]) == 0


@pytest.mark.parametrize(
    "text, expected",
    [
        ("En mars 2024, j'ai formé 12 stagiaires sur Moodle.", {"date", "figure", "actor", "tool"}),
        ("La session a eu lieu en 2023.", {"date"}),
        ("Le 14/02 la réunion a eu lieu.", {"date"}),
        ("Une quinzaine de personnes.", {"figure"}),
        ("J'ai utilisé Klaxoon.", {"tool"}),
        ("Le projet a été validé par l'OPCO.", {"actor", "tool"}),  # OPCO is also an acronym
        ("C'était une belle expérience, très riche.", set()),
    ],
)
def test_detail_kinds_on_french_text(text, expected):
    assert detail_kinds(normalise(text), text) == expected


# --- empty and length ----------------------------------------------------------------------------


def test_empty_section_gets_only_the_empty_remark(catalogue):
    remarks = review_section("contexte", ["  ", ""], "ua", catalogue)
    assert [r.check_id for r in remarks] == ["empty"]
    assert remarks[0].criterion_id == "contexte_situe"


def test_length_too_short_against_the_ua_budget(catalogue):
    (remark,) = remarks_of(catalogue, "actes", ["J'ai animé une formation en mars 2024."], "length")
    assert remark.params["variant"] == "short"
    assert remark.params["target"] == 675  # 1.5 page x 450 words
    assert remark.criterion_id == "forme"
    text = render_remark(remark, catalogue).text
    assert "675 mots" in text and "(1,5 p.)" in text


def test_length_too_long_for_ua_but_fine_for_stage(catalogue):
    notes = ["J'ai conçu le programme avec les formateurs et les stagiaires. " * 30]
    assert count_words(notes) == 330  # "j'ai" counts as two words
    (remark,) = remarks_of(catalogue, "introduction", notes, "length", "ua")  # 0.5 page -> 225 words
    assert remark.params["variant"] == "long"
    assert remarks_of(catalogue, "introduction", notes, "length", "stage") == []  # 1 page -> 450


def test_length_silent_within_budget(catalogue):
    notes = ["mot " * 150]
    assert remarks_of(catalogue, "introduction", notes, "length") == []


def test_annexes_have_no_length_check(catalogue):
    assert "length" not in catalogue.section("annexes").checks


# --- concrete detail -----------------------------------------------------------------------------


def test_concrete_detail_fires_on_vague_notes_and_quotes_them(catalogue):
    notes = ["La structure est un organisme de formation.", "C'était un projet intéressant et enrichissant pour moi."]
    (remark,) = remarks_of(catalogue, "contexte", notes, "concrete_detail")
    assert remark.quote == "C'était un projet intéressant et enrichissant pour moi."
    assert set(remark.params["missing_kinds"]) >= {"date", "figure"}
    assert "des dates" in render_remark(remark, catalogue).text


def test_concrete_detail_silent_with_dates_figures_actors_tools(catalogue):
    notes = [
        "Organisme de 40 salariés à Nantes.",
        "Dispositif lancé en septembre 2023 pour 25 demandeurs d'emploi, suivi sur Moodle.",
    ]
    assert remarks_of(catalogue, "contexte", notes, "concrete_detail") == []


def test_concrete_detail_names_the_criterion_of_the_section(catalogue):
    notes = ["C'était bien.", "Tout s'est bien passé."]
    assert remarks_of(catalogue, "contexte", notes, "concrete_detail")[0].criterion_id == "contexte_situe"
    assert remarks_of(catalogue, "actes", notes, "concrete_detail")[0].criterion_id == "actes_decrits"
    assert remarks_of(catalogue, "role", notes, "concrete_detail")[0].criterion_id == "role_specifique"


# --- first person --------------------------------------------------------------------------------


def test_first_person_absent(catalogue):
    notes = ["Le module a été conçu en avril.", "La formation a été animée avec succès."]
    (remark,) = remarks_of(catalogue, "role", notes, "first_person")
    assert remark.params["variant"] == "absent"
    assert remark.criterion_id == "role_specifique"
    assert "première personne" in render_remark(remark, catalogue).text


def test_first_person_collective_dominates(catalogue):
    notes = [
        "Nous avons conçu le module.",
        "On a animé les ateliers.",
        "Notre équipe a évalué.",
        "J'ai rédigé le bilan.",
    ]
    (remark,) = remarks_of(catalogue, "role", notes, "first_person")
    assert remark.params["variant"] == "collective"
    assert remark.quote == "Nous avons conçu le module."
    rendered = render_remark(remark, catalogue)
    assert "« nous »" in rendered.text and rendered.hint.endswith("?")


@pytest.mark.parametrize(
    "notes",
    [
        ["J'ai conçu le module et je l'ai animé."],
        ["J’ai piloté le projet."],  # typographic apostrophe
        ["Nous avons décidé ensemble, mais j'ai rédigé seule le cahier des charges.", "J'ai ensuite animé."],
        ["Mon rôle : coordonner les formateurs."],
    ],
)
def test_first_person_silent(catalogue, notes):
    assert remarks_of(catalogue, "role", notes, "first_person") == []


# --- difficulties --------------------------------------------------------------------------------


def test_no_difficulty_named(catalogue):
    notes = ["Tout s'est déroulé comme prévu.", "J'ai animé 6 séances."]
    (remark,) = remarks_of(catalogue, "difficultes", notes, "difficulty_present")
    assert remark.criterion_id == "difficultes_reponses"


def test_each_unanswered_difficulty_is_quoted(catalogue):
    notes = [
        "Les stagiaires étaient démotivés.",
        "Le planning a pris du retard.",
        "La formation s'est terminée en juin.",
    ]
    remarks = remarks_of(catalogue, "difficultes", notes, "difficulty_answered")
    assert [r.quote for r in remarks] == ["Les stagiaires étaient démotivés.", "Le planning a pris du retard."]
    assert remarks_of(catalogue, "difficultes", notes, "difficulty_present") == []


def test_difficulty_paired_with_its_answer_in_the_next_message(catalogue):
    notes = [
        "Les formateurs opposaient une forte résistance au nouveau format.",
        "Pour y remédier, j'ai organisé un atelier de co-construction.",
    ]
    assert remarks_of(catalogue, "difficultes", notes, "difficulty_answered") == []


def test_difficulty_answered_in_same_sentence(catalogue):
    notes = ["Face au manque de salles, j'ai basculé deux séances sur Teams."]
    assert remarks_of(catalogue, "difficultes", notes, "difficulty_answered") == []


def test_difficulty_far_from_any_answer_is_flagged(catalogue):
    notes = [
        "Un conflit a éclaté entre deux formateurs.",
        "Il faisait froid.",
        "Les salles étaient petites.",
        "J'ai donc changé de site.",
    ]
    (remark,) = remarks_of(catalogue, "difficultes", notes, "difficulty_answered")
    assert remark.quote == "Un conflit a éclaté entre deux formateurs."


# --- competences ---------------------------------------------------------------------------------


def test_competences_listed_as_themes(catalogue):
    notes = ["Compétences : communication, organisation, gestion de projet."]
    (remark,) = remarks_of(catalogue, "competences", notes, "competence_capacity")
    assert remark.quote == "Compétences : communication, organisation, gestion de projet."
    assert remark.criterion_id == "competences_construites"
    assert remarks_of(catalogue, "competences", notes, "competence_example") == []  # no capacity yet


def test_capacity_without_example(catalogue):
    notes = ["Je suis capable de concevoir un dispositif de formation.", "C'est une compétence clé."]
    assert remarks_of(catalogue, "competences", notes, "competence_capacity") == []
    (remark,) = remarks_of(catalogue, "competences", notes, "competence_example")
    assert remark.quote == "Je suis capable de concevoir un dispositif de formation."


def test_capacity_backed_by_an_example(catalogue):
    notes = [
        "Je suis capable de coordonner une équipe pédagogique.",
        "Lors de la session de mars 2024, j'ai réparti 4 formateurs sur 3 groupes.",
    ]
    assert remarks_of(catalogue, "competences", notes, "competence_capacity") == []
    assert remarks_of(catalogue, "competences", notes, "competence_example") == []


# --- methodological and theoretical questions ---------------------------------------------------------


def test_only_open_questions(catalogue):
    notes = ["Comment évaluer les acquis à froid ?", "Cette question reste ouverte."]
    assert remarks_of(catalogue, "questions", notes, "questions_open") == []
    (remark,) = remarks_of(catalogue, "questions", notes, "questions_resolved")
    assert remark.criterion_id == "questions_theoriques"


def test_only_resolved_questions(catalogue):
    notes = ["J'ai compris grâce au cours comment construire une grille d'évaluation."]
    assert remarks_of(catalogue, "questions", notes, "questions_resolved") == []
    assert len(remarks_of(catalogue, "questions", notes, "questions_open")) == 1


def test_non_resolu_is_an_open_question_not_a_resolved_one(catalogue):
    notes = ["La question du transfert en situation de travail n'est pas encore résolue."]
    assert len(remarks_of(catalogue, "questions", notes, "questions_resolved")) == 1
    assert remarks_of(catalogue, "questions", notes, "questions_open") == []


def test_both_resolved_and_open(catalogue):
    notes = [
        "J'ai résolu la question de l'individualisation grâce aux lectures sur la pédagogie différenciée.",
        "En revanche, l'évaluation de l'impact reste une question ouverte car je manque de recul.",
    ]
    assert remarks_of(catalogue, "questions", notes, "questions_resolved") == []
    assert remarks_of(catalogue, "questions", notes, "questions_open") == []


# --- analysis rather than narration ------------------------------------------------------------------


def test_narration_in_an_analysis_section(catalogue):
    notes = [
        "D'abord j'ai rencontré la directrice.",
        "Ensuite j'ai préparé les supports.",
        "Puis j'ai animé en mai 2024.",
    ]
    (remark,) = remarks_of(catalogue, "competences", notes, "analysis_not_narration")
    assert remark.quote == "D'abord j'ai rencontré la directrice."
    assert remark.criterion_id == "analyse_reflexive"


def test_analysis_is_not_flagged(catalogue):
    notes = [
        "Ensuite j'ai préparé les supports.",
        "Cela montre que je sais anticiper, car j'ai prévu deux variantes.",
        "J'en retiens que la coordination tient à la clarté des rôles.",
    ]
    assert remarks_of(catalogue, "competences", notes, "analysis_not_narration") == []


def test_no_narration_no_remark(catalogue):
    notes = ["Je suis capable de concevoir.", "Une compétence utile."]
    assert remarks_of(catalogue, "competences", notes, "analysis_not_narration") == []


# --- annexes -----------------------------------------------------------------------------------------


def test_production_without_annex_reference(catalogue):
    notes = ["En mars, j'ai animé.", "J'ai conçu une grille d'observation pour les formateurs."]
    (remark,) = remarks_of(catalogue, "actes", notes, "annex_referenced")
    assert remark.quote == "J'ai conçu une grille d'observation pour les formateurs."
    assert remark.criterion_id == "traces_annexes"


def test_production_with_annex_reference(catalogue):
    notes = ["J'ai conçu une grille d'observation (annexe 2)."]
    assert remarks_of(catalogue, "actes", notes, "annex_referenced") == []


def test_planning_mentioned_but_not_produced_is_not_an_annex_matter(catalogue):
    notes = ["Le planning a pris du retard."]
    assert remarks_of(catalogue, "difficultes", notes, "annex_referenced") == []


def test_annex_list_without_productions(catalogue):
    (remark,) = remarks_of(catalogue, "annexes", ["Rien de particulier."], "annex_listed")
    assert remark.quote == "Rien de particulier."
    assert (
        remarks_of(catalogue, "annexes", ["Annexe 1 : la grille d'évaluation", "Annexe 2 : le déroulé"], "annex_listed")
        == []
    )


# --- choice, introduction, conclusion ------------------------------------------------------------------


def test_choice_not_argued_then_argued(catalogue):
    assert len(remarks_of(catalogue, "choix", ["J'ai pris la formation des tuteurs."], "choice_argued")) == 1
    assert (
        remarks_of(
            catalogue, "choix", ["J'ai choisi cette pratique car elle représente mon cœur de métier."], "choice_argued"
        )
        == []
    )


def test_introduction_plan_announcement(catalogue):
    assert len(remarks_of(catalogue, "introduction", ["Je suis responsable formation."], "intro_announces_plan")) == 1
    notes = ["Je présenterai d'abord le choix de la pratique, puis sa description, enfin son analyse."]
    assert remarks_of(catalogue, "introduction", notes, "intro_announces_plan") == []


def test_conclusion_perspective(catalogue):
    assert len(remarks_of(catalogue, "conclusion", ["Ce fut riche."], "conclusion_perspective")) == 1
    assert (
        remarks_of(
            catalogue,
            "conclusion",
            ["À l'avenir, je souhaite piloter un dispositif régional."],
            "conclusion_perspective",
        )
        == []
    )


# --- rendering -----------------------------------------------------------------------------------------


def test_render_remark_fills_placeholders_and_names_the_criterion(catalogue):
    remark = Remark("concrete_detail", "contexte_situe", "C'était bien.", {"missing_kinds": ["date", "tool"]})
    rendered = render_remark(remark, catalogue)
    assert rendered.criterion_label == "Contexte situé"
    assert rendered.text == "Il manque encore des dates, des outils ou méthodes pour rendre ce passage concret."
    assert rendered.quote == "C'était bien."


def test_llm_remark_renders_its_text(catalogue):
    remark = Remark(LLM_CHECK_ID, "actes_decrits", None, {"text": "Quand cela s'est-il passé ?"})
    assert render_remark(remark, catalogue).text == "Quand cela s'est-il passé ?"


def test_remark_round_trips_through_dict():
    remark = Remark("length", "forme", None, {"variant": "short", "words": 3})
    assert Remark.from_dict(remark.to_dict()) == remark


def test_long_quotes_are_cut_on_a_word(catalogue):
    long_sentence = "C'était " + "vraiment " * 40 + "bien"
    (remark,) = remarks_of(catalogue, "contexte", [long_sentence, "Bien."], "concrete_detail")
    assert remark.quote.endswith("…") and len(remark.quote) <= 141
    assert long_sentence.startswith(remark.quote[:-1])


@settings(max_examples=40, deadline=None)
@given(
    section_id=st.sampled_from(SECTION_IDS),
    notes=st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=120), max_size=4),
)
def test_review_never_crashes_and_quotes_come_from_the_notes(section_id, notes):
    catalogue = default_catalogue()
    for remark in review_section(section_id, notes, "stage", catalogue):
        render_remark(remark, catalogue)
        if remark.quote is not None:
            assert remark.quote.rstrip("…") in "\n".join(notes)


# --- issue 16: by meaning, lexicon as data ------------------------------------------------------------


@pytest.mark.parametrize(
    "notes",
    [
        ["La principale difficulté a été le départ d'une formatrice en plein parcours.",
         "J'ai redistribué les modules et recruté une nouvelle formatrice en deux semaines."],
        ["Les formateurs étaient réticents : je les ai réunis pour leur expliquer le projet."],
        ["Nous avons eu un conflit de planning avec le financeur.", "Nous avons décalé deux sessions."],
        ["Le manque de salles a posé problème.", "J'ai négocié un accès au lycée voisin."],
    ],
)
def test_a_difficulty_answered_in_ones_own_words_gives_no_remark(catalogue, notes):
    assert remarks_of(catalogue, "difficultes", notes, "difficulty_answered") == []


@pytest.mark.parametrize(
    "notes",
    [
        ["Le principal problème a été l'absence des stagiaires.", "Les stagiaires venaient de loin."],
        ["J'ai manqué de temps pour préparer les séances."],
        ["J'ai rencontré une forte résistance des formateurs."],
    ],
)
def test_a_difficulty_without_an_answer_is_still_pointed_out(catalogue, notes):
    assert len(remarks_of(catalogue, "difficultes", notes, "difficulty_answered")) == 1


def test_the_feedback_lexicon_is_data_and_every_list_loads():
    from bot.domain import feedback

    lexicon = feedback.default_feedback_lexicon()
    assert set(lexicon.lists) == set(feedback.LEXICON_LISTS)
    assert all(lexicon.lists[name].phrases or lexicon.lists[name].exact or lexicon.lists[name].prefixed
               for name in feedback.LEXICON_LISTS)
    source = (Path(feedback.__file__)).read_text(encoding="utf-8")
    assert "_pattern(" not in source  # the French words live in prompts/report/lexicon.toml
    # lemmas join the forms: one entry, every inflection
    assert feedback.DIFFICULTY.search("les écueils rencontrés") and feedback.ACTION.words.search("nous avons recrutés")
    assert feedback.FIRST_PERSON.search("j'ai organisé") and not feedback.FIRST_PERSON.search("notre équipe a organisé")
