"""How people write days, months and times in French (``prompts/input/calendar_words.toml``)."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.paths import PROMPTS_DIR


@dataclass(frozen=True)
class CalendarWords:
    weekdays: dict[str, int]  # folded spelling -> Monday=0 (abbreviations and plurals included)
    weekday_names: dict[str, int]  # the full names only ("lundi"): safe to look for in free text
    months: dict[str, int]  # folded spelling -> January=1
    month_names: dict[str, int]  # the full names only ("mars"; "mar" is also Tuesday's abbreviation)
    times: dict[str, str]  # "midi" -> "12h"
    relative_days: dict[str, int]  # folded spelling -> days from today ("demain" -> 1)
    window_fillers: frozenset[str]
    period_fillers: frozenset[str]  # words around the dates of days off and periods ("du", "le", "et")
    period_ranges: frozenset[str]  # between the two dates of a period ("au", "-"); "et" and "," list days
    period_phrases: tuple[str, ...]  # say nothing about the dates ("au plus tard"), longest first
    time_modifiers: tuple[tuple[str, str], ...]  # "du soir" -> "pm", "et demie" -> "+30"; longest first
    moment_fillers: frozenset[str]  # "le", "a", "vers": words around a moment that change nothing
    next_words: frozenset[str]  # "prochain": the next such weekday after today
    next_week: tuple[str, ...]  # "la semaine prochaine": that weekday of next week
    range_words: frozenset[str]


def fold(text: str) -> str:
    """Lower case, no accents, one kind of dash and apostrophe: what the word lists are written in."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    ascii_text = "".join(char for char in decomposed if not unicodedata.combining(char))
    ascii_text = re.sub(r"[\u2010-\u2015\u2212]", "-", ascii_text)
    return ascii_text.replace("'", " ").replace("\u2019", " ")  # no-break spaces: already spaces (NFKD)


@lru_cache(maxsize=1024)
def whole_word(phrase: str) -> re.Pattern[str]:
    """``phrase`` (folded) where it stands as a word of its own in folded text: "midi" in "a midi",
    not in "apres-midi"'s letters (a hyphen or a digit may touch it: "9h-midi")."""
    return re.compile(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])")


def as_typed(word: str, text: str) -> str:
    """A folded ``word`` as it was typed in ``text`` ("conges" in "21 congés": "congés"), to quote it
    back to the person; ``word`` itself when it cannot be found there."""
    folded = fold(text)
    if len(folded) == len(text):  # folding kept every character's place
        found = whole_word(word).search(folded)
        if found is not None:
            return text[found.start() : found.end()]
    return word


def load_calendar_words(path: Path) -> CalendarWords:
    with path.open("rb") as handle:
        doc = tomllib.load(handle)
    weekdays: dict[str, int] = {}
    for index, names in enumerate(doc["weekdays"]):
        for name in names:
            weekdays[fold(name)] = index
            weekdays[fold(name) + "s"] = index  # "les mardis"
    weekday_names = {fold(names[0]): index for index, names in enumerate(doc["weekdays"])}
    months = {fold(name): index + 1 for index, names in enumerate(doc["months"]) for name in names}
    month_names = {fold(names[0]): index + 1 for index, names in enumerate(doc["months"])}
    fillers = doc["fillers"]
    return CalendarWords(
        weekdays=weekdays,
        weekday_names=weekday_names,
        months=months,
        month_names=month_names,
        times={fold(k): v for k, v in doc.get("times", {}).items()},
        relative_days={fold(k): v for k, v in doc.get("relative_days", {}).items()},
        window_fillers=frozenset(fold(w) for w in fillers["windows"]),
        period_fillers=frozenset(fold(w) for w in fillers["periods"]),
        period_ranges=frozenset(fold(w) for w in fillers["period_ranges"]),
        period_phrases=tuple(sorted({fold(w) for w in fillers.get("period_phrases", [])}, key=len, reverse=True)),
        time_modifiers=tuple(sorted(((fold(k), v) for k, v in doc.get("time_modifiers", {}).items()),
                                    key=lambda item: len(item[0]), reverse=True)),
        moment_fillers=frozenset(fold(w) for w in doc.get("when", {}).get("fillers", [])),
        next_words=frozenset(fold(w) for w in doc.get("when", {}).get("next", [])),
        next_week=tuple(sorted({fold(w) for w in doc.get("when", {}).get("next_week", [])}, key=len, reverse=True)),
        range_words=frozenset(fold(w) for w in fillers["ranges"]),
    )


@lru_cache(maxsize=1)
def calendar_words() -> CalendarWords:
    return load_calendar_words(PROMPTS_DIR / "input" / "calendar_words.toml")
