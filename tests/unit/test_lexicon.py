"""French words as lemmas (bot/domain/lexicon.py), on French as auditeurs write it.

The lemma table is built here from simplemma in a temporary cache folder (once for the module), so
the building and the caching are tested, not only a table left on disk by an earlier run.
"""

from __future__ import annotations

import json

import pytest

from bot.domain.lexicon import (
    Cue,
    Lemmatizer,
    WordList,
    _lemmas_of,
    cues_of,
    find_cues,
    folded_lemmas,
    lemma_cache_dir,
    strip_accents,
    words,
)

VOCABULARY = ["redistribuer", "écueil", "coordinateur", "organiser la réunion", "mettre en place", "difficulté"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("lemmas")


@pytest.fixture(scope="module")
def lemmatizer(cache) -> Lemmatizer:
    return Lemmatizer(VOCABULARY, cache_dir=cache)


def test_accents_ligatures_and_capitals_folded():
    assert strip_accents("Écueils rencontrés") == "Ecueils rencontres"
    assert strip_accents("œuvre") == "oeuvre"
    assert strip_accents("Œuvre") == "oeuvre"
    assert strip_accents("curriculum vitæ") == "curriculum vitae"
    assert strip_accents("ça, où, là, île, naïf") == "ca, ou, la, ile, naif"
    assert strip_accents("plain ascii") == "plain ascii"


def test_words_are_lower_case_with_elisions_expanded():
    assert words("J'ai coordonné l’équipe") == ["je", "ai", "coordonné", "le", "équipe"]
    assert words("C'est d'abord qu'il m'a dit : n'hésite pas, t'es là") == [
        "ce", "est", "de", "abord", "que", "il", "me", "a", "dit", "ne", "hésite", "pas", "te", "es", "là",
    ]
    assert words("S'il vient jusqu'à 18h, lorsqu'on sait puisqu'elle") == [
        "se", "il", "vient", "jusque", "à", "h", "lorsque", "on", "sait", "puisque", "elle",
    ]
    assert words("L'ÉQUIPE du 1er mars, 2 ans_plus") == ["le", "équipe", "du", "er", "mars", "ans", "plus"]


def test_the_cache_folder_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert lemma_cache_dir() == tmp_path / "coachbot"
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert lemma_cache_dir() == tmp_path / "home" / ".cache" / "coachbot"


def test_inflected_forms_have_the_lexicons_lemma(lemmatizer):
    assert lemmatizer.lemma("redistribué") == "redistribuer"
    assert lemmatizer.lemma("redistribuées") == "redistribuer"
    assert lemmatizer.lemma("écueils") == "écueil"
    assert lemmatizer.lemma("coordinatrice") == "coordinateur"
    assert lemmatizer.lemma("réunions") == "réunion"
    assert lemmatizer.lemma("les") == "le"


def test_a_word_typed_without_its_accents_still_has_its_lemma(lemmatizer):
    assert lemmatizer.lemma("ecueils") == "écueil"
    assert lemmatizer.lemma("ecueil") == "écueil"
    assert lemmatizer.lemma("difficulte") == "difficulté"
    assert lemmatizer.lemma("reunions") == "réunion"


def test_any_other_word_is_its_own_lemma(lemmatizer):
    assert lemmatizer.lemma("tuteur") == "tuteur"
    assert lemmatizer.lemmas("Mes écueils, coordinatrice") == ["mes", "écueil", "coordinateur"]


def test_the_table_is_cached_on_disk_and_read_back(cache, lemmatizer):
    files = list(cache.glob("lemmas-fr-*.json"))
    assert len(files) == 1 and len(files[0].stem) == len("lemmas-fr-") + 16
    table = json.loads(files[0].read_text(encoding="utf-8"))
    assert table["écueils"] == "écueil" and table["redistribuer"] == "redistribuer"
    # the next process reads the file instead of building it again
    files[0].write_text(json.dumps({"écueils": "obstacle"}), encoding="utf-8")
    try:
        assert Lemmatizer(VOCABULARY, cache_dir=cache).lemma("écueils") == "obstacle"
    finally:
        files[0].write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
    # another vocabulary has a table of its own
    assert Lemmatizer(["tuteur"], cache_dir=cache).lemma("tuteurs") == "tuteur"
    assert len(list(cache.glob("lemmas-fr-*.json"))) == 2
    assert not list(cache.glob("*.tmp"))


def test_a_broken_cache_file_is_rebuilt(cache, lemmatizer):
    path = next(p for p in cache.glob("lemmas-fr-*.json") if "écueils" in p.read_text(encoding="utf-8"))
    original = path.read_text(encoding="utf-8")
    path.write_text("{not json", encoding="utf-8")
    try:
        assert Lemmatizer(VOCABULARY, cache_dir=cache).lemma("coordinatrices") == "coordinateur"
        assert json.loads(path.read_text(encoding="utf-8"))["coordinatrices"] == "coordinateur"
    finally:
        path.write_text(original, encoding="utf-8")


def test_an_unwritable_cache_still_gives_lemmas(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("", encoding="utf-8")
    assert Lemmatizer(["écueil"], cache_dir=blocked / "sub").lemma("écueils") == "écueil"


def test_cues_are_folded_lemmas_with_their_weight(lemmatizer):
    cues = cues_of(["Écueils", "", "organiser la réunion", "?!"], lemmatizer, weight=2.0)
    assert cues == (Cue("Écueils", ("ecueil",), 2.0), Cue("organiser la réunion", ("organiser", "le", "reunion"), 2.0))
    assert cues_of(["écueil"], lemmatizer)[0].weight == 1.0
    assert folded_lemmas("Les écueils", lemmatizer) == ("le", "ecueil")


def test_a_phrase_cue_is_found_only_with_its_words_in_a_row(lemmatizer):
    cues = cues_of(["organiser la réunion", "écueil"], lemmatizer)
    in_a_row = folded_lemmas("J'ai organisé la réunion, sans écueils", lemmatizer)
    assert [c.text for c in find_cues(in_a_row, cues)] == ["organiser la réunion", "écueil"]
    apart = folded_lemmas("La réunion que j'ai dû organiser", lemmatizer)
    assert find_cues(apart, cues) == []
    assert find_cues(folded_lemmas("Une réunion", lemmatizer), cues) == []
    at_the_end = folded_lemmas("Enfin organiser la réunion", lemmatizer)
    assert [c.text for c in find_cues(at_the_end, cues)] == ["organiser la réunion"]


def test_a_word_list_matches_by_lemma_exact_word_or_prefix(lemmatizer):
    wordlist = WordList("test", ["écueil", "=CE", "coordin*", "mettre en place", "mise en œuvr*", "", "*"], lemmatizer)
    assert wordlist.name == "test"
    assert wordlist.search("Les ÉCUEILS rencontrés")
    assert wordlist.search("ecueils")
    assert wordlist.search("ce jour-là") and not wordlist.search("ces jours-là")  # "=ce": that word only
    assert wordlist.search("la coordination") and wordlist.search("Coordinatrice")
    assert not wordlist.search("une incoordination")
    assert wordlist.search("il faut mettre en place") and not wordlist.search("mettre la place en")
    assert wordlist.search("la mise en oeuvre du projet") and wordlist.search("Mise en œuvres")
    assert not wordlist.search("la mise est en oeuvre")
    assert not wordlist.search("en oeuvre")
    assert not wordlist.search("rien à voir")
    assert wordlist.phrases == [("ecueil",), ("mettre", "en", "place")]
    assert wordlist.exact == {"ce"}
    assert wordlist.prefixed == [((), "coordin"), (("mise", "en"), "oeuvr")]


def test_positions_of_the_single_word_entries(lemmatizer):
    wordlist = WordList("test", ["écueil", "=ce", "coordin*", "mise en oeuvr*"], lemmatizer)
    text = "Ce coordinateur a vu des écueils, la mise en oeuvre"
    assert wordlist.surface(text) == ("ce", "coordinateur", "a", "vu", "des", "ecueils", "la", "mise", "en", "oeuvre")
    assert wordlist.lemma_positions(text) == [0, 1, 5]
    assert WordList("sans", ["écueil"], lemmatizer).lemma_positions("Coordinateur, écueil") == [1]


def test_lemmas_of_a_text_are_remembered_then_forgotten_past_8192(lemmatizer, monkeypatch):
    from bot.domain import lexicon

    monkeypatch.setattr(lexicon, "_LEMMAS_CACHE", {})
    assert _lemmas_of("Les écueils", lemmatizer) == ("le", "ecueil")
    assert lexicon._LEMMAS_CACHE[(id(lemmatizer), "Les écueils")] == ("le", "ecueil")
    for n in range(8191):
        lexicon._LEMMAS_CACHE[(0, str(n))] = ()
    _lemmas_of("écueil", lemmatizer)  # 8192 texts remembered: one more is kept
    assert len(lexicon._LEMMAS_CACHE) == 8193
    _lemmas_of("réunion", lemmatizer)  # past 8192: the cache starts again
    assert lexicon._LEMMAS_CACHE == {(id(lemmatizer), "réunion"): ("reunion",)}
