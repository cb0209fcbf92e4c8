"""French words as lemmas: the shared engine behind the PDF review and the coach's feedback.

Both read French text by meaning rather than by fixed phrases: the text is cut into words, each word
is reduced to its lemma ("redistribué" -> "redistribuer", "écueils" -> "écueil", "coordinatrice" ->
"coordinateur") with **simplemma** (a maintained, pure-Python lemmatiser with a French dictionary of
~250 000 forms), and matched against word lists kept as data in ``prompts/report/``.

Why simplemma (measured on this machine, see the issue-16 note): importing it costs ~75 ms and its
French dictionary ~0.3-1 s to load, then ~1 µs per word; spaCy's ``fr_core_news_sm`` loads in
seconds and brings a 15 MB model, for lemmas of the same quality on this vocabulary. The load time
still matters for ``coachbot review`` (a one-shot process), so the lexicon keeps only the part of the
dictionary it can use: every form whose lemma is a word of the lexicon. That table (a few thousand
forms) is built once from simplemma's dictionary and cached on disk (``lemma_cache_dir()``); any
other word is its own lemma, which gives the same matches as looking it up.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
ELISIONS: dict[str, str] = {
    "j": "je",
    "l": "le",
    "d": "de",
    "m": "me",
    "n": "ne",
    "s": "se",
    "t": "te",
    "c": "ce",
    "qu": "que",
    "jusqu": "jusque",
    "lorsqu": "lorsque",
    "puisqu": "puisque",
}
_TABLE_VERSION = "1"


@lru_cache(maxsize=1 << 16)  # called once per word of a draft: words repeat
def strip_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The words of ``text``, lower case, elided forms expanded ("j'ai" -> ["je", "ai"])."""
    return [ELISIONS.get(w, w) for w in WORD.findall(text.replace("’", "'").lower())]


def lemma_cache_dir() -> Path:
    """Where the lemma table is cached: ``$XDG_CACHE_HOME/coachbot`` (default ``~/.cache/coachbot``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "coachbot"


def _dictionary_stamp() -> str:
    """Identifies simplemma's French dictionary (size and mtime), without importing simplemma."""
    from importlib.util import find_spec

    spec = find_spec("simplemma")
    if spec is None or not spec.origin:
        raise RuntimeError("simplemma is not installed")
    data = Path(spec.origin).parent / "strategies" / "dictionaries" / "data" / "fr.plzma"
    stat = data.stat()
    return f"{stat.st_size}:{int(stat.st_mtime)}"


def _full_lemma(word: str) -> str:
    import simplemma  # loaded only to build the table

    return simplemma.lemmatize(word, lang="fr").lower()


def _build_table(lemmas: frozenset[str]) -> dict[str, str]:
    from simplemma.strategies.dictionaries import DefaultDictionaryFactory

    dictionary = DefaultDictionaryFactory().get_dictionary("fr")
    folded_lemmas = {strip_accents(l): l for l in lemmas}
    table: dict[str, str] = {}
    for form, lemma in dictionary.items():
        lemma = lemma.lower()
        key = strip_accents(lemma)
        if key in folded_lemmas:
            table[form.lower()] = folded_lemmas[key]
    return table


class Lemmatizer:
    """Lemmas of words, restricted to the ones a lexicon uses (see the module docstring)."""

    def __init__(self, vocabulary: Iterable[str], *, cache_dir: Path | None = None):
        vocabulary = sorted({w for v in vocabulary for w in words(v)})
        self._table = self._load(vocabulary, cache_dir)
        self._folded = {strip_accents(k): v for k, v in self._table.items()}
        self._folded.update({strip_accents(k): v for k, v in self._table.items() if k == v})

    def _load(self, vocabulary: list[str], cache_dir: Path | None) -> dict[str, str]:
        digest = hashlib.sha256("\n".join([_TABLE_VERSION, _dictionary_stamp(), *vocabulary]).encode()).hexdigest()[:16]
        directory = cache_dir if cache_dir is not None else lemma_cache_dir()
        path = directory / f"lemmas-fr-{digest}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
        lemmas = frozenset(_full_lemma(w) for w in vocabulary)
        table = _build_table(lemmas)
        # the lexicon's own words map to their lemma even when simplemma's table lacks the form
        for word in vocabulary:
            table.setdefault(word, _full_lemma(word))
        for lemma in lemmas:
            table.setdefault(lemma, lemma)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
            temporary.replace(path)
        except OSError:
            pass  # a read-only home: the table is rebuilt by the next process
        return table

    def lemma(self, word: str) -> str:
        found = self._table.get(word)
        if found is not None:
            return found
        return self._folded.get(strip_accents(word), word)

    def lemmas(self, text: str) -> list[str]:
        return [self.lemma(w) for w in words(text)]


@dataclass(frozen=True)
class Cue:
    """A word or phrase of the lexicon, as lemmas; a phrase matches its lemmas in a row."""

    text: str
    lemmas: tuple[str, ...]
    weight: float = 1.0


def cues_of(texts: Iterable[str], lemmatizer: Lemmatizer, weight: float = 1.0) -> tuple[Cue, ...]:
    result = []
    for text in texts:
        lemmas = tuple(strip_accents(l) for l in lemmatizer.lemmas(text))
        if lemmas:
            result.append(Cue(text, lemmas, weight))
    return tuple(result)


def folded_lemmas(text: str, lemmatizer: Lemmatizer) -> tuple[str, ...]:
    """Lemmas without accents: "Écueils" and "ecueil" compare equal."""
    return tuple(strip_accents(l) for l in lemmatizer.lemmas(text))


def find_cues(lemmas: tuple[str, ...], cues: Iterable[Cue]) -> list[Cue]:
    """The cues present in a lemma sequence (each once)."""
    found = []
    present = set(lemmas)
    for cue in cues:
        if len(cue.lemmas) == 1:
            if cue.lemmas[0] in present:
                found.append(cue)
            continue
        if not set(cue.lemmas) <= present:
            continue
        n = len(cue.lemmas)
        if any(lemmas[i : i + n] == cue.lemmas for i in range(len(lemmas) - n + 1)):
            found.append(cue)
    return found


@lru_cache(maxsize=8192)
def _surface(text: str) -> tuple[str, ...]:
    return tuple(strip_accents(w) for w in words(text))


class WordList:
    """A list of words and phrases of ``prompts/`` matched by lemma (see prompts/report/lexicon.toml).

    Entries: a word or phrase (its lemmas in a row), ``"mot*"`` (surface words starting with "mot",
    the last word of a phrase may be one), ``"=mot"`` (that exact surface word). ``search(text)``
    mirrors ``re.Pattern.search`` for the checks: truthy when an entry is in the text.
    """

    def __init__(self, name: str, entries: Iterable[str], lemmatizer: Lemmatizer):
        self.name = name
        self._lemmatizer = lemmatizer
        self.phrases: list[tuple[str, ...]] = []
        self.exact: set[str] = set()
        self.prefixed: list[tuple[tuple[str, ...], str]] = []  # (surface words before, prefix of the last)
        for entry in entries:
            if entry.startswith("="):
                self.exact.add(strip_accents(entry[1:].lower()))
            elif entry.endswith("*"):
                surface = tuple(strip_accents(w) for w in words(entry[:-1]))
                if surface:
                    self.prefixed.append((surface[:-1], surface[-1]))
            else:
                lemmas = folded_lemmas(entry, lemmatizer)
                if lemmas:
                    self.phrases.append(lemmas)
        self._single = {p[0] for p in self.phrases if len(p) == 1}
        self._multi = [p for p in self.phrases if len(p) > 1]

    def lemmas(self, text: str) -> tuple[str, ...]:
        return _lemmas_of(text, self._lemmatizer)

    @staticmethod
    def surface(text: str) -> tuple[str, ...]:
        """The words as written (folded), position for position with ``lemmas``."""
        return _surface(text)

    def search(self, text: str) -> bool:
        lemmas = self.lemmas(text)
        if self._single.intersection(lemmas):
            return True
        surface = _surface(text)
        if self.exact.intersection(surface):
            return True
        for phrase in self._multi:
            n = len(phrase)
            if set(phrase) <= set(lemmas) and any(lemmas[i : i + n] == phrase for i in range(len(lemmas) - n + 1)):
                return True
        for before, prefix in self.prefixed:
            n = len(before)
            for i in range(n, len(surface)):
                if surface[i].startswith(prefix) and surface[i - n : i] == before:
                    return True
        return False

    def lemma_positions(self, text: str) -> list[int]:
        """Positions (in ``lemmas(text)``) of the single-word entries found, by lemma or as written."""
        prefixes = tuple(prefix for before, prefix in self.prefixed if not before)
        surface = _surface(text)
        return [
            i
            for i, lemma in enumerate(self.lemmas(text))
            if lemma in self._single or surface[i] in self.exact or (prefixes and surface[i].startswith(prefixes))
        ]


_LEMMAS_CACHE: dict[tuple[int, str], tuple[str, ...]] = {}


def _lemmas_of(text: str, lemmatizer: Lemmatizer) -> tuple[str, ...]:
    key = (id(lemmatizer), text)
    found = _LEMMAS_CACHE.get(key)
    if found is None:
        if len(_LEMMAS_CACHE) > 8192:
            _LEMMAS_CACHE.clear()
        found = _LEMMAS_CACHE[key] = folded_lemmas(text, lemmatizer)
    return found
