"""The /experience self-check as data (prompts/experience.toml), and the edges of its rule.

``default_experience_content()`` is cached once per process: these tests call the loader itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.domain.experience import (
    NO,
    YES,
    Choice,
    decide,
    load_experience_content,
    question_for,
    validate_answer,
)
from bot.domain.report import CatalogueError
from bot.paths import PROMPTS_DIR

SMALL = """
title = "Expérience"
intro = "Quelques questions."

[[questions]]
id = "functions"
kind = "yes_no"
text = "Fonctions ?"

[[questions]]
id = "activities"
kind = "yes_no"
text = "Activités ?"

[[questions]]
id = "years_total"
kind = "choice"
text = "Années en tout ?"
choices = [{ value = "0", label = "Moins d'un an" }, { value = "3", label = "3 ans ou plus" }]

[[questions]]
id = "years_specialty"
kind = "choice"
text = "Dans la spécialité ?"
choices = [{ value = "0", label = "Moins d'un an" }, { value = "2", label = "2 ans ou plus" }]

[[questions]]
id = "entered_during_training"
kind = "yes_no"
text = "Entré·e pendant la formation ?"

[answers]
yes = "Oui !"
no = "Non !"

[outcomes.ua]
title = "Rapport UA"

[outcomes.stage]
title = "Stage"

[outcomes]
confirm_with_tutor = "À confirmer."

[reasons]
in_field = "Dans le champ."
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "experience.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_the_project_content_loads_with_its_questions_and_wording():
    content = load_experience_content(PROMPTS_DIR)
    assert content.title == "Votre expérience professionnelle"
    assert content.intro.startswith("Quelques questions pour savoir quel rapport vous devez rédiger.")
    assert [q.id for q in content.questions] == ["functions", "activities", "years_total", "years_specialty", "entered_during_training"]
    functions = content.question("functions")
    assert functions.kind == "yes_no"
    assert functions.text.startswith("Exercez-vous, ou avez-vous exercé, l'une de ces fonctions")
    assert functions.choices == (Choice("yes", "Oui"), Choice("no", "Non"))
    total = content.question("years_total")
    assert total.kind == "choice"
    assert total.choices[0] == Choice("0", "Moins d'un an") and total.choices[-1] == Choice("3", "3 ans ou plus")
    assert content.answer_labels == {"yes": "Oui", "no": "Non"}
    assert set(content.outcomes) == {"ua", "stage"}
    assert content.outcomes["stage"]["title"] == "Vous effectuez un stage et rédigez un rapport de stage"
    assert content.confirm_with_tutor == "Votre situation est à confirmer avec votre tuteur lors du premier rendez-vous."
    assert content.reasons["total_short"] == "L'expérience requise est de trois années au total."


def test_a_content_written_by_staff_is_loaded_as_written(tmp_path):
    content = load_experience_content(write(tmp_path, SMALL))
    assert (content.title, content.intro) == ("Expérience", "Quelques questions.")
    assert content.question("entered_during_training").choices == (Choice(YES, "Oui !"), Choice(NO, "Non !"))
    assert content.question("years_specialty").choices == (Choice("0", "Moins d'un an"), Choice("2", "2 ans ou plus"))
    assert content.question("activities").text == "Activités ?"
    assert content.outcomes == {"ua": {"title": "Rapport UA"}, "stage": {"title": "Stage"}}  # the note is not an outcome
    assert content.confirm_with_tutor == "À confirmer."
    assert content.reasons == {"in_field": "Dans le champ."}
    with pytest.raises(KeyError) as caught:
        content.question("age")
    assert caught.value.args == ("age",)


def test_questions_in_another_order_are_refused(tmp_path):
    swapped = SMALL.replace('id = "functions"', 'id = "tmp"').replace('id = "activities"', 'id = "functions"').replace('id = "tmp"', 'id = "activities"')
    prompts = write(tmp_path, swapped)
    with pytest.raises(CatalogueError) as caught:
        load_experience_content(prompts)
    assert str(caught.value) == (
        f"{prompts / 'experience.toml'}: the questions must be ('functions', 'activities', 'years_total', "
        "'years_specialty', 'entered_during_training') in this order"
    )


def test_a_broken_or_missing_file_names_it(tmp_path):
    prompts = write(tmp_path, SMALL.replace('title = "Expérience"', 'title = "Expérience'))
    with pytest.raises(CatalogueError, match="^" + re.escape(f"{prompts / 'experience.toml'}: ") + r"\S"):
        load_experience_content(prompts)
    with pytest.raises(CatalogueError, match="^" + re.escape(f"{tmp_path / 'none' / 'experience.toml'}: ") + r"\[Errno 2\]"):
        load_experience_content(tmp_path / "none")


# -- the rule's edges ---------------------------------------------------------------------------------


def test_two_years_in_the_specialty_is_enough_for_the_specialty_even_when_short_in_all():
    outcome = decide({"functions": YES, "years_total": "2", "years_specialty": "2"})
    assert outcome.reasons == ("in_field", "experience_in_progress", "total_short")
    assert outcome.confirm_with_tutor


def test_out_of_field_entered_during_training_with_three_years_is_not_short():
    outcome = decide({"functions": NO, "activities": NO, "years_total": "3", "entered_during_training": YES})
    assert outcome.reasons == ("out_of_field", "entered_during_training")
    assert (outcome.report_type, outcome.confirm_with_tutor) == ("ua", True)


def test_an_incomplete_or_impossible_self_check_is_an_error():
    with pytest.raises(ValueError, match="^the self-check is not complete$"):
        decide({"functions": YES, "years_total": "3"})
    with pytest.raises(ValueError, match="^more years in the specialty than in all$"):
        decide({"functions": YES, "years_total": "1", "years_specialty": "2"})


def test_years_in_the_specialty_offered_never_exceed_the_years_in_all():
    content = load_experience_content(PROMPTS_DIR)
    specialty = content.question("years_specialty")
    assert [c.value for c in question_for(specialty, {"years_total": "1"}).choices] == ["0", "1"]
    assert question_for(specialty, {}) == specialty  # years in all not answered yet: every choice
    # only the years in the specialty are narrowed, whatever else was answered
    total = content.question("years_total")
    assert question_for(total, {"years_total": "0"}) == total
    with pytest.raises(ValueError, match=r"^'2' is not an answer to years_specialty$"):
        validate_answer(specialty, "2", {"years_total": "1"})
    assert validate_answer(specialty, "1", {"years_total": "1"}) == "1"
