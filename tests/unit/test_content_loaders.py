"""The French word lists and wording of the feedback and of the PDF review, loaded from prompts/.

The ``default_…()`` loaders are cached once per process: these tests call the loaders themselves, on
the project's files and on small ones written as staff would, with the lemma table built in a
temporary folder.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.domain.feedback import LEXICON_LISTS, _participles, load_feedback_lexicon, load_feedback_wording
from bot.domain.ids import SECTION_IDS
from bot.domain.report import CatalogueError
from bot.domain.structure import load_structure_lexicon
from bot.paths import PROMPTS_DIR

# -- the PDF review's structure lexicon ------------------------------------------------------------------


def structure_toml(**extra: str) -> str:
    parts = []
    for section_id in SECTION_IDS:
        body = extra.get(section_id, "heading = []\n")
        parts.append(f"[parts.{section_id}]\n{body}")
    return (
        'content_threshold = 6\nweak_threshold = 2.5\nstopwords = ["les", "cette"]\ngeneric_headings = ["chapitre", "les autres"]\n'
        'contents_markers = ["sommaire", "table des matières"]\nannex_headings = ["annexe", "les pièces"]\n\n' + "\n".join(parts)
    )


SMALL = structure_toml(
    introduction='heading = ["introduction", "les propos"]\nstrong = ["écueil"]\ncues = ["redistribuer", "organisme"]\n',
)


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("structure")
    path = folder / "structure.toml"
    path.write_text(SMALL, encoding="utf-8")
    return path, folder / "cache"


@pytest.fixture
def small(small_file):
    """Loaded by each test (the lemma table is read back from the cache after the first)."""
    path, cache = small_file
    return load_structure_lexicon(path, cache_dir=cache), cache


def test_the_project_structure_lexicon_loads():
    lexicon = load_structure_lexicon()
    assert set(lexicon.parts) == set(SECTION_IDS)
    assert (lexicon.content_threshold, lexicon.weak_threshold) == (5.0, 4.0)
    assert "le" in lexicon.stopwords and "vous" in lexicon.stopwords
    assert ("sommaire",) in lexicon.contents_markers
    assert [c.text for c in lexicon.annex_headings][:2] == ["annexe", "annexes"]
    assert lexicon.parts["annexes"].content == ()
    assert any(c.text == "développement" for c in lexicon.generic)


def test_a_small_structure_lexicon_as_written(small):
    lexicon, cache = small
    assert (lexicon.content_threshold, lexicon.weak_threshold) == (6.0, 2.5)
    assert lexicon.stopwords == frozenset({"le", "ce"})
    intro = lexicon.parts["introduction"]
    assert [(c.text, c.lemmas, c.weight) for c in intro.heading] == [
        ("introduction", ("introduction",), 1.0), ("les propos", ("propos",), 1.0),  # stopwords left out
    ]
    assert [(c.text, c.lemmas, c.weight) for c in intro.content] == [
        ("écueil", ("ecueil",), 2.0), ("redistribuer", ("redistribuer",), 1.0), ("organisme", ("organisme",), 1.0),
    ]
    assert lexicon.parts["role"].heading == () and lexicon.parts["role"].content == ()
    assert [(c.text, c.lemmas) for c in lexicon.generic] == [("chapitre", ("chapitre",)), ("les autres", ("autre",))]
    assert lexicon.contents_markers == frozenset({("sommaire",), ("table", "un", "matiere")})  # "des": the lemma of "un"
    assert [(c.text, c.lemmas) for c in lexicon.annex_headings] == [("annexe", ("annexe",)), ("les pièces", ("piece",))]
    assert list(cache.glob("lemmas-fr-*.json"))  # the table went where it was asked to


def test_each_list_of_the_structure_lexicon_teaches_the_lemmatizer_its_words(small):
    lemmatizer = small[0].lemmatizer
    assert lemmatizer.lemma("chapitres") == "chapitre"  # generic headings
    assert lemmatizer.lemma("sommaires") == "sommaire"  # contents markers
    assert lemmatizer.lemma("annexes") == "annexe"  # annex headings
    assert lemmatizer.lemma("introductions") == "introduction"  # a part's heading
    assert lemmatizer.lemma("écueils") == "écueil"  # strong words
    assert lemmatizer.lemma("redistribuées") == "redistribuer"  # cues
    assert lemmatizer.lemma("ces") == "ce"  # stopwords
    assert small[0].content_lemmas("Les écueils de ces organismes, à") == ("ecueil", "de", "organisme")  # "à": one letter, left out


def test_a_heading_made_only_of_stopwords_keeps_them(tmp_path):
    path = tmp_path / "structure.toml"
    path.write_text(structure_toml(role='heading = ["les"]\n'), encoding="utf-8")
    lexicon = load_structure_lexicon(path, cache_dir=tmp_path / "cache")
    assert [c.lemmas for c in lexicon.parts["role"].heading] == [("le",)]


def test_lists_left_out_are_empty(tmp_path):
    path = tmp_path / "structure.toml"
    parts = "\n".join(f"[parts.{section_id}]\n" for section_id in SECTION_IDS)
    path.write_text(parts, encoding="utf-8")
    lexicon = load_structure_lexicon(path, cache_dir=tmp_path / "cache")
    assert (lexicon.stopwords, lexicon.generic, lexicon.contents_markers, lexicon.annex_headings) == (frozenset(), (), frozenset(), ())
    assert all(part.heading == () and part.content == () for part in lexicon.parts.values())


def test_thresholds_default_to_5_and_3(tmp_path):
    path = tmp_path / "structure.toml"
    path.write_text(re.sub(r"(content|weak)_threshold = \S+\n", "", structure_toml()), encoding="utf-8")
    lexicon = load_structure_lexicon(path, cache_dir=tmp_path / "cache")
    assert (lexicon.content_threshold, lexicon.weak_threshold) == (5.0, 3.0)
    assert isinstance(lexicon.content_threshold, float)


@pytest.mark.parametrize("drop", ["introduction", "annexes"])
def test_parts_must_be_exactly_the_sections(tmp_path, drop):
    path = tmp_path / "structure.toml"
    text = structure_toml().replace(f"[parts.{drop}]\nheading = []\n", "")
    for written in (text, text + "\n[parts.bilan]\nheading = []\n", structure_toml() + "\n[parts.bilan]\nheading = []\n"):
        path.write_text(written, encoding="utf-8")
        with pytest.raises(ValueError) as caught:
            load_structure_lexicon(path, cache_dir=tmp_path / "cache")
        assert str(caught.value) == f"{path}: parts must be exactly the section ids {SECTION_IDS}"


def test_a_structure_file_without_parts_is_refused(tmp_path):
    path = tmp_path / "structure.toml"
    path.write_text("content_threshold = 5\n", encoding="utf-8")
    with pytest.raises(ValueError, match="parts must be exactly the section ids"):
        load_structure_lexicon(path, cache_dir=tmp_path / "cache")


# -- the feedback lexicon --------------------------------------------------------------------------------


def lexicon_toml(**lists: list[str]) -> str:
    entries = {name: ["mot"] for name in LEXICON_LISTS}
    entries.update(lists)
    return "\n".join(f"{name} = {entries[name]!r}".replace("'", '"') for name in LEXICON_LISTS if entries[name] is not None)


def write_lexicon(tmp_path: Path, text: str) -> Path:
    (tmp_path / "report").mkdir(exist_ok=True)
    (tmp_path / "report" / "lexicon.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_past_participles_of_the_verbs():
    assert _participles("organiser") == ["organisé"]
    assert _participles("réunir") == ["réuni"]
    assert _participles("faire") == []
    assert _participles("aller") == ["allé"]
    assert _participles("oser") == ["osé"]
    assert _participles("lier") == ["lié"]
    assert _participles("ier") == []  # too short to be a verb
    assert _participles("mettre en place") == []


def test_the_project_feedback_lexicon_loads_every_list():
    lexicon = load_feedback_lexicon(PROMPTS_DIR)
    assert set(lexicon.lists) == set(LEXICON_LISTS)
    assert lexicon.lists["months"].search("Le 3 février")
    assert lexicon.lists["first_person"].search("J'ai animé la séance")
    assert not lexicon.lists["first_person"].search("L'équipe a animé la séance")


def test_a_small_feedback_lexicon_as_written(tmp_path):
    prompts = write_lexicon(tmp_path, lexicon_toml(action_verbs=["organiser", "réunir", "mettre en place"], tool=["logiciel*", "=Excel"]))
    lexicon = load_feedback_lexicon(prompts, cache_dir=tmp_path / "cache")
    verbs = lexicon.lists["action_verbs"]
    assert verbs.name == "action_verbs"
    assert verbs.search("La réunion organisée par mes soins")  # "organisée": the participle added
    assert verbs.search("les équipes réunies")
    assert verbs.search("il faut mettre en place")
    assert not verbs.search("rien")
    assert lexicon.lists["tool"].search("un logiciel partagé") and lexicon.lists["tool"].search("sous excel")
    assert list((tmp_path / "cache").glob("lemmas-fr-*.json"))
    assert lexicon.lemmatizer.lemma("logiciels") == "logiciel"  # "logiciel*" taught as "logiciel"


def test_a_feedback_lexicon_with_empty_or_missing_lists_names_them(tmp_path):
    prompts = write_lexicon(tmp_path, lexicon_toml(tool=[], annex=None))
    with pytest.raises(CatalogueError) as caught:
        load_feedback_lexicon(prompts, cache_dir=tmp_path / "cache")
    assert str(caught.value) == f"{prompts / 'report' / 'lexicon.toml'}: no words for ['tool', 'annex']"


def test_a_broken_or_missing_lexicon_names_the_file(tmp_path):
    prompts = write_lexicon(tmp_path, 'months = ["janvier"')
    with pytest.raises(CatalogueError, match="^" + re.escape(f"{prompts / 'report' / 'lexicon.toml'}: ") + r"\S"):
        load_feedback_lexicon(prompts, cache_dir=tmp_path / "cache")
    with pytest.raises(CatalogueError, match=r"^" + re.escape(f"{tmp_path / 'x' / 'report' / 'lexicon.toml'}: ") + r"\[Errno 2\]"):
        load_feedback_lexicon(tmp_path / "x", cache_dir=tmp_path / "cache")


# -- the feedback wording --------------------------------------------------------------------------------


def test_the_project_wording_loads():
    wording = load_feedback_wording(PROMPTS_DIR)
    assert wording.kinds["date"] == "des dates"
    assert wording.checks["empty"]["remark"] == "Vous n'avez encore rien noté pour cette partie."
    assert wording.criteria_of("concrete_detail") == ("contexte_situe", "actes_decrits", "role_specifique")
    assert wording.criteria_of("empty") == ()
    assert wording.criteria_of("unknown") == ()


def test_a_wording_without_kinds_or_checks_is_empty(tmp_path):
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "feedback.toml").write_text('[checks.empty]\nremark = "Rien."\n', encoding="utf-8")
    wording = load_feedback_wording(tmp_path)
    assert wording.kinds == {} and wording.checks == {"empty": {"remark": "Rien."}}
    (tmp_path / "report" / "feedback.toml").write_text('[kinds]\ndate = "des dates"\n', encoding="utf-8")
    assert load_feedback_wording(tmp_path).checks == {}


def test_a_broken_or_missing_wording_names_the_file(tmp_path):
    (tmp_path / "report").mkdir()
    path = tmp_path / "report" / "feedback.toml"
    path.write_text("[kinds\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="^" + re.escape(f"{path}: ") + r"\S"):
        load_feedback_wording(tmp_path)
    with pytest.raises(CatalogueError, match="^" + re.escape(f"{tmp_path / 'x' / 'report' / 'feedback.toml'}: ")):
        load_feedback_wording(tmp_path / "x")
