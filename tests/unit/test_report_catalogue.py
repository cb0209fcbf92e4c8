"""The report catalogue as staff edit it: prompts/report/*.toml loaded, checked, refused with a reason.

``default_catalogue()`` is cached once per process, so these tests call ``load_catalogue`` on the
project's own files and on small catalogues written in a temporary folder.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.domain.ids import SECTION_IDS
from bot.domain.report import CatalogueError, load_catalogue
from bot.paths import PROMPTS_DIR

TYPES = """
words_per_page = 300

[types.ua]
label = "Rapport UA"
short_label = "rapport UA"
page_limit = 8
limit_wording = "moins de 8 pages"
max_body_pages = 7

[types.ua.budget]
introduction = 0.5
actes = 1.5

[types.stage]
label = "Rapport de stage"
short_label = "rapport de stage"
page_limit = 15
limit_wording = "une quinzaine de pages"
min_body_pages = 12
max_body_pages = 18

[types.stage.budget]
introduction = 1
actes = 3
"""

GRID = """
source = "certifier"
title = "Fiche navette"
intro = "La grille du certificateur."
verdicts = ["validé", "non validé"]

[source_notes]
bot = "Grille du bot."
certifier = "Grille du certificateur."

[[criteria]]
id = "choix_argumente"
label = "Choix argumenté"
description = "Le choix est argumenté."
sections = ["choix"]

[[criteria]]
id = "traces"
label = "Traces"
description = "Les traces sont en annexe."
sections = ["actes", "annexes"]

[[criteria]]
id = "forme"
label = "Forme"
description = "Le rapport est lisible."
"""


def sections_toml(ids=SECTION_IDS, extra: dict[str, str] | None = None) -> str:
    """A sections.toml listing ``ids``, each with a title; ``extra`` adds lines to a section."""
    extra = extra or {}
    blocks = ['[[parts]]\nid = "choisir"\ntitle = "1. Le choix"\n', '[[parts]]\nid = "decrire"\ntitle = "2. La pratique"\n']
    for section_id in ids:
        blocks.append(f'[[sections]]\nid = "{section_id}"\ntitle = "Titre {section_id}"\n{extra.get(section_id, "")}')
    return "\n".join(blocks)


def write(tmp_path: Path, *, types: str = TYPES, sections: str | None = None, grid: str | None = GRID) -> Path:
    report = tmp_path / "report"
    report.mkdir(exist_ok=True)
    (report / "types.toml").write_text(types, encoding="utf-8")
    (report / "sections.toml").write_text(sections if sections is not None else sections_toml(), encoding="utf-8")
    if grid is not None:
        (report / "grid.toml").write_text(grid, encoding="utf-8")
    return tmp_path


def refused(prompts: Path, message: str) -> None:
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(prompts)
    assert str(caught.value) == message


# --- the project's own catalogue ----------------------------------------------------------------


def test_the_project_catalogue_loads_with_its_types_budgets_and_sections():
    catalogue = load_catalogue(PROMPTS_DIR)
    assert catalogue.words_per_page == 450
    ua, stage = catalogue.report_type("ua"), catalogue.report_type("stage")
    assert (ua.id, ua.label, ua.short_label) == ("ua", "Rapport d'activité de l'unité d'activité (UA)", "rapport d'activité UA")
    assert (ua.page_limit, ua.max_body_pages, ua.min_body_pages) == (8, 7, 0)
    assert ua.limit_wording == "moins de 8 pages, annexes non comptées par le bot"
    assert (stage.page_limit, stage.max_body_pages, stage.min_body_pages) == (15, 18, 12)
    # the internship budgets add up to the limit exactly: allowed
    assert sum(stage.budget.values()) == stage.page_limit
    assert ua.budget["actes"] == 1.5 and isinstance(ua.budget["actes"], float)
    assert ua.pages_for("annexes") == 0.0
    assert catalogue.target_words("stage", "actes") == 3 * 450
    assert catalogue.target_words("ua", "contexte") == round(0.75 * 450)
    assert tuple(s.id for s in catalogue.sections) == SECTION_IDS
    assert [p.id for p in catalogue.parts] == ["choisir", "decrire", "commenter"]
    assert catalogue.part("decrire").title == "2. La pratique décrite"


def test_the_project_sections_carry_their_texts_questions_and_checks():
    catalogue = load_catalogue(PROMPTS_DIR)
    intro = catalogue.section("introduction")
    assert intro.title == "Introduction"
    assert intro.part is None
    assert intro.purpose.startswith("Présenter en quelques lignes qui vous êtes")
    assert intro.good_answer[0] == "votre parcours et votre fonction actuelle, en une ou deux phrases"
    assert intro.checks == ("empty", "length", "intro_announces_plan")
    assert [q.id for q in intro.questions] == ["parcours", "pratique", "annonce"]
    assert intro.question("annonce").text == "Comment allez-vous annoncer au lecteur l'ordre de votre rapport ?"
    assert intro.raw["id"] == "introduction"
    assert catalogue.section("choix").part == "choisir"


def test_the_project_grid_is_the_bots_working_grid():
    grid = load_catalogue(PROMPTS_DIR).grid
    assert grid is not None
    assert grid.title == "Grille de travail du bot"
    assert grid.source == "bot" and not grid.is_certifiers
    assert grid.source_note.startswith("Ces critères sont la grille de travail du bot")
    assert grid.intro.startswith("Le tuteur s'appuie sur une grille d'évaluation")
    assert grid.verdicts == ("validé", "non validé")
    contexte = grid.criterion("contexte_situe")
    assert contexte.label == "Contexte situé"
    assert contexte.sections == ("contexte", "choix")
    assert contexte.description.startswith("La structure, le dispositif")
    assert [c.id for c in grid.criteria_for("choix")][:2] == ["choix_argumente", "contexte_situe"]


def test_lookups_of_unknown_ids_raise_key_error():
    catalogue = load_catalogue(PROMPTS_DIR)
    for lookup in (catalogue.section, catalogue.part, catalogue.report_type, catalogue.grid.criterion,
                   catalogue.section("introduction").question):
        with pytest.raises(KeyError) as caught:
            lookup("inconnu")
        assert caught.value.args == ("inconnu",)  # the id asked for, to say what is missing


# --- a catalogue written by staff -----------------------------------------------------------------


def test_a_small_catalogue_loads_as_written(tmp_path):
    catalogue = load_catalogue(write(tmp_path))
    assert catalogue.words_per_page == 300
    ua = catalogue.report_type("ua")
    assert ua.budget == {"introduction": 0.5, "actes": 1.5}
    assert catalogue.report_type("stage").budget == {"introduction": 1.0, "actes": 3.0}
    assert catalogue.target_words("ua", "actes") == 450
    assert catalogue.section("role").title == "Titre role"
    assert catalogue.section("role").purpose == ""
    assert catalogue.section("role").good_answer == () and catalogue.section("role").checks == ()
    assert catalogue.section("role").questions == ()
    assert [(p.id, p.title) for p in catalogue.parts] == [("choisir", "1. Le choix"), ("decrire", "2. La pratique")]


def test_a_certifiers_grid_is_loaded_with_its_own_note(tmp_path):
    grid = load_catalogue(write(tmp_path)).grid
    assert grid.is_certifiers
    assert (grid.title, grid.intro) == ("Fiche navette", "La grille du certificateur.")
    assert grid.source_note == "Grille du certificateur."
    assert grid.verdicts == ("validé", "non validé")
    assert [c.id for c in grid.criteria] == ["choix_argumente", "traces", "forme"]
    assert grid.criterion("traces").sections == ("actes", "annexes")
    assert grid.criterion("forme").sections == ()
    assert grid.criterion("forme").description == "Le rapport est lisible."
    assert [c.id for c in grid.criteria_for("annexes")] == ["traces"]
    assert grid.criteria_for("role") == ()


def test_a_grid_without_source_title_or_notes_is_the_bots_grid_with_empty_texts(tmp_path):
    grid_text = GRID.replace('source = "certifier"\n', "").replace('title = "Fiche navette"\n', "")
    grid_text = grid_text.replace('intro = "La grille du certificateur."\n', "").replace('verdicts = ["validé", "non validé"]\n', "")
    grid_text = re.sub(r"\[source_notes\]\n(.*\n){2}", "", grid_text)
    grid = load_catalogue(write(tmp_path, grid=grid_text)).grid
    assert grid.source == "bot" and not grid.is_certifiers
    assert (grid.title, grid.intro, grid.source_note, grid.verdicts) == ("", "", "", ())


def test_a_grid_note_is_the_one_of_its_source(tmp_path):
    grid = load_catalogue(write(tmp_path, grid=GRID.replace('source = "certifier"', 'source = "bot"'))).grid
    assert grid.source_note == "Grille du bot."


def test_without_grid_file_there_is_no_grid(tmp_path):
    assert load_catalogue(write(tmp_path, grid=None)).grid is None


def test_a_grid_without_criteria_has_none(tmp_path):
    assert load_catalogue(write(tmp_path, grid='title = "Vide"\n')).grid.criteria == ()


def test_body_page_band_defaults_to_the_page_limit_and_zero(tmp_path):
    types = TYPES.replace("max_body_pages = 7\n", "").replace("min_body_pages = 12\n", "")
    catalogue = load_catalogue(write(tmp_path, types=types))
    assert catalogue.report_type("ua").max_body_pages == 8
    assert catalogue.report_type("stage").min_body_pages == 0


def test_words_per_page_defaults_to_450(tmp_path):
    catalogue = load_catalogue(write(tmp_path, types=TYPES.replace("words_per_page = 300\n", "")))
    assert catalogue.words_per_page == 450


def test_a_type_without_budget_has_an_empty_budget(tmp_path):
    types = TYPES.replace("[types.ua.budget]\nintroduction = 0.5\nactes = 1.5\n", "")
    ua = load_catalogue(write(tmp_path, types=types)).report_type("ua")
    assert ua.budget == {} and ua.pages_for("actes") == 0.0


def test_a_section_with_its_part_questions_and_checks(tmp_path):
    extra = {
        "choix": 'part = "choisir"\npurpose = "Argumenter."\ngood_answer = ["la mission"]\nchecks = ["empty"]\n'
        '[[sections.questions]]\nid = "mission"\ntext = "Quelle mission ?"\n'
        '[[sections.questions]]\nid = "pourquoi"\ntext = "Pourquoi ?"\n'
    }
    choix = load_catalogue(write(tmp_path, sections=sections_toml(extra=extra))).section("choix")
    assert choix.part == "choisir"
    assert choix.purpose == "Argumenter."
    assert choix.good_answer == ("la mission",)
    assert choix.checks == ("empty",)
    assert [(q.id, q.text) for q in choix.questions] == [("mission", "Quelle mission ?"), ("pourquoi", "Pourquoi ?")]
    assert choix.raw["purpose"] == "Argumenter."


# --- what staff get wrong, refused with its reason ------------------------------------------------


def test_sections_out_of_order_are_refused(tmp_path):
    order = ("choix", "introduction") + SECTION_IDS[2:]
    refused(
        write(tmp_path, sections=sections_toml(order)),
        f"sections.toml must list the sections {SECTION_IDS} in order, found {order}",
    )


def test_a_missing_section_is_refused(tmp_path):
    refused(
        write(tmp_path, sections=sections_toml(SECTION_IDS[:-1])),
        f"sections.toml must list the sections {SECTION_IDS} in order, found {SECTION_IDS[:-1]}",
    )


def test_no_sections_at_all_is_refused(tmp_path):
    refused(write(tmp_path, sections=""), f"sections.toml must list the sections {SECTION_IDS} in order, found ()")


def test_a_budget_naming_an_unknown_section_is_refused(tmp_path):
    types = TYPES.replace("introduction = 0.5", "intro = 0.5\nfin = 0.5")
    refused(write(tmp_path, types=types), "types.ua.budget names unknown sections ['fin', 'intro']")


def test_budgets_over_the_page_limit_are_refused(tmp_path):
    types = TYPES.replace("actes = 3\n", "actes = 14.5\n")
    refused(write(tmp_path, types=types), "types.stage: the section budgets exceed the page limit")


def test_a_missing_or_extra_report_type_is_refused(tmp_path):
    only_ua = TYPES.split("[types.stage]")[0]
    refused(write(tmp_path, types=only_ua), "types.toml must define exactly ('ua', 'stage')")
    extra = TYPES + '\n[types.vae]\nlabel = "VAE"\nshort_label = "VAE"\npage_limit = 30\nlimit_wording = "30"\n'
    refused(write(tmp_path, types=extra), "types.toml must define exactly ('ua', 'stage')")
    refused(write(tmp_path, types="words_per_page = 450\n"), "types.toml must define exactly ('ua', 'stage')")


def test_duplicate_question_ids_are_refused(tmp_path):
    extra = {"role": '[[sections.questions]]\nid = "q"\ntext = "A ?"\n[[sections.questions]]\nid = "q"\ntext = "B ?"\n'}
    refused(write(tmp_path, sections=sections_toml(extra=extra)), "section role: duplicate question ids ['q', 'q']")


def test_an_unknown_part_is_refused(tmp_path):
    extra = {"role": 'part = "analyser"\n'}
    refused(write(tmp_path, sections=sections_toml(extra=extra)), "section role: unknown part 'analyser'")


def test_a_grid_criterion_naming_an_unknown_section_is_refused(tmp_path):
    grid = GRID.replace('sections = ["actes", "annexes"]', 'sections = ["actes", "bilan", "annexe"]')
    refused(write(tmp_path, grid=grid), "grid criterion traces names unknown sections ['annexe', 'bilan']")


def test_duplicate_grid_criteria_are_refused(tmp_path):
    refused(write(tmp_path, grid=GRID.replace('id = "forme"', 'id = "traces"')), "grid.toml: duplicate criterion ids")


def test_a_grid_source_other_than_bot_or_certifier_is_refused(tmp_path):
    grid = GRID.replace('source = "certifier"', 'source = "Certifier"')
    refused(write(tmp_path, grid=grid), "grid.toml: source must be 'bot' or 'certifier', not 'Certifier'")


def test_a_malformed_or_missing_file_names_the_file(tmp_path):
    prompts = write(tmp_path, types=TYPES.replace('label = "Rapport UA"', 'label = "Rapport UA'))
    with pytest.raises(CatalogueError, match=re.escape(str(prompts / "report" / "types.toml")) + r": \S"):
        load_catalogue(prompts)
    shutil.rmtree(prompts / "report")
    with pytest.raises(CatalogueError, match="^" + re.escape(str(prompts / "report" / "types.toml")) + r": \[Errno 2\]"):
        load_catalogue(prompts)
