"""Offline, deterministic feedback on the notes of one section of the report.

Each check is a small function registered in ``CHECKS`` under the id used by
``prompts/report/sections.toml``; it reads the auditeur's notes and returns remarks that quote the
words they are about. The words it looks for are data (``prompts/report/lexicon.toml``), matched by
lemma with the engine of the PDF review (``bot.domain.lexicon``): "J'ai redistribué les modules et
recruté une formatrice" answers a difficulty because the auditeur acts in the first person
(``redistribuer``, ``recruter`` are action verbs), not because a fixed phrase is there. The French wording of the remarks and hints lives in
``prompts/report/feedback.toml``: the coach asks and hints, it never writes the report.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from bot.domain.lexicon import Lemmatizer, WordList
from bot.domain.report import Catalogue, CatalogueError, Section
from bot.paths import PROMPTS_DIR

QUOTE_MAX_CHARS = 140
SHORT_RATIO = 0.3  # below this share of the target words, the notes are too thin
LONG_RATIO = 1.0  # above the target words, the part will not fit the page budget
PAIRING_WINDOW = 2  # sentences after a difficulty where its answer may come
MAX_REMARKS_PER_CHECK = 3
LLM_CHECK_ID = "llm"


@dataclass(frozen=True)
class Remark:
    """One observation on the notes, for one grid criterion, quoting the auditeur when it can."""

    check_id: str
    criterion_id: str
    quote: str | None
    params: dict = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict:
        return {
            "check_id": self.check_id,
            "criterion_id": self.criterion_id,
            "quote": self.quote,
            "params": self.params,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Remark:
        return cls(data["check_id"], data["criterion_id"], data.get("quote"), dict(data.get("params", {})))


@dataclass(frozen=True)
class RenderedRemark:
    """A remark in French, ready for a template: what is observed, the hint question, the criterion."""

    check_id: str
    criterion_id: str
    criterion_label: str
    text: str
    hint: str
    quote: str | None


# --- reading the notes -------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?…;])\s+|\n+")
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)


def normalise(text: str) -> str:
    return text.replace("’", "'").replace("\u00a0", " ").lower()


def split_sentences(notes: list[str]) -> list[str]:
    sentences: list[str] = []
    for note in notes:
        for piece in _SENTENCE_END.split(note):
            piece = piece.strip(" -•*\t")
            if _WORD.search(piece):
                sentences.append(piece)
    return sentences


def count_words(notes: list[str]) -> int:
    # "j'ai" counts as two words, as a word processor would count "j'" and "ai" roughly
    return sum(len(re.findall(r"[^\W_]+", normalise(note))) for note in notes)


def quote_of(sentence: str) -> str:
    sentence = sentence.strip()
    if len(sentence) <= QUOTE_MAX_CHARS:
        return sentence
    cut = sentence[:QUOTE_MAX_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


# --- the lexicon (prompts/report/lexicon.toml), matched by lemma -----------------------------------


@dataclass(frozen=True)
class FeedbackLexicon:
    lemmatizer: Lemmatizer
    lists: dict[str, WordList]


LEXICON_LISTS: tuple[str, ...] = (
    "months", "weekdays", "number_words", "actor", "tool", "first_person", "collective", "difficulty", "response",
    "action_verbs", "difficulty_verbs", "capacity", "competence_mention", "example", "resolved", "open", "narrative",
    "analytic", "annex", "production", "creation", "argument", "plan_announce", "perspective",
)


def load_feedback_lexicon(prompts_dir: Path = PROMPTS_DIR, *, cache_dir: Path | None = None) -> FeedbackLexicon:
    path = prompts_dir / "report" / "lexicon.toml"
    try:
        with path.open("rb") as handle:
            doc = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogueError(f"{path}: {exc}") from exc
    missing = [name for name in LEXICON_LISTS if not doc.get(name)]
    if missing:
        raise CatalogueError(f"{path}: no words for {missing}")
    lists = {name: [str(e) for e in doc[name]] for name in LEXICON_LISTS}
    for name in VERB_LISTS:
        lists[name] += [participle for verb in lists[name] for participle in _participles(verb)]
    vocabulary = [e for entries in lists.values() for e in entries]  # the lemmatizer keeps the words of "=mot", "mot*"
    lemmatizer = Lemmatizer(vocabulary, cache_dir=cache_dir)
    return FeedbackLexicon(lemmatizer, {name: WordList(name, entries, lemmatizer) for name, entries in lists.items()})


VERB_LISTS = ("action_verbs", "difficulty_verbs")


def _participles(verb: str) -> list[str]:
    """"organiser" -> "organisé", "réunir" -> "réuni": simplemma lemmatises such forms as adjectives."""
    if " " in verb or len(verb) < 4:
        return []
    if verb.endswith("er"):
        return [verb[:-2] + "é"]
    if verb.endswith("ir"):
        return [verb[:-1]]
    return []


@lru_cache(maxsize=1)
def default_feedback_lexicon() -> FeedbackLexicon:
    return load_feedback_lexicon()


class _Words:
    """A named list of the default lexicon, loaded on first use; ``search`` like a compiled pattern."""

    def __init__(self, name: str, *patterns: re.Pattern[str]):
        self.name = name
        self.patterns = patterns  # what is not a word (digits, "12/03") stays a pattern here

    @property
    def words(self) -> WordList:
        return default_feedback_lexicon().lists[self.name]

    def search(self, text: str) -> bool:
        return any(p.search(text) for p in self.patterns) or self.words.search(text)


class _AnyOf:
    def __init__(self, *parts):
        self.parts = parts

    def search(self, text: str) -> bool:
        return any(part.search(text) for part in self.parts)


DATE = _AnyOf(
    _Words("months"),
    _Words("weekdays", re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)|(?<!\d)\d{1,2}/\d{1,2}(?:/\d{2,4})?(?!\d)")),
)
FIGURE = _Words("number_words", re.compile(r"(?<![\d/])(?!(?:19|20)\d{2}(?!\d))\d+(?:[,.]\d+)?(?![\d/])"))
ACTOR = _Words("actor")
TOOL = _Words("tool")
ACRONYM = re.compile(r"(?<![\w])[A-Z][A-Z0-9]{1,}(?![\w])")
FIRST_PERSON = _Words("first_person")
COLLECTIVE = _Words("collective")
DIFFICULTY = _Words("difficulty")
RESPONSE = _Words("response")
ACTION = _Words("action_verbs")
DIFFICULTY_VERBS = _Words("difficulty_verbs")
CAPACITY = _Words("capacity")
COMPETENCE_MENTION = _Words("competence_mention")
EXAMPLE = _Words("example")
RESOLVED = _Words("resolved")
# Negation around "résolu", "trouvé", "réponse": grammar, not vocabulary (a "non résolu" is not resolved).
UNRESOLVED_PHRASE = re.compile(
    r"(?:non|pas|jamais)\s+(?:encore\s+)?(?:été\s+)?résolu\w*|pas\s+(?:encore\s+)?trouvé|pas\s+de\s+réponse|sans\s+réponse"
)
OPEN = _Words("open")
NARRATIVE = _Words("narrative")
ANALYTIC = _Words("analytic")
ANNEX = _Words("annex")
PRODUCTION = _Words("production")
CREATION = _Words("creation")
ARGUMENT = _Words("argument")
PLAN_ANNOUNCE = _Words("plan_announce")
PERSPECTIVE = _Words("perspective")
SUBJECTS = frozenset({"je", "nous", "on"})


@dataclass(frozen=True)
class SectionText:
    """The notes of a section, split and normalised once for all checks."""

    section: Section
    report_type: str
    catalogue: Catalogue
    notes: tuple[str, ...]
    sentences: tuple[str, ...]
    lowered: tuple[str, ...]

    @classmethod
    def of(cls, section: Section, notes: list[str], report_type: str, catalogue: Catalogue) -> SectionText:
        sentences = split_sentences(notes)
        return cls(
            section, report_type, catalogue, tuple(notes), tuple(sentences), tuple(normalise(s) for s in sentences)
        )

    @property
    def all_text(self) -> str:
        return "\n".join(self.lowered)

    def sentences_matching(self, pattern) -> list[int]:
        return [i for i, text in enumerate(self.lowered) if pattern.search(text)]

    def longest_sentence(self, indexes: list[int] | None = None) -> str | None:
        pool = range(len(self.sentences)) if indexes is None else indexes
        best = max(pool, key=lambda i: len(self.sentences[i]), default=None)
        return None if best is None else quote_of(self.sentences[best])

    def first_sentence(self, indexes: list[int] | None = None) -> str | None:
        pool = list(range(len(self.sentences))) if indexes is None else indexes
        return quote_of(self.sentences[pool[0]]) if pool else None


# --- the checks ----------------------------------------------------------------------------------

CheckResult = list[tuple[str | None, dict]]  # (quote, params) for each remark
Check = Callable[[SectionText], CheckResult]


def check_length(text: SectionText) -> CheckResult:
    target = text.catalogue.target_words(text.report_type, text.section.id)
    if target <= 0:
        return []
    words = count_words(list(text.notes))
    pages = text.catalogue.report_type(text.report_type).pages_for(text.section.id)
    params = {"words": words, "target": target, "pages": f"{pages:g}".replace(".", ",")}
    if words < SHORT_RATIO * target:
        return [(None, {**params, "variant": "short"})]
    if words > LONG_RATIO * target:
        return [(None, {**params, "variant": "long"})]
    return []


def detail_kinds(sentence_lowered: str, original: str) -> set[str]:
    kinds = set()
    if DATE.search(sentence_lowered):
        kinds.add("date")
    if FIGURE.search(sentence_lowered):
        kinds.add("figure")
    if ACTOR.search(sentence_lowered):
        kinds.add("actor")
    if TOOL.search(sentence_lowered) or ACRONYM.search(original):
        kinds.add("tool")
    return kinds


def check_concrete_detail(text: SectionText) -> CheckResult:
    per_sentence = [detail_kinds(low, orig) for low, orig in zip(text.lowered, text.sentences, strict=True)]
    found = set().union(*per_sentence) if per_sentence else set()
    missing = [kind for kind in ("date", "figure", "actor", "tool") if kind not in found]
    if len(missing) < 2:
        return []
    vague = [i for i, kinds in enumerate(per_sentence) if not kinds]
    return [(text.longest_sentence(vague) if vague else None, {"missing_kinds": missing})]


def check_first_person(text: SectionText) -> CheckResult:
    singular = text.sentences_matching(FIRST_PERSON)
    collective = text.sentences_matching(COLLECTIVE)
    if not singular:
        return [(text.first_sentence(collective) or text.longest_sentence(), {"variant": "absent"})]
    only_collective = [i for i in collective if i not in singular]
    if len(collective) >= 2 and len(only_collective) > len(singular):
        return [(text.first_sentence(only_collective), {"variant": "collective"})]
    return []


def check_difficulty_present(text: SectionText) -> CheckResult:
    if text.sentences_matching(DIFFICULTY):
        return []
    return [(text.longest_sentence(), {})]


def acts_in_first_person(sentence: str, *, after: int = 0) -> bool:
    """The auditeur (je, nous, on) does something in the sentence: an action verb, by lemma, that
    comes after a first-person subject, itself at or after position ``after`` (in lemmas)."""
    words = ACTION.words
    surface = words.surface(sentence)  # pronouns as written: their lemmas merge persons
    subjects = [i for i, word in enumerate(surface) if word in SUBJECTS and i >= after]
    if not subjects:
        return False
    describing = set(DIFFICULTY_VERBS.words.lemma_positions(sentence))
    return any(i > subjects[0] and i not in describing for i in words.lemma_positions(sentence))


def _answers_difficulty(text: SectionText, difficulty_index: int, index: int) -> bool:
    lowered = text.lowered[index]
    if RESPONSE.search(lowered):
        return True
    if index != difficulty_index:
        return acts_in_first_person(lowered)
    # in the difficulty's own sentence, only an action after the difficulty answers it
    # ("J'ai manqué de temps pour préparer" names a difficulty; "…, j'ai alors recruté" answers it)
    marks = DIFFICULTY.words.lemma_positions(lowered)
    return acts_in_first_person(lowered, after=(marks[0] + 1) if marks else 0)


def check_difficulty_answered(text: SectionText) -> CheckResult:
    """A difficulty with no answer near it: neither a response word nor an action of the auditeur."""
    results: CheckResult = []
    for i in text.sentences_matching(DIFFICULTY):
        window = range(i, min(i + PAIRING_WINDOW + 1, len(text.sentences)))
        if not any(_answers_difficulty(text, i, j) for j in window):
            results.append((quote_of(text.sentences[i]), {}))
    return results


def check_competence_capacity(text: SectionText) -> CheckResult:
    if text.sentences_matching(CAPACITY):
        return []
    mentions = text.sentences_matching(COMPETENCE_MENTION)
    return [(text.first_sentence(mentions) or text.longest_sentence(), {})]


def _has_example(text: SectionText, index: int) -> bool:
    lowered, original = text.lowered[index], text.sentences[index]
    return bool(EXAMPLE.search(lowered) or DATE.search(lowered) or FIGURE.search(lowered) or ACRONYM.search(original))


def check_competence_example(text: SectionText) -> CheckResult:
    results: CheckResult = []
    for i in text.sentences_matching(CAPACITY):
        following = range(i, min(i + 2, len(text.sentences)))
        if not any(_has_example(text, j) for j in following):
            results.append((quote_of(text.sentences[i]), {}))
    return results


def check_questions_resolved(text: SectionText) -> CheckResult:
    for lowered in text.lowered:
        if RESOLVED.search(UNRESOLVED_PHRASE.sub(" ", lowered)):
            return []
    return [(text.first_sentence(text.sentences_matching(OPEN)) or text.longest_sentence(), {})]


def check_questions_open(text: SectionText) -> CheckResult:
    open_ones = [
        i for i, s in enumerate(text.lowered) if OPEN.search(s) or UNRESOLVED_PHRASE.search(s) or s.endswith("?")
    ]
    if open_ones:
        return []
    return [(text.longest_sentence(), {})]


def check_analysis_not_narration(text: SectionText) -> CheckResult:
    analytic = set(text.sentences_matching(ANALYTIC))
    narrative = [
        i
        for i in range(len(text.lowered))
        if i not in analytic and (NARRATIVE.search(text.lowered[i]) or DATE.search(text.lowered[i]))
    ]
    if narrative and (not analytic or len(narrative) > 2 * len(analytic)):
        return [(text.first_sentence(narrative), {})]
    return []


def check_annex_referenced(text: SectionText) -> CheckResult:
    if ANNEX.search(text.all_text):
        return []
    made = [i for i in text.sentences_matching(PRODUCTION) if CREATION.search(text.lowered[i])]
    return [(text.first_sentence(made), {})] if made else []


def check_annex_listed(text: SectionText) -> CheckResult:
    if text.sentences_matching(PRODUCTION):
        return []
    return [(text.longest_sentence(), {})]


def _presence_check(pattern: re.Pattern[str]) -> Check:
    def check(text: SectionText) -> CheckResult:
        return [] if text.sentences_matching(pattern) else [(text.longest_sentence(), {})]

    return check


CHECKS: dict[str, Check] = {
    "length": check_length,
    "concrete_detail": check_concrete_detail,
    "first_person": check_first_person,
    "difficulty_present": check_difficulty_present,
    "difficulty_answered": check_difficulty_answered,
    "competence_capacity": check_competence_capacity,
    "competence_example": check_competence_example,
    "questions_resolved": check_questions_resolved,
    "questions_open": check_questions_open,
    "analysis_not_narration": check_analysis_not_narration,
    "annex_referenced": check_annex_referenced,
    "annex_listed": check_annex_listed,
    "choice_argued": _presence_check(ARGUMENT),
    "intro_announces_plan": _presence_check(PLAN_ANNOUNCE),
    "conclusion_perspective": _presence_check(PERSPECTIVE),
}
EMPTY_CHECK_ID = "empty"  # handled by review_section: an empty section gets this remark only


# --- wording ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackWording:
    kinds: dict[str, str]
    checks: dict[str, dict]

    def criteria_of(self, check_id: str) -> tuple[str, ...]:
        return tuple(self.checks.get(check_id, {}).get("criterion", ()))


def load_feedback_wording(prompts_dir: Path = PROMPTS_DIR) -> FeedbackWording:
    path = prompts_dir / "report" / "feedback.toml"
    try:
        with path.open("rb") as handle:
            doc = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogueError(f"{path}: {exc}") from exc
    return FeedbackWording(kinds=dict(doc.get("kinds", {})), checks=dict(doc.get("checks", {})))


@lru_cache(maxsize=1)
def default_feedback_wording() -> FeedbackWording:
    return load_feedback_wording()


def criterion_for(check_id: str, section_id: str, catalogue: Catalogue, wording: FeedbackWording) -> str:
    """The grid criterion a remark of this check serves in this section."""
    assessed = [c.id for c in catalogue.grid.criteria_for(section_id)] if catalogue.grid else []
    candidates = wording.criteria_of(check_id)
    for criterion_id in candidates:
        if criterion_id in assessed:
            return criterion_id
    if candidates:
        return candidates[0]
    return assessed[0] if assessed else "forme"


def review_section(
    section_id: str,
    notes: list[str],
    report_type: str,
    catalogue: Catalogue,
    wording: FeedbackWording | None = None,
) -> list[Remark]:
    """Run the checks of the section on the notes, in the order the section lists them."""
    wording = wording or default_feedback_wording()
    section = catalogue.section(section_id)
    text = SectionText.of(section, notes, report_type, catalogue)
    if not text.sentences:
        return [Remark(EMPTY_CHECK_ID, criterion_for(EMPTY_CHECK_ID, section_id, catalogue, wording), None, {})]
    remarks: list[Remark] = []
    for check_id in section.checks:
        if check_id == EMPTY_CHECK_ID:
            continue
        criterion_id = criterion_for(check_id, section_id, catalogue, wording)
        for quote, params in CHECKS[check_id](text)[:MAX_REMARKS_PER_CHECK]:
            remarks.append(Remark(check_id, criterion_id, quote, params))
    return remarks


class _KeepMissing(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _pick(value: str | dict, variant: str | None) -> str:
    if isinstance(value, dict):
        return value.get(variant or "", next(iter(value.values()), ""))
    return value


def render_remark(remark: Remark, catalogue: Catalogue, wording: FeedbackWording | None = None) -> RenderedRemark:
    """The French wording of a remark, with its placeholders filled and its criterion label."""
    wording = wording or default_feedback_wording()
    spec = wording.checks.get(remark.check_id, {})
    variant = remark.params.get("variant")
    values = _KeepMissing(remark.params)
    values["quote"] = remark.quote or ""
    if "missing_kinds" in remark.params:
        values["missing"] = ", ".join(wording.kinds.get(k, k) for k in remark.params["missing_kinds"])
    label = remark.criterion_id
    if catalogue.grid is not None:
        with suppress(KeyError):
            label = catalogue.grid.criterion(remark.criterion_id).label
    return RenderedRemark(
        check_id=remark.check_id,
        criterion_id=remark.criterion_id,
        criterion_label=label,
        text=_pick(spec.get("remark", ""), variant).format_map(values),
        hint=_pick(spec.get("hint", ""), variant).format_map(values),
        quote=remark.quote,
    )
